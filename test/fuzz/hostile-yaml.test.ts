// Hostile YAML wherever a request carries a YAML string: Helm `values` of an Application, the
// templatePatch of an ApplicationSet, resource.exclusions in argocd-cm. Alias bombs of random shape,
// deep flow and block nesting, multi-megabyte scalars: reading is bounded (aliases, depth, bytes),
// the answer says why, and it comes in bounded time. Figures are printed.
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { defaultConfig } from '../../src/policy/config.js';
import { mutate, validate } from '../../src/policy/engine.js';
import type { Decision, JsonObject, PolicyRequest } from '../../src/policy/types.js';
import { BASES } from '../helpers/corpus.js';
import { setIn } from './arbitraries.js';

const config = defaultConfig();
/**
 * Generous for a 2-core CI machine under a parallel test run: hostile texts are refused in
 * milliseconds, and the costliest legal shape (131,000 flow items in 256 KiB) reads in about 0.9 s.
 */
const BOUND_MS = 3000;

/** Billion laughs: `levels` anchors, each a list of `fanout` aliases of the one before. */
function aliasBomb(levels: number, fanout: number, flow: boolean): string {
  const lines = [flow ? `a0: &a0 [${Array(fanout).fill('lol').join(', ')}]` : `a0: &a0\n${Array(fanout).fill('  - lol').join('\n')}`];
  for (let i = 1; i < levels; i++) {
    const refs = Array(fanout).fill(`*a${i - 1}`);
    lines.push(flow ? `a${i}: &a${i} [${refs.join(', ')}]` : `a${i}: &a${i}\n${refs.map((r) => `  - ${r}`).join('\n')}`);
  }
  return lines.join('\n') + '\n';
}

type Place = 'values' | 'templatePatch' | 'exclusions';

function requestFor(place: Place, text: string): PolicyRequest {
  const base = (name: string) => BASES[name]!();
  const object: JsonObject =
    place === 'values'
      ? setIn(setIn(base('app'), ['spec', 'source', 'helm', 'valuesObject'], undefined), ['spec', 'source', 'helm', 'values'], text)
      : place === 'templatePatch'
        ? setIn(base('appset'), ['spec', 'templatePatch'], text)
        : setIn(base('argocd-cm'), ['data', 'resource.exclusions'], text);
  const kind =
    place === 'values'
      ? { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' }
      : place === 'templatePatch'
        ? { group: 'argoproj.io', version: 'v1alpha1', kind: 'ApplicationSet' }
        : { group: '', version: 'v1', kind: 'ConfigMap' };
  const meta = object.metadata as { namespace?: string; name?: string };
  return { operation: 'CREATE', kind, namespace: meta.namespace ?? '', name: meta.name ?? '', object, oldObject: null, userInfo: { username: 'mallory' }, dryRun: false };
}

interface Judged {
  decision: Decision;
  ms: number;
}

function judge(place: Place, text: string): Judged {
  const req = requestFor(place, text);
  const t0 = performance.now();
  const decision = place === 'exclusions' ? mutate(req, config) : validate(req, config);
  return { decision, ms: performance.now() - t0 };
}

/** The finding that reports the unreadable YAML: V1 for values, A1 for templatePatch, M1 for argocd-cm. */
function reason(place: Place, d: Decision): { verdict: string; message: string } | undefined {
  const rule = place === 'values' ? 'V1' : place === 'templatePatch' ? 'A1' : 'M1';
  return d.findings.find((f) => f.rule === rule);
}

const PLACES: Place[] = ['values', 'templatePatch', 'exclusions'];
const stats = new Map<string, { n: number; maxMs: number }>();
function record(what: string, ms: number): void {
  const s = stats.get(what) ?? { n: 0, maxMs: 0 };
  s.n++;
  s.maxMs = Math.max(s.maxMs, ms);
  stats.set(what, s);
}

/** Checks one hostile text in every place: refused or warned about with `why`, within BOUND_MS. */
function hostile(what: string, text: string, why: RegExp): void {
  for (const place of PLACES) {
    const { decision, ms } = judge(place, text);
    record(what, ms);
    if (ms > BOUND_MS) throw new Error(`${what} in ${place}: ${ms.toFixed(0)} ms`);
    const found = reason(place, decision);
    if (!found) throw new Error(`${what} in ${place}: no finding says the YAML was unreadable (${decision.findings.map((f) => f.rule).join() || 'none'})`);
    if (!why.test(found.message)) throw new Error(`${what} in ${place}: "${found.message}" does not say ${String(why)}`);
    if (place === 'exclusions' && decision.patched) throw new Error(`${what}: argocd-cm was patched although its exclusions do not parse`);
    if (place === 'values' && (decision.allowed || found.verdict !== 'deny')) throw new Error(`${what}: Helm values that cannot be read were not denied`);
    if (place !== 'values' && found.verdict !== 'warn') throw new Error(`${what} in ${place}: expected a warning, got ${found.verdict}`);
  }
}

t.test('alias bombs of random shape are refused for their aliases, quickly', async (t) => {
  let tried = 0;
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 4, max: 12 }), fc.boolean(), (levels, fanout, flow) => {
      // Only shapes that expand past the alias limit are bombs; smaller ones are ordinary YAML.
      if (fanout ** (levels - 1) <= config.limits.yamlAliases * 10) return;
      hostile('alias bomb', aliasBomb(levels, fanout, flow), /alias/i);
      tried++;
    }),
    { numRuns: 60, seed: 20261125 },
  );
  t.ok(tried > 20, `${tried} alias bombs (3-12 levels, fan-out 4-12, flow and block) in three places`);
});

t.test('deep nesting, flow and block, refused for its depth', async (t) => {
  for (const depth of [65, 1000, 20_000]) {
    hostile(`flow nesting ${depth}`, `x: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, /deeper than|too deeply/);
    hostile(`flow mapping nesting ${depth}`, `x: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`, /deeper than|too deeply/);
  }
  for (const depth of [65, 300]) {
    const block = Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}k:`).join('\n') + ' 1\n';
    hostile(`block nesting ${depth}`, block, /deeper than|too deeply/);
    const seqs = Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}-`).join('\n') + ' 1\n';
    hostile(`block sequence nesting ${depth}`, `x:\n${seqs}`, /deeper than|too deeply/);
  }
  const judged = [...stats].filter(([what]) => /nesting/.test(what)).reduce((n, [, s]) => n + s.n, 0);
  t.equal(judged, (3 * 2 + 2 * 2) * PLACES.length, `${judged} nested texts, each refused for its depth within the bound`);
});

t.test('multi-megabyte texts are refused for their size before parsing; large legal ones are read in bounded time', async (t) => {
  for (const mib of [1.5, 4, 16]) {
    const bytes = Math.floor(mib * 1024 * 1024);
    hostile(`${mib} MiB scalar`, `x: "${'a'.repeat(bytes)}"\n`, /bytes, more than/);
  }
  hostile('a 2 MiB stream of keys', 'k: v\n'.repeat(2 * 1024 * 1024 / 5), /bytes, more than/);
  // Just under the limit: read, judged, and quick, in the shapes that cost the parser most.
  const limit = config.limits.valuesBytes;
  const legal: Array<[string, string]> = [
    ['a scalar as large as the limit allows', `pad: "${'a'.repeat(limit - 100)}"\n`],
    ['one key per line up to the limit', Array.from({ length: Math.floor((limit - 100) / 12) }, (_, i) => `k${String(i).padStart(6, '0')}: v`).join('\n') + '\n'],
    ['one flow item per 2 bytes up to the limit', `pad: [${Array(Math.floor((limit - 100) / 2)).fill('1').join(',')}]\n`],
  ];
  for (const [what, padding] of legal) {
    const text = padding + 'kubeProxyReplacement: false\n';
    t.ok(Buffer.byteLength(text) <= limit, `${what}: ${Buffer.byteLength(text)} bytes`);
    const { decision, ms } = judge('values', text);
    record(what, ms);
    t.ok(ms < BOUND_MS, `${what}: judged in ${ms.toFixed(0)} ms`);
    t.ok(decision.findings.some((f) => f.rule === 'R4' && f.verdict === 'deny'), `${what}: R4 still denies what follows`);
  }
});

t.test('figures', async (t) => {
  const lines = [...stats].map(([what, s]) => `${what}: ${s.n} judged, slowest ${s.maxMs.toFixed(1)} ms`);
  t.ok(lines.length > 5, 'figures were collected');
  t.comment(`hostile YAML (bound ${BOUND_MS} ms each):\n  ${lines.join('\n  ')}`);
});
