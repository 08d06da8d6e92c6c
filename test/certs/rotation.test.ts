// The rotation decision on its own (pure): what a Secret needs, given its contents, what the
// webhooks trust and the time.
import t from 'tap';
import { parseDuration } from '../../src/cli/duration.js';
import { generateCA, issueServing, joinBundle, parseBundle } from '../../src/certs/pki.js';
import { nextStep, type RotationOptions } from '../../src/certs/rotation.js';

const DAY = 86_400_000;
const opts: RotationOptions = { caValidityMs: 10 * DAY, certValidityMs: 4 * DAY, renewFraction: 0.33, overlapMs: 60_000, retireAfterMs: 240_000, dnsNames: ['svc.ns.svc'] };
const now = Date.now();
const ca = await generateCA({ validityMs: opts.caValidityMs, now });
const leaf = await issueServing({ ca, dnsNames: ['svc.ns.svc'], validityMs: opts.certValidityMs, now });
const data = { 'ca.crt': ca.cert, 'signing-ca.crt': ca.cert, 'signing-ca.key': ca.key, 'tls.crt': leaf.cert, 'tls.key': leaf.key };
const fp = parseBundle(ca.cert)[0]!.fingerprint;
const trusted = new Set([fp]);

t.test('a complete, fresh Secret needs nothing', async (t) => {
  t.same(nextStep({ data }, trusted, now, opts), { kind: 'none' });
});

t.test('an empty or damaged Secret is bootstrapped', async (t) => {
  t.same(nextStep({ data: {} }, null, now, opts), { kind: 'bootstrap', reason: 'the Secret is empty' });
  const other = await generateCA({ validityMs: DAY });
  t.equal(nextStep({ data: { ...data, 'signing-ca.key': other.key } }, trusted, now, opts).kind, 'bootstrap', 'a key that is not the CA key');
  t.same(nextStep({ data: { ...data, 'ca.crt': other.cert } }, trusted, now, opts), { kind: 'bootstrap', reason: 'the CA bundle lacks the signing CA' });
  t.same(nextStep({ data }, trusted, now + 11 * DAY, opts), { kind: 'bootstrap', reason: 'the signing CA has expired' });
});

t.test('a serving certificate that is unusable is replaced at once, whatever the webhooks trust', async (t) => {
  const wrongName = await issueServing({ ca, dnsNames: ['other.ns.svc'], validityMs: opts.certValidityMs });
  t.same(nextStep({ data: { ...data, 'tls.crt': wrongName.cert, 'tls.key': wrongName.key } }, new Set(), now, opts), {
    kind: 'issue-serving',
    reason: 'the serving certificate does not name svc.ns.svc',
  });
  t.same(nextStep({ data: { ...data, 'tls.key': ca.key } }, trusted, now, opts), { kind: 'issue-serving', reason: 'there is no usable serving certificate' });
  const stranger = await generateCA({ validityMs: DAY });
  const foreign = await issueServing({ ca: stranger, dnsNames: ['svc.ns.svc'], validityMs: DAY });
  t.same(nextStep({ data: { ...data, 'tls.crt': foreign.cert, 'tls.key': foreign.key } }, trusted, now, opts), {
    kind: 'issue-serving',
    reason: 'the serving certificate is signed by no CA in the bundle',
  });
});

t.test('renewal waits until the webhooks trust the signing CA', async (t) => {
  t.same(nextStep({ data }, new Set(), now + 3 * DAY, opts), { kind: 'wait', reason: 'the signing CA is not in every webhook caBundle yet' });
  t.equal(nextStep({ data }, trusted, now + 3 * DAY, opts).kind, 'issue-serving');
  t.equal(nextStep({ data }, trusted, now + 7 * DAY, opts).kind, 'rotate-ca', 'the CA comes first when both are due');
});

t.test('a previous CA is pruned only after retireAfter, an expired one at once', async (t) => {
  const old = await generateCA({ validityMs: 10 * DAY, now: now - 8 * DAY });
  const withOld = { ...data, 'ca.crt': joinBundle([...parseBundle(ca.cert), ...parseBundle(old.cert)]) };
  t.same(nextStep({ data: withOld }, trusted, now + 10_000, opts), { kind: 'none' }, 'kept while replicas switch');
  const step = nextStep({ data: withOld }, trusted, now + opts.retireAfterMs, opts);
  t.equal(step.kind, 'prune');
  t.same(step.kind === 'prune' ? step.keep.map((c) => c.fingerprint) : [], [fp]);
  const expired = await generateCA({ validityMs: DAY, now: now - 2 * DAY });
  t.equal(nextStep({ data: { ...data, 'ca.crt': ca.cert + '\n' + expired.cert } }, trusted, now + 1000, opts).kind, 'prune');
});

t.test('Go-style durations from the chart', async (t) => {
  t.equal(parseDuration('17520h'), 17520 * 3_600_000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1.5h'), 5_400_000);
  for (const bad of ['', '5', '5 minutes', 'm5', '5d', '1h-2m']) t.equal(parseDuration(bad), null, JSON.stringify(bad));
});
