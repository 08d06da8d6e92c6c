// Property-based fuzzing (fast-check) of the review decoder and every rule, without HTTP: random
// and mutated AdmissionReviews, random YAML in `values`, wrong types in every field. Each input
// must be decoded into a request or refused with a reason, and every decoded request must get a
// decision that the API server accepts (judged as kube-apiserver judges it), the same decision
// twice, and never an exception. The seed is printed by fast-check on a failure, so it reproduces.
import fc from 'fast-check';
import t from 'tap';
import { decodeReview } from '../../src/admission/decode.js';
import { encodeResponse } from '../../src/admission/respond.js';
import { auditRecords } from '../../src/audit/audit.js';
import { defaultConfig } from '../../src/policy/config.js';
import { mutate, validate } from '../../src/policy/engine.js';
import { RULE_IDS, type Decision } from '../../src/policy/types.js';
import { judge } from '../helpers/apiserver.js';
import { admissionReview, ciliumApplication, jsonish } from './arbitraries.js';

const config = defaultConfig();
const RUNS = Number(process.env.FUZZ_RUNS ?? 4000);
/** Findings by rule over everything judgeOne saw, so a test can show which rules it reached. */
const fired = new Map<string, number>();

function wellFormed(d: Decision): string | null {
  if (typeof d.allowed !== 'boolean') return 'allowed is not a boolean';
  if (!d.allowed && (typeof d.message !== 'string' || d.message === '')) return 'a denial without a message';
  if (!d.allowed && !d.findings.some((f) => f.verdict === 'deny')) return 'a denial without a deny finding';
  for (const f of d.findings) {
    if (!(RULE_IDS as readonly string[]).includes(f.rule)) return `unknown rule ${f.rule}`;
    if (typeof f.message !== 'string' || f.message === '') return `${f.rule} has no message`;
  }
  return null;
}

/** Everything the server does with one body after parsing it, checked the way the API server would. */
function judgeOne(body: unknown): 'refused' | 'answered' {
  const decoded = decodeReview(body);
  if (!decoded.ok) {
    if (typeof decoded.error !== 'string' || decoded.error === '') throw new Error('refused without a reason');
    return 'refused';
  }
  const review = body as Record<string, unknown>;
  for (const route of ['validate', 'mutate'] as const) {
    const decision = route === 'validate' ? validate(decoded.policy, config) : mutate(decoded.policy, config);
    for (const f of decision.findings) fired.set(f.rule, (fired.get(f.rule) ?? 0) + 1);
    const problem = wellFormed(decision);
    if (problem) throw new Error(`${route}: ${problem}`);
    const again = route === 'validate' ? validate(decoded.policy, config) : mutate(decoded.policy, config);
    if (again.allowed !== decision.allowed || again.findings.map((f) => f.rule).join() !== decision.findings.map((f) => f.rule).join()) {
      throw new Error(`${route}: a second evaluation of the same request decided differently`);
    }
    const answer = encodeResponse(decoded.request.uid, decision, route === 'mutate' ? { original: decoded.request.object } : undefined);
    const verdict = judge(review, 200, JSON.stringify(answer), route === 'validate' ? 'validating' : 'mutating');
    if (verdict.outcome === 'call-failure' || verdict.outcome === 'internal-error') {
      throw new Error(`${route}: the API server would reject the answer: ${verdict.message ?? ''}`);
    }
    if (verdict.outcome === 'denied' && decision.allowed) throw new Error(`${route}: allowed, but the API server reads a denial`);
    for (const r of auditRecords(route, decoded.policy, decoded.request.uid, decision.findings)) JSON.stringify(r);
  }
  return 'answered';
}

t.test('the decoder and both webhooks: any JSON value as the body', async (t) => {
  const seen = { refused: 0, answered: 0 };
  fc.assert(
    fc.property(jsonish, (body) => {
      seen[judgeOne(body)]++;
    }),
    { numRuns: RUNS, seed: 20261125 },
  );
  t.equal(seen.refused + seen.answered, RUNS, `${RUNS} random JSON bodies, none threw`);
  t.comment(`fuzz: ${RUNS} random JSON bodies: ${seen.refused} refused with a reason, ${seen.answered} answered`);
});

t.test('the decoder and both webhooks: AdmissionReviews wrong in a few places', async (t) => {
  const seen = { refused: 0, answered: 0 };
  fired.clear();
  fc.assert(
    fc.property(admissionReview, (review) => {
      seen[judgeOne(review)]++;
    }),
    { numRuns: RUNS, seed: 20261126 },
  );
  t.equal(seen.refused + seen.answered, RUNS, `${RUNS} mutated reviews, none threw`);
  t.ok(seen.answered > RUNS / 2, `most reviews decode (${seen.answered}), so the rules are what is fuzzed`);
  for (const rule of ['R1', 'R3', 'R4', 'A1', 'C1', 'C2', 'M1']) t.ok((fired.get(rule) ?? 0) > 0, `${rule} fired (${fired.get(rule) ?? 0} times)`);
  t.comment(`fuzz: ${RUNS} mutated AdmissionReviews: ${seen.refused} refused with a reason, ${seen.answered} judged by every rule; findings by rule: ${[...fired].map(([r, n]) => `${r} ${n}`).join(', ')}`);
});

t.test('every rule on Cilium Applications with random guarded fields', async (t) => {
  const rules = new Map<string, number>();
  let denied = 0;
  fc.assert(
    fc.property(ciliumApplication, fc.constantFrom('CREATE', 'UPDATE', 'DELETE'), (app, operation) => {
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u',
          kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Application' },
          operation,
          userInfo: { username: 'alice' },
          object: operation === 'DELETE' ? null : app,
          oldObject: operation === 'CREATE' ? null : operation === 'UPDATE' ? { ...app, spec: { ...(app.spec as object), project: 'old' } } : app,
          dryRun: false,
        },
      };
      judgeOne(review);
      const decoded = decodeReview(review);
      if (!decoded.ok) throw new Error(`a well-formed review was refused: ${decoded.error}`);
      const d = validate(decoded.policy, config);
      if (!d.allowed) denied++;
      for (const f of d.findings) rules.set(f.rule, (rules.get(f.rule) ?? 0) + 1);
    }),
    { numRuns: RUNS, seed: 20261127 },
  );
  // The generator must reach the rules it is meant to fuzz, or this test proves little.
  for (const rule of ['R1', 'R2', 'R3', 'R4', 'R5', 'V1', 'D1']) t.ok((rules.get(rule) ?? 0) > 0, `${rule} fired (${rules.get(rule) ?? 0} times)`);
  t.ok(denied > 0 && denied < RUNS, `some denied (${denied}), some allowed`);
  t.comment(`fuzz: ${RUNS} random Cilium Applications, ${denied} denied; findings by rule: ${[...rules].map(([r, n]) => `${r} ${n}`).join(', ')}`);
});
