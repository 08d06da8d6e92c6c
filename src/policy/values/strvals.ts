// Helm's pkg/strvals, the parser behind `helm --set`, `--set-string`, `--set-json`, `--set-literal` and
// `--set-file`, ported from helm v4.3.1 (pkg/strvals/parser.go, literal_parser.go) with the behaviour of
// v3.19.4 and v4.2.1 behind a HelmVersion. Argo CD passes every helm.parameters entry as
// `--set name=value` (`--set-string` with forceString) and every fileParameters entry as `--set-file`,
// without escaping the name, so cilium-guard must parse these strings exactly as Helm does: a name like
// `a=b,c` or a value like `x,y=z` sets other keys than the name says, `{a,b}` makes a list, `\` escapes,
// `[i]` indexes (padding lists with nulls), `.` nests, a type clash is a recovered panic, and any error
// aborts the render.
//
// The port works on runes (code points) as Go does, never on UTF-16 units; a lone surrogate stands for
// U+FFFD, which is what Go sees when such a string reaches it through JSON. --set-json values are decoded
// as encoding/json decodes into an any (its scanner, error texts, 10000-level nesting limit, float64
// numbers, U+FFFD for a lone \u surrogate), on the runes left to parse.
//
// What differs between the Helm versions (the rest of parser.go and literal_parser.go is the same code):
// - v3.19.4 ends a parse only on io.EOF itself (`err == io.EOF`). v4.2.1 and v4.3.1 wrap with
//   fmt.Errorf("error parsing index: %w", err) and end on errors.Is(err, io.EOF), so an index that runs to
//   the end of the argument (`a[1`, `a.b[1`, `a[0][1`) is the error "error parsing index: EOF" in v3 and
//   a silent end in v4, keeping what was set before (`a[0][1` sets a: []). Same in --set-literal.
// - v4.3.1 also switched key/listItem/valList to errors.Is(e, io.EOF) and errors.Is(e, ErrNotList); that
//   only matters for a --set-file reader error that wraps io.EOF (see the last difference below).
// - Not in any release yet: helm main's 7bf81bd "preserve integer precision in --set-json" (UseNumber,
//   int64 for integral numbers). v4.3.1 decodes every --set-json number as a float64, as here.
//
// Differences from Go, each deliberate:
// - typedVal's int64 is returned as a JavaScript number: exact when Number.isSafeInteger, otherwise the
//   nearest double (9223372036854775807 becomes 9223372036854775808). Helm would keep every digit.
// - Go recurses (key -> listItem -> listItem for `a[0][0]...`, key -> listItem -> key for
//   `a[0].b[0].c...`, which MaxNestedNameLevel does not count) with a stack that grows to 1 GB; this
//   port runs the same calls on an explicit heap stack, so any nesting Helm accepts is accepted, without a
//   depth bound and without recursion. (Callers that walk the result recursively must expect such depth.)
// - Lists: Helm allocates index+1 cells for `a[65536]`, and copies a list each time it grows. The cells
//   allocated by one call are bounded by MAX_LIST_CELLS (16,777,216; 256 MB of Go interfaces): past it
//   this port throws a StrvalsError where Helm would go on allocating (and, with the gigabytes a hostile
//   1 MB argument asks for, be killed for running out of memory).
// - Recovered panics say "unable to parse key: interface conversion: interface {} is T, not U" as Go's
//   runtime does; T for a number cannot be known here (Go has int64 from --set, float64 from JSON and
//   values files), so it is "int64" for integers and "float64" otherwise. A value the caller put in dest
//   that is neither JSON-like nor a plain object (a --set-file reader's marker) is named "string", what
//   Helm's own --set-file reader returns.
// - Go quotes runes in error messages (%q) with Unicode 15.0's idea of printable; this port asks the
//   JavaScript engine's Unicode tables, so a code point assigned after 15.0 is shown as itself rather
//   than as \uXXXX. Messages only.
// - A --set-file reader's error is never io.EOF (or wrapping it): Helm's errors.Is(e, io.EOF) checks on a
//   reader's error (the only place v4.2 and v4.3 differ) are never taken.
import { goIsSpace } from '../gostrings.js';
import type { HelmVersion } from './helm-version.js';

/** The maximum index setIndex allows (parser.go MaxIndex, helm v4.3.1 = v3.19.4). */
export const MaxIndex = 65536;
/** The maximum number of `.` levels in a name (parser.go MaxNestedNameLevel, helm v4.3.1 = v3.19.4). */
export const MaxNestedNameLevel = 30;
/** cilium-guard's own bound on list cells allocated by one call (Go has none); see the header. */
export const MAX_LIST_CELLS = 1 << 24;

/** An error Helm's strvals returns (its message is Helm's), or cilium-guard's list-cell bound. */
export class StrvalsError extends Error {
  override name = 'StrvalsError';
}

/** A Go map[string]any: a plain object whose entries are own enumerable properties. */
export type GoMap = Record<string, unknown>;

/**
 * RunesValueReader (parser.go, helm v4.3.1): the value part of a --set-file argument (its runes, as a string) to the
 * value to set. Throwing is returning an error: the parse stops with it.
 */
export type RunesValueReader = (rs: string) => unknown;

// ---------------------------------------------------------------------------------------------------
// Go errors: a message and whether it is io.EOF itself or wraps it (fmt.Errorf("...: %w", io.EOF)).

const NOT_EOF = 0;
const IS_EOF = 1;
const WRAPS_EOF = 2;

interface GoErr {
  readonly msg: string;
  readonly eof: number;
  readonly cause?: unknown;
}

const EOF: GoErr = { msg: 'EOF', eof: IS_EOF };
/** ErrNotList (parser.go, helm v4.3.1). */
const ErrNotList: GoErr = { msg: 'not a list', eof: NOT_EOF };

const errorf = (msg: string): GoErr => ({ msg, eof: NOT_EOF });
/** fmt.Errorf("prefix: %w", err) in v4; errors.Wrap(err, prefix) in v3 (same text, never == io.EOF). */
const wrap = (prefix: string, err: GoErr): GoErr => ({
  msg: `${prefix}: ${err.msg}`,
  eof: err.eof === NOT_EOF ? NOT_EOF : WRAPS_EOF,
  cause: err.cause,
});

/** A Go runtime panic inside key(), recovered there. */
class GoPanic {
  constructor(readonly msg: string) {}
}

// ---------------------------------------------------------------------------------------------------
// Go formatting helpers.

const GRAPHIC = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** unicode.IsPrint / strconv.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space. */
function isPrint(cp: number): boolean {
  if (cp < 0x100) return (cp >= 0x20 && cp < 0x7f) || (cp >= 0xa1 && cp <= 0xff && cp !== 0xad);
  return GRAPHIC.test(String.fromCodePoint(cp));
}

const SHORT_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };

/** strconv's appendEscapedRune. */
function escapeRune(cp: number, quote: number): string {
  if (cp === quote || cp === 0x5c) return '\\' + String.fromCodePoint(cp);
  if (isPrint(cp)) return String.fromCodePoint(cp);
  const short = SHORT_ESCAPES[cp];
  if (short !== undefined) return short;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** strconv.Quote, what %q does to a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeRune(normalizeRune(ch).codePointAt(0)!, 0x22);
  return out + '"';
}

/** strconv.QuoteRune. */
function goQuoteRune(cp: number): string {
  return "'" + escapeRune(cp, 0x27) + "'";
}

/** What %q does to a []rune: each rune quoted, space-separated, in brackets. */
function goQuoteRunes(s: string): string {
  const parts: string[] = [];
  for (const ch of s) parts.push(goQuoteRune(normalizeRune(ch).codePointAt(0)!));
  return '[' + parts.join(' ') + ']';
}

function normalizeRune(ch: string): string {
  const c = ch.charCodeAt(0);
  return ch.length === 1 && c >= 0xd800 && c <= 0xdfff ? '\ufffd' : ch;
}

/** The string's runes, a lone surrogate read as U+FFFD. */
function toRunes(s: string): string[] {
  const rs = Array.from(s);
  for (let i = 0; i < rs.length; i++) {
    const ch = rs[i]!;
    if (ch.length === 1) {
      const c = ch.charCodeAt(0);
      if (c >= 0xd800 && c <= 0xdfff) rs[i] = '\ufffd';
    }
  }
  return rs;
}

// ---------------------------------------------------------------------------------------------------
// Go values in JavaScript.

const hasOwn = (m: GoMap, k: string): boolean => Object.prototype.hasOwnProperty.call(m, k);

function newMap(): GoMap {
  return {};
}

/** m[key] = v as an own enumerable property, even for "__proto__" (never through the prototype). */
function defineEntry(m: GoMap, key: string, v: unknown): void {
  // Plain assignment is many times faster on large maps; __proto__ is Object.prototype's one setter.
  if (key === '__proto__') Object.defineProperty(m, key, { value: v, writable: true, enumerable: true, configurable: true });
  else m[key] = v;
}

/** set (parser.go, helm v4.3.1): data[key] = val, unless the key is empty. */
function set(data: GoMap, key: string, val: unknown): void {
  if (key !== '') defineEntry(data, key, val);
}

function isMap(v: unknown): v is GoMap {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isEmptyMap(m: GoMap): boolean {
  for (const k in m) if (hasOwn(m, k)) return false;
  return true;
}

function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? 'int64' : 'float64';
  if (typeof v === 'bigint') return 'int64';
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  return 'string';
}

/** A Go type assertion v.(T) on an interface{}, which panics with a runtime.TypeAssertionError. */
function assertionPanic(v: unknown, want: string): GoPanic {
  const is = v === null || v === undefined ? 'nil' : goTypeName(v);
  return new GoPanic(`interface conversion: interface {} is ${is}, not ${want}`);
}

function assertList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  throw assertionPanic(v, '[]interface {}');
}

function assertMap(v: unknown): GoMap {
  if (isMap(v)) return v;
  throw assertionPanic(v, 'map[string]interface {}');
}

// ---------------------------------------------------------------------------------------------------
// strconv.

const MAX_UINT64 = (1n << 64n) - 1n;
const UINT64_CUTOFF = MAX_UINT64 / 10n + 1n;
const INT64_CUTOFF = 1n << 63n;

/** strconv.Atoi (Go 1.26 strconv/atoi.go) on a 64-bit platform (int is int64), with its error text. */
function atoi(s: string): { i: bigint; err: GoErr | null } {
  const fail = (why: string): { i: bigint; err: GoErr } => ({ i: 0n, err: errorf(`strconv.Atoi: parsing ${goQuote(s)}: ${why}`) });
  // Atoi's fast path (under 19 bytes) and ParseInt agree on every input; ParseInt is the general one.
  if (s === '') return fail('invalid syntax');
  let body = s;
  let neg = false;
  if (body[0] === '+') body = body.slice(1);
  else if (body[0] === '-') {
    neg = true;
    body = body.slice(1);
  }
  // ParseUint(body, 10, 64): a digit at a time; an overflow is reported where it happens, before any
  // later invalid character is seen.
  if (body === '') return fail('invalid syntax');
  let n = 0n;
  for (let k = 0; k < body.length; k++) {
    const c = body.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return fail('invalid syntax');
    if (n >= UINT64_CUTOFF) return fail('value out of range');
    n = n * 10n + BigInt(c - 0x30);
    if (n > MAX_UINT64) return fail('value out of range');
  }
  if (!neg && n >= INT64_CUTOFF) return fail('value out of range');
  if (neg && n > INT64_CUTOFF) return fail('value out of range');
  return { i: neg ? -n : n, err: null };
}

/** strconv.ParseInt(s, 10, 64) when it succeeds, else null. */
function parseInt64(s: string): bigint | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const r = atoi(s);
  return r.err ? null : r.i;
}

/** strings.EqualFold(s, lowerAsciiWord) (Go strings.go): simple folding; U+017F (ſ) folds to s, U+212A (K) to k. */
function equalFoldAscii(s: string, word: string): boolean {
  let k = 0;
  for (const ch of s) {
    if (k >= word.length) return false;
    const w = word.charCodeAt(k++);
    let c = ch.codePointAt(0)!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    else if (c === 0x17f) c = 0x73;
    else if (c === 0x212a) c = 0x6b;
    if (c !== w) return false;
  }
  return k === word.length;
}

/**
 * typedVal (parser.go, helm v4.3.1 = v3.19.4): the value of a --set value. true/false/null in any case
 * (strings.EqualFold), "0", and decimal int64s not starting with '0' (signs allowed: "-5", "+5", "-007")
 * are typed; everything else, and everything when st (--set-string), stays a string. The int64 comes
 * back as a number: exact up to Number.MAX_SAFE_INTEGER, the nearest double beyond (documented above).
 */
export function typedVal(rs: string, st: boolean): unknown {
  const val = rs.length > 0 && /[\ud800-\udfff]/.test(rs) ? toRunes(rs).join('') : rs;
  if (st) return val;
  if (equalFoldAscii(val, 'true')) return true;
  if (equalFoldAscii(val, 'false')) return false;
  if (equalFoldAscii(val, 'null')) return null;
  if (val === '0') return 0;
  if (val !== '' && val[0] !== '0') {
    const iv = parseInt64(val);
    if (iv !== null) return Number(iv);
  }
  return val;
}

// ---------------------------------------------------------------------------------------------------
// encoding/json's Decoder.Decode into an any, on the runes left to parse: the value that starts there,
// how many runes it takes (dec.InputOffset(), which is always on a rune boundary), or the error.

// Scanner op codes (encoding/json scanner.go).
const scanContinue = 0;
const scanBeginLiteral = 1;
const scanBeginObject = 2;
const scanObjectKey = 3;
const scanObjectValue = 4;
const scanEndObject = 5;
const scanBeginArray = 6;
const scanArrayValue = 7;
const scanEndArray = 8;
const scanSkipSpace = 9;
const scanEnd = 10;
const scanError = 11;

const parseObjectKey = 0;
const parseObjectValue = 1;
const parseArrayValue = 2;

const maxNestingDepth = 10000;

const enum St {
  BeginValue,
  BeginValueOrEmpty,
  BeginStringOrEmpty,
  BeginString,
  EndValue,
  EndTop,
  InString,
  InStringEsc,
  InStringEscU,
  InStringEscU1,
  InStringEscU12,
  InStringEscU123,
  Neg,
  One,
  Zero,
  Dot,
  Dot0,
  E,
  ESign,
  E0,
  T,
  Tr,
  Tru,
  F,
  Fa,
  Fal,
  Fals,
  N,
  Nu,
  Nul,
  Error,
}

const jsonIsSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** quoteChar (Go 1.26 encoding/json/scanner.go): the byte as a rune, quoted. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  const q = goQuote(String.fromCharCode(c));
  return "'" + q.slice(1, -1) + "'";
}

/** scanner (Go 1.26 encoding/json/scanner.go), a byte at a time. */
class JsonScanner {
  step: St = St.BeginValue;
  parseState: number[] = [];
  err: string | null = null;

  private error(c: number, context: string): number {
    this.step = St.Error;
    this.err = `invalid character ${quoteChar(c)} ${context}`;
    return scanError;
  }

  private push(c: number, newParseState: number, successState: number): number {
    this.parseState.push(newParseState);
    if (this.parseState.length <= maxNestingDepth) return successState;
    return this.error(c, 'exceeded max depth');
  }

  private pop(): void {
    this.parseState.pop();
    this.step = this.parseState.length === 0 ? St.EndTop : St.EndValue;
  }

  endValue(c: number): number {
    const n = this.parseState.length;
    if (n === 0) {
      this.step = St.EndTop;
      return this.endTop(c);
    }
    if (jsonIsSpace(c)) {
      this.step = St.EndValue;
      return scanSkipSpace;
    }
    const ps = this.parseState[n - 1];
    if (ps === parseObjectKey) {
      if (c === 0x3a) {
        this.parseState[n - 1] = parseObjectValue;
        this.step = St.BeginValue;
        return scanObjectKey;
      }
      return this.error(c, 'after object key');
    }
    if (ps === parseObjectValue) {
      if (c === 0x2c) {
        this.parseState[n - 1] = parseObjectKey;
        this.step = St.BeginString;
        return scanObjectValue;
      }
      if (c === 0x7d) {
        this.pop();
        return scanEndObject;
      }
      return this.error(c, 'after object key:value pair');
    }
    if (c === 0x2c) {
      this.step = St.BeginValue;
      return scanArrayValue;
    }
    if (c === 0x5d) {
      this.pop();
      return scanEndArray;
    }
    return this.error(c, 'after array element');
  }

  private endTop(_c: number): number {
    // A non-space byte after the value is an error only for a next value, which Decode never reads.
    return scanEnd;
  }

  private beginString(c: number): number {
    if (jsonIsSpace(c)) return scanSkipSpace;
    if (c === 0x22) {
      this.step = St.InString;
      return scanBeginLiteral;
    }
    return this.error(c, 'looking for beginning of object key string');
  }

  private beginValue(c: number): number {
    if (jsonIsSpace(c)) return scanSkipSpace;
    switch (c) {
      case 0x7b: // {
        this.step = St.BeginStringOrEmpty;
        return this.push(c, parseObjectKey, scanBeginObject);
      case 0x5b: // [
        this.step = St.BeginValueOrEmpty;
        return this.push(c, parseArrayValue, scanBeginArray);
      case 0x22:
        this.step = St.InString;
        return scanBeginLiteral;
      case 0x2d:
        this.step = St.Neg;
        return scanBeginLiteral;
      case 0x30:
        this.step = St.Zero;
        return scanBeginLiteral;
      case 0x74:
        this.step = St.T;
        return scanBeginLiteral;
      case 0x66:
        this.step = St.F;
        return scanBeginLiteral;
      case 0x6e:
        this.step = St.N;
        return scanBeginLiteral;
    }
    if (c >= 0x31 && c <= 0x39) {
      this.step = St.One;
      return scanBeginLiteral;
    }
    return this.error(c, 'looking for beginning of value');
  }

  private literal(c: number, want: number, next: St, what: string): number {
    if (c === want) {
      this.step = next;
      return scanContinue;
    }
    return this.error(c, `in literal ${what} (expecting '${String.fromCharCode(want)}')`);
  }

  private zero(c: number): number {
    if (c === 0x2e) {
      this.step = St.Dot;
      return scanContinue;
    }
    if (c === 0x65 || c === 0x45) {
      this.step = St.E;
      return scanContinue;
    }
    return this.endValue(c);
  }

  private eSign(c: number): number {
    if (isDigit(c)) {
      this.step = St.E0;
      return scanContinue;
    }
    return this.error(c, 'in exponent of numeric literal');
  }

  private hex(c: number, next: St): number {
    if (isHex(c)) {
      this.step = next;
      return scanContinue;
    }
    return this.error(c, 'in \\u hexadecimal character escape');
  }

  stepByte(c: number): number {
    switch (this.step) {
      case St.BeginValue:
        return this.beginValue(c);
      case St.BeginValueOrEmpty:
        if (jsonIsSpace(c)) return scanSkipSpace;
        if (c === 0x5d) return this.endValue(c);
        return this.beginValue(c);
      case St.BeginStringOrEmpty:
        if (jsonIsSpace(c)) return scanSkipSpace;
        if (c === 0x7d) {
          this.parseState[this.parseState.length - 1] = parseObjectValue;
          return this.endValue(c);
        }
        return this.beginString(c);
      case St.BeginString:
        return this.beginString(c);
      case St.EndValue:
        return this.endValue(c);
      case St.EndTop:
        return this.endTop(c);
      case St.InString:
        if (c === 0x22) {
          this.step = St.EndValue;
          return scanContinue;
        }
        if (c === 0x5c) {
          this.step = St.InStringEsc;
          return scanContinue;
        }
        if (c < 0x20) return this.error(c, 'in string literal');
        return scanContinue;
      case St.InStringEsc:
        switch (c) {
          case 0x62: // b
          case 0x66: // f
          case 0x6e: // n
          case 0x72: // r
          case 0x74: // t
          case 0x5c: // \
          case 0x2f: // /
          case 0x22: // "
            this.step = St.InString;
            return scanContinue;
          case 0x75: // u
            this.step = St.InStringEscU;
            return scanContinue;
        }
        return this.error(c, 'in string escape code');
      case St.InStringEscU:
        return this.hex(c, St.InStringEscU1);
      case St.InStringEscU1:
        return this.hex(c, St.InStringEscU12);
      case St.InStringEscU12:
        return this.hex(c, St.InStringEscU123);
      case St.InStringEscU123:
        return this.hex(c, St.InString);
      case St.Neg:
        if (c === 0x30) {
          this.step = St.Zero;
          return scanContinue;
        }
        if (c >= 0x31 && c <= 0x39) {
          this.step = St.One;
          return scanContinue;
        }
        return this.error(c, 'in numeric literal');
      case St.One:
        if (isDigit(c)) return scanContinue;
        return this.zero(c);
      case St.Zero:
        return this.zero(c);
      case St.Dot:
        if (isDigit(c)) {
          this.step = St.Dot0;
          return scanContinue;
        }
        return this.error(c, 'after decimal point in numeric literal');
      case St.Dot0:
        if (isDigit(c)) return scanContinue;
        if (c === 0x65 || c === 0x45) {
          this.step = St.E;
          return scanContinue;
        }
        return this.endValue(c);
      case St.E:
        if (c === 0x2b || c === 0x2d) {
          this.step = St.ESign;
          return scanContinue;
        }
        return this.eSign(c);
      case St.ESign:
        return this.eSign(c);
      case St.E0:
        if (isDigit(c)) return scanContinue;
        return this.endValue(c);
      case St.T:
        return this.literal(c, 0x72, St.Tr, 'true');
      case St.Tr:
        return this.literal(c, 0x75, St.Tru, 'true');
      case St.Tru:
        return this.literal(c, 0x65, St.EndValue, 'true');
      case St.F:
        return this.literal(c, 0x61, St.Fa, 'false');
      case St.Fa:
        return this.literal(c, 0x6c, St.Fal, 'false');
      case St.Fal:
        return this.literal(c, 0x73, St.Fals, 'false');
      case St.Fals:
        return this.literal(c, 0x65, St.EndValue, 'false');
      case St.N:
        return this.literal(c, 0x75, St.Nu, 'null');
      case St.Nu:
        return this.literal(c, 0x6c, St.Nul, 'null');
      case St.Nul:
        return this.literal(c, 0x6c, St.EndValue, 'null');
      case St.Error:
        return scanError;
    }
  }
}

/** The first byte of the rune's UTF-8 encoding. */
function firstUtf8Byte(cp: number): number {
  if (cp < 0x80) return cp;
  if (cp < 0x800) return 0xc0 | (cp >> 6);
  if (cp < 0x10000) return 0xe0 | (cp >> 12);
  return 0xf0 | (cp >> 18);
}

/** Decoder.readValue (Go 1.26 encoding/json/stream.go): how many runes from `start` the value takes, or the error. */
function readJsonValue(rs: readonly string[], start: number): { n: number; err: GoErr | null } {
  const scan = new JsonScanner();
  for (let p = start; p < rs.length; p++) {
    const cp = rs[p]!.codePointAt(0)!;
    // Only the first byte of a multi-byte rune can matter: inside a string every byte >= 0x80 continues
    // the string, outside one the first byte is already an error (or ends the top-level value).
    const op = scan.stepByte(firstUtf8Byte(cp));
    if (op === scanEnd) return { n: p - start, err: null };
    if (op === scanEndObject || op === scanEndArray) {
      if (scan.endValue(0x20) === scanEnd) return { n: p + 1 - start, err: null };
    } else if (op === scanError) {
      return { n: 0, err: errorf(scan.err ?? 'invalid JSON') };
    }
  }
  if (scan.stepByte(0x20) === scanEnd) return { n: rs.length - start, err: null };
  // The input is not all space (emptyVal saw to that): io.ErrUnexpectedEOF.
  return { n: 0, err: errorf('unexpected EOF') };
}

/** getu4 (Go 1.26 encoding/json/decode.go): the \uXXXX at s[k], or -1. */
function getu4(s: string, k: number): number {
  if (k + 6 > s.length || s[k] !== '\\' || s[k + 1] !== 'u') return -1;
  const h = s.slice(k + 2, k + 6);
  return /^[0-9a-fA-F]{4}$/.test(h) ? parseInt(h, 16) : -1;
}

/** unquote (Go 1.26 encoding/json/decode.go) of a string literal the scanner accepted: escapes, surrogate pairs, else U+FFFD. */
function unquoteJson(s: string, from: number, to: number): string {
  // s[from] and s[to - 1] are the quotes.
  let out = '';
  let k = from + 1;
  const end = to - 1;
  let runStart = k;
  while (k < end) {
    if (s[k] !== '\\') {
      k++;
      continue;
    }
    out += s.slice(runStart, k);
    const e = s[k + 1];
    switch (e) {
      case 'b':
        out += '\b';
        k += 2;
        break;
      case 'f':
        out += '\f';
        k += 2;
        break;
      case 'n':
        out += '\n';
        k += 2;
        break;
      case 'r':
        out += '\r';
        k += 2;
        break;
      case 't':
        out += '\t';
        k += 2;
        break;
      case 'u': {
        let rr = getu4(s, k);
        k += 6;
        if (rr >= 0xd800 && rr <= 0xdfff) {
          const rr1 = getu4(s, k);
          if (rr <= 0xdbff && rr1 >= 0xdc00 && rr1 <= 0xdfff) {
            out += String.fromCodePoint(0x10000 + ((rr - 0xd800) << 10) + (rr1 - 0xdc00));
            k += 6;
            break;
          }
          rr = 0xfffd;
        }
        out += String.fromCharCode(rr);
        break;
      }
      default: // " \ /
        out += e;
        k += 2;
    }
    runStart = k;
  }
  return out + s.slice(runStart, end);
}

interface JsonContainer {
  readonly value: unknown[] | GoMap;
  key: string | null;
}

/**
 * decodeState.unmarshal (Go 1.26 encoding/json/decode.go) into an any of a value the scanner accepted: objects as maps (the last of
 * duplicate keys wins), arrays, float64 numbers (one out of float64's range is Go's UnmarshalTypeError,
 * reported after the whole value is read), strings, booleans, null. Iterative: nesting reaches 10000.
 */
function buildJsonValue(text: string): { value: unknown; err: GoErr | null } {
  let err: GoErr | null = null;
  const stack: JsonContainer[] = [];
  let root: unknown = null;
  let k = 0;
  const emit = (v: unknown): void => {
    const top = stack[stack.length - 1];
    if (!top) root = v;
    else if (Array.isArray(top.value)) top.value.push(v);
    else {
      defineEntry(top.value, top.key ?? '', v);
      top.key = null;
    }
  };
  const skipSpace = (): void => {
    while (k < text.length && jsonIsSpace(text.charCodeAt(k))) k++;
  };
  for (;;) {
    skipSpace();
    if (k >= text.length) break;
    const c = text[k]!;
    const top = stack[stack.length - 1];
    if (c === ',') {
      k++;
      continue;
    }
    if (c === '}' || c === ']') {
      k++;
      const done = stack.pop()!;
      emit(done.value);
      if (stack.length === 0) break;
      continue;
    }
    if (top && !Array.isArray(top.value) && top.key === null) {
      // An object key, then its colon.
      const endQ = stringEnd(text, k);
      top.key = unquoteJson(text, k, endQ);
      k = endQ;
      skipSpace();
      k++; // ':'
      continue;
    }
    if (c === '{' || c === '[') {
      k++;
      stack.push({ value: c === '{' ? newMap() : [], key: null });
      continue;
    }
    let v: unknown;
    if (c === '"') {
      const endQ = stringEnd(text, k);
      v = unquoteJson(text, k, endQ);
      k = endQ;
    } else if (c === 't') {
      v = true;
      k += 4;
    } else if (c === 'f') {
      v = false;
      k += 5;
    } else if (c === 'n') {
      v = null;
      k += 4;
    } else {
      let e = k + 1;
      while (e < text.length && /[0-9.eE+-]/.test(text[e]!)) e++;
      const s = text.slice(k, e);
      const f = Number(s);
      if (Number.isFinite(f)) v = f;
      else {
        v = null;
        err ??= errorf(`json: cannot unmarshal number ${s} into Go value of type float64`);
      }
      k = e;
    }
    if (!top) {
      root = v;
      break;
    }
    emit(v);
  }
  return { value: root, err };
}

/** The index just past the closing quote of the string literal opening at text[k]. */
function stringEnd(text: string, k: number): number {
  let e = k + 1;
  for (;;) {
    const c = text[e];
    if (c === '"') return e + 1;
    e += c === '\\' ? 2 : 1;
  }
}

/** json.NewDecoder(remaining).Decode(&v) and dec.InputOffset(), in runes. */
function decodeJson(rs: readonly string[], start: number): { value: unknown; n: number; err: GoErr | null } {
  const { n, err } = readJsonValue(rs, start);
  if (err) return { value: null, n: 0, err };
  const { value, err: uerr } = buildJsonValue(rs.slice(start, start + n).join(''));
  return { value, n, err: uerr };
}

// ---------------------------------------------------------------------------------------------------
// The parser (parser.go `parser` and literal_parser.go `literalParser`, helm v4.3.1; v3.19.4 and v4.2.1
// where the version says).

type Mode = 'set' | 'string' | 'json' | 'file' | 'literal';

interface KeyFrame {
  readonly t: 'key';
  readonly data: GoMap;
  readonly level: number;
  phase: 0 | 1 | 2; // 0: start; 1: listItem returned (the `[` case); 2: key returned (the `.` case)
  k: string;
  inner: GoMap | null;
}

interface ListFrame {
  readonly t: 'list';
  readonly list: unknown[];
  readonly i: bigint;
  readonly level: number;
  phase: 0 | 1 | 2; // 0: start; 1: nested listItem returned (`[`); 2: key returned (`.`)
  inner: GoMap | null;
}

type Frame = KeyFrame | ListFrame;

/** What a frame returns: key returns an error, listItem a list and an error. */
interface Ret {
  readonly list: unknown[];
  readonly err: GoErr | null;
}

const NO_LIST: unknown[] = [];

const keyFrame = (data: GoMap, level: number): KeyFrame => ({ t: 'key', data, level, phase: 0, k: '', inner: null });
const listFrame = (list: unknown[], i: bigint, level: number): ListFrame => ({ t: 'list', list, i, level, phase: 0, inner: null });

const stopSet = (s: string): Set<string> => new Set(Array.from(s));
const KEY_STOP = stopSet('=[,.');
const KEY_STOP_LITERAL = stopSet('=[.');
const INDEX_STOP = stopSet(']');
const LIST_STOP = stopSet('[.=');
const VAL_STOP = stopSet(',');
const VALLIST_STOP = stopSet(',}');
const NO_STOP = new Set<string>();

class Parser {
  private pos = 0;
  private cells = 0;
  private readonly literal: boolean;

  constructor(
    private readonly rs: readonly string[],
    private readonly mode: Mode,
    private readonly version: HelmVersion,
    private readonly reader: RunesValueReader | null,
  ) {
    this.literal = mode === 'literal';
  }

  /** parse (parser.go, literal_parser.go; helm v4.3.1, v3.19.4): key() until an error; io.EOF (v4.2+: or an error wrapping it) is the end. */
  parse(data: GoMap): void {
    for (;;) {
      const err = this.key(data);
      if (err === null) continue;
      if (err.eof === IS_EOF || (err.eof === WRAPS_EOF && this.version !== '3.19')) return;
      throw new StrvalsError(err.msg, err.cause === undefined ? undefined : { cause: err.cause });
    }
  }

  /** errors.Is(e, io.EOF) in v4.3's key, listItem and valList; `e == io.EOF` in v3.19 and v4.2. */
  private valueEOF(e: GoErr): boolean {
    return this.version === '4.3' ? e.eof !== NOT_EOF : e.eof === IS_EOF;
  }

  // bytes.Buffer

  private readRune(): string | null {
    return this.pos < this.rs.length ? this.rs[this.pos++]! : null;
  }

  private unreadRune(): void {
    this.pos--;
  }

  /** runesUntil (parser.go, with `\` escaping the next rune) or runesUntilLiteral (literal_parser.go), helm v4.3.1. */
  private runesUntil(stop: Set<string>, escapes: boolean): { k: string; last: string | null; err: GoErr | null } {
    let v = '';
    for (;;) {
      const r = this.readRune();
      if (r === null) return { k: v, last: null, err: EOF };
      if (stop.has(r)) return { k: v, last: r, err: null };
      if (escapes && r === '\\') {
        const next = this.readRune();
        if (next === null) return { k: v, last: null, err: EOF };
        v += next;
      } else v += r;
    }
  }

  /** keyIndex (parser.go, literal_parser.go; helm v4.3.1): the index up to `]`, by strconv.Atoi. */
  private keyIndex(): { i: bigint; err: GoErr | null } {
    const { k, err } = this.runesUntil(INDEX_STOP, !this.literal);
    if (err) return { i: 0n, err };
    return atoi(k);
  }

  /** emptyVal (parser.go, helm v4.3.1): skip unicode.IsSpace runes; true at a comma (eaten) or the end. */
  private emptyVal(): boolean {
    for (;;) {
      const r = this.readRune();
      if (r === null) return true;
      if (r === ',') return true;
      if (!goIsSpace(r.codePointAt(0)!)) {
        this.unreadRune();
        return false;
      }
    }
  }

  /** val (parser.go: up to a comma; literal_parser.go: the rest), helm v4.3.1. */
  private val(): { rs: string; err: GoErr | null } {
    const { k, err } = this.runesUntil(this.literal ? NO_STOP : VAL_STOP, !this.literal);
    return { rs: k, err };
  }

  /** t.reader(rs): typedVal for --set and --set-string, the caller's reader for --set-file. */
  private read(rs: string): { v: unknown; err: GoErr | null } {
    if (this.mode === 'file') {
      try {
        return { v: this.reader!(rs), err: null };
      } catch (e) {
        return { v: null, err: { msg: e instanceof Error ? e.message : String(e), eof: NOT_EOF, cause: e } };
      }
    }
    return { v: typedVal(rs, this.mode === 'string'), err: null };
  }

  /** valList (parser.go, helm v4.3.1): `{a,b}` as a list of t.reader values, or ErrNotList. */
  private valList(): { list: unknown[]; err: GoErr | null } {
    const r = this.readRune();
    if (r === null) return { list: [], err: EOF };
    if (r !== '{') {
      this.unreadRune();
      return { list: [], err: ErrNotList };
    }
    const list: unknown[] = [];
    for (;;) {
      const { k: rs, last, err } = this.runesUntil(VALLIST_STOP, true);
      if (err) return { list, err: this.valueEOF(err) ? errorf("list must terminate with '}'") : err };
      if (last === '}') {
        const r2 = this.readRune();
        if (r2 !== null && r2 !== ',') this.unreadRune();
        const { v, err: e } = this.read(rs);
        list.push(v);
        return { list, err: e };
      }
      const { v, err: e } = this.read(rs);
      if (e) return { list, err: e };
      list.push(v);
    }
  }

  /** setIndex (parser.go, helm v4.3.1): list[index] = val, growing the list (a copy, padded with nulls) if needed. */
  private setIndex(list: unknown[], index: bigint, val: unknown): Ret {
    if (index < 0n) return { list, err: errorf(`negative ${index} index not allowed`) };
    if (index > BigInt(MaxIndex)) {
      return { list, err: errorf(`index of ${index} is greater than maximum supported index of ${MaxIndex}`) };
    }
    const n = Number(index);
    if (list.length <= n) {
      this.cells += n + 1;
      if (this.cells > MAX_LIST_CELLS) {
        throw new StrvalsError(
          `cilium-guard: this argument makes Helm allocate more than ${MAX_LIST_CELLS} list elements (indices up to ${MaxIndex} pad lists with nulls); refusing to follow`,
        );
      }
      const newlist = new Array<unknown>(n + 1);
      for (let j = 0; j < list.length; j++) newlist[j] = list[j];
      for (let j = list.length; j <= n; j++) newlist[j] = null;
      list = newlist;
    }
    list[n] = val;
    return { list, err: null };
  }

  /** The `key=value` of a --set-json argument: JSON, or null when empty. */
  private jsonValue(): { empty: boolean; value: unknown; err: GoErr | null } {
    if (this.emptyVal()) return { empty: true, value: null, err: null };
    const { value, n, err } = decodeJson(this.rs, this.pos);
    if (err) return { empty: false, value: null, err };
    // io.CopyN(io.Discard, t.sc, dec.InputOffset())
    this.pos += n;
    return { empty: false, value, err: null };
  }

  /** key (parser.go, literal_parser.go; helm v4.3.1), with its recover(); calls run on an explicit stack. */
  private key(data: GoMap): GoErr | null {
    const stack: Frame[] = [keyFrame(data, 0)];
    let ret: Ret | null = null;
    for (;;) {
      const f = stack[stack.length - 1]!;
      let next: Frame | Ret;
      try {
        next = f.t === 'key' ? this.keyStep(f, ret) : this.listStep(f, ret);
      } catch (e) {
        if (!(e instanceof GoPanic)) throw e;
        // The panic unwinds listItem frames up to the nearest key(), whose deferred recover returns it.
        while (stack[stack.length - 1]!.t === 'list') stack.pop();
        stack.pop();
        next = { list: NO_LIST, err: errorf(`unable to parse key: ${e.msg}`) };
      }
      if ('t' in next) {
        stack.push(next);
        ret = null;
        continue;
      }
      if (stack[stack.length - 1] === f) stack.pop();
      ret = next;
      if (stack.length === 0) return ret.err;
    }
  }

  /** key (parser.go, literal_parser.go; helm v4.3.1), one step of it. */
  private keyStep(f: KeyFrame, ret: Ret | null): Frame | Ret {
    if (f.phase === 1) {
      // `[`: list, err = t.listItem(list, i, nestedNameLevel); set(data, kk, list); return err
      set(f.data, f.k, ret!.list);
      return { list: NO_LIST, err: ret!.err };
    }
    if (f.phase === 2) {
      // `.`: e := t.key(inner, nestedNameLevel)
      const e = ret!.err;
      const empty = isEmptyMap(f.inner!);
      if (e === null && empty) return { list: NO_LIST, err: errorf(`key map ${goQuote(f.k)} has no value`) };
      if (!empty) set(f.data, f.k, f.inner);
      return { list: NO_LIST, err: e };
    }
    const done = (err: GoErr | null): Ret => ({ list: NO_LIST, err });
    const { k, last, err } = this.runesUntil(this.literal ? KEY_STOP_LITERAL : KEY_STOP, !this.literal);
    if (err) {
      if (k === '') return done(err);
      return done(errorf(`key ${goQuote(k)} has no value`));
    }
    switch (last) {
      case '[': {
        const { i, err: ierr } = this.keyIndex();
        if (ierr) return done(wrap('error parsing index', ierr));
        let list: unknown[] = [];
        if (hasOwn(f.data, k)) list = assertList(f.data[k]);
        f.k = k;
        f.phase = 1;
        return listFrame(list, i, f.level);
      }
      case '=':
        return done(this.keyValue(f.data, k));
      case ',':
        set(f.data, k, '');
        return done(errorf(`key ${goQuote(k)} has no value (cannot end with ,)`));
      default: {
        // '.'
        const level = f.level + 1;
        if (level > MaxNestedNameLevel) {
          return done(errorf(`value name nested level is greater than maximum supported nested level of ${MaxNestedNameLevel}`));
        }
        let inner = newMap();
        if (hasOwn(f.data, k)) inner = assertMap(f.data[k]);
        f.k = k;
        f.inner = inner;
        f.phase = 2;
        return keyFrame(inner, level);
      }
    }
  }

  /** The `case last == '='` of key(). */
  private keyValue(data: GoMap, k: string): GoErr | null {
    if (this.literal) {
      // value, err := t.val() always ends at EOF, so the value is set and key returns nil.
      set(data, k, this.val().rs);
      return null;
    }
    if (this.mode === 'json') {
      const { empty, value, err } = this.jsonValue();
      if (empty) {
        set(data, k, null);
        return null;
      }
      if (err) return err;
      set(data, k, value);
      this.emptyVal();
      return null;
    }
    const { list: vl, err: e } = this.valList();
    if (e === null) {
      set(data, k, vl);
      return null;
    }
    if (this.valueEOF(e)) {
      set(data, k, '');
      return e;
    }
    if (e === ErrNotList) {
      const { rs, err: verr } = this.val();
      if (verr !== null && !this.valueEOF(verr)) return verr;
      const { v, err: rerr } = this.read(rs);
      set(data, k, v);
      return rerr;
    }
    return e;
  }

  /** listItem (parser.go, literal_parser.go; helm v4.3.1), one step of it. */
  private listStep(f: ListFrame, ret: Ret | null): Frame | Ret {
    if (f.phase === 1) {
      // `[`: list2, err := t.listItem(crtList, nextI, nestedNameLevel)
      if (ret!.err) return { list: f.list, err: ret!.err };
      return this.setIndex(f.list, f.i, ret!.list);
    }
    if (f.phase === 2) {
      // `.`: e := t.key(inner, nestedNameLevel)
      if (ret!.err) return { list: f.list, err: ret!.err };
      return this.setIndex(f.list, f.i, f.inner);
    }
    const list = f.list;
    const i = f.i;
    if (i < 0n) return { list, err: errorf(`negative ${i} index not allowed`) };
    const { k, last, err } = this.runesUntil(LIST_STOP, !this.literal);
    if (k !== '') return { list, err: errorf(`unexpected data at end of array index: ${goQuoteRunes(k)}`) };
    if (err) return { list, err };
    switch (last) {
      case '=':
        return this.listValue(list, i);
      case '[': {
        const { i: nextI, err: ierr } = this.keyIndex();
        if (ierr) return { list, err: wrap('error parsing index', ierr) };
        let crtList: unknown[] = [];
        if (BigInt(list.length) > i) {
          const existed = list[Number(i)];
          if (existed !== null && existed !== undefined) crtList = assertList(existed);
        }
        f.phase = 1;
        return listFrame(crtList, nextI, f.level);
      }
      default: {
        // '.': a map at list[i], replacing whatever else is there.
        let inner = newMap();
        if (BigInt(list.length) > i) {
          const cur = list[Number(i)];
          if (isMap(cur)) inner = cur;
          else list[Number(i)] = inner;
        }
        f.inner = inner;
        f.phase = 2;
        return keyFrame(inner, f.level);
      }
    }
  }

  /** The `case last == '='` of listItem(). */
  private listValue(list: unknown[], i: bigint): Ret {
    if (this.literal) return this.setIndex(list, i, this.val().rs);
    if (this.mode === 'json') {
      const { empty, value, err } = this.jsonValue();
      if (empty) return this.setIndex(list, i, null);
      if (err) return { list, err };
      const r = this.setIndex(list, i, value);
      if (r.err) return r;
      this.emptyVal();
      return { list: r.list, err: null };
    }
    const { list: vl, err: e } = this.valList();
    if (e === null) return this.setIndex(list, i, vl);
    if (this.valueEOF(e)) return this.setIndex(list, i, '');
    if (e === ErrNotList) {
      const { rs, err: verr } = this.val();
      if (verr !== null && !this.valueEOF(verr)) return { list, err: verr };
      const { v, err: rerr } = this.read(rs);
      if (rerr) return { list, err: rerr };
      return this.setIndex(list, i, v);
    }
    return { list, err: e };
  }
}

function run(s: string, dest: GoMap, mode: Mode, version: HelmVersion, reader: RunesValueReader | null): void {
  new Parser(toRunes(s), mode, version, reader).parse(dest);
}

// ---------------------------------------------------------------------------------------------------
// The API (parser.go, literal_parser.go). Each merges one argument into dest, as Helm's MergeValues calls
// them once per argument; on an error dest keeps what was set before it (Helm aborts the render).

/** ParseInto (parser.go, helm v4.3.1): a --set argument. */
export function parseInto(s: string, dest: GoMap, version: HelmVersion): void {
  run(s, dest, 'set', version, null);
}

/** ParseIntoString (parser.go, helm v4.3.1): a --set-string argument (every value a string). */
export function parseIntoString(s: string, dest: GoMap, version: HelmVersion): void {
  run(s, dest, 'string', version, null);
}

/** ParseJSON (parser.go, helm v4.3.1): a --set-json argument in its key=jsonvalue[,key=jsonvalue] form. */
export function parseJSON(s: string, dest: GoMap, version: HelmVersion): void {
  run(s, dest, 'json', version, null);
}

/** ParseLiteralInto (literal_parser.go, helm v4.3.1): a --set-literal argument (the value is the rest of the string). */
export function parseLiteralInto(s: string, dest: GoMap, version: HelmVersion): void {
  run(s, dest, 'literal', version, null);
}

/** ParseIntoFile (parser.go, helm v4.3.1): a --set-file argument; reader turns each path into its value, or throws. */
export function parseIntoFile(s: string, dest: GoMap, reader: RunesValueReader, version: HelmVersion): void {
  run(s, dest, 'file', version, reader);
}

/** Parse (parser.go, helm v4.3.1): a --set argument into a new map. */
export function parse(s: string, version: HelmVersion): GoMap {
  const vals = newMap();
  parseInto(s, vals, version);
  return vals;
}

/** ParseString (parser.go, helm v4.3.1): a --set-string argument into a new map. */
export function parseString(s: string, version: HelmVersion): GoMap {
  const vals = newMap();
  parseIntoString(s, vals, version);
  return vals;
}

/** ParseLiteral (literal_parser.go, helm v4.3.1): a --set-literal argument into a new map. */
export function parseLiteral(s: string, version: HelmVersion): GoMap {
  const vals = newMap();
  parseLiteralInto(s, vals, version);
  return vals;
}

/** ParseFile (parser.go, helm v4.3.1): a --set-file argument into a new map. */
export function parseFile(s: string, reader: RunesValueReader, version: HelmVersion): GoMap {
  const vals = newMap();
  parseIntoFile(s, vals, reader, version);
  return vals;
}
