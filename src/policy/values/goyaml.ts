// How Helm reads a values file, exactly: go.yaml.in/yaml/v2 v2.4.4 (the libyaml port Helm reads YAML with),
// sigs.k8s.io/yaml v1.6.0 (which turns its result into JSON), and the two ways Helm calls them:
//   Helm 3.19.4  pkg/cli/values MergeValues: sigs.k8s.io/yaml.Unmarshal(file, &map[string]interface{}), the first
//                YAML document only;
//   Helm 4.2/4.3 pkg/chart/v2/loader LoadValues: k8s.io/apimachinery utilyaml.NewYAMLReader splits the file on
//                `---` lines, each chunk is read as above and the chunks are merged with MergeMaps (4.3.1 first
//                appends a missing final newline).
//
// Why a port and not the npm `yaml` library: that library is a YAML 1.2 parser, and libyaml (YAML 1.1, 2006
// vintage) accepts and rejects different texts, and reads some of them differently. Checked against the Go code
// (test/oracle/cmd/goyaml): `&a.b x`, `a: &x: 1`, `%YAML 1.2`, `- a\n-\tb` and `"\/"` are errors in Go and fine
// for the library; a NEL (U+0085) inside a quoted string is a line break for Go (folded to a space) and a
// character for the library; U+2028 breaks a plain scalar for Go; a flow collection continued at a lower indent
// (`a: [1,\n2]`) is fine for Go and an error for the library; `!<!> a` is a string for Go and an error for the
// library. So the reader, scanner and parser below are go-yaml v2's readerc.go, scannerc.go and parserc.go,
// translated function by function (same names, same order of checks, same lookahead, so even the errors Go only
// notices because its reader validates the input in 512-byte chunks come out the same); then decode.go (node
// tree, aliases, merge keys, its alias-bomb checks), resolve.go (YAML 1.1 scalars), and sigs.k8s.io/yaml's
// convertToJSONableObject + encoding/json.
//
// Our own bounds come on top (YamlLimits, as src/policy/yaml11.ts): input bytes, nesting depth, alias expansions.
// Go has none of them (besides its 10000-level scanner limit and the excessive-aliasing ratio), so past them we
// answer with an error where Helm would read the file: deliberate.
//
// The one thing Go leaves to chance is reported as such: two YAML keys of one mapping that become the same JSON
// key (`1:` and `"1":`, `on:` and `"true":`, `1.0:` and `1:`) with different values. sigs.k8s.io/yaml
// copies the go-yaml map into a map[string]interface{} in Go's random map order, so Helm keeps one value or the
// other from run to run; we return an error saying so.
import type { YamlLimits } from '../yaml11.js';
import type { HelmVersion } from './helm-version.js';

export type GoYamlResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * The Go release a Helm binary was built with. It decides one thing here: the text of a float map key that is
 * exactly halfway between two shortest decimals (`0.000244140625:` is "0.00024414062" with Go 1.24/1.25's Ryu,
 * "0.00024414063" with Go 1.26's Dragonbox; checked with go1.24.11, go1.25.5 and go1.26). Helm 3.19.4 was released
 * built with Go 1.24, Helm 4.2.1 and 4.3.1 with Go 1.26 (GOLANG_VERSION in their .github/env).
 */
export type GoRelease = '1.24' | '1.26';
export const goReleaseOf = (v: HelmVersion): GoRelease => (v === '3.19' ? '1.24' : '1.26');
export type HelmValuesResult = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------------------------
// Errors. Go's failures are panics caught by go-yaml's handleErr; ours are exceptions caught at the API boundary.

/** A failure of the Go code (Helm would fail too); `message` is Go's error text. */
class GoError extends Error {}
/** One of our bounds (YamlLimits); `message` is the whole phrase for the caller. */
class LimitError extends Error {}
/** Go's answer depends on chance (map iteration order); `message` says why. */
class UnknowableError extends Error {}

function failf(message: string): never {
  throw new GoError('yaml: ' + message);
}

// ---------------------------------------------------------------------------------------------------------------
// yamlh.go: tokens, events, marks.

const enum Tok {
  NONE,
  STREAM_START,
  STREAM_END,
  VERSION_DIRECTIVE,
  TAG_DIRECTIVE,
  DOCUMENT_START,
  DOCUMENT_END,
  BLOCK_SEQUENCE_START,
  BLOCK_MAPPING_START,
  BLOCK_END,
  FLOW_SEQUENCE_START,
  FLOW_SEQUENCE_END,
  FLOW_MAPPING_START,
  FLOW_MAPPING_END,
  BLOCK_ENTRY,
  FLOW_ENTRY,
  KEY,
  VALUE,
  ALIAS,
  ANCHOR,
  TAG,
  SCALAR,
}

const enum Ev {
  NONE,
  STREAM_START,
  STREAM_END,
  DOCUMENT_START,
  DOCUMENT_END,
  ALIAS,
  SCALAR,
  SEQUENCE_START,
  SEQUENCE_END,
  MAPPING_START,
  MAPPING_END,
}

const EVENT_NAMES = [
  'none',
  'stream start',
  'stream end',
  'document start',
  'document end',
  'alias',
  'scalar',
  'sequence start',
  'sequence end',
  'mapping start',
  'mapping end',
];

const enum Style {
  ANY,
  PLAIN,
  SINGLE_QUOTED,
  DOUBLE_QUOTED,
  LITERAL,
  FOLDED,
}

const enum St {
  STREAM_START,
  IMPLICIT_DOCUMENT_START,
  DOCUMENT_START,
  DOCUMENT_CONTENT,
  DOCUMENT_END,
  BLOCK_NODE,
  BLOCK_NODE_OR_INDENTLESS_SEQUENCE,
  FLOW_NODE,
  BLOCK_SEQUENCE_FIRST_ENTRY,
  BLOCK_SEQUENCE_ENTRY,
  INDENTLESS_SEQUENCE_ENTRY,
  BLOCK_MAPPING_FIRST_KEY,
  BLOCK_MAPPING_KEY,
  BLOCK_MAPPING_VALUE,
  FLOW_SEQUENCE_FIRST_ENTRY,
  FLOW_SEQUENCE_ENTRY,
  FLOW_SEQUENCE_ENTRY_MAPPING_KEY,
  FLOW_SEQUENCE_ENTRY_MAPPING_VALUE,
  FLOW_SEQUENCE_ENTRY_MAPPING_END,
  FLOW_MAPPING_FIRST_KEY,
  FLOW_MAPPING_KEY,
  FLOW_MAPPING_VALUE,
  FLOW_MAPPING_EMPTY_VALUE,
  END,
}

interface Mark {
  index: number;
  line: number;
  column: number;
}

interface Token {
  typ: Tok;
  start: Mark;
  end: Mark;
  /** Scalar value, anchor/alias name, tag handle, %TAG handle (bytes). */
  value: number[];
  /** Tag suffix (bytes). */
  suffix: number[];
  /** %TAG prefix (bytes). */
  prefix: number[];
  style: Style;
  major: number;
  minor: number;
}

interface YEvent {
  typ: Ev;
  start: Mark;
  end: Mark;
  anchor: number[] | null;
  tag: number[] | null;
  value: number[] | null;
  implicit: boolean;
  style: Style;
}

interface SimpleKey {
  possible: boolean;
  required: boolean;
  tokenNumber: number;
  mark: Mark;
}

interface TagDirective {
  handle: number[];
  prefix: number[];
}

const ZERO_MARK: Mark = { index: 0, line: 0, column: 0 };

/** Shared by every token that has no such bytes (never written to). */
const NO_BYTES: number[] = [];

function token(typ: Tok, start: Mark, end: Mark): Token {
  return { typ, start, end, value: NO_BYTES, suffix: NO_BYTES, prefix: NO_BYTES, style: Style.ANY, major: 0, minor: 0 };
}

function event(typ: Ev, start: Mark, end: Mark): YEvent {
  return { typ, start, end, anchor: null, tag: null, value: null, implicit: false, style: Style.ANY };
}

const C_TAB = 0x09;
const C_LF = 0x0a;
const C_CR = 0x0d;
const C_SP = 0x20;

/** yamlprivateh.go width(): the length of the UTF-8 sequence a leading byte starts. */
function width(b: number): number {
  if ((b & 0x80) === 0x00) return 1;
  if ((b & 0xe0) === 0xc0) return 2;
  if ((b & 0xf0) === 0xe0) return 3;
  if ((b & 0xf8) === 0xf0) return 4;
  return 0;
}

const isAlphaByte = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d;
const isDigitByte = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHexByte = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const asHex = (c: number): number => (c >= 0x41 && c <= 0x46 ? c - 0x41 + 10 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : c - 0x30);

function fromCharCodes(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.slice(i, i + 4096));
  return out;
}

/** Bytes as a string of one char per byte (tags and anchor names: compared, printed, never decoded). */
const latin1 = (bytes: number[]): string => (bytes.length === 0 ? '' : fromCharCodes(bytes));

/** dst = append(dst, src...) without spreading (a scalar can hold more bytes than a call takes arguments). */
function append(dst: number[], src: number[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]!);
}

// ignoreBOM: keep a leading U+FEFF (a TextDecoder drops it by default; go-yaml keeps it inside scalars).
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** The scanner's bytes are always valid UTF-8 (input characters, escapes of valid code points). */
function utf8(bytes: number[]): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  return ascii ? fromCharCodes(bytes) : utf8Decoder.decode(Uint8Array.from(bytes));
}

const INPUT_RAW_BUFFER_SIZE = 512;
const MAX_FLOW_LEVEL = 10000;
const MAX_INDENTS = 10000;
const MAX_NUMBER_LENGTH = 2;

// ---------------------------------------------------------------------------------------------------------------
// readerc.go + scannerc.go + parserc.go.
//
// The reader is modelled on offsets into the input: go-yaml decodes the raw input into `buffer` 512 raw bytes
// at a time, validating each character as it goes, and compacts `buffer` when it needs more. Since the input
// here is always valid UTF-8 (a JS string's encoding), the decoded bytes are the input bytes, so `pos` is an
// input offset, `decEnd` the end of what has been decoded (validated), and `bufBase`/`bufLen` say where Go's
// buffer starts and how long it is (is_bom() looks at buffer[0..2], whatever the position).

class YamlParser {
  private readonly inp: Uint8Array;
  private readonly len: number;

  // reader state
  private rawStart = 0;
  private rawPos = 0;
  private rawEnd = 0;
  private eof = false;
  private encodingKnown = false;
  private bufBase = 0;
  private bufLen = 0;
  private decEnd = 0;
  private pos = 0;
  private unread = 0;

  // scanner state
  private mark: Mark = { index: 0, line: 0, column: 0 };
  private streamStartProduced = false;
  private streamEndProduced = false;
  private flowLevel = 0;
  private tokens: Token[] = [];
  private tokensHead = 0;
  private tokensParsed = 0;
  private tokenAvailable = false;
  private indent = 0;
  private indents: number[] = [];
  private simpleKeyAllowed = false;
  private simpleKeys: SimpleKey[] = [];
  private simpleKeysByTok = new Map<number, number>();

  // parser state
  private state: St = St.STREAM_START;
  private states: St[] = [];
  private marks: Mark[] = [];
  private tagDirectives: TagDirective[] = [];

  constructor(input: Uint8Array) {
    // decode.go newParser: an empty input is read as "\n".
    this.inp = input.length === 0 ? Uint8Array.of(C_LF) : input;
    this.len = this.inp.length;
  }

  // ---- errors (decode.go parser.fail() formats them) ----

  private scannerError(_context: string, _contextMark: Mark, problem: string): never {
    // Scanner errors report problem_mark = the current mark, one-based by the +1 in fail().
    const line = this.mark.line !== 0 ? this.mark.line + 1 : 0;
    failf((line !== 0 ? `line ${line}: ` : '') + problem);
  }

  private parserError(problem: string, problemMark: Mark, contextMark: Mark = ZERO_MARK): never {
    const line = problemMark.line !== 0 ? problemMark.line : contextMark.line;
    failf((line !== 0 ? `line ${line}: ` : '') + problem);
  }

  private readerError(problem: string): never {
    failf(problem);
  }

  // ---- readerc.go ----

  private updateRawBuffer(): void {
    if (this.rawPos === this.rawStart && this.rawEnd - this.rawStart === INPUT_RAW_BUFFER_SIZE) return;
    if (this.eof) return;
    this.rawStart = this.rawPos;
    if (this.rawEnd === this.len) {
      this.eof = true; // yaml_string_read_handler: input_pos == len(input) -> io.EOF
      return;
    }
    this.rawEnd = Math.min(this.len, this.rawPos + INPUT_RAW_BUFFER_SIZE);
  }

  private determineEncoding(): void {
    while (!this.eof && this.rawEnd - this.rawPos < 3) this.updateRawBuffer();
    const i = this.inp;
    if (this.rawEnd - this.rawPos >= 3 && i[0] === 0xef && i[1] === 0xbb && i[2] === 0xbf) {
      this.rawPos += 3;
      // Decoding starts after the BOM: so do the buffer and the position.
      this.pos = this.bufBase = this.decEnd = 3;
    }
    // A JS string encodes to UTF-8, so the UTF-16 byte order marks (FF FE, FE FF) cannot start it.
    this.encodingKnown = true;
  }

  private updateBuffer(length: number): void {
    if (this.unread >= length) return;
    if (!this.encodingKnown) this.determineEncoding();
    const bufPos = this.pos - this.bufBase;
    if (bufPos > 0 && bufPos < this.bufLen) {
      this.bufBase = this.pos;
      this.bufLen -= bufPos;
    } else if (bufPos === this.bufLen) {
      this.bufBase = this.pos;
      this.bufLen = 0;
    }
    let first = true;
    while (this.unread < length) {
      if (!first || this.rawPos === this.rawEnd) this.updateRawBuffer();
      first = false;
      while (this.rawPos !== this.rawEnd) {
        const octet = this.inp[this.rawPos]!;
        const w = width(octet);
        if (w === 0) this.readerError('invalid leading UTF-8 octet');
        if (w > this.rawEnd - this.rawPos) {
          if (this.eof) this.readerError('incomplete UTF-8 octet sequence');
          break;
        }
        let value = w === 1 ? octet & 0x7f : w === 2 ? octet & 0x1f : w === 3 ? octet & 0x0f : octet & 0x07;
        for (let k = 1; k < w; k++) value = (value << 6) + (this.inp[this.rawPos + k]! & 0x3f);
        if (
          !(
            value === 0x09 ||
            value === 0x0a ||
            value === 0x0d ||
            (value >= 0x20 && value <= 0x7e) ||
            value === 0x85 ||
            (value >= 0xa0 && value <= 0xd7ff) ||
            (value >= 0xe000 && value <= 0xfffd) ||
            (value >= 0x10000 && value <= 0x10ffff)
          )
        ) {
          this.readerError('control characters are not allowed');
        }
        this.rawPos += w;
        this.decEnd = this.rawPos;
        this.bufLen += w;
        this.unread++;
      }
      if (this.eof) {
        this.bufLen++; // the terminating NUL
        this.unread++;
        break;
      }
    }
    if (this.bufLen < length) this.bufLen = length;
  }

  /** buffer[buffer_pos+k] */
  private c(k: number): number {
    const a = this.pos + k;
    return a < this.decEnd ? this.inp[a]! : 0;
  }

  private cache(length: number): void {
    if (this.unread < length) this.updateBuffer(length);
  }

  private isBlank(k: number): boolean {
    const b = this.c(k);
    return b === C_SP || b === C_TAB;
  }

  private isBreak(k: number): boolean {
    const b = this.c(k);
    return (
      b === C_CR ||
      b === C_LF ||
      (b === 0xc2 && this.c(k + 1) === 0x85) ||
      (b === 0xe2 && this.c(k + 1) === 0x80 && (this.c(k + 2) === 0xa8 || this.c(k + 2) === 0xa9))
    );
  }

  private isBreakz(k: number): boolean {
    return this.c(k) === 0 || this.isBreak(k);
  }

  private isBlankz(k: number): boolean {
    return this.isBlank(k) || this.isBreakz(k);
  }

  private isBom(): boolean {
    // is_bom(b, i) reads b[0], b[1], b[2]: the start of the buffer, not position i.
    const a = this.bufBase;
    return a + 2 < this.decEnd && this.inp[a] === 0xef && this.inp[a + 1] === 0xbb && this.inp[a + 2] === 0xbf;
  }

  private skip(): void {
    this.mark.index++;
    this.mark.column++;
    this.unread--;
    this.pos += width(this.c(0));
  }

  private skipLine(): void {
    if (this.c(0) === C_CR && this.c(1) === C_LF) {
      this.mark.index += 2;
      this.mark.column = 0;
      this.mark.line++;
      this.unread -= 2;
      this.pos += 2;
    } else if (this.isBreak(0)) {
      this.mark.index++;
      this.mark.column = 0;
      this.mark.line++;
      this.unread--;
      this.pos += width(this.c(0));
    }
  }

  private read(s: number[]): void {
    const w = width(this.c(0));
    if (w === 0) throw new Error('invalid character sequence');
    for (let k = 0; k < w; k++) s.push(this.c(k));
    this.pos += w;
    this.mark.index++;
    this.mark.column++;
    this.unread--;
  }

  private readLine(s: number[]): void {
    const b0 = this.c(0);
    const b1 = this.c(1);
    if (b0 === C_CR && b1 === C_LF) {
      s.push(C_LF);
      this.pos += 2;
      this.mark.index++;
      this.unread--;
    } else if (b0 === C_CR || b0 === C_LF) {
      s.push(C_LF);
      this.pos += 1;
    } else if (b0 === 0xc2 && b1 === 0x85) {
      s.push(C_LF);
      this.pos += 2;
    } else if (b0 === 0xe2 && b1 === 0x80 && (this.c(2) === 0xa8 || this.c(2) === 0xa9)) {
      s.push(b0, b1, this.c(2));
      this.pos += 3;
    } else {
      return;
    }
    this.mark.index++;
    this.mark.column = 0;
    this.mark.line++;
    this.unread--;
  }

  private copyMark(): Mark {
    return { index: this.mark.index, line: this.mark.line, column: this.mark.column };
  }

  // ---- scannerc.go ----

  private insertToken(pos: number, tok: Token): void {
    if (this.tokensHead > 4096 && this.tokensHead === this.tokens.length) {
      this.tokens = [];
      this.tokensHead = 0;
    }
    if (pos < 0) this.tokens.push(tok);
    else this.tokens.splice(this.tokensHead + pos, 0, tok);
  }

  private fetchMoreTokens(): void {
    for (;;) {
      if (this.tokensHead !== this.tokens.length) {
        const idx = this.simpleKeysByTok.get(this.tokensParsed);
        if (idx === undefined) break;
        if (!this.simpleKeyIsValid(this.simpleKeys[idx]!)) break;
      }
      this.fetchNextToken();
    }
    this.tokenAvailable = true;
  }

  private fetchNextToken(): void {
    this.cache(1);
    if (!this.streamStartProduced) {
      this.fetchStreamStart();
      return;
    }
    this.scanToNextToken();
    this.unrollIndent(this.mark.column);
    this.cache(4);
    const b = this.c(0);
    if (b === 0) return this.fetchStreamEnd();
    if (this.mark.column === 0 && b === 0x25 /* % */) return this.fetchDirective();
    if (this.mark.column === 0 && b === 0x2d && this.c(1) === 0x2d && this.c(2) === 0x2d && this.isBlankz(3)) {
      return this.fetchDocumentIndicator(Tok.DOCUMENT_START);
    }
    if (this.mark.column === 0 && b === 0x2e && this.c(1) === 0x2e && this.c(2) === 0x2e && this.isBlankz(3)) {
      return this.fetchDocumentIndicator(Tok.DOCUMENT_END);
    }
    switch (b) {
      case 0x5b /* [ */:
        return this.fetchFlowCollectionStart(Tok.FLOW_SEQUENCE_START);
      case 0x7b /* { */:
        return this.fetchFlowCollectionStart(Tok.FLOW_MAPPING_START);
      case 0x5d /* ] */:
        return this.fetchFlowCollectionEnd(Tok.FLOW_SEQUENCE_END);
      case 0x7d /* } */:
        return this.fetchFlowCollectionEnd(Tok.FLOW_MAPPING_END);
      case 0x2c /* , */:
        return this.fetchFlowEntry();
    }
    if (b === 0x2d /* - */ && this.isBlankz(1)) return this.fetchBlockEntry();
    if (b === 0x3f /* ? */ && (this.flowLevel > 0 || this.isBlankz(1))) return this.fetchKey();
    if (b === 0x3a /* : */ && (this.flowLevel > 0 || this.isBlankz(1))) return this.fetchValue();
    if (b === 0x2a /* * */) return this.fetchAnchor(Tok.ALIAS);
    if (b === 0x26 /* & */) return this.fetchAnchor(Tok.ANCHOR);
    if (b === 0x21 /* ! */) return this.fetchTag();
    if (b === 0x7c /* | */ && this.flowLevel === 0) return this.fetchBlockScalar(true);
    if (b === 0x3e /* > */ && this.flowLevel === 0) return this.fetchBlockScalar(false);
    if (b === 0x27 /* ' */) return this.fetchFlowScalar(true);
    if (b === 0x22 /* " */) return this.fetchFlowScalar(false);
    if (
      !(
        this.isBlankz(0) ||
        b === 0x2d ||
        b === 0x3f ||
        b === 0x3a ||
        b === 0x2c ||
        b === 0x5b ||
        b === 0x5d ||
        b === 0x7b ||
        b === 0x7d ||
        b === 0x23 ||
        b === 0x26 ||
        b === 0x2a ||
        b === 0x21 ||
        b === 0x7c ||
        b === 0x3e ||
        b === 0x27 ||
        b === 0x22 ||
        b === 0x25 ||
        b === 0x40 ||
        b === 0x60
      ) ||
      (b === 0x2d && !this.isBlank(1)) ||
      (this.flowLevel === 0 && (b === 0x3f || b === 0x3a) && !this.isBlankz(1))
    ) {
      return this.fetchPlainScalar();
    }
    this.scannerError('while scanning for the next token', this.mark, 'found character that cannot start any token');
  }

  private simpleKeyIsValid(key: SimpleKey): boolean {
    if (!key.possible) return false;
    if (key.mark.line < this.mark.line || key.mark.index + 1024 < this.mark.index) {
      if (key.required) this.scannerError('while scanning a simple key', key.mark, "could not find expected ':'");
      key.possible = false;
      return false;
    }
    return true;
  }

  private saveSimpleKey(): void {
    const required = this.flowLevel === 0 && this.indent === this.mark.column;
    if (this.simpleKeyAllowed) {
      const key: SimpleKey = {
        possible: true,
        required,
        tokenNumber: this.tokensParsed + (this.tokens.length - this.tokensHead),
        mark: this.copyMark(),
      };
      this.removeSimpleKey();
      this.simpleKeys[this.simpleKeys.length - 1] = key;
      this.simpleKeysByTok.set(key.tokenNumber, this.simpleKeys.length - 1);
    }
  }

  private removeSimpleKey(): void {
    const i = this.simpleKeys.length - 1;
    const key = this.simpleKeys[i]!;
    if (key.possible) {
      if (key.required) this.scannerError('while scanning a simple key', key.mark, "could not find expected ':'");
      key.possible = false;
      this.simpleKeysByTok.delete(key.tokenNumber);
    }
  }

  private increaseFlowLevel(): void {
    this.simpleKeys.push({
      possible: false,
      required: false,
      tokenNumber: this.tokensParsed + (this.tokens.length - this.tokensHead),
      mark: this.copyMark(),
    });
    this.flowLevel++;
    if (this.flowLevel > MAX_FLOW_LEVEL) {
      this.scannerError('while increasing flow level', this.mark, `exceeded max depth of ${MAX_FLOW_LEVEL}`);
    }
  }

  private decreaseFlowLevel(): void {
    if (this.flowLevel > 0) {
      this.flowLevel--;
      const last = this.simpleKeys.length - 1;
      this.simpleKeysByTok.delete(this.simpleKeys[last]!.tokenNumber);
      this.simpleKeys.length = last;
    }
  }

  private rollIndent(column: number, number: number, typ: Tok, mark: Mark): void {
    if (this.flowLevel > 0) return;
    if (this.indent < column) {
      this.indents.push(this.indent);
      this.indent = column;
      if (this.indents.length > MAX_INDENTS) {
        this.scannerError('while increasing indent level', this.mark, `exceeded max depth of ${MAX_INDENTS}`);
      }
      const tok = token(typ, mark, mark);
      if (number > -1) number -= this.tokensParsed;
      this.insertToken(number, tok);
    }
  }

  private unrollIndent(column: number): void {
    if (this.flowLevel > 0) return;
    while (this.indent > column) {
      const m = this.copyMark();
      this.insertToken(-1, token(Tok.BLOCK_END, m, m));
      this.indent = this.indents.pop()!;
    }
  }

  private fetchStreamStart(): void {
    this.indent = -1;
    this.simpleKeys.push({ possible: false, required: false, tokenNumber: 0, mark: ZERO_MARK });
    this.simpleKeysByTok = new Map();
    this.simpleKeyAllowed = true;
    this.streamStartProduced = true;
    const m = this.copyMark();
    this.insertToken(-1, token(Tok.STREAM_START, m, m));
  }

  private fetchStreamEnd(): void {
    if (this.mark.column !== 0) {
      this.mark.column = 0;
      this.mark.line++;
    }
    this.unrollIndent(-1);
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    const m = this.copyMark();
    this.insertToken(-1, token(Tok.STREAM_END, m, m));
  }

  private fetchDirective(): void {
    this.unrollIndent(-1);
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    this.insertToken(-1, this.scanDirective());
  }

  private fetchDocumentIndicator(typ: Tok): void {
    this.unrollIndent(-1);
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.copyMark();
    this.skip();
    this.skip();
    this.skip();
    this.insertToken(-1, token(typ, start, this.copyMark()));
  }

  private fetchFlowCollectionStart(typ: Tok): void {
    this.saveSimpleKey();
    this.increaseFlowLevel();
    this.simpleKeyAllowed = true;
    const start = this.copyMark();
    this.skip();
    this.insertToken(-1, token(typ, start, this.copyMark()));
  }

  private fetchFlowCollectionEnd(typ: Tok): void {
    this.removeSimpleKey();
    this.decreaseFlowLevel();
    this.simpleKeyAllowed = false;
    const start = this.copyMark();
    this.skip();
    this.insertToken(-1, token(typ, start, this.copyMark()));
  }

  private fetchFlowEntry(): void {
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    const start = this.copyMark();
    this.skip();
    this.insertToken(-1, token(Tok.FLOW_ENTRY, start, this.copyMark()));
  }

  private fetchBlockEntry(): void {
    if (this.flowLevel === 0) {
      if (!this.simpleKeyAllowed) {
        this.scannerError('', this.mark, 'block sequence entries are not allowed in this context');
      }
      this.rollIndent(this.mark.column, -1, Tok.BLOCK_SEQUENCE_START, this.copyMark());
    }
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    const start = this.copyMark();
    this.skip();
    this.insertToken(-1, token(Tok.BLOCK_ENTRY, start, this.copyMark()));
  }

  private fetchKey(): void {
    if (this.flowLevel === 0) {
      if (!this.simpleKeyAllowed) this.scannerError('', this.mark, 'mapping keys are not allowed in this context');
      this.rollIndent(this.mark.column, -1, Tok.BLOCK_MAPPING_START, this.copyMark());
    }
    this.removeSimpleKey();
    this.simpleKeyAllowed = this.flowLevel === 0;
    const start = this.copyMark();
    this.skip();
    this.insertToken(-1, token(Tok.KEY, start, this.copyMark()));
  }

  private fetchValue(): void {
    const key = this.simpleKeys[this.simpleKeys.length - 1]!;
    if (this.simpleKeyIsValid(key)) {
      this.insertToken(key.tokenNumber - this.tokensParsed, token(Tok.KEY, key.mark, key.mark));
      this.rollIndent(key.mark.column, key.tokenNumber, Tok.BLOCK_MAPPING_START, key.mark);
      key.possible = false;
      this.simpleKeysByTok.delete(key.tokenNumber);
      this.simpleKeyAllowed = false;
    } else {
      if (this.flowLevel === 0) {
        if (!this.simpleKeyAllowed) this.scannerError('', this.mark, 'mapping values are not allowed in this context');
        this.rollIndent(this.mark.column, -1, Tok.BLOCK_MAPPING_START, this.copyMark());
      }
      this.simpleKeyAllowed = this.flowLevel === 0;
    }
    const start = this.copyMark();
    this.skip();
    this.insertToken(-1, token(Tok.VALUE, start, this.copyMark()));
  }

  private fetchAnchor(typ: Tok): void {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    this.insertToken(-1, this.scanAnchor(typ));
  }

  private fetchTag(): void {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    this.insertToken(-1, this.scanTag());
  }

  private fetchBlockScalar(literal: boolean): void {
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    this.insertToken(-1, this.scanBlockScalar(literal));
  }

  private fetchFlowScalar(single: boolean): void {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    this.insertToken(-1, this.scanFlowScalar(single));
  }

  private fetchPlainScalar(): void {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    this.insertToken(-1, this.scanPlainScalar());
  }

  private scanToNextToken(): void {
    for (;;) {
      this.cache(1);
      if (this.mark.column === 0 && this.isBom()) this.skip();
      this.cache(1);
      while (this.c(0) === C_SP || ((this.flowLevel > 0 || !this.simpleKeyAllowed) && this.c(0) === C_TAB)) {
        this.skip();
        this.cache(1);
      }
      if (this.c(0) === 0x23 /* # */) {
        while (!this.isBreakz(0)) {
          this.skip();
          this.cache(1);
        }
      }
      if (this.isBreak(0)) {
        this.cache(2);
        this.skipLine();
        if (this.flowLevel === 0) this.simpleKeyAllowed = true;
      } else {
        break;
      }
    }
  }

  private scanDirective(): Token {
    const start = this.copyMark();
    this.skip();
    const name = this.scanDirectiveName(start);
    let tok: Token;
    const nameStr = latin1(name);
    if (nameStr === 'YAML') {
      const [major, minor] = this.scanVersionDirectiveValue(start);
      tok = token(Tok.VERSION_DIRECTIVE, start, this.copyMark());
      tok.major = major;
      tok.minor = minor;
    } else if (nameStr === 'TAG') {
      const [handle, prefix] = this.scanTagDirectiveValue(start);
      tok = token(Tok.TAG_DIRECTIVE, start, this.copyMark());
      tok.value = handle;
      tok.prefix = prefix;
    } else {
      this.scannerError('while scanning a directive', start, 'found unknown directive name');
    }
    this.cache(1);
    while (this.isBlank(0)) {
      this.skip();
      this.cache(1);
    }
    if (this.c(0) === 0x23) {
      while (!this.isBreakz(0)) {
        this.skip();
        this.cache(1);
      }
    }
    if (!this.isBreakz(0)) {
      this.scannerError('while scanning a directive', start, 'did not find expected comment or line break');
    }
    if (this.isBreak(0)) {
      this.cache(2);
      this.skipLine();
    }
    return tok;
  }

  private scanDirectiveName(start: Mark): number[] {
    this.cache(1);
    const s: number[] = [];
    while (isAlphaByte(this.c(0))) {
      this.read(s);
      this.cache(1);
    }
    if (s.length === 0) this.scannerError('while scanning a directive', start, 'could not find expected directive name');
    if (!this.isBlankz(0)) {
      this.scannerError('while scanning a directive', start, 'found unexpected non-alphabetical character');
    }
    return s;
  }

  private scanVersionDirectiveValue(start: Mark): [number, number] {
    this.cache(1);
    while (this.isBlank(0)) {
      this.skip();
      this.cache(1);
    }
    const major = this.scanVersionDirectiveNumber(start);
    if (this.c(0) !== 0x2e) {
      this.scannerError('while scanning a %YAML directive', start, "did not find expected digit or '.' character");
    }
    this.skip();
    const minor = this.scanVersionDirectiveNumber(start);
    return [major, minor];
  }

  private scanVersionDirectiveNumber(start: Mark): number {
    this.cache(1);
    let value = 0;
    let length = 0;
    while (isDigitByte(this.c(0))) {
      length++;
      if (length > MAX_NUMBER_LENGTH) {
        this.scannerError('while scanning a %YAML directive', start, 'found extremely long version number');
      }
      value = value * 10 + (this.c(0) - 0x30);
      this.skip();
      this.cache(1);
    }
    if (length === 0) this.scannerError('while scanning a %YAML directive', start, 'did not find expected version number');
    return value;
  }

  private scanTagDirectiveValue(start: Mark): [number[], number[]] {
    this.cache(1);
    while (this.isBlank(0)) {
      this.skip();
      this.cache(1);
    }
    const handle = this.scanTagHandle(true, start);
    this.cache(1);
    if (!this.isBlank(0)) this.scannerError('while scanning a %TAG directive', start, 'did not find expected whitespace');
    while (this.isBlank(0)) {
      this.skip();
      this.cache(1);
    }
    const prefix = this.scanTagUri(true, null, start);
    this.cache(1);
    if (!this.isBlankz(0)) {
      this.scannerError('while scanning a %TAG directive', start, 'did not find expected whitespace or line break');
    }
    return [handle, prefix];
  }

  private scanAnchor(typ: Tok): Token {
    const s: number[] = [];
    const start = this.copyMark();
    this.skip();
    this.cache(1);
    while (isAlphaByte(this.c(0))) {
      this.read(s);
      this.cache(1);
    }
    const end = this.copyMark();
    const b = this.c(0);
    if (
      s.length === 0 ||
      !(this.isBlankz(0) || b === 0x3f || b === 0x3a || b === 0x2c || b === 0x5d || b === 0x7d || b === 0x25 || b === 0x40 || b === 0x60)
    ) {
      this.scannerError(
        typ === Tok.ANCHOR ? 'while scanning an anchor' : 'while scanning an alias',
        start,
        'did not find expected alphabetic or numeric character',
      );
    }
    const tok = token(typ, start, end);
    tok.value = s;
    return tok;
  }

  private scanTag(): Token {
    let handle: number[];
    let suffix: number[];
    const start = this.copyMark();
    this.cache(2);
    if (this.c(1) === 0x3c /* < */) {
      handle = [];
      this.skip();
      this.skip();
      suffix = this.scanTagUri(false, null, start);
      if (this.c(0) !== 0x3e /* > */) this.scannerError('while scanning a tag', start, "did not find the expected '>'");
      this.skip();
    } else {
      handle = this.scanTagHandle(false, start);
      if (handle[0] === 0x21 && handle.length > 1 && handle[handle.length - 1] === 0x21) {
        suffix = this.scanTagUri(false, null, start);
      } else {
        suffix = this.scanTagUri(false, handle, start);
        handle = [0x21];
        if (suffix.length === 0) [handle, suffix] = [suffix, handle];
      }
    }
    this.cache(1);
    if (!this.isBlankz(0)) {
      this.scannerError('while scanning a tag', start, 'did not find expected whitespace or line break');
    }
    const tok = token(Tok.TAG, start, this.copyMark());
    tok.value = handle;
    tok.suffix = suffix;
    return tok;
  }

  private scanTagHandle(directive: boolean, start: Mark): number[] {
    this.cache(1);
    if (this.c(0) !== 0x21) this.tagError(directive, start, "did not find expected '!'");
    const s: number[] = [];
    this.read(s);
    this.cache(1);
    while (isAlphaByte(this.c(0))) {
      this.read(s);
      this.cache(1);
    }
    if (this.c(0) === 0x21) {
      this.read(s);
    } else if (directive && !(s.length === 1 && s[0] === 0x21)) {
      this.tagError(directive, start, "did not find expected '!'");
    }
    return s;
  }

  private tagError(directive: boolean, start: Mark, problem: string): never {
    this.scannerError(directive ? 'while parsing a %TAG directive' : 'while parsing a tag', start, problem);
  }

  private scanTagUri(directive: boolean, head: number[] | null, start: Mark): number[] {
    const s: number[] = [];
    let hasTag = head !== null && head.length > 0;
    if (head !== null && head.length > 1) append(s, head.slice(1));
    this.cache(1);
    for (;;) {
      const b = this.c(0);
      if (
        !(
          isAlphaByte(b) ||
          b === 0x3b /* ; */ ||
          b === 0x2f /* / */ ||
          b === 0x3f /* ? */ ||
          b === 0x3a /* : */ ||
          b === 0x40 /* @ */ ||
          b === 0x26 /* & */ ||
          b === 0x3d /* = */ ||
          b === 0x2b /* + */ ||
          b === 0x24 /* $ */ ||
          b === 0x2c /* , */ ||
          b === 0x2e /* . */ ||
          b === 0x21 /* ! */ ||
          b === 0x7e /* ~ */ ||
          b === 0x2a /* * */ ||
          b === 0x27 /* ' */ ||
          b === 0x28 /* ( */ ||
          b === 0x29 /* ) */ ||
          b === 0x5b /* [ */ ||
          b === 0x5d /* ] */ ||
          b === 0x25 /* % */
        )
      ) {
        break;
      }
      if (b === 0x25) this.scanUriEscapes(directive, start, s);
      else this.read(s);
      this.cache(1);
      hasTag = true;
    }
    if (!hasTag) this.tagError(directive, start, 'did not find expected tag URI');
    return s;
  }

  private scanUriEscapes(directive: boolean, start: Mark, s: number[]): void {
    let w = 1024;
    while (w > 0) {
      this.cache(3);
      if (!(this.c(0) === 0x25 && isHexByte(this.c(1)) && isHexByte(this.c(2)))) {
        this.tagError(directive, start, 'did not find URI escaped octet');
      }
      const octet = (asHex(this.c(1)) << 4) + asHex(this.c(2));
      if (w === 1024) {
        w = width(octet);
        if (w === 0) this.tagError(directive, start, 'found an incorrect leading UTF-8 octet');
      } else if ((octet & 0xc0) !== 0x80) {
        this.tagError(directive, start, 'found an incorrect trailing UTF-8 octet');
      }
      s.push(octet);
      this.skip();
      this.skip();
      this.skip();
      w--;
    }
  }

  private scanBlockScalar(literal: boolean): Token {
    const start = this.copyMark();
    this.skip();
    this.cache(1);
    let chomping = 0;
    let increment = 0;
    if (this.c(0) === 0x2b || this.c(0) === 0x2d) {
      chomping = this.c(0) === 0x2b ? 1 : -1;
      this.skip();
      this.cache(1);
      if (isDigitByte(this.c(0))) {
        if (this.c(0) === 0x30) this.scannerError('while scanning a block scalar', start, 'found an indentation indicator equal to 0');
        increment = this.c(0) - 0x30;
        this.skip();
      }
    } else if (isDigitByte(this.c(0))) {
      if (this.c(0) === 0x30) this.scannerError('while scanning a block scalar', start, 'found an indentation indicator equal to 0');
      increment = this.c(0) - 0x30;
      this.skip();
      this.cache(1);
      if (this.c(0) === 0x2b || this.c(0) === 0x2d) {
        chomping = this.c(0) === 0x2b ? 1 : -1;
        this.skip();
      }
    }
    this.cache(1);
    while (this.isBlank(0)) {
      this.skip();
      this.cache(1);
    }
    if (this.c(0) === 0x23) {
      while (!this.isBreakz(0)) {
        this.skip();
        this.cache(1);
      }
    }
    if (!this.isBreakz(0)) this.scannerError('while scanning a block scalar', start, 'did not find expected comment or line break');
    if (this.isBreak(0)) {
      this.cache(2);
      this.skipLine();
    }
    let end = this.copyMark();
    let indent = 0;
    if (increment > 0) indent = this.indent >= 0 ? this.indent + increment : increment;
    const s: number[] = [];
    let leadingBreak: number[] = [];
    let trailingBreaks: number[] = [];
    [indent, end] = this.scanBlockScalarBreaks(indent, trailingBreaks, start, end);
    this.cache(1);
    let leadingBlank = false;
    let trailingBlank = false;
    while (this.mark.column === indent && this.c(0) !== 0) {
      trailingBlank = this.isBlank(0);
      if (!literal && !leadingBlank && !trailingBlank && leadingBreak.length > 0 && leadingBreak[0] === C_LF) {
        if (trailingBreaks.length === 0) s.push(C_SP);
      } else {
        append(s, leadingBreak);
      }
      leadingBreak = [];
      append(s, trailingBreaks);
      trailingBreaks = [];
      leadingBlank = this.isBlank(0);
      while (!this.isBreakz(0)) {
        this.read(s);
        this.cache(1);
      }
      this.cache(2);
      this.readLine(leadingBreak);
      [indent, end] = this.scanBlockScalarBreaks(indent, trailingBreaks, start, end);
    }
    if (chomping !== -1) append(s, leadingBreak);
    if (chomping === 1) append(s, trailingBreaks);
    const tok = token(Tok.SCALAR, start, end);
    tok.value = s;
    tok.style = literal ? Style.LITERAL : Style.FOLDED;
    return tok;
  }

  private scanBlockScalarBreaks(indent: number, breaks: number[], start: Mark, _end: Mark): [number, Mark] {
    let end = this.copyMark();
    let maxIndent = 0;
    for (;;) {
      this.cache(1);
      while ((indent === 0 || this.mark.column < indent) && this.c(0) === C_SP) {
        this.skip();
        this.cache(1);
      }
      if (this.mark.column > maxIndent) maxIndent = this.mark.column;
      if ((indent === 0 || this.mark.column < indent) && this.c(0) === C_TAB) {
        this.scannerError('while scanning a block scalar', start, 'found a tab character where an indentation space is expected');
      }
      if (!this.isBreak(0)) break;
      this.cache(2);
      this.readLine(breaks);
      end = this.copyMark();
    }
    if (indent === 0) {
      indent = maxIndent;
      if (indent < this.indent + 1) indent = this.indent + 1;
      if (indent < 1) indent = 1;
    }
    return [indent, end];
  }

  private scanFlowScalar(single: boolean): Token {
    const start = this.copyMark();
    this.skip();
    const s: number[] = [];
    let leadingBreak: number[] = [];
    let trailingBreaks: number[] = [];
    let whitespaces: number[] = [];
    for (;;) {
      this.cache(4);
      if (
        this.mark.column === 0 &&
        ((this.c(0) === 0x2d && this.c(1) === 0x2d && this.c(2) === 0x2d) || (this.c(0) === 0x2e && this.c(1) === 0x2e && this.c(2) === 0x2e)) &&
        this.isBlankz(3)
      ) {
        this.scannerError('while scanning a quoted scalar', start, 'found unexpected document indicator');
      }
      if (this.c(0) === 0) this.scannerError('while scanning a quoted scalar', start, 'found unexpected end of stream');
      let leadingBlanks = false;
      while (!this.isBlankz(0)) {
        const b = this.c(0);
        if (single && b === 0x27 && this.c(1) === 0x27) {
          s.push(0x27);
          this.skip();
          this.skip();
        } else if (single && b === 0x27) {
          break;
        } else if (!single && b === 0x22) {
          break;
        } else if (!single && b === 0x5c && this.isBreak(1)) {
          this.cache(3);
          this.skip();
          this.skipLine();
          leadingBlanks = true;
          break;
        } else if (!single && b === 0x5c) {
          let codeLength = 0;
          switch (this.c(1)) {
            case 0x30: s.push(0); break; // '0'
            case 0x61: s.push(0x07); break; // 'a'
            case 0x62: s.push(0x08); break; // 'b'
            case 0x74: // 't'
            case 0x09: s.push(0x09); break; // '\t'
            case 0x6e: s.push(0x0a); break; // 'n'
            case 0x76: s.push(0x0b); break; // 'v'
            case 0x66: s.push(0x0c); break; // 'f'
            case 0x72: s.push(0x0d); break; // 'r'
            case 0x65: s.push(0x1b); break; // 'e'
            case 0x20: s.push(0x20); break; // ' '
            case 0x22: s.push(0x22); break; // '"'
            case 0x27: s.push(0x27); break; // '\''
            case 0x5c: s.push(0x5c); break; // '\\'
            case 0x4e: s.push(0xc2, 0x85); break; // 'N'
            case 0x5f: s.push(0xc2, 0xa0); break; // '_'
            case 0x4c: s.push(0xe2, 0x80, 0xa8); break; // 'L'
            case 0x50: s.push(0xe2, 0x80, 0xa9); break; // 'P'
            case 0x78: codeLength = 2; break; // 'x'
            case 0x75: codeLength = 4; break; // 'u'
            case 0x55: codeLength = 8; break; // 'U'
            default:
              this.scannerError('while parsing a quoted scalar', start, 'found unknown escape character');
          }
          this.skip();
          this.skip();
          if (codeLength > 0) {
            let value = 0;
            this.cache(codeLength);
            for (let k = 0; k < codeLength; k++) {
              if (!isHexByte(this.c(k))) {
                this.scannerError('while parsing a quoted scalar', start, 'did not find expected hexdecimal number');
              }
              value = value * 16 + asHex(this.c(k));
            }
            if ((value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff) {
              this.scannerError('while parsing a quoted scalar', start, 'found invalid Unicode character escape code');
            }
            if (value <= 0x7f) {
              s.push(value);
            } else if (value <= 0x7ff) {
              s.push(0xc0 + (value >> 6), 0x80 + (value & 0x3f));
            } else if (value <= 0xffff) {
              s.push(0xe0 + (value >> 12), 0x80 + ((value >> 6) & 0x3f), 0x80 + (value & 0x3f));
            } else {
              s.push(0xf0 + (value >> 18), 0x80 + ((value >> 12) & 0x3f), 0x80 + ((value >> 6) & 0x3f), 0x80 + (value & 0x3f));
            }
            for (let k = 0; k < codeLength; k++) this.skip();
          }
        } else {
          this.read(s);
        }
        this.cache(2);
      }
      this.cache(1);
      if (single ? this.c(0) === 0x27 : this.c(0) === 0x22) break;
      while (this.isBlank(0) || this.isBreak(0)) {
        if (this.isBlank(0)) {
          if (!leadingBlanks) this.read(whitespaces);
          else this.skip();
        } else {
          this.cache(2);
          if (!leadingBlanks) {
            whitespaces = [];
            this.readLine(leadingBreak);
            leadingBlanks = true;
          } else {
            this.readLine(trailingBreaks);
          }
        }
        this.cache(1);
      }
      if (leadingBlanks) {
        if (leadingBreak.length > 0 && leadingBreak[0] === C_LF) {
          if (trailingBreaks.length === 0) s.push(C_SP);
          else append(s, trailingBreaks);
        } else {
          append(s, leadingBreak);
          append(s, trailingBreaks);
        }
        trailingBreaks = [];
        leadingBreak = [];
      } else {
        append(s, whitespaces);
        whitespaces = [];
      }
    }
    this.skip();
    const tok = token(Tok.SCALAR, start, this.copyMark());
    tok.value = s;
    tok.style = single ? Style.SINGLE_QUOTED : Style.DOUBLE_QUOTED;
    return tok;
  }

  private scanPlainScalar(): Token {
    const s: number[] = [];
    let leadingBreak: number[] = [];
    let trailingBreaks: number[] = [];
    let whitespaces: number[] = [];
    let leadingBlanks = false;
    const indent = this.indent + 1;
    const start = this.copyMark();
    let end = this.copyMark();
    for (;;) {
      this.cache(4);
      if (
        this.mark.column === 0 &&
        ((this.c(0) === 0x2d && this.c(1) === 0x2d && this.c(2) === 0x2d) || (this.c(0) === 0x2e && this.c(1) === 0x2e && this.c(2) === 0x2e)) &&
        this.isBlankz(3)
      ) {
        break;
      }
      if (this.c(0) === 0x23) break;
      while (!this.isBlankz(0)) {
        const b = this.c(0);
        if (
          (b === 0x3a && this.isBlankz(1)) ||
          (this.flowLevel > 0 && (b === 0x2c || b === 0x3f || b === 0x5b || b === 0x5d || b === 0x7b || b === 0x7d))
        ) {
          break;
        }
        if (leadingBlanks || whitespaces.length > 0) {
          if (leadingBlanks) {
            if (leadingBreak[0] === C_LF) {
              if (trailingBreaks.length === 0) s.push(C_SP);
              else append(s, trailingBreaks);
            } else {
              append(s, leadingBreak);
          append(s, trailingBreaks);
            }
            trailingBreaks = [];
            leadingBreak = [];
            leadingBlanks = false;
          } else {
            append(s, whitespaces);
            whitespaces = [];
          }
        }
        this.read(s);
        end = this.copyMark();
        this.cache(2);
      }
      if (!(this.isBlank(0) || this.isBreak(0))) break;
      this.cache(1);
      while (this.isBlank(0) || this.isBreak(0)) {
        if (this.isBlank(0)) {
          if (leadingBlanks && this.mark.column < indent && this.c(0) === C_TAB) {
            this.scannerError('while scanning a plain scalar', start, 'found a tab character that violates indentation');
          }
          if (!leadingBlanks) this.read(whitespaces);
          else this.skip();
        } else {
          this.cache(2);
          if (!leadingBlanks) {
            whitespaces = [];
            this.readLine(leadingBreak);
            leadingBlanks = true;
          } else {
            this.readLine(trailingBreaks);
          }
        }
        this.cache(1);
      }
      if (this.flowLevel === 0 && this.mark.column < indent) break;
    }
    const tok = token(Tok.SCALAR, start, end);
    tok.value = s;
    tok.style = Style.PLAIN;
    if (leadingBlanks) this.simpleKeyAllowed = true;
    return tok;
  }

  // ---- parserc.go ----

  private peekToken(): Token {
    if (!this.tokenAvailable) this.fetchMoreTokens();
    return this.tokens[this.tokensHead]!;
  }

  private skipToken(): void {
    this.tokenAvailable = false;
    this.tokensParsed++;
    this.streamEndProduced = this.tokens[this.tokensHead]!.typ === Tok.STREAM_END;
    this.tokensHead++;
  }

  /** yaml_parser_parse: the next event, or null once the stream has ended. */
  parse(): YEvent | null {
    if (this.streamEndProduced || this.state === St.END) return null;
    return this.stateMachine();
  }

  private popState(): void {
    this.state = this.states.pop()!;
  }

  private stateMachine(): YEvent {
    switch (this.state) {
      case St.STREAM_START:
        return this.parseStreamStart();
      case St.IMPLICIT_DOCUMENT_START:
        return this.parseDocumentStart(true);
      case St.DOCUMENT_START:
        return this.parseDocumentStart(false);
      case St.DOCUMENT_CONTENT:
        return this.parseDocumentContent();
      case St.DOCUMENT_END:
        return this.parseDocumentEnd();
      case St.BLOCK_NODE:
        return this.parseNode(true, false);
      case St.BLOCK_NODE_OR_INDENTLESS_SEQUENCE:
        return this.parseNode(true, true);
      case St.FLOW_NODE:
        return this.parseNode(false, false);
      case St.BLOCK_SEQUENCE_FIRST_ENTRY:
        return this.parseBlockSequenceEntry(true);
      case St.BLOCK_SEQUENCE_ENTRY:
        return this.parseBlockSequenceEntry(false);
      case St.INDENTLESS_SEQUENCE_ENTRY:
        return this.parseIndentlessSequenceEntry();
      case St.BLOCK_MAPPING_FIRST_KEY:
        return this.parseBlockMappingKey(true);
      case St.BLOCK_MAPPING_KEY:
        return this.parseBlockMappingKey(false);
      case St.BLOCK_MAPPING_VALUE:
        return this.parseBlockMappingValue();
      case St.FLOW_SEQUENCE_FIRST_ENTRY:
        return this.parseFlowSequenceEntry(true);
      case St.FLOW_SEQUENCE_ENTRY:
        return this.parseFlowSequenceEntry(false);
      case St.FLOW_SEQUENCE_ENTRY_MAPPING_KEY:
        return this.parseFlowSequenceEntryMappingKey();
      case St.FLOW_SEQUENCE_ENTRY_MAPPING_VALUE:
        return this.parseFlowSequenceEntryMappingValue();
      case St.FLOW_SEQUENCE_ENTRY_MAPPING_END:
        return this.parseFlowSequenceEntryMappingEnd();
      case St.FLOW_MAPPING_FIRST_KEY:
        return this.parseFlowMappingKey(true);
      case St.FLOW_MAPPING_KEY:
        return this.parseFlowMappingKey(false);
      case St.FLOW_MAPPING_VALUE:
        return this.parseFlowMappingValue(false);
      case St.FLOW_MAPPING_EMPTY_VALUE:
        return this.parseFlowMappingValue(true);
      default:
        throw new Error('invalid parser state');
    }
  }

  private parseStreamStart(): YEvent {
    const tok = this.peekToken();
    if (tok.typ !== Tok.STREAM_START) this.parserError('did not find expected <stream-start>', tok.start);
    this.state = St.IMPLICIT_DOCUMENT_START;
    const ev = event(Ev.STREAM_START, tok.start, tok.end);
    this.skipToken();
    return ev;
  }

  private parseDocumentStart(implicit: boolean): YEvent {
    let tok = this.peekToken();
    if (!implicit) {
      while (tok.typ === Tok.DOCUMENT_END) {
        this.skipToken();
        tok = this.peekToken();
      }
    }
    if (
      implicit &&
      tok.typ !== Tok.VERSION_DIRECTIVE &&
      tok.typ !== Tok.TAG_DIRECTIVE &&
      tok.typ !== Tok.DOCUMENT_START &&
      tok.typ !== Tok.STREAM_END
    ) {
      this.processDirectives();
      this.states.push(St.DOCUMENT_END);
      this.state = St.BLOCK_NODE;
      return event(Ev.DOCUMENT_START, tok.start, tok.end);
    }
    if (tok.typ !== Tok.STREAM_END) {
      const start = tok.start;
      this.processDirectives();
      tok = this.peekToken();
      if (tok.typ !== Tok.DOCUMENT_START) this.parserError('did not find expected <document start>', tok.start);
      this.states.push(St.DOCUMENT_END);
      this.state = St.DOCUMENT_CONTENT;
      const ev = event(Ev.DOCUMENT_START, start, tok.end);
      this.skipToken();
      return ev;
    }
    this.state = St.END;
    const ev = event(Ev.STREAM_END, tok.start, tok.end);
    this.skipToken();
    return ev;
  }

  private parseDocumentContent(): YEvent {
    const tok = this.peekToken();
    if (
      tok.typ === Tok.VERSION_DIRECTIVE ||
      tok.typ === Tok.TAG_DIRECTIVE ||
      tok.typ === Tok.DOCUMENT_START ||
      tok.typ === Tok.DOCUMENT_END ||
      tok.typ === Tok.STREAM_END
    ) {
      this.popState();
      return this.emptyScalar(tok.start);
    }
    return this.parseNode(true, false);
  }

  private parseDocumentEnd(): YEvent {
    const tok = this.peekToken();
    const start = tok.start;
    let end = tok.start;
    let implicit = true;
    if (tok.typ === Tok.DOCUMENT_END) {
      end = tok.end;
      this.skipToken();
      implicit = false;
    }
    this.tagDirectives = [];
    this.state = St.DOCUMENT_START;
    const ev = event(Ev.DOCUMENT_END, start, end);
    ev.implicit = implicit;
    return ev;
  }

  private parseNode(block: boolean, indentlessSequence: boolean): YEvent {
    let tok = this.peekToken();
    if (tok.typ === Tok.ALIAS) {
      this.popState();
      const ev = event(Ev.ALIAS, tok.start, tok.end);
      ev.anchor = tok.value;
      this.skipToken();
      return ev;
    }
    let start = tok.start;
    let end = tok.start;
    let tagToken = false;
    let tagHandle: number[] = [];
    let tagSuffix: number[] = [];
    let anchor: number[] | null = null;
    let tagMark = ZERO_MARK;
    if (tok.typ === Tok.ANCHOR) {
      anchor = tok.value;
      start = tok.start;
      end = tok.end;
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ === Tok.TAG) {
        tagToken = true;
        tagHandle = tok.value;
        tagSuffix = tok.suffix;
        tagMark = tok.start;
        end = tok.end;
        this.skipToken();
        tok = this.peekToken();
      }
    } else if (tok.typ === Tok.TAG) {
      tagToken = true;
      tagHandle = tok.value;
      tagSuffix = tok.suffix;
      start = tok.start;
      tagMark = tok.start;
      end = tok.end;
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ === Tok.ANCHOR) {
        anchor = tok.value;
        end = tok.end;
        this.skipToken();
        tok = this.peekToken();
      }
    }
    let tag: number[] = [];
    if (tagToken) {
      if (tagHandle.length === 0) {
        tag = tagSuffix;
      } else {
        const hs = latin1(tagHandle);
        for (const d of this.tagDirectives) {
          if (latin1(d.handle) === hs) {
            tag = [...d.prefix, ...tagSuffix];
            break;
          }
        }
        if (tag.length === 0) this.parserError('found undefined tag handle', tagMark, start);
      }
    }
    const implicit = tag.length === 0;
    const withProps = (ev: YEvent): YEvent => {
      ev.anchor = anchor;
      ev.tag = tag;
      return ev;
    };
    if (indentlessSequence && tok.typ === Tok.BLOCK_ENTRY) {
      end = tok.end;
      this.state = St.INDENTLESS_SEQUENCE_ENTRY;
      const ev = withProps(event(Ev.SEQUENCE_START, start, end));
      ev.implicit = implicit;
      return ev;
    }
    if (tok.typ === Tok.SCALAR) {
      end = tok.end;
      const plainImplicit = (tag.length === 0 && tok.style === Style.PLAIN) || (tag.length === 1 && tag[0] === 0x21);
      this.popState();
      const ev = withProps(event(Ev.SCALAR, start, end));
      ev.value = tok.value;
      ev.implicit = plainImplicit;
      ev.style = tok.style;
      this.skipToken();
      return ev;
    }
    if (tok.typ === Tok.FLOW_SEQUENCE_START) {
      this.state = St.FLOW_SEQUENCE_FIRST_ENTRY;
      return withProps(event(Ev.SEQUENCE_START, start, tok.end));
    }
    if (tok.typ === Tok.FLOW_MAPPING_START) {
      this.state = St.FLOW_MAPPING_FIRST_KEY;
      return withProps(event(Ev.MAPPING_START, start, tok.end));
    }
    if (block && tok.typ === Tok.BLOCK_SEQUENCE_START) {
      this.state = St.BLOCK_SEQUENCE_FIRST_ENTRY;
      return withProps(event(Ev.SEQUENCE_START, start, tok.end));
    }
    if (block && tok.typ === Tok.BLOCK_MAPPING_START) {
      this.state = St.BLOCK_MAPPING_FIRST_KEY;
      return withProps(event(Ev.MAPPING_START, start, tok.end));
    }
    if (anchor !== null && anchor.length > 0 || tag.length > 0) {
      this.popState();
      const ev = withProps(event(Ev.SCALAR, start, end));
      ev.value = [];
      ev.implicit = implicit;
      ev.style = Style.PLAIN;
      return ev;
    }
    this.parserError('did not find expected node content', tok.start, start);
  }

  private parseBlockSequenceEntry(first: boolean): YEvent {
    if (first) {
      this.marks.push(this.peekToken().start);
      this.skipToken();
    }
    let tok = this.peekToken();
    if (tok.typ === Tok.BLOCK_ENTRY) {
      const mark = tok.end;
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ !== Tok.BLOCK_ENTRY && tok.typ !== Tok.BLOCK_END) {
        this.states.push(St.BLOCK_SEQUENCE_ENTRY);
        return this.parseNode(true, false);
      }
      this.state = St.BLOCK_SEQUENCE_ENTRY;
      return this.emptyScalar(mark);
    }
    if (tok.typ === Tok.BLOCK_END) {
      this.popState();
      this.marks.pop();
      const ev = event(Ev.SEQUENCE_END, tok.start, tok.end);
      this.skipToken();
      return ev;
    }
    const contextMark = this.marks.pop()!;
    this.parserError("did not find expected '-' indicator", tok.start, contextMark);
  }

  private parseIndentlessSequenceEntry(): YEvent {
    let tok = this.peekToken();
    if (tok.typ === Tok.BLOCK_ENTRY) {
      const mark = tok.end;
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ !== Tok.BLOCK_ENTRY && tok.typ !== Tok.KEY && tok.typ !== Tok.VALUE && tok.typ !== Tok.BLOCK_END) {
        this.states.push(St.INDENTLESS_SEQUENCE_ENTRY);
        return this.parseNode(true, false);
      }
      this.state = St.INDENTLESS_SEQUENCE_ENTRY;
      return this.emptyScalar(mark);
    }
    this.popState();
    return event(Ev.SEQUENCE_END, tok.start, tok.start);
  }

  private parseBlockMappingKey(first: boolean): YEvent {
    if (first) {
      this.marks.push(this.peekToken().start);
      this.skipToken();
    }
    let tok = this.peekToken();
    if (tok.typ === Tok.KEY) {
      const mark = tok.end;
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ !== Tok.KEY && tok.typ !== Tok.VALUE && tok.typ !== Tok.BLOCK_END) {
        this.states.push(St.BLOCK_MAPPING_VALUE);
        return this.parseNode(true, true);
      }
      this.state = St.BLOCK_MAPPING_VALUE;
      return this.emptyScalar(mark);
    } else if (tok.typ === Tok.BLOCK_END) {
      this.popState();
      this.marks.pop();
      const ev = event(Ev.MAPPING_END, tok.start, tok.end);
      this.skipToken();
      return ev;
    }
    const contextMark = this.marks.pop()!;
    this.parserError('did not find expected key', tok.start, contextMark);
  }

  private parseBlockMappingValue(): YEvent {
    let tok = this.peekToken();
    if (tok.typ === Tok.VALUE) {
      const mark = tok.end;
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ !== Tok.KEY && tok.typ !== Tok.VALUE && tok.typ !== Tok.BLOCK_END) {
        this.states.push(St.BLOCK_MAPPING_KEY);
        return this.parseNode(true, true);
      }
      this.state = St.BLOCK_MAPPING_KEY;
      return this.emptyScalar(mark);
    }
    this.state = St.BLOCK_MAPPING_KEY;
    return this.emptyScalar(tok.start);
  }

  private parseFlowSequenceEntry(first: boolean): YEvent {
    if (first) {
      this.marks.push(this.peekToken().start);
      this.skipToken();
    }
    let tok = this.peekToken();
    if (tok.typ !== Tok.FLOW_SEQUENCE_END) {
      if (!first) {
        if (tok.typ === Tok.FLOW_ENTRY) {
          this.skipToken();
          tok = this.peekToken();
        } else {
          const contextMark = this.marks.pop()!;
          this.parserError("did not find expected ',' or ']'", tok.start, contextMark);
        }
      }
      if (tok.typ === Tok.KEY) {
        this.state = St.FLOW_SEQUENCE_ENTRY_MAPPING_KEY;
        const ev = event(Ev.MAPPING_START, tok.start, tok.end);
        ev.implicit = true;
        ev.tag = [];
        this.skipToken();
        return ev;
      } else if (tok.typ !== Tok.FLOW_SEQUENCE_END) {
        this.states.push(St.FLOW_SEQUENCE_ENTRY);
        return this.parseNode(false, false);
      }
    }
    this.popState();
    this.marks.pop();
    const ev = event(Ev.SEQUENCE_END, tok.start, tok.end);
    this.skipToken();
    return ev;
  }

  private parseFlowSequenceEntryMappingKey(): YEvent {
    const tok = this.peekToken();
    if (tok.typ !== Tok.VALUE && tok.typ !== Tok.FLOW_ENTRY && tok.typ !== Tok.FLOW_SEQUENCE_END) {
      this.states.push(St.FLOW_SEQUENCE_ENTRY_MAPPING_VALUE);
      return this.parseNode(false, false);
    }
    const mark = tok.end;
    this.skipToken();
    this.state = St.FLOW_SEQUENCE_ENTRY_MAPPING_VALUE;
    return this.emptyScalar(mark);
  }

  private parseFlowSequenceEntryMappingValue(): YEvent {
    let tok = this.peekToken();
    if (tok.typ === Tok.VALUE) {
      this.skipToken();
      const next = this.peekToken();
      if (next.typ !== Tok.FLOW_ENTRY && next.typ !== Tok.FLOW_SEQUENCE_END) {
        this.states.push(St.FLOW_SEQUENCE_ENTRY_MAPPING_END);
        return this.parseNode(false, false);
      }
      // Go shadows `token` inside the if; the empty scalar below takes the mark of the VALUE token.
    }
    this.state = St.FLOW_SEQUENCE_ENTRY_MAPPING_END;
    return this.emptyScalar(tok.start);
  }

  private parseFlowSequenceEntryMappingEnd(): YEvent {
    const tok = this.peekToken();
    this.state = St.FLOW_SEQUENCE_ENTRY;
    return event(Ev.MAPPING_END, tok.start, tok.start);
  }

  private parseFlowMappingKey(first: boolean): YEvent {
    if (first) {
      this.marks.push(this.peekToken().start);
      this.skipToken();
    }
    let tok = this.peekToken();
    if (tok.typ !== Tok.FLOW_MAPPING_END) {
      if (!first) {
        if (tok.typ === Tok.FLOW_ENTRY) {
          this.skipToken();
          tok = this.peekToken();
        } else {
          const contextMark = this.marks.pop()!;
          this.parserError("did not find expected ',' or '}'", tok.start, contextMark);
        }
      }
      if (tok.typ === Tok.KEY) {
        this.skipToken();
        tok = this.peekToken();
        if (tok.typ !== Tok.VALUE && tok.typ !== Tok.FLOW_ENTRY && tok.typ !== Tok.FLOW_MAPPING_END) {
          this.states.push(St.FLOW_MAPPING_VALUE);
          return this.parseNode(false, false);
        }
        this.state = St.FLOW_MAPPING_VALUE;
        return this.emptyScalar(tok.start);
      } else if (tok.typ !== Tok.FLOW_MAPPING_END) {
        this.states.push(St.FLOW_MAPPING_EMPTY_VALUE);
        return this.parseNode(false, false);
      }
    }
    this.popState();
    this.marks.pop();
    const ev = event(Ev.MAPPING_END, tok.start, tok.end);
    this.skipToken();
    return ev;
  }

  private parseFlowMappingValue(empty: boolean): YEvent {
    let tok = this.peekToken();
    if (empty) {
      this.state = St.FLOW_MAPPING_KEY;
      return this.emptyScalar(tok.start);
    }
    if (tok.typ === Tok.VALUE) {
      this.skipToken();
      tok = this.peekToken();
      if (tok.typ !== Tok.FLOW_ENTRY && tok.typ !== Tok.FLOW_MAPPING_END) {
        this.states.push(St.FLOW_MAPPING_KEY);
        return this.parseNode(false, false);
      }
    }
    this.state = St.FLOW_MAPPING_KEY;
    return this.emptyScalar(tok.start);
  }

  private emptyScalar(mark: Mark): YEvent {
    const ev = event(Ev.SCALAR, mark, mark);
    ev.value = [];
    ev.tag = [];
    ev.implicit = true;
    ev.style = Style.PLAIN;
    return ev;
  }

  private processDirectives(): void {
    let versionSeen = false;
    let tok = this.peekToken();
    while (tok.typ === Tok.VERSION_DIRECTIVE || tok.typ === Tok.TAG_DIRECTIVE) {
      if (tok.typ === Tok.VERSION_DIRECTIVE) {
        if (versionSeen) this.parserError('found duplicate %YAML directive', tok.start);
        if (tok.major !== 1 || tok.minor !== 1) this.parserError('found incompatible YAML document', tok.start);
        versionSeen = true;
      } else {
        this.appendTagDirective({ handle: tok.value, prefix: tok.prefix }, false, tok.start);
      }
      this.skipToken();
      tok = this.peekToken();
    }
    this.appendTagDirective({ handle: [0x21], prefix: [0x21] }, true, tok.start);
    this.appendTagDirective({ handle: [0x21, 0x21], prefix: [...Buffer.from('tag:yaml.org,2002:', 'latin1')] }, true, tok.start);
  }

  private appendTagDirective(value: TagDirective, allowDuplicates: boolean, mark: Mark): void {
    const h = latin1(value.handle);
    for (const d of this.tagDirectives) {
      if (latin1(d.handle) === h) {
        if (allowDuplicates) return;
        this.parserError('found duplicate %TAG directive', mark);
      }
    }
    this.tagDirectives.push({ handle: [...value.handle], prefix: [...value.prefix] });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// decode.go: the node tree of the first document (parser.parse), then the decoder into interface{}.

const enum NK {
  DOCUMENT = 1,
  MAPPING = 2,
  SEQUENCE = 4,
  SCALAR = 8,
  ALIAS = 16,
}

interface YNode {
  kind: NK;
  line: number;
  column: number;
  /** The resolved tag as Go holds it (its bytes, one char per byte): '' when there was none. */
  tag: string;
  /** A scalar's value; an alias's anchor name. */
  value: string;
  implicit: boolean;
  children: YNode[];
  alias: YNode | null;
}

const TAG_PREFIX = 'tag:yaml.org,2002:';
const NULL_TAG = TAG_PREFIX + 'null';
const BOOL_TAG = TAG_PREFIX + 'bool';
const STR_TAG = TAG_PREFIX + 'str';
const INT_TAG = TAG_PREFIX + 'int';
const FLOAT_TAG = TAG_PREFIX + 'float';
const TIMESTAMP_TAG = TAG_PREFIX + 'timestamp';
const BINARY_TAG = TAG_PREFIX + 'binary';
const MERGE_TAG = TAG_PREFIX + 'merge';

class Composer {
  private ev: YEvent | null = null;
  private anchors = new Map<string, YNode>();

  constructor(
    private readonly p: YamlParser,
    private readonly maxDepth: number,
  ) {}

  private next(): YEvent {
    const ev = this.p.parse();
    if (ev === null) throw new Error('attempted to parse past the end of the event stream');
    return ev;
  }

  private peek(): Ev {
    if (this.ev === null) this.ev = this.next();
    return this.ev.typ;
  }

  private current(): YEvent {
    if (this.ev === null) this.ev = this.next();
    return this.ev;
  }

  private expect(e: Ev): void {
    const ev = this.current();
    if (ev.typ === Ev.STREAM_END) failf('attempted to go past the end of stream; corrupted value?');
    if (ev.typ !== e) failf(`expected ${EVENT_NAMES[e]} event but got ${EVENT_NAMES[ev.typ]}`);
    this.ev = null;
  }

  private node(kind: NK): YNode {
    const ev = this.current();
    return { kind, line: ev.start.line, column: ev.start.column, tag: '', value: '', implicit: false, children: [], alias: null };
  }

  private anchor(n: YNode, anchor: number[] | null): void {
    if (anchor !== null) this.anchors.set(latin1(anchor), n);
  }

  /** yaml.go unmarshal(): p.parse() of the first document, or null for an empty stream. */
  first(): YNode | null {
    this.expect(Ev.STREAM_START);
    return this.parse(0);
  }

  private parse(depth: number): YNode | null {
    switch (this.peek()) {
      case Ev.SCALAR:
        return this.scalar();
      case Ev.ALIAS:
        return this.alias();
      case Ev.MAPPING_START:
        return this.mapping(depth + 1);
      case Ev.SEQUENCE_START:
        return this.sequence(depth + 1);
      case Ev.DOCUMENT_START:
        return this.document();
      case Ev.STREAM_END:
        return null;
      default:
        throw new Error('attempted to parse unknown event: ' + EVENT_NAMES[this.current().typ]);
    }
  }

  private child(depth: number): YNode {
    const n = this.parse(depth);
    if (n === null) throw new Error('unexpected end of stream inside a collection');
    return n;
  }

  private document(): YNode {
    const n = this.node(NK.DOCUMENT);
    this.anchors = new Map();
    this.expect(Ev.DOCUMENT_START);
    n.children.push(this.child(0));
    this.expect(Ev.DOCUMENT_END);
    return n;
  }

  private alias(): YNode {
    const n = this.node(NK.ALIAS);
    n.value = latin1(this.current().anchor ?? []);
    n.alias = this.anchors.get(n.value) ?? null;
    if (n.alias === null) failf(`unknown anchor '${n.value}' referenced`);
    this.expect(Ev.ALIAS);
    return n;
  }

  private scalar(): YNode {
    const n = this.node(NK.SCALAR);
    const ev = this.current();
    n.value = utf8(ev.value ?? []);
    n.tag = latin1(ev.tag ?? []);
    n.implicit = ev.implicit;
    this.anchor(n, ev.anchor);
    this.expect(Ev.SCALAR);
    return n;
  }

  private sequence(depth: number): YNode {
    if (depth > this.maxDepth) throw new LimitError(`nests deeper than ${this.maxDepth} levels`);
    const n = this.node(NK.SEQUENCE);
    n.tag = latin1(this.current().tag ?? []);
    this.anchor(n, this.current().anchor);
    this.expect(Ev.SEQUENCE_START);
    while (this.peek() !== Ev.SEQUENCE_END) n.children.push(this.child(depth));
    this.expect(Ev.SEQUENCE_END);
    return n;
  }

  private mapping(depth: number): YNode {
    if (depth > this.maxDepth) throw new LimitError(`nests deeper than ${this.maxDepth} levels`);
    const n = this.node(NK.MAPPING);
    n.tag = latin1(this.current().tag ?? []);
    this.anchor(n, this.current().anchor);
    this.expect(Ev.MAPPING_START);
    while (this.peek() !== Ev.MAPPING_END) {
      const k = this.child(depth);
      const v = this.child(depth);
      n.children.push(k, v);
    }
    this.expect(Ev.MAPPING_END);
    return n;
  }
}

// Go values as go-yaml v2 leaves them in an interface{}: string, bool, nil, int (int64 on 64-bit), uint64 (ints
// above int64), float64, []interface{} and map[interface{}]interface{}. A Go string that is not valid UTF-8
// (only `!!binary` can make one) is kept as bytes.

interface GoInt {
  readonly k: 'int';
  readonly v: bigint;
}
interface GoUint {
  readonly k: 'uint';
  readonly v: bigint;
}
interface GoFloat {
  readonly k: 'float';
  readonly v: number;
}
interface GoBytes {
  readonly k: 'bytes';
  readonly b: Uint8Array;
}
type GoValue = null | boolean | string | GoInt | GoUint | GoFloat | GoBytes | GoMap | GoValue[];

/** map[interface{}]interface{}: Go key equality (type and value; NaN never equal), last write wins (key too). */
class GoMap {
  readonly entries = new Map<string, [GoValue, GoValue]>();
  readonly nans: Array<[GoValue, GoValue]> = [];

  set(k: GoValue, v: GoValue): void {
    if (typeof k === 'object' && k !== null && !Array.isArray(k) && !(k instanceof GoMap) && k.k === 'float' && Number.isNaN(k.v)) {
      this.nans.push([k, v]);
      return;
    }
    this.entries.set(keyId(k), [k, v]);
  }

  *all(): Generator<[GoValue, GoValue]> {
    yield* this.entries.values();
    yield* this.nans;
  }
}

function keyId(k: GoValue): string {
  if (k === null) return 'n';
  if (typeof k === 'boolean') return k ? 'b1' : 'b0';
  if (typeof k === 'string') return 's' + k;
  if (Array.isArray(k) || k instanceof GoMap) throw new Error('unhashable key');
  switch (k.k) {
    case 'int':
      return 'i' + k.v.toString();
    case 'uint':
      return 'u' + k.v.toString();
    case 'float':
      return 'f' + (k.v === 0 ? '0' : String(k.v)); // 0.0 == -0.0 in Go
    case 'bytes':
      return 'x' + Buffer.from(k.b).toString('hex');
  }
}

/** fmt's %#v, enough for go-yaml's "invalid map key" message. */
function goSyntax(v: GoValue): string {
  if (v === null) return '<nil>';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  if (v instanceof GoMap) {
    return `map[interface {}]interface {}{${[...v.all()].map(([k, x]) => `${goSyntax(k)}:${goSyntax(x)}`).join(', ')}}`;
  }
  switch (v.k) {
    case 'int':
      return v.v.toString();
    case 'uint':
      return '0x' + v.v.toString(16);
    case 'float':
      return formatFloatG(v.v, 64);
    case 'bytes':
      return JSON.stringify(Buffer.from(v.b).toString('latin1'));
  }
}

const ALIAS_RATIO_RANGE_LOW = 400000;
const ALIAS_RATIO_RANGE_HIGH = 4000000;
const ALIAS_RATIO_RANGE = ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW;

function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= ALIAS_RATIO_RANGE_LOW) return 0.99;
  if (decodeCount >= ALIAS_RATIO_RANGE_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - ALIAS_RATIO_RANGE_LOW) / ALIAS_RATIO_RANGE);
}

/** Alias expansions left, shared by every document of one values file. */
interface AliasBudget {
  left: number;
  limit: number;
}

class Decoder {
  private decodeCount = 0;
  private aliasCount = 0;
  private aliasDepth = 0;
  private readonly aliases = new Set<YNode>();

  constructor(
    private readonly maxDepth: number,
    private readonly budget: AliasBudget,
  ) {}

  private count(): void {
    this.decodeCount++;
    if (this.aliasDepth > 0) this.aliasCount++;
    if (this.aliasCount > 100 && this.decodeCount > 1000 && this.aliasCount / this.decodeCount > allowedAliasRatio(this.decodeCount)) {
      failf('document contains excessive aliasing');
    }
  }

  private deeper(depth: number): void {
    if (depth > this.maxDepth) throw new LimitError(`nests deeper than ${this.maxDepth} levels`);
  }

  /** d.unmarshal(n, out) with out a fresh interface{}; `depth` is the depth a collection made here has. */
  unmarshal(n: YNode, depth: number): GoValue {
    this.count();
    switch (n.kind) {
      case NK.DOCUMENT:
        return this.unmarshal(n.children[0]!, depth);
      case NK.ALIAS:
        return this.alias(n, (t) => this.unmarshal(t, depth));
      case NK.SCALAR:
        return this.scalar(n);
      case NK.MAPPING: {
        this.deeper(depth);
        const m = new GoMap();
        this.mapping(n, m, depth);
        return m;
      }
      case NK.SEQUENCE: {
        this.deeper(depth);
        const out: GoValue[] = [];
        for (const c of n.children) out.push(this.unmarshal(c, depth + 1));
        return out;
      }
    }
  }

  /** d.unmarshal(n, out) with out an existing map (what a merge key does). */
  private unmarshalInto(n: YNode, m: GoMap, depth: number): void {
    this.count();
    if (n.kind === NK.ALIAS) {
      this.alias(n, (t) => this.unmarshalInto(t, m, depth));
      return;
    }
    this.mapping(n, m, depth);
  }

  private alias<T>(n: YNode, f: (target: YNode) => T): T {
    if (this.aliases.has(n)) failf(`anchor '${n.value}' value contains itself`);
    if (--this.budget.left < 0) throw new LimitError(`expands more than ${this.budget.limit} YAML aliases (a YAML bomb?)`);
    this.aliases.add(n);
    this.aliasDepth++;
    const r = f(n.alias!);
    this.aliasDepth--;
    this.aliases.delete(n);
    return r;
  }

  private scalar(n: YNode): GoValue {
    let tag: string;
    let resolved: GoValue;
    if (n.tag === '' && !n.implicit) {
      tag = STR_TAG;
      resolved = n.value;
    } else {
      [tag, resolved] = resolve(n.tag, n.value);
      if (tag === BINARY_TAG) {
        const data = base64StdDecode(resolved as string);
        if (data === null) failf('!!binary value contains invalid base64 data');
        resolved = goString(data);
      }
    }
    if (resolved === null) return null;
    // A timestamp decoded into interface{} stays the string it was written as (decode.go, "for backward compatibility").
    if (tag === TIMESTAMP_TAG) return n.value;
    return resolved;
  }

  private mapping(n: YNode, m: GoMap, depth: number): void {
    const l = n.children.length;
    for (let i = 0; i < l; i += 2) {
      const kn = n.children[i]!;
      const vn = n.children[i + 1]!;
      if (isMerge(kn)) {
        this.merge(vn, m, depth);
        continue;
      }
      const k = this.unmarshal(kn, depth + 1);
      if (Array.isArray(k) || k instanceof GoMap) failf(`invalid map key: ${goSyntax(k)}`);
      const v = this.unmarshal(vn, depth + 1);
      m.set(k, v);
    }
  }

  private merge(n: YNode, m: GoMap, depth: number): void {
    const failWantMap = (): never => failf('map merge requires map or sequence of maps as the value');
    switch (n.kind) {
      case NK.MAPPING:
        this.unmarshalInto(n, m, depth);
        return;
      case NK.ALIAS:
        if (n.alias !== null && n.alias.kind !== NK.MAPPING) failWantMap();
        this.unmarshalInto(n, m, depth);
        return;
      case NK.SEQUENCE:
        // Step backwards as earlier nodes take precedence.
        for (let i = n.children.length - 1; i >= 0; i--) {
          const ni = n.children[i]!;
          if (ni.kind === NK.ALIAS) {
            if (ni.alias !== null && ni.alias.kind !== NK.MAPPING) failWantMap();
          } else if (ni.kind !== NK.MAPPING) {
            failWantMap();
          }
          this.unmarshalInto(ni, m, depth);
        }
        return;
      default:
        failWantMap();
    }
  }
}

function isMerge(n: YNode): boolean {
  return n.kind === NK.SCALAR && n.value === '<<' && (n.implicit || n.tag === MERGE_TAG);
}

/** A Go string made of bytes: a JS string when they are valid UTF-8. */
function goString(bytes: Uint8Array): string | GoBytes {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return { k: 'bytes', b: bytes };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// resolve.go

const RESOLVE_MAP = new Map<string, [string, GoValue]>();
for (const [v, tag, words] of [
  [true, BOOL_TAG, ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']],
  [false, BOOL_TAG, ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']],
  [null, NULL_TAG, ['', '~', 'null', 'Null', 'NULL']],
  [{ k: 'float', v: NaN }, FLOAT_TAG, ['.nan', '.NaN', '.NAN']],
  [{ k: 'float', v: Infinity }, FLOAT_TAG, ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']],
  [{ k: 'float', v: -Infinity }, FLOAT_TAG, ['-.inf', '-.Inf', '-.INF']],
  ['<<', MERGE_TAG, ['<<']],
] as Array<[GoValue, string, string[]]>) {
  for (const w of words) RESOLVE_MAP.set(w, [tag, v]);
}

/** resolveTable: 'S' sign, 'D' digit, 'M' in the map, '.' float, 0 nothing. */
function hintOf(c: number): string {
  if (c === 0x2b || c === 0x2d) return 'S';
  if (c >= 0x30 && c <= 0x39) return 'D';
  if ('yYnNtTfFoO~'.includes(String.fromCharCode(c))) return 'M';
  if (c === 0x2e) return '.';
  return '';
}

function shortTag(tag: string): string {
  return tag.startsWith(TAG_PREFIX) ? '!!' + tag.slice(TAG_PREFIX.length) : tag;
}

function resolvableTag(tag: string): boolean {
  return tag === '' || tag === STR_TAG || tag === BOOL_TAG || tag === INT_TAG || tag === FLOAT_TAG || tag === NULL_TAG || tag === TIMESTAMP_TAG;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

const MAX_INT64 = (1n << 63n) - 1n;

function intValue(v: bigint): GoInt {
  return { k: 'int', v };
}

function resolve(tag: string, inp: string): [string, GoValue] {
  if (!resolvableTag(tag)) return [tag, inp];
  const [rtag, out] = resolveUntyped(tag, inp);
  // The deferred check of resolve(): an explicit tag must match what the text resolves to.
  if (tag === '' || tag === rtag || tag === STR_TAG || tag === BINARY_TAG) return [rtag, out];
  if (tag === FLOAT_TAG && rtag === INT_TAG && typeof out === 'object' && out !== null && !Array.isArray(out) && !(out instanceof GoMap) && out.k === 'int') {
    return [FLOAT_TAG, { k: 'float', v: Number(out.v) }];
  }
  failf(`cannot decode ${shortTag(rtag)} \`${inp}\` as a ${shortTag(tag)}`);
}

function resolveUntyped(tag: string, inp: string): [string, GoValue] {
  const c0 = inp.length === 0 ? -1 : inp.charCodeAt(0);
  const hint = c0 === -1 ? 'N' : c0 < 0x80 ? hintOf(c0) : '';
  if (hint !== '' && tag !== STR_TAG && tag !== BINARY_TAG) {
    const item = RESOLVE_MAP.get(inp);
    if (item !== undefined) return item;
    switch (hint) {
      case 'M':
        break;
      case '.': {
        const f = goParseFloat(inp);
        if (f !== null) return [FLOAT_TAG, { k: 'float', v: f }];
        break;
      }
      case 'D':
      case 'S': {
        if ((tag === '' || tag === TIMESTAMP_TAG) && parseTimestamp(inp)) return [TIMESTAMP_TAG, inp];
        const plain = inp.replaceAll('_', '');
        const iv = goParseInt(plain, 0);
        if (iv !== null) return [INT_TAG, intValue(iv)];
        const uv = goParseUint(plain, 0);
        if (uv !== null) return [INT_TAG, { k: 'uint', v: uv }];
        if (YAML_STYLE_FLOAT.test(plain)) {
          const f = goParseFloat(plain);
          if (f !== null) return [FLOAT_TAG, { k: 'float', v: f }];
        }
        if (plain.startsWith('0b')) {
          const iv2 = goParseInt(plain.slice(2), 2);
          if (iv2 !== null) return [INT_TAG, intValue(iv2)];
          const uv2 = goParseUint(plain.slice(2), 2);
          if (uv2 !== null) return [INT_TAG, { k: 'uint', v: uv2 }];
        } else if (plain.startsWith('-0b')) {
          const iv2 = goParseInt('-' + plain.slice(3), 2);
          if (iv2 !== null) return [INT_TAG, intValue(iv2)];
        }
        break;
      }
    }
  }
  return [STR_TAG, inp];
}

/** strconv's underscoreOK: underscores only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes((s[1] ?? '').toLowerCase())) {
    i = 2;
    saw = '0';
    hex = (s[1] ?? '').toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && c.toLowerCase() >= 'a' && c.toLowerCase() <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseUint(s, base, 64), or null on any error. */
function goParseUint(s: string, base: number): bigint | null {
  if (s === '') return null;
  const base0 = base === 0;
  const s0 = s;
  if (base0) {
    base = 10;
    if (s[0] === '0') {
      const p = (s[1] ?? '').toLowerCase();
      if (s.length >= 3 && p === 'b') {
        base = 2;
        s = s.slice(2);
      } else if (s.length >= 3 && p === 'o') {
        base = 8;
        s = s.slice(2);
      } else if (s.length >= 3 && p === 'x') {
        base = 16;
        s = s.slice(2);
      } else {
        base = 8;
        s = s.slice(1);
      }
    }
  }
  const b = BigInt(base);
  const max = (1n << 64n) - 1n;
  let n = 0n;
  let underscores = false;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '_' && base0) {
      underscores = true;
      continue;
    }
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x7a) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x5a) d = c - 0x41 + 10;
    else return null;
    if (d >= base) return null;
    n = n * b + BigInt(d);
    if (n > max) return null;
  }
  if (underscores && !underscoreOK(s0)) return null;
  return n;
}

/** strconv.ParseInt(s, base, 64), or null on any error. */
function goParseInt(s: string, base: number): bigint | null {
  if (s === '') return null;
  let neg = false;
  if (s[0] === '+') s = s.slice(1);
  else if (s[0] === '-') {
    neg = true;
    s = s.slice(1);
  }
  const un = goParseUint(s, base);
  if (un === null) return null;
  if (!neg && un > MAX_INT64) return null;
  if (neg && un > MAX_INT64 + 1n) return null;
  return neg ? -un : un;
}

/**
 * strconv.ParseFloat(s, 64) for what resolve() hands it: decimal text (digits, underscores between digits, one
 * '.', an exponent). Hexadecimal floats and inf/nan words never get here (resolve() only calls it on text that
 * starts with '.' or matches its decimal regexp). Null on a syntax error and on overflow (Go's ErrRange).
 */
function goParseFloat(s: string): number | null {
  if (!/^[+-]?[0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9][0-9_]*)?$/.test(s)) return null;
  const m = /^[+-]?([0-9_]*)(?:\.([0-9_]*))?/.exec(s)!;
  if (!/[0-9]/.test((m[1] ?? '') + (m[2] ?? ''))) return null;
  if (s.includes('_') && !underscoreOK(s)) return null;
  const v = Number(s.replaceAll('_', ''));
  if (!Number.isFinite(v)) return null;
  return v;
}

// time.Parse with the layouts of resolve.go allowedTimestampFormats (only an explicit !!timestamp tag can tell a
// timestamp from a string: decoded into interface{}, a timestamp stays its text).

const TIMESTAMP_LAYOUTS: Array<Array<string>> = [
  ['Y', '-', 'M', '-', 'D', 'T', 'h', ':', 'm', ':', 's', 'F', 'Z'],
  ['Y', '-', 'M', '-', 'D', 't', 'h', ':', 'm', ':', 's', 'F', 'Z'],
  ['Y', '-', 'M', '-', 'D', ' ', 'h', ':', 'm', ':', 's', 'F'],
  ['Y', '-', 'M', '-', 'D'],
];

function parseTimestamp(s: string): boolean {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
  }
  if (i !== 4 || i === s.length || s[i] !== '-') return false;
  return TIMESTAMP_LAYOUTS.some((layout) => timeParse(layout, s));
}

function timeParse(layout: string[], value: string): boolean {
  const isD = (v: string, i: number): boolean => i < v.length && v.charCodeAt(i) >= 0x30 && v.charCodeAt(i) <= 0x39;
  // getnum(s, fixed=false): one or two digits.
  const getnum = (v: string): [number, string] | null => {
    if (!isD(v, 0)) return null;
    if (!isD(v, 1)) return [v.charCodeAt(0) - 0x30, v.slice(1)];
    return [(v.charCodeAt(0) - 0x30) * 10 + (v.charCodeAt(1) - 0x30), v.slice(2)];
  };
  const getnumFixed = (v: string): number | null => (isD(v, 0) && isD(v, 1) ? Number(v.slice(0, 2)) : null);
  let year = 0;
  let month = -1;
  let day = -1;
  let v = value;
  for (let li = 0; li < layout.length; li++) {
    const std = layout[li]!;
    switch (std) {
      case 'Y': {
        if (v.length < 4 || !isD(v, 0)) return false;
        const p = v.slice(0, 4);
        if (!/^[+-]?[0-9]+$/.test(p)) return false;
        year = Number(p);
        v = v.slice(4);
        break;
      }
      case 'M': {
        const r = getnum(v);
        if (r === null) return false;
        [month, v] = r;
        if (month <= 0 || month > 12) return false;
        break;
      }
      case 'D': {
        const r = getnum(v);
        if (r === null) return false;
        [day, v] = r;
        break;
      }
      case 'h': {
        const r = getnum(v);
        if (r === null) return false;
        if (r[0] >= 24) return false;
        v = r[1];
        break;
      }
      case 'm': {
        const r = getnum(v);
        if (r === null) return false;
        if (r[0] >= 60) return false;
        v = r[1];
        break;
      }
      case 's': {
        const r = getnum(v);
        if (r === null) return false;
        if (r[0] >= 60) return false;
        v = r[1];
        // A fraction here is read by the 'F' (.999999999) element that follows in every layout with seconds.
        break;
      }
      case 'F': {
        if (v.length < 2 || !(v[0] === '.' || v[0] === ',') || !isD(v, 1)) break;
        let n = 1;
        while (isD(v, n)) n++;
        v = v.slice(n);
        break;
      }
      case 'Z': {
        if (v.length >= 1 && v[0] === 'Z') {
          v = v.slice(1);
          break;
        }
        if (v.length < 6 || v[3] !== ':') return false;
        const sign = v[0];
        const hr = getnumFixed(v.slice(1, 3));
        const mm = getnumFixed(v.slice(4, 6));
        if (hr === null || mm === null) return false;
        if (hr > 24 || mm > 60) return false;
        if (sign !== '+' && sign !== '-') return false;
        v = v.slice(6);
        break;
      }
      case ' ': {
        // time.skip: a space in the layout matches any run of spaces (none at the end of the value).
        if (v.length > 0 && v[0] !== ' ') return false;
        v = v.replace(/^ +/, '');
        break;
      }
      default:
        if (v.length === 0 || v[0] !== std) return false;
        v = v.slice(1);
    }
  }
  if (v.length !== 0) return false;
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysIn = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day >= 1 && day <= daysIn;
}

/** encoding/base64.StdEncoding.DecodeString: padded, non-strict, '\r' and '\n' ignored. Null on error. */
function base64StdDecode(s: string): Uint8Array | null {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const src = Buffer.from(s, 'utf8');
  const out: number[] = [];
  let si = 0;
  for (;;) {
    // decodeQuantum
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let end = false;
    for (; j < 4; j++) {
      if (src.length === si) {
        if (j === 0) return Uint8Array.from(out);
        return null; // j == 1, or padding expected
      }
      const inb = src[si]!;
      si++;
      const d = inb < 0x80 ? ALPHABET.indexOf(String.fromCharCode(inb)) : -1;
      if (d >= 0) {
        dbuf[j] = d;
        continue;
      }
      if (inb === C_LF || inb === C_CR) {
        j--;
        continue;
      }
      if (inb !== 0x3d /* = */) return null;
      if (j === 0 || j === 1) return null;
      if (j === 2) {
        while (si < src.length && (src[si] === C_LF || src[si] === C_CR)) si++;
        if (si === src.length) return null;
        if (src[si] !== 0x3d) return null;
        si++;
      }
      while (si < src.length && (src[si] === C_LF || src[si] === C_CR)) si++;
      if (si < src.length) return null; // trailing garbage
      dlen = j;
      end = true;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, dlen - 1));
    if (end) return Uint8Array.from(out);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// strconv.FormatFloat(f, 'g', -1, bitSize): the shortest decimal that reads back as the same float of that
// size, the closest one if there are several (ties to even), as Go's Dragonbox (Ryu before Go 1.26) picks it;
// then formatDigits(): %e when the decimal exponent is < -4 or >= 6 (eprec is 6 for the shortest form), else %f.

function shortestDigits(v: number, bitSize: 32 | 64, go: GoRelease): { digits: string; dp: number } {
  // v > 0, finite, and exactly representable at bitSize.
  let mant: bigint;
  let exp: number;
  let lowerCloser: boolean;
  if (bitSize === 32) {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, v);
    const bits = dv.getUint32(0);
    const e = (bits >>> 23) & 0xff;
    const m = bits & 0x7fffff;
    if (e === 0) {
      mant = BigInt(m);
      exp = -149;
    } else {
      mant = BigInt(m | 0x800000);
      exp = e - 150;
    }
    lowerCloser = m === 0 && e > 1;
  } else {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v);
    const bits = dv.getBigUint64(0);
    const e = Number((bits >> 52n) & 0x7ffn);
    const m = bits & 0xfffffffffffffn;
    if (e === 0) {
      mant = m;
      exp = -1074;
    } else {
      mant = m | 0x10000000000000n;
      exp = e - 1075;
    }
    lowerCloser = m === 0n && e > 1;
  }
  // Go 1.26's Dragonbox, for a power of two (its Algorithm 5.6), rounds a tie up, except at one exponent.
  const tiesUp = go === '1.26' && lowerCloser && exp !== -77;
  // Work in units of 2^(exp-2): value 4m, interval [4m - (lowerCloser ? 1 : 2), 4m + 2].
  const even = mant % 2n === 0n;
  const V = 4n * mant;
  const lo = V - (lowerCloser ? 1n : 2n);
  const hi = V + 2n;
  // Scale: x = X * 2^(exp-2). Represent candidates d*10^k as rationals against the common scale.
  const e2 = exp - 2;
  // Compare d*10^k with X*2^e2  <=>  d*10^k*2^-e2 with X (when e2 < 0) or d*10^k with X*2^e2.
  const scaleNum = (x: bigint): bigint => (e2 >= 0 ? x << BigInt(e2) : x); // value in "num" units
  const unit = e2 >= 0 ? 1n : 1n << BigInt(-e2); // denominator
  // For a decimal exponent k, a candidate is d*10^k; in num units: d*10^k*unit (k >= 0) or d*unit/10^-k.
  const approxExp = Math.floor(Math.log10(v));
  for (let k = approxExp + 1; k >= approxExp - 30; k--) {
    // Find integers d with lo' <= d*10^k <= hi' (inclusive if even, exclusive otherwise), scaled by unit*10^max(0,-k).
    const p10 = 10n ** BigInt(Math.abs(k));
    const mul = k >= 0 ? p10 * unit : unit; // d*10^k in num units, times (k<0 ? 10^-k : 1)
    const fix = k >= 0 ? 1n : p10; // scale applied to interval bounds
    const L = scaleNum(lo) * fix;
    const H = scaleNum(hi) * fix;
    const X = scaleNum(V) * fix;
    // smallest d with d*mul >= L (or > L), largest with d*mul <= H (or < H)
    let dmin = L / mul + (L % mul === 0n ? 0n : 1n);
    if (!even && dmin * mul === L) dmin++;
    let dmax = H / mul;
    if (!even && dmax * mul === H) dmax--;
    if (dmin > dmax) continue;
    // closest to X, ties to even
    let d = X / mul;
    const rem = X - d * mul;
    if (2n * rem > mul || (2n * rem === mul && (tiesUp || d % 2n === 1n))) d++;
    if (d < dmin) d = dmin;
    if (d > dmax) d = dmax;
    let digits = d.toString();
    let kk = k;
    while (digits.length > 1 && digits.endsWith('0')) {
      digits = digits.slice(0, -1);
      kk++;
    }
    return { digits, dp: digits.length + kk };
  }
  throw new Error('no shortest decimal found');
}

/** strconv.FormatFloat(v, 'g', -1, bitSize). */
function formatFloatG(v: number, bitSize: 32 | 64, go: GoRelease = '1.26'): string {
  if (bitSize === 32) v = Math.fround(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const sign = neg ? '-' : '';
  if (v === 0) return sign + '0';
  const { digits, dp } = shortestDigits(Math.abs(v), bitSize, go);
  const nd = digits.length;
  const exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    const mantissa = nd > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const ae = Math.abs(exp);
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' + ae : ae}`;
  }
  // %f with max(nd - dp, 0) decimals
  let intPart: string;
  let frac: string;
  if (dp <= 0) {
    intPart = '0';
    frac = '0'.repeat(-dp) + digits;
  } else if (dp >= nd) {
    intPart = digits + '0'.repeat(dp - nd);
    frac = '';
  } else {
    intPart = digits.slice(0, dp);
    frac = digits.slice(dp);
  }
  return sign + intPart + (frac ? '.' + frac : '');
}

// ---------------------------------------------------------------------------------------------------------------
// sigs.k8s.io/yaml convertToJSONableObject, then encoding/json Marshal and Unmarshal into interface{}.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** o[k] = v as an own property, `__proto__` included (an assignment would set the prototype). */
function defineOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** encoding/json: each byte that is not part of valid UTF-8 becomes U+FFFD (utf8.DecodeRuneInString, one byte). */
function goBytesToJsonString(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let cp = 0;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      out += '\ufffd';
      i++;
      continue;
    }
    let ok = i + n < b.length;
    for (let k = 1; ok && k <= n; k++) {
      const t = b[i + k];
      if (t === undefined || (t & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (t & 0x3f);
    }
    // Go's ranges: no overlongs (E0 needs A0..BF, F0 needs 90..BF), no surrogates (ED needs 80..9F), <= U+10FFFF.
    if (ok) {
      const t1 = b[i + 1]!;
      if ((c === 0xe0 && t1 < 0xa0) || (c === 0xed && t1 > 0x9f) || (c === 0xf0 && t1 < 0x90) || (c === 0xf4 && t1 > 0x8f)) ok = false;
    }
    if (!ok) {
      out += '\ufffd';
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += n + 1;
  }
  return out;
}

function jsonDeepEqual(a: Json, b: Json): boolean {
  if (typeof a === 'number' || typeof b === 'number') return typeof a === 'number' && typeof b === 'number' && Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonDeepEqual(x, b[i]!));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonDeepEqual(a[k]!, b[k]!));
}

function goBytesCompare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

interface Converted {
  value: Json;
  /** json.Marshal fails on it whatever Go's map order (an infinity or NaN in every possible result). */
  certainNonFinite: boolean;
}

class JsonConverter {
  /** Why Go's result depends on its map order, when it does. */
  unknowable: string | null = null;

  constructor(private readonly go: GoRelease) {}

  convert(v: GoValue): Converted {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return { value: v, certainNonFinite: false };
    if (Array.isArray(v)) {
      const out: Json[] = [];
      let bad = false;
      for (const x of v) {
        const c = this.convert(x);
        out.push(c.value);
        bad ||= c.certainNonFinite;
      }
      return { value: out, certainNonFinite: bad };
    }
    if (v instanceof GoMap) return this.convertMap(v);
    switch (v.k) {
      case 'int':
      case 'uint':
        return { value: Number(v.v), certainNonFinite: false };
      case 'float':
        return { value: v.v, certainNonFinite: !Number.isFinite(v.v) };
      case 'bytes':
        return { value: goBytesToJsonString(v.b), certainNonFinite: false };
    }
  }

  private convertMap(m: GoMap): Converted {
    // Group the entries by the JSON key they become (strMap[keyString] in Go). A key that is not valid UTF-8
    // (`raw`, from !!binary) can only meet another such key.
    const groups = new Map<string, { raw: Uint8Array | null; key: string; yamlKeys: GoValue[]; values: Converted[] }>();
    for (const [k, v] of m.all()) {
      let raw: Uint8Array | null = null;
      let key: string;
      if (typeof k === 'string') {
        key = k;
      } else if (typeof k === 'boolean') {
        key = k ? 'true' : 'false';
      } else if (k === null) {
        throw new GoError(`unsupported map key of type: <nil>, key: <nil>, value: ${goSyntax(v)}`);
      } else if (Array.isArray(k) || k instanceof GoMap) {
        throw new Error('unhashable key');
      } else if (k.k === 'int') {
        key = k.v.toString();
      } else if (k.k === 'float') {
        key = formatFloatG(k.v, 32, this.go);
        key = key === '+Inf' ? '.inf' : key === '-Inf' ? '-.inf' : key === 'NaN' ? '.nan' : key;
      } else if (k.k === 'uint') {
        throw new GoError(`unsupported map key of type: uint64, key: 0x${k.v.toString(16)}, value: ${goSyntax(v)}`);
      } else {
        raw = k.b;
        key = goBytesToJsonString(k.b);
      }
      const id = raw === null ? 's' + key : 'x' + Buffer.from(raw).toString('hex');
      const c = this.convert(v);
      const g = groups.get(id);
      if (g === undefined) groups.set(id, { raw, key, yamlKeys: [k], values: [c] });
      else {
        g.yamlKeys.push(k);
        g.values.push(c);
      }
    }
    let bad = false;
    const chosen: Array<{ raw: Uint8Array | null; key: string; value: Json }> = [];
    for (const g of groups.values()) {
      const first = g.values[0]!;
      if (g.values.length > 1) {
        const same = g.values.every((c) => jsonDeepEqual(c.value, first.value));
        if (same) {
          bad ||= first.certainNonFinite;
        } else {
          // Go keeps one of them at random; only an error in every one of them is certain.
          bad ||= g.values.every((c) => c.certainNonFinite);
          const keys = g.yamlKeys.map(goSyntaxKey);
          this.unknowable ??= `cannot be read exactly: the YAML keys ${keys.join(' and ')} ${keys.length === 2 ? 'both' : 'all'} become the JSON key ${JSON.stringify(g.key)}, with different values, and which one Helm keeps depends on Go's random map order`;
        }
      } else {
        bad ||= first.certainNonFinite;
      }
      chosen.push({ raw: g.raw, key: g.key, value: first.value });
    }
    // json.Marshal writes the keys sorted by their bytes; a key that is not valid UTF-8 prints like the key with
    // U+FFFD in its place, and json.Unmarshal keeps the later of two equal keys.
    if (chosen.some((c) => c.raw !== null)) {
      const bytesOf = (c: { raw: Uint8Array | null; key: string }): Uint8Array => c.raw ?? Buffer.from(c.key, 'utf8');
      chosen.sort((a, b) => goBytesCompare(bytesOf(a), bytesOf(b)));
    }
    const out: { [k: string]: Json } = {};
    for (const c of chosen) defineOwn(out, c.key, c.value);
    return { value: out, certainNonFinite: bad };
  }
}

function goSyntaxKey(k: GoValue): string {
  if (typeof k === 'object' && k !== null && !Array.isArray(k) && !(k instanceof GoMap) && k.k === 'float') {
    return formatFloatG(k.v, 64).replace('+Inf', '.inf').replace('-Inf', '-.inf').replace('NaN', '.nan');
  }
  return goSyntax(k);
}

function firstNonFinite(v: Json): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : v;
  if (v === null || typeof v !== 'object') return null;
  for (const x of Array.isArray(v) ? v : Object.values(v)) {
    const r = firstNonFinite(x);
    if (r !== null) return r;
  }
  return null;
}

/** sigs.k8s.io/yaml.Unmarshal(bytes, &v) with v an interface{} (yaml.Unmarshal, convertToJSONableObject, JSON). */
function sigsUnmarshal(bytes: Uint8Array, limits: YamlLimits, budget: AliasBudget, go: GoRelease): Json {
  const parser = new YamlParser(bytes);
  const node = new Composer(parser, limits.depth).first();
  const yamlObj: GoValue = node === null ? null : new Decoder(limits.depth, budget).unmarshal(node, 1);
  const conv = new JsonConverter(go);
  const c = conv.convert(yamlObj);
  if (c.certainNonFinite) {
    const bad = firstNonFinite(c.value);
    throw new GoError(`json: unsupported value: ${bad === null ? 'NaN' : formatFloatG(bad, 64)}`);
  }
  if (conv.unknowable !== null) throw new UnknowableError(conv.unknowable);
  return c.value;
}

// ---------------------------------------------------------------------------------------------------------------
// Helm 4: k8s.io/apimachinery pkg/util/yaml YAMLReader over a bufio.Reader (4096 bytes), then MergeMaps.

const BUFIO_SIZE = 4096;

/** Go's unicode.IsSpace, as strings.TrimSpace uses it. */
const isGoSpace = (cp: number): boolean =>
  (cp >= 0x09 && cp <= 0x0d) ||
  cp === 0x20 ||
  cp === 0x85 ||
  cp === 0xa0 ||
  cp === 0x1680 ||
  (cp >= 0x2000 && cp <= 0x200a) ||
  cp === 0x2028 ||
  cp === 0x2029 ||
  cp === 0x202f ||
  cp === 0x205f ||
  cp === 0x3000;

function goTrimSpace(s: string): string {
  const cps = [...s];
  let a = 0;
  let b = cps.length;
  while (a < b && isGoSpace(cps[a]!.codePointAt(0)!)) a++;
  while (b > a && isGoSpace(cps[b - 1]!.codePointAt(0)!)) b--;
  return cps.slice(a, b).join('');
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/**
 * The documents utilyaml.YAMLReader.Read returns, in order, for what LoadValues reads (with 4.3.1's missing final
 * newline appended when `appendNewline`). Lines are bufio.Reader.ReadLine lines: "\r\n" ends a line like "\n",
 * and a final unterminated line whose length is a multiple of 4096 comes with io.EOF and is dropped (the 4.2 bug).
 */
function yamlDocuments(b: Uint8Array, appendNewline: boolean): Uint8Array[] {
  if (appendNewline && b.length > 0 && b[b.length - 1] !== C_LF) b = concatBytes([b, Uint8Array.of(C_LF)]);
  let p = 0;
  // bufio.Reader.ReadLine
  const readLine = (): { line: Uint8Array; isPrefix: boolean; eof: boolean } => {
    const lim = Math.min(b.length, p + BUFIO_SIZE);
    const idx = b.subarray(p, lim).indexOf(C_LF);
    let line: Uint8Array;
    if (idx >= 0) {
      line = b.subarray(p, p + idx + 1);
      p += idx + 1;
    } else if (b.length - p >= BUFIO_SIZE) {
      // ErrBufferFull; a "\r" at the end is put back so that "\r\n" straddling the buffer is still seen.
      line = b.subarray(p, p + BUFIO_SIZE);
      p += BUFIO_SIZE;
      if (line.length > 0 && line[line.length - 1] === C_CR) {
        p--;
        line = line.subarray(0, line.length - 1);
      }
      return { line, isPrefix: true, eof: false };
    } else {
      line = b.subarray(p);
      p = b.length;
      if (line.length === 0) return { line, isPrefix: false, eof: true };
      return { line, isPrefix: false, eof: false };
    }
    let drop = 1;
    if (line.length > 1 && line[line.length - 2] === C_CR) drop = 2;
    return { line: line.subarray(0, line.length - drop), isPrefix: false, eof: false };
  };
  // LineReader.Read: the line's segments, then "\n" (kept as parts: a document is concatenated once).
  const LF = Uint8Array.of(C_LF);
  const readLogicalLine = (parts: Uint8Array[]): boolean => {
    let isPrefix = true;
    let eof = false;
    while (isPrefix && !eof) {
      const r = readLine();
      if (r.line.length > 0) parts.push(r.line);
      isPrefix = r.isPrefix;
      eof = r.eof;
    }
    parts.push(LF);
    return eof;
  };
  const startsWithSeparator = (parts: Uint8Array[]): boolean => {
    let n = 0;
    for (const part of parts) {
      for (let i = 0; i < part.length && n < 3; i++, n++) if (part[i] !== 0x2d) return false;
      if (n === 3) return true;
    }
    return false;
  };
  const docs: Uint8Array[] = [];
  // YAMLReader.Read, until io.EOF
  for (;;) {
    const buffer: Uint8Array[] = [];
    let doc: Uint8Array | null = null;
    for (;;) {
      const line: Uint8Array[] = [];
      const eof = readLogicalLine(line);
      if (startsWithSeparator(line)) {
        const text = Buffer.concat(line).subarray(3).toString('utf8');
        const trimmed = goTrimSpace(text);
        if (trimmed.length > 0 && trimmed[0] !== '#') {
          throw new GoError(`error reading yaml document: invalid Yaml document separator: ${trimmed}`);
        }
        if (buffer.length > 0) {
          doc = concatBytes(buffer);
          break;
        }
        if (eof) break;
      }
      if (eof) {
        if (buffer.length > 0) doc = concatBytes(buffer);
        break;
      }
      for (const part of line) buffer.push(part);
    }
    if (doc === null) return docs;
    docs.push(doc);
  }
}

/** loader.MergeMaps: maps merge key by key, anything else replaces. */
function mergeMaps(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(a)) defineOwn(out, k, a[k]);
  for (const k of Object.keys(b)) {
    const v = b[k];
    const bv = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    if (isJsonObject(v) && isJsonObject(bv)) defineOwn(out, k, mergeMaps(bv, v));
    else defineOwn(out, k, v);
  }
  return out;
}

function kindOf(v: Json): string {
  if (Array.isArray(v)) return 'a YAML list';
  if (typeof v === 'string') return 'a YAML string';
  if (typeof v === 'number') return 'a YAML number';
  if (typeof v === 'boolean') return 'a YAML boolean';
  return 'YAML';
}

/** How sigs.k8s.io/yaml.Unmarshal(doc, &map[string]interface{}) ends: null leaves the map empty, a non-map fails. */
function asValuesMap(v: Json, where: string): Record<string, unknown> {
  if (v === null) return {};
  if (isJsonObject(v)) return v;
  throw new GoError(`${where}${kindOf(v)}, not a mapping: Helm reads a values file into a map`);
}

// ---------------------------------------------------------------------------------------------------------------
// The API.

function encode(text: string): Uint8Array {
  // What Go holds for a string that came from JSON: lone surrogates are U+FFFD (Buffer does the same).
  return Buffer.from(text, 'utf8');
}

function checkBytes(text: string, limits: YamlLimits): string | null {
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > limits.bytes ? `is ${bytes} bytes, more than the ${limits.bytes} bytes cilium-guard reads` : null;
}

function failure(err: unknown): { ok: false; error: string } {
  if (err instanceof LimitError || err instanceof UnknowableError) return { ok: false, error: err.message };
  if (err instanceof GoError) {
    const m = err.message;
    if (m.startsWith('json: unsupported value')) {
      return { ok: false, error: `holds .inf or .nan, which Helm cannot turn into JSON (${m})` };
    }
    if (m.startsWith('unsupported map key')) return { ok: false, error: `has a map key Helm cannot turn into JSON (${m})` };
    if (m.startsWith('error reading yaml document: ')) {
      return { ok: false, error: `is not valid YAML for Helm 4: ${m.slice('error reading yaml document: '.length)}` };
    }
    if (m.startsWith('yaml: ')) return { ok: false, error: `is not valid YAML: ${m.slice(6)}` };
    return { ok: false, error: m };
  }
  if (err instanceof RangeError) return { ok: false, error: 'nests too deeply to read' };
  // Anything else is a bug of this port (Go would have panicked past go-yaml's recover, or not at all): answer
  // conservatively rather than take the caller down.
  return { ok: false, error: `cannot be read exactly (internal error: ${err instanceof Error ? err.message : String(err)})` };
}

/**
 * sigs.k8s.io/yaml.Unmarshal into `any`: the first document, go-yaml v2 semantics, JSON-converted (plain JS
 * values: objects, arrays, strings, numbers, booleans, null).
 */
export function unmarshalYaml(text: string, limits: YamlLimits, go: GoRelease = '1.26'): GoYamlResult {
  const tooBig = checkBytes(text, limits);
  if (tooBig !== null) return { ok: false, error: tooBig };
  try {
    return { ok: true, value: sigsUnmarshal(encode(text), limits, { left: limits.aliases, limit: limits.aliases }, go) };
  } catch (err) {
    return failure(err);
  }
}

/**
 * How Helm of version v reads one values file (the temp file Argo CD writes from helm.values / valuesObject):
 * always a mapping (JsonObject) or an error with Helm's reason.
 */
export function readHelmValues(text: string, v: HelmVersion, limits: YamlLimits, go: GoRelease = goReleaseOf(v)): HelmValuesResult {
  const tooBig = checkBytes(text, limits);
  if (tooBig !== null) return { ok: false, error: tooBig };
  const budget: AliasBudget = { left: limits.aliases, limit: limits.aliases };
  try {
    const bytes = encode(text);
    if (v === '3.19') return { ok: true, value: asValuesMap(sigsUnmarshal(bytes, limits, budget, go), 'is ') };
    const docs = yamlDocuments(bytes, v !== '4.2');
    let values: Record<string, unknown> = {};
    docs.forEach((doc, i) => {
      let m: Json;
      try {
        m = sigsUnmarshal(doc, limits, budget, go);
      } catch (err) {
        if (docs.length > 1 && err instanceof GoError && err.message.startsWith('yaml: ')) {
          throw new GoError(`yaml: document ${i + 1} (Helm 4 reads each part between --- lines on its own): ${err.message.slice(6)}`);
        }
        throw err;
      }
      values = mergeMaps(values, asValuesMap(m, docs.length > 1 ? `has a YAML document (${i + 1}) that is ` : 'is '));
    });
    return { ok: true, value: values };
  } catch (err) {
    return failure(err);
  }
}
