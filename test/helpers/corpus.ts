// Loads test/corpus/*.yaml: each case names a base object (a shared example) or gives one inline,
// edits it with JSON pointers, and states what the API server must end up doing.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const SHARED = path.resolve(REPO, '../shared');

type Obj = Record<string, unknown>;

export function readDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

export function example(name: string, index = 0): Obj {
  const doc = readDocs(path.join(SHARED, 'examples', name))[index];
  if (!doc) throw new Error(`no document ${index} in ${name}`);
  return doc;
}

export const BASES: Record<string, () => Obj> = {
  app: () => example('01-app-cilium-good.yaml'),
  'app-multi': () => example('02-app-cilium-multisource-good.yaml'),
  appset: () => example('03-appset-cilium-good.yaml'),
  'argocd-cm': () => example('04-argocd-cm-needs-mutation.yaml', 0),
  'argocd-cm-nokey': () => example('04-argocd-cm-needs-mutation.yaml', 1),
  'argocd-cm-flow': () => example('04-argocd-cm-needs-mutation.yaml', 2),
  'cilium-config': () => example('06-cilium-config-good.yaml', 0),
  'cilium-config-block': () => example('06-cilium-config-good.yaml', 1),
};

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function setPointer(target: Obj, pointer: string, value: unknown): void {
  const parts = pointer.split('/').slice(1).map(unescape);
  let node: unknown = target;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (Array.isArray(node)) {
      const idx = part === '-' ? node.length : Number(part);
      if (last) node[idx] = value;
      else node = node[idx] ??= {};
    } else {
      const o = node as Obj;
      if (last) o[part] = value;
      else {
        if (typeof o[part] !== 'object' || o[part] === null) o[part] = {};
        node = o[part];
      }
    }
  });
}

export function unsetPointer(target: Obj, pointer: string): void {
  const parts = pointer.split('/').slice(1).map(unescape);
  const key = parts.pop() as string;
  let node: unknown = target;
  for (const p of parts) node = (node as Obj)?.[p];
  if (Array.isArray(node)) node.splice(Number(key), 1);
  else if (node && typeof node === 'object') delete (node as Obj)[key];
}

interface Spec {
  from?: string;
  object?: Obj;
  set?: Record<string, unknown>;
  unset?: string[];
}

export interface CorpusCase {
  file: string;
  id: string;
  title: string;
  webhook: 'validate' | 'mutate';
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  object: Obj | null;
  oldObject: Obj | null;
  userInfo?: { username?: string; groups?: string[] };
  dryRun?: boolean;
  expect: 'allow' | 'deny';
  deny: string[];
  warn: string[];
  patch?: boolean;
  messageIncludes?: string[];
  config?: Obj;
}

function build(spec: Spec | undefined): Obj | null {
  if (!spec) return null;
  const base = spec.object ? structuredClone(spec.object) : spec.from ? BASES[spec.from]?.() : undefined;
  if (!base) throw new Error(`unknown base ${String(spec.from)}`);
  for (const p of spec.unset ?? []) unsetPointer(base, p);
  for (const [p, v] of Object.entries(spec.set ?? {})) setPointer(base, p, structuredClone(v));
  return base;
}

export function loadCorpus(): CorpusCase[] {
  const dir = path.join(REPO, 'test', 'corpus');
  const cases: CorpusCase[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const raw = parse(readFileSync(path.join(dir, file), 'utf8')) as Array<Obj>;
    for (const c of raw) {
      const operation = (c.operation as CorpusCase['operation']) ?? 'CREATE';
      const own = c as Spec;
      const spec: Spec = { ...(own.from ? { from: own.from } : {}), ...(own.object ? { object: own.object } : {}), ...(own.set ? { set: own.set } : {}), ...(own.unset ? { unset: own.unset } : {}) };
      const object = operation === 'DELETE' ? null : build(spec);
      const oldObject = operation === 'CREATE' ? null : build((c.oldObject as Spec | undefined) ?? spec);
      cases.push({
        file,
        id: String(c.id),
        title: String(c.title ?? ''),
        webhook: (c.webhook as CorpusCase['webhook']) ?? 'validate',
        operation,
        object,
        oldObject,
        ...(c.userInfo ? { userInfo: c.userInfo as CorpusCase['userInfo'] } : {}),
        ...(c.dryRun ? { dryRun: true } : {}),
        expect: c.expect as CorpusCase['expect'],
        deny: (c.deny as string[]) ?? [],
        warn: (c.warn as string[]) ?? [],
        ...(c.patch !== undefined ? { patch: c.patch as boolean } : {}),
        ...(c.messageIncludes ? { messageIncludes: c.messageIncludes as string[] } : {}),
        ...(c.config ? { config: c.config as Obj } : {}),
      });
    }
  }
  return cases;
}
