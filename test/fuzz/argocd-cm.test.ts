// M1 on random argocd-cm contents: exclusions in block and flow style, with comments, odd indents,
// missing final newlines, CRLF, other keys around them, and text that does not parse at all. The
// mutation never destroys a byte of what was there: every other key and field is untouched, the
// old entries read back unchanged before the new one, every comment survives, and a block list is
// only appended to. Where the exclusions do not parse: no patch, a warning, an audit record.
import fc from 'fast-check';
import t from 'tap';
import { parse } from 'yaml';
import { defaultConfig } from '../../src/policy/config.js';
import { mutate } from '../../src/policy/engine.js';
import type { JsonObject } from '../../src/policy/types.js';
import { judge, makeReview } from '../helpers/apiserver.js';
import { BASES } from '../helpers/corpus.js';
import { destroyAgents, post, startGuard } from '../helpers/https.js';

const config = defaultConfig();
const KEY = 'resource.exclusions';
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

const word = fc.constantFrom('cilium.io', 'tekton.dev', '*', '', 'CiliumIdentity', 'TaskRun', '*.io', 'https://prod', 'a b', '"q"', "it's", '#no', 'ü');
const entry = fc.record(
  { apiGroups: fc.array(word, { maxLength: 3 }), kinds: fc.array(word, { maxLength: 3 }), clusters: fc.array(word, { maxLength: 2 }) },
  { requiredKeys: [] },
);
const comment = fc.constantFrom('# keep: tekton churns', '#', '# ünïcode ✓', '   # indented comment');

/** A resource.exclusions text in one of the styles people write, with the entries it holds. */
const exclusions = fc
  .record({
    entries: fc.array(entry, { maxLength: 4 }),
    style: fc.constantFrom('block', 'flow', 'json'),
    indent: fc.constantFrom('', '  ', '    '),
    comments: fc.array(fc.tuple(fc.nat(), comment), { maxLength: 3 }),
    finalNewline: fc.boolean(),
    crlf: fc.boolean(),
  })
  .map((r) => {
    let lines: string[];
    if (r.style === 'block') {
      lines = r.entries.length === 0 ? ['[]'] : r.entries.flatMap((e) => {
        const keys = Object.entries(e);
        if (keys.length === 0) return [`${r.indent}- {}`];
        return keys.flatMap(([k, v], i) => [
          `${r.indent}${i === 0 ? '- ' : '  '}${k}:${(v as string[]).length === 0 ? ' []' : ''}`,
          ...(v as string[]).map((s) => `${r.indent}    - ${JSON.stringify(s)}`),
        ]);
      });
    } else {
      lines = [r.style === 'json' ? JSON.stringify(r.entries, null, 2) : JSON.stringify(r.entries)];
      lines = lines.flatMap((l) => l.split('\n'));
    }
    for (const [at, c] of r.comments) if (r.style === 'block' || at % 2 === 0) lines.splice(r.style === 'block' ? at % (lines.length + 1) : 0, 0, c);
    let text = lines.join('\n') + (r.finalNewline ? '\n' : '');
    if (r.crlf) text = text.replace(/\n/g, '\r\n');
    return text;
  });

/** Texts that must not parse as a list of exclusions. */
const unreadable = fc.oneof(
  fc.constantFrom('- apiGroups: [cilium.io\n', '- [\n', 'a: &a [*a]', '- kinds: [x]\n  kinds: {', '\t- x', 'key: value\n', '"just a string"', '- apiGroups: cilium.io\n'),
  fc.string({ unit: 'binary', maxLength: 80 }).filter((s) => {
    try {
      return !Array.isArray(parse(s, { version: '1.1' })) && parse(s, { version: '1.1' }) !== null;
    } catch {
      return true;
    }
  }),
);

function commentsOf(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('#'));
}

function review(text: string | undefined, extra: Record<string, string>): JsonObject {
  const cm = BASES['argocd-cm']!() as JsonObject;
  const data: Record<string, string> = { ...extra, ...(cm.data as Record<string, string>) };
  if (text === undefined) delete data[KEY];
  else data[KEY] = text;
  return { ...cm, data };
}

t.test('a patched argocd-cm keeps every byte that was there', async (t) => {
  const seen = { patched: 0, covered: 0, warned: 0 };
  fc.assert(
    fc.property(fc.option(exclusions, { nil: undefined, freq: 10 }), fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 3 }), (text, extra) => {
      delete extra[KEY];
      const object = review(text, extra);
      const before = structuredClone(object);
      const d = mutate({ operation: 'UPDATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, namespace: 'argocd', name: 'argocd-cm', object, oldObject: object, userInfo: {}, dryRun: false }, config);
      if (JSON.stringify(object) !== JSON.stringify(before)) throw new Error('the request object was modified in place');
      if (!d.patched) {
        if (d.findings.length === 0) seen.covered++;
        else seen.warned++;
        return;
      }
      seen.patched++;
      const after = d.patched as { data: Record<string, string> } & JsonObject;
      for (const [k, v] of Object.entries(before)) if (k !== 'data' && JSON.stringify(after[k]) !== JSON.stringify(v)) throw new Error(`${k} changed`);
      for (const [k, v] of Object.entries(before.data as Record<string, string>)) if (k !== KEY && after.data[k] !== v) throw new Error(`data[${JSON.stringify(k)}] changed`);
      const old = text ?? '';
      const now = after.data[KEY] ?? '';
      const oldEntries = (old.trim() === '' ? [] : parse(old, { version: '1.1' })) as unknown[];
      const newEntries = parse(now, { version: '1.1' }) as unknown[];
      if (JSON.stringify(newEntries.slice(0, oldEntries.length)) !== JSON.stringify(oldEntries)) throw new Error(`old entries changed:\n${old}\n---\n${now}`);
      if (JSON.stringify(newEntries.slice(oldEntries.length)) !== JSON.stringify([config.argocd.exclusion])) throw new Error(`not exactly one new entry:\n${now}`);
      for (const c of commentsOf(old)) if (!commentsOf(now).includes(c)) throw new Error(`comment ${JSON.stringify(c)} lost:\n${old}\n---\n${now}`);
      if (/^\s*-/m.test(old) && !old.trimStart().startsWith('[') && !now.startsWith(old)) throw new Error(`a block list was rewritten, not appended to:\n${old}\n---\n${now}`);
    }),
    { numRuns: RUNS, seed: 20261125 },
  );
  t.ok(seen.patched > RUNS / 4, `${seen.patched} patched, every byte kept`);
  t.ok(seen.covered > 0, `${seen.covered} already covered, left alone`);
  t.comment(`fuzz: ${RUNS} argocd-cm contents: ${seen.patched} patched keeping every byte, ${seen.covered} already excluded, ${seen.warned} warned without a patch`);
});

t.test('exclusions that do not parse: no patch, a warning, and an audit record, over HTTPS', async (t) => {
  const guard = await startGuard();
  t.teardown(async () => {
    destroyAgents();
    await guard.close();
  });
  let tried = 0;
  await fc.assert(
    fc.asyncProperty(unreadable, async (text) => {
      const body = makeReview({ operation: 'UPDATE', object: review(text, {}), oldObject: review(text, {}) });
      const res = await post(`${guard.url}/mutate`, JSON.stringify(body), guard.ca);
      const verdict = judge(body, res.status, res.body, 'mutating');
      if (verdict.outcome !== 'allowed' || verdict.patch) throw new Error(`expected allowed without a patch, got ${verdict.outcome} ${JSON.stringify(verdict.patch)}`);
      if (!verdict.warnings.some((w) => w.includes('M1'))) throw new Error(`no M1 warning for ${JSON.stringify(text)}: ${JSON.stringify(verdict.warnings)}`);
      const uid = (body.request as { uid: string }).uid;
      const audit = guard.logs.find((l) => l.event === 'cilium-guard.audit' && l.uid === uid);
      if (!audit || audit.rule !== 'M1' || audit.verdict !== 'warn') throw new Error(`no M1 audit record for ${uid}`);
      tried++;
    }),
    { numRuns: 150, seed: 20261126 },
  );
  t.equal(tried, 150, `${tried} unreadable exclusions: allowed unpatched, warned and audited`);
});
