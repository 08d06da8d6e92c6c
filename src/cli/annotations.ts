// `check --output github`: a report as GitHub Actions workflow commands (`::error file=F,line=L,
// title=cilium-guard R1::message`), so each finding shows as an annotation on the pull request's
// line, then the text report, fenced by `::stop-commands::` because it repeats manifest content
// (names, values) that must never be read as a command.
//
// A report names documents as `FILE#N` (N counts documents from 1, as yaml-input.ts does) or
// `FILE#N[j]` (item j of a List); the line is found by parsing the file again with the same parser
// and, when the finding's path leads into the document, the line of the deepest key on that path.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Node } from 'yaml';
import type { Report } from './report.js';

export type AnnotationLevel = 'error' | 'warning' | 'notice';

/** @actions/core's escapeData: what GitHub's runner unescapes in a command's message. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** @actions/core's escapeProperty: a property value also escapes the separators `:` and `,`. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function workflowCommand(command: string, properties: Record<string, string | number | undefined>, message: string): string {
  const props = Object.entries(properties)
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  return `::${command}${props.length > 0 ? ` ${props.join(',')}` : ''}::${escapeData(message)}`;
}

export interface SourceRef {
  /** Absent for standard input. */
  file?: string;
  /** Document number from 1. */
  doc?: number;
  /** Item of a List document. */
  item?: number;
}

/** `FILE#N`, `FILE#N[j]`, `FILE` (an unreadable file), `stdin#N`. */
export function parseSource(source: string): SourceRef {
  const m = /^(.*)#(\d+)(?:\[(\d+)\])?$/s.exec(source);
  const file = m ? m[1]! : source;
  const ref: SourceRef = file === 'stdin' || file === '-' ? {} : { file };
  if (m) {
    ref.doc = Number(m[2]);
    if (m[3] !== undefined) ref.item = Number(m[3]);
  }
  return ref;
}

/** A finding's path (`spec.sources[0].helm.valuesObject.ipam.mode`) as segments; indexes become numbers. */
export function pathSegments(p: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const part of p.split('.')) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1] !== '') out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The key node of the deepest pair on `segments` under `node` (keys may contain dots: the longest match wins). */
function deepest(node: unknown, segments: Array<string | number>): Node | undefined {
  let found: Node | undefined;
  let current = node;
  let i = 0;
  while (i < segments.length) {
    const seg = segments[i]!;
    if (isSeq(current) && typeof seg === 'number') {
      const next = current.items[seg];
      if (!next) break;
      found = next as Node;
      current = next;
      i++;
      continue;
    }
    if (!isMap(current) || typeof seg !== 'string') break;
    const map = current;
    let matched = false;
    // `metadata.annotations.argocd.argoproj.io/sync-options`: try the longest run of string segments first.
    let end = i;
    while (end < segments.length && typeof segments[end] === 'string') end++;
    for (let j = end; j > i && !matched; j--) {
      const key = segments.slice(i, j).join('.');
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair) {
        found = (pair.key as Node | null) ?? found;
        current = pair.value;
        i = j;
        matched = true;
      }
    }
    if (!matched) break;
  }
  return found;
}

export interface Location {
  line: number;
}

/**
 * The 1-based line of document `doc` (its first content line, past `---` and comments), or of the
 * deepest key of `findingPath` in it (in item `item` of a List).
 */
export function locate(text: string, doc: number, findingPath?: string, item?: number): Location | undefined {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: false, prettyErrors: false, lineCounter });
  const list = Array.isArray(docs) ? docs : [docs];
  const d = list[doc - 1];
  if (!d) return undefined;
  let root: unknown = d.contents;
  if (item !== undefined && isMap(root)) {
    const items = root.items.find((p) => isScalar(p.key) && p.key.value === 'items')?.value;
    root = isSeq(items) ? (items.items[item] ?? root) : root;
  }
  const node = findingPath ? deepest(root, pathSegments(findingPath)) : undefined;
  const target = node ?? (root as Node | null) ?? undefined;
  const offset = target?.range?.[0] ?? d.range[0];
  return { line: lineCounter.linePos(offset).line };
}

export interface GithubOptions {
  /** Paths in annotations are relative to this folder (GitHub's GITHUB_WORKSPACE); default: $GITHUB_WORKSPACE, else the current one. */
  root?: string;
  /** Reads a file the report names; default readFileSync. */
  readText?: (file: string) => string | undefined;
  /** The stop-commands token; default random. */
  token?: string;
}

function levelOf(verdict: string): AnnotationLevel {
  if (verdict === 'deny' || verdict === 'mutate') return 'error';
  if (verdict === 'warn' || verdict === 'break-glass') return 'warning';
  return 'notice';
}

/** Every finding and input error of a report as one workflow command each. */
export function annotations(report: Report, options: GithubOptions = {}): string[] {
  const root = path.resolve(options.root ?? process.env.GITHUB_WORKSPACE ?? '.');
  const texts = new Map<string, string | undefined>();
  const readText =
    options.readText ??
    ((file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    });
  const where = (source: string, findingPath?: string): { file?: string; line?: number } => {
    const ref = parseSource(source);
    if (ref.file === undefined) return {};
    const rel = path.relative(root, path.resolve(ref.file)).split(path.sep).join('/');
    if (ref.doc === undefined) return { file: rel };
    if (!texts.has(ref.file)) texts.set(ref.file, readText(ref.file));
    const text = texts.get(ref.file);
    const loc = text === undefined ? undefined : locate(text, ref.doc, findingPath, ref.item);
    return { file: rel, ...(loc ? { line: loc.line } : {}) };
  };
  const out: string[] = [];
  for (const e of report.errors) out.push(workflowCommand('error', { ...where(e.source), title: 'cilium-guard: unreadable input' }, e.message));
  for (const o of report.objects) {
    const id = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
    for (const f of o.findings) {
      out.push(workflowCommand(levelOf(f.verdict), { ...where(o.source, f.path), title: `cilium-guard ${f.rule}` }, `${f.message} (${id}, ${f.path})`));
    }
  }
  return out;
}

/** The annotations, then the text report between `::stop-commands::TOKEN` and `::TOKEN::`. */
export function renderGithub(report: Report, text: string, options: GithubOptions = {}): string {
  const token = options.token ?? `cilium-guard-${randomBytes(12).toString('hex')}`;
  return [...annotations(report, options), `::stop-commands::${token}`, text.replace(/\n$/, ''), `::${token}::`].join('\n') + '\n';
}
