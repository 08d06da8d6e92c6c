// M1 reads resource.exclusions as Argo CD does (util/settings GetResourcesFilter: sigs.k8s.io/yaml
// into []FilteredResource) and every answer is checked against that Go code itself
// (test/oracle/cmd/exclusions): the first YAML document only, null / ~ / "" / comments as an
// empty list, scalars coerced into the string lists, keys matched with encoding/json's case folding.
// A value Argo CD reads as empty, or as only its first document, still gets the entry, in the
// first document, where Argo CD reads it; the rest of the text stays as it was.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { EXCLUSIONS_KEY, ensureExclusion, parseExclusions, splitFirstDocument } from '../../src/policy/argocd-cm.js';
import { defaultConfig } from '../../src/policy/config.js';
import type { JsonObject } from '../../src/policy/types.js';
import { oracle } from '../helpers/tools.js';

const config = defaultConfig();
const want = config.argocd.exclusion;
type Entry = { apiGroups: string[]; kinds: string[]; clusters: string[] };
type GoAnswer = { ok: true; value: Entry[] } | { ok: false; error: string };

/** How Argo CD's Go code reads each text. */
function goRead(texts: string[]): GoAnswer[] {
  const bin = path.join(oracle(), 'exclusions');
  const res = spawnSync(bin, [], { input: texts.map((text) => JSON.stringify({ text })).join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28 });
  if (res.status !== 0) throw new Error(`exclusions oracle exited ${res.status}: ${res.stderr}`);
  const answers = res.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as GoAnswer);
  if (answers.length !== texts.length) throw new Error(`exclusions oracle answered ${answers.length} of ${texts.length}`);
  return answers;
}

function argocdCm(text: string): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd', labels: { 'app.kubernetes.io/part-of': 'argocd' } }, data: { [EXCLUSIONS_KEY]: text } };
}

function patchedText(text: string): string | null {
  const r = ensureExclusion(argocdCm(text), config);
  return r.kind === 'missing' && r.patched ? ((r.patched.data as Record<string, string>)[EXCLUSIONS_KEY] ?? null) : null;
}

const tekton = '- apiGroups: [tekton.dev]\n  kinds: [TaskRun]\n';
const ciliumAll = '- apiGroups: [cilium.io]\n  kinds: ["*"]\n';

/** Shapes Argo CD reads as empty, or as their first document only: each must get the entry. */
const needsEntry: Array<[string, string, string?]> = [
  ['empty', ''],
  ['null', 'null'],
  ['~', '~\n'],
  ['Null', 'Null\n'],
  ['NULL with a comment', '# nothing excluded yet\nNULL  # on purpose\n'],
  ['only comments', '# one\n# two\n'],
  ['only a document start', '---\n'],
  ['an empty first document', '---\n---\n- kinds: [x]\n', '---\n- kinds: [x]\n'],
  ['null then a document', 'null\n---\n' + ciliumAll, '---\n' + ciliumAll],
  ['an empty list', '[]\n'],
  ['a list, then ---', tekton + '---\n', '---\n'],
  ['a list, then ...', tekton + '...\n', '...\n'],
  ['a list, then a second document that would cover', tekton + '---\n' + ciliumAll, '---\n' + ciliumAll],
  ['a list, then ... and a broken second document', tekton + '...\ngarbage: [\n', '...\ngarbage: [\n'],
  ['a flow list, then ---', '[{apiGroups: [tekton.dev]}]\n--- # more\n' + ciliumAll, '--- # more\n' + ciliumAll],
  ['a list after ---, then ---', '# header\n---\n' + tekton + '--- \n- {}\n', '--- \n- {}\n'],
  ['numbers in a string list', '- apiGroups: [1, 2.5]\n  kinds: [yes]\n'],
  ['null in a string list', '- apiGroups: [~]\n  kinds: [CiliumIdentity]\n'],
  ['a long s folds to s (clusters)', '- apiGroups: [cilium.io]\n  kinds: [CiliumIdentity]\n  clu\u017fters: [https://prod.example]\n'],
  ["the last of the keys in Go's sorted order wins", '- apiGroups: [tekton.dev]\n  Apigroups: null\n  kinds: [CiliumIdentity]\n'],
];

/** Shapes Argo CD reads as covering already: no patch. */
const covered: Array<[string, string]> = [
  ['covered in the first document', ciliumAll + '---\n' + tekton],
  ['covered, then ... and anything', ciliumAll + '...\n%%% not yaml\n'],
  ['a Kelvin sign folds to K', '- apiGroups: [cilium.io]\n  \u212aINDS: [CiliumIdentity]\n'],
  ['a null list means all groups', '- APIGroups: [tekton.dev]\n  apiGroups: null\n  kinds: [CiliumIdentity]\n'],
  ['keys arrive sorted, so apiGroups (null: all groups) comes after Apigroups', '- apiGroups: null\n  Apigroups: [tekton.dev]\n  kinds: [CiliumIdentity]\n'],
  ['a null entry is an empty entry, which excludes everything', '- ~\n'],
];

/** Shapes Argo CD cannot read: no patch, a warning. */
const unreadable: Array<[string, string]> = [
  ['a mapping', 'apiGroups: [cilium.io]\n'],
  ['a string', '"just a string"\n'],
  ['a list of strings', '- cilium.io\n'],
  ['a string where a list belongs', '- apiGroups: cilium.io\n'],
  ['a map in a string list', '- apiGroups: [{a: b}]\n'],
  ['broken first document', '- apiGroups: [cilium.io\n---\n' + ciliumAll],
  ['a directive go-yaml does not know', '%FOO bar\n---\n' + ciliumAll],
  ['junk where a directive would be', '...\n%%% junk\n'],
  ['a leading ...', '# c\n... # nothing\n' + ciliumAll],
];

t.test('what Argo CD reads, against the Go code', async (t) => {
  const all = [...needsEntry, ...covered, ...unreadable];
  const go = goRead(all.map(([, text]) => text));
  all.forEach(([why, text], i) => {
    const mine = parseExclusions(text, config);
    const theirs = go[i] as GoAnswer;
    t.equal(mine.ok, theirs.ok, `${why}: readable ${theirs.ok}${theirs.ok ? '' : ` (${theirs.error})`}`);
    if (mine.ok && theirs.ok) t.same(mine.entries, theirs.value, `${why}: the same entries`);
  });
});

t.test('empty, null and first-document shapes get the entry where Argo CD reads it', async (t) => {
  const patched = needsEntry.map(([why, text, tail]) => [why, text, patchedText(text), tail] as const);
  for (const [why, , now] of patched) t.not(now, null, `${why}: patched`);
  const texts = patched.flatMap(([, text, now]) => [text, now ?? '']);
  const go = goRead(texts);
  patched.forEach(([why, text, now, tail], i) => {
    const before = go[2 * i] as GoAnswer;
    const after = go[2 * i + 1] as GoAnswer;
    t.ok(before.ok && after.ok, `${why}: Go reads both`);
    if (before.ok && after.ok) t.same(after.value, [...before.value, want], `${why}: Go reads the old list plus the entry`);
    if (now === null) return;
    for (const line of text.split('\n').filter((l) => /#/.test(l))) t.ok(now.includes(line.slice(line.indexOf('#'))), `${why}: comment kept: ${line}`);
    if (tail !== undefined) t.ok(now.endsWith(tail) && text.endsWith(tail), `${why}: everything from the end of the first document on is kept`);
    if (text !== '' && tail === undefined && !/^\s*(null|~|Null|NULL|\[\])(?=\s|$)/m.test(text)) t.ok(now.startsWith(text), `${why}: only appended to`);
    t.equal(patchedText(now), null, `${why}: patching twice changes nothing`);
    t.equal(ensureExclusion(argocdCm(now), config).kind, 'covered', `${why}: covered once patched`);
  });
});

t.test('covered and unreadable shapes are left alone', async (t) => {
  for (const [why, text] of covered) t.equal(ensureExclusion(argocdCm(text), config).kind, 'covered', why);
  for (const [why, text] of unreadable) t.equal(ensureExclusion(argocdCm(text), config).kind, 'unreadable', why);
});

t.test('random documents with markers, nulls and comments: patched as Go reads them', async (t) => {
  const word = fc.constantFrom('cilium.io', 'tekton.dev', '*', 'CiliumIdentity', 'TaskRun', 'https://prod', '~', '1', 'yes');
  const entry = fc
    .record({ apiGroups: fc.array(word, { maxLength: 2 }), kinds: fc.array(word, { maxLength: 2 }), clusters: fc.array(word, { maxLength: 1 }) }, { requiredKeys: [] })
    .map((e) => Object.entries(e).map(([k, v], i) => `${i === 0 ? '- ' : '  '}${k}: [${v.join(', ')}]`).join('\n') || '- {}');
  const comment = fc.constantFrom('# keep', '#', '# ünïcode', '  # indented');
  const body = fc.oneof(
    fc.array(entry, { minLength: 1, maxLength: 3 }).map((es) => es.join('\n') + '\n'),
    fc.constantFrom('', 'null\n', '~\n', 'NULL # why\n', '[]\n', '[{kinds: [TaskRun]}]\n'),
  );
  const doc = fc.tuple(fc.array(comment, { maxLength: 2 }), fc.boolean(), body, fc.array(comment, { maxLength: 2 })).map(
    ([before, start, b, after]) => [...before, ...(start ? ['---'] : []), b.replace(/\n$/, ''), ...after].filter((l) => l !== '').join('\n') + '\n',
  );
  const text = fc.tuple(doc, fc.constantFrom('', '---\n', '...\n', '--- # next\n', '---\n- apiGroups: [cilium.io]\n', '...\n%%% junk\n'), fc.array(doc, { maxLength: 1 })).map(
    ([first, marker, rest]) => first + (marker === '' ? '' : marker + rest.join('')),
  );
  const samples = fc.sample(text, { seed: 20261127, numRuns: 400 });
  const patched = samples.map((s) => {
    const plan = ensureExclusion(argocdCm(s), config);
    return { s, plan: plan.kind, now: patchedText(s) };
  });
  const go = goRead(patched.flatMap(({ s, now }) => [s, now ?? '']));
  let wrong = 0;
  let changed = 0;
  patched.forEach(({ s, plan, now }, i) => {
    const before = go[2 * i] as GoAnswer;
    const after = go[2 * i + 1] as GoAnswer;
    const mine = parseExclusions(s, config);
    const fail = (why: string): void => {
      if (wrong++ < 5) t.fail(`${why}:\n${s}\n=>\n${now ?? '(no patch)'}\nGo: ${JSON.stringify(before)} / ${JSON.stringify(after)}`);
    };
    if (mine.ok !== before.ok) return fail('readability differs from Go');
    if (!before.ok) return plan === 'unreadable' ? undefined : fail('unreadable in Go but judged');
    if (mine.ok && JSON.stringify(mine.entries) !== JSON.stringify(before.value)) return fail('entries differ from Go');
    if (plan === 'covered') return;
    if (now === null) return fail('missing but not patched');
    changed++;
    if (!after.ok || JSON.stringify(after.value) !== JSON.stringify([...before.value, want])) return fail('Go does not read the old list plus the entry');
    const { head, tail } = splitFirstDocument(s);
    if (!now.endsWith(tail)) return fail('what follows the first document changed');
    if (/^- /m.test(head) && !now.startsWith(head)) return fail('a block list was rewritten, not appended to');
    for (const c of s.split('\n').filter((l) => l.trim().startsWith('#'))) if (!now.includes(c.trim())) return fail(`comment ${JSON.stringify(c)} lost`);
  });
  t.equal(wrong, 0, `${samples.length} texts read as Go reads them, ${changed} patched`);
  t.ok(changed > samples.length / 3, 'most of them needed the entry');
});
