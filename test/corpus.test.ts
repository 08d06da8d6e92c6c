// Replays test/corpus through a real HTTPS cilium-guard and judges every answer the way
// kube-apiserver does; then checks what the case expects.
import t from 'tap';
import { parseExclusions, EXCLUSIONS_KEY } from '../src/policy/argocd-cm.js';
import { defaultConfig, resolveConfig, type PolicyConfig } from '../src/policy/config.js';
import { judge, makeReview } from './helpers/apiserver.js';
import { loadCorpus, type CorpusCase } from './helpers/corpus.js';
import { destroyAgents, post, startGuard, type Running } from './helpers/https.js';

const cases = loadCorpus();
const servers = new Map<string, Promise<Running>>();

function configFor(c: CorpusCase): PolicyConfig {
  if (!c.config) return defaultConfig();
  const r = resolveConfig(c.config);
  if (!r.ok) throw new Error(`case ${c.id}: ${r.errors.join('; ')}`);
  return r.config;
}

function serverFor(c: CorpusCase): Promise<Running> {
  const key = JSON.stringify(c.config ?? {});
  let s = servers.get(key);
  if (!s) {
    s = startGuard({ config: configFor(c) });
    servers.set(key, s);
  }
  return s;
}

t.teardown(async () => {
  destroyAgents();
  for (const s of servers.values()) await (await s).close();
});

t.test('the corpus has a case for every rule', async (t) => {
  const rules = new Set(cases.flatMap((c) => [...c.deny, ...c.warn]));
  for (const r of ['R1', 'R2', 'R3', 'R3.replace', 'R4', 'R4.endpoint', 'R5', 'V1', 'A1', 'D1', 'C1', 'C2', 'M1']) {
    t.ok(rules.has(r), `some case expects ${r}`);
  }
  t.ok(cases.filter((c) => c.patch === true).length >= 5, 'mutation cases');
});

for (const c of cases) {
  t.test(`${c.file} ${c.id}${c.title ? `: ${c.title}` : ''}`, async (t) => {
    const running = await serverFor(c);
    const type = c.webhook === 'mutate' ? 'mutating' : 'validating';
    const name = c.webhook === 'mutate' ? 'mutate.cilium-guard.io' : 'validate.cilium-guard.io';
    const review = makeReview({
      operation: c.operation,
      object: c.object,
      oldObject: c.oldObject,
      ...(c.userInfo ? { userInfo: c.userInfo } : {}),
      ...(c.dryRun ? { dryRun: true } : {}),
    });
    const res = await post(`${running.url}/${c.webhook}?timeout=10s`, JSON.stringify(review), running.ca);
    const verdict = judge(review, res.status, res.body, type, name);
    t.not(verdict.outcome, 'call-failure', `a valid answer (${verdict.message ?? ''})`);
    t.not(verdict.outcome, 'internal-error', `a patch that applies (${verdict.message ?? ''})`);
    t.equal(verdict.outcome, c.expect === 'allow' ? 'allowed' : 'denied', verdict.message ?? 'allowed');
    if (c.expect === 'deny') {
      t.equal(verdict.code, 403);
      t.match(verdict.message, new RegExp(`^admission webhook "${name}" denied the request: cilium-guard denied `));
      for (const rule of c.deny) {
        t.equal(verdict.auditAnnotations[`${name}/rule.${rule}`], 'deny', `${rule} denies`);
        t.match(verdict.message, `[${rule}]`, `message names ${rule}`);
      }
      for (const s of c.messageIncludes ?? []) t.match(verdict.message, s);
    } else {
      for (const [k, v] of Object.entries(verdict.auditAnnotations)) {
        if (k.includes('/rule.')) t.not(v, 'deny', `${k} does not deny`);
      }
    }
    for (const rule of c.warn) {
      t.match(verdict.auditAnnotations[`${name}/rule.${rule}`], /^(warn|break-glass)$/, `${rule} warns`);
      t.ok(verdict.warnings.some((w) => w.startsWith(`[cilium-guard ${rule}]`)), `a ${rule} warning reaches kubectl`);
    }
    if (c.expect === 'allow' && c.warn.length === 0 && !c.config) {
      const denyOrWarn = Object.values(verdict.auditAnnotations).filter((v) => v === 'deny' || v === 'warn');
      t.same(denyOrWarn, [], 'no stray findings on a clean object');
    }
    if (c.patch === true) {
      t.ok(verdict.patch && verdict.patch.length > 0, 'a patch comes back');
      t.ok(verdict.patch?.every((op) => op.path === '/data' || op.path.startsWith('/data/')), 'only data is patched');
      const before = ((c.object?.data as Record<string, string> | undefined) ?? {})[EXCLUSIONS_KEY] ?? '';
      const after = ((verdict.patched as { data: Record<string, string> }).data)[EXCLUSIONS_KEY] ?? '';
      const config = defaultConfig();
      const old = parseExclusions(before, config);
      const now = parseExclusions(after, config);
      t.ok(old.ok && now.ok, 'both parse');
      if (old.ok && now.ok) t.same(now.raw, [...old.raw, config.argocd.exclusion], 'old entries kept in order, one added');
      for (const line of before.split('\n').filter((l) => l.trim().startsWith('#'))) t.ok(after.includes(line), `comment kept: ${line}`);
      const again = makeReview({ operation: 'UPDATE', object: verdict.patched as Record<string, unknown>, oldObject: c.object });
      const second = judge(again, ...(await post(`${running.url}/mutate`, JSON.stringify(again), running.ca).then((r) => [r.status, r.body] as const)), 'mutating', name);
      t.equal(second.outcome, 'allowed');
      t.notOk(second.patch, 'applying it twice changes nothing');
    } else if (c.patch === false) {
      t.notOk(verdict.patch, 'no patch');
    }
  });
}
