// The fidelity run's L1 ground truth (test/e2e/ground-truth.ts) on hand-made cilium-config data, so
// that its own semantics are pinned apart from the policy engine it checks: how the agent reads a
// key (case-insensitive names, Go's TrimSpace, disagreeing spellings), what counts as a break
// against a running config, and how compare() turns that into agreement or disagreement.
import t from 'tap';
import { type Rendered, agentConfig, compare, l1Changes } from '../e2e/ground-truth.js';

// As renderJob reads a rendered cilium-config: null is stored as "", any other non-string is refused.
const rendered = (data: Record<string, unknown>): Rendered => {
  if (Object.values(data).some((v) => typeof v !== 'string' && v !== null)) return { bad: {}, configRefused: 'not a string' };
  const strings = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === null ? '' : (v as string)]));
  return { bad: {}, configData: strings, config: agentConfig(strings) };
};
const RUNNING = {
  ipam: 'cluster-pool',
  'cluster-name': 'talos-a',
  'cluster-id': '7',
  'cluster-pool-ipv4-cidr': '10.0.0.0/16 10.1.0.0/16',
  'cluster-pool-ipv4-mask-size': '24',
  'routing-mode': 'tunnel',
  'tunnel-protocol': 'vxlan',
};
const breaks = (data: Record<string, unknown>, running: Record<string, string> = RUNNING) => l1Changes(agentConfig(running), rendered(data));

t.test('agentConfig reads as the agent does', async (t) => {
  t.same(agentConfig({ IPAM: ' kubernetes\n', 'Cluster-Name': 'a', 'cluster-name': 'a ' }), { ipam: { value: 'kubernetes' }, 'cluster-name': { value: 'a' } });
  t.same(agentConfig({ 'cluster-name': 'a', 'Cluster-Name': 'b' }), { 'cluster-name': { ambiguous: ['a', 'b'] } });
  t.same(agentConfig({ other: 'x' }), {});
});

t.test('deny keys', async (t) => {
  t.same(breaks(RUNNING), { deny: [], warn: [] }, 'the same config');
  t.same(breaks({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.0.0.0/16  10.1.0.0/16 10.2.0.0/16' }).deny, [], 'appending is fine');
  t.equal(breaks({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.1.0.0/16 10.0.0.0/16' }).deny.length, 1, 'reordering');
  t.equal(breaks({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.0.0.0/16' }).deny.length, 1, 'removing');
  t.equal(breaks({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.0.0.0/16 10.9.0.0/16' }).deny.length, 1, 'changing');
  t.same(breaks({ ipam: 'cluster-pool', 'cluster-name': 'talos-a', 'cluster-id': '7' }).deny, [], 'pool keys compared only when both have them');
  t.equal(breaks({ ...RUNNING, 'cluster-pool-ipv4-mask-size': '26' }).deny.length, 1, 'mask size');
  t.same(breaks({ ...RUNNING, 'cluster-pool-ipv4-mask-size': ' 24' }).deny, [], 'trimmed');
  t.equal(breaks({ ...RUNNING, ipam: 'kubernetes' }).deny.length, 1, 'ipam');
  const { ipam: _, ...noIpam } = RUNNING;
  t.same(breaks(noIpam).deny, [], 'an absent ipam is cluster-pool');
  t.equal(breaks({ ...RUNNING, 'cluster-id': '0' }).deny.length, 1, 'cluster-id');
  t.same(breaks({ ipam: 'kubernetes', 'cluster-id': '0' }, { ipam: 'kubernetes' }).deny, [], 'an absent cluster-id is 0, an absent name default');
  t.equal(breaks({ ...RUNNING, 'Cluster-Name': 'talos-b' }).deny.length, 1, 'two spellings that disagree');
  t.same(breaks({ ...RUNNING, 'Cluster-Name': ' talos-a' }).deny, [], 'two spellings that agree');
  t.same(breaks({ ...RUNNING, 'Cluster-Pool-IPv4-CIDR': '10.0.0.0/16  10.1.0.0/16' }).deny, [], 'two spellings of the same list');
  t.equal(breaks({ ...RUNNING, 'Cluster-Pool-IPv4-CIDR': '10.0.0.0/16 10.1.0.0/16 10.2.0.0/16' }).deny.length, 1, 'a list with and without an appended entry: it may be lost on a restart');
  t.same(breaks({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.0.0.0/16\u008510.1.0.0/16' }).deny, [], 'U+0085 is a space for Go');
  t.equal(breaks({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.0.0.0/16\ufeff10.1.0.0/16' }).deny.length, 1, 'U+FEFF is not');
  t.same(breaks({ ...RUNNING, ipam: 'kubernetes', 'cluster-id': true }), { deny: [], warn: [] }, 'a refused cilium-config changes nothing');
  t.equal(breaks({ ...RUNNING, ipam: 'kubernetes', other: null }).deny.length, 1, 'a null is stored as "", not refused');
  t.equal(breaks({ ...RUNNING, 'Cluster-Name': null }).deny.length, 1, 'a null spelling is "": ambiguous');
});

t.test('warn keys never break', async (t) => {
  const r = breaks({ ...RUNNING, 'routing-mode': 'native', 'ipv4-native-routing-cidr': '10.0.0.0/8', 'enable-wireguard': 'true', 'tunnel-protocol': 'geneve' });
  t.same(r.deny, []);
  t.equal(r.warn.length, 4);
  const { 'routing-mode': _r, 'tunnel-protocol': _t, ...noRouting } = RUNNING;
  t.same(breaks(noRouting), { deny: [], warn: [] }, 'absent routing-mode is tunnel, tunnel-protocol vxlan');
});

t.test('compare judges L1 only with a baseline', async (t) => {
  const app = { kind: 'Application' };
  const bad = [rendered({ ...RUNNING, ipam: 'kubernetes' })];
  const deny = new Map([['L1', new Set(['deny'])]]);
  const warn = new Map([['L1', new Set(['warn'])]]);
  const none = new Map<string, Set<string>>();
  t.notOk(compare(app, bad, [], none).l1, 'no baseline argument: L1 not judged (the e2e suite)');
  t.same(compare(app, bad, [], deny, { running: RUNNING }).disagreements, []);
  t.match(compare(app, bad, [], warn, { running: RUNNING }).disagreements, [/^L1: the chart says .*ipam.*only warns/]);
  t.match(compare(app, bad, [], none, { running: RUNNING }).disagreements, [/lets it through/]);
  t.same(compare(app, bad, ['valueFiles'], warn, { running: RUNNING }).disagreements, [], 'an invisible layer: a warning suffices');
  t.match(compare(app, bad, [], deny, {}).disagreements, [/^L1: cilium-guard denies, but the chart renders it fine/], 'nothing runs to compare with');
  const warnOnly = [rendered({ ...RUNNING, 'routing-mode': 'native' })];
  t.match(compare(app, warnOnly, [], deny, { running: RUNNING }).disagreements, [/^L1: cilium-guard denies/], 'a warn key never justifies a denial');
  t.same(compare(app, warnOnly, [], warn, { running: RUNNING }).disagreements, []);
  t.same(compare(app, warnOnly, [], none, { running: RUNNING }).l1?.warnOnly.length, 1);
  t.notOk(compare(app, [{ bad: { R4: 'x' }, only: ['R4'] }], [], deny, { running: RUNNING }).l1, 'a render that stopped early is not judged');
});

t.test('parameter orders (Go maps): a break in some orders only needs a warning, and must not be denied', async (t) => {
  const app = { kind: 'Application' };
  const fine = rendered(RUNNING);
  const bad = rendered({ ...RUNNING, 'cluster-pool-ipv4-cidr': '10.1.0.0/16 10.0.0.0/16' });
  const deny = new Map([['L1', new Set(['deny'])]]);
  const warn = new Map([['L1', new Set(['warn'])]]);
  const none = new Map<string, Set<string>>();
  const some = [{ ...bad, otherOrders: [fine] }];
  t.same(compare(app, some, [], warn, { running: RUNNING }).disagreements, []);
  t.match(compare(app, some, [], deny, { running: RUNNING }).disagreements, [/only with the parameters in some orders/]);
  t.match(compare(app, some, [], none, { running: RUNNING }).disagreements, [/in some orders .* says nothing/]);
  t.equal(compare(app, some, [], none, { running: RUNNING }).l1?.orderDependent, true);
  const every = [{ ...bad, otherOrders: [bad] }];
  t.match(compare(app, every, [], warn, { running: RUNNING }).disagreements, [/only warns/], 'broken in every order: a denial is due');
  t.same(compare(app, [{ ...fine, otherOrders: [fine] }], [], none, { running: RUNNING }).disagreements, []);
  const refusedOrder: Rendered = { bad: {}, error: 'helm refused' };
  t.same(compare(app, [{ ...bad, otherOrders: [refusedOrder] }], [], deny, { running: RUNNING }).disagreements, [], 'an order helm refuses renders nothing and does not count');
});

t.test('plan gives the other orders of each parameter group', async (t) => {
  const { plan } = await import('../e2e/ground-truth.js');
  const app = {
    metadata: { name: 'cilium' },
    spec: {
      destination: { namespace: 'kube-system' },
      source: { chart: 'cilium', helm: { parameters: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }, { name: 'c', value: '3', forceString: true }, { name: 'd', value: '4', forceString: true }] } },
    },
  };
  const p = plan(app, '/nonexistent');
  if ('unrenderable' in p) throw new Error(p.unrenderable);
  const job = p.jobs[0]!;
  t.same(job.args, ['--name-template', 'cilium', '--namespace', 'kube-system', '--set', 'a=1', '--set', 'b=2', '--set-string', 'c=3', '--set-string', 'd=4', '--include-crds']);
  t.equal(job.otherOrders?.length, 3, '2 x 2 orders, less the one given');
  t.same(new Set(job.otherOrders?.map((o) => o.slice(4, 12).filter((_, i) => i % 2 === 1).join(' '))), new Set(['b=2 a=1 c=3 d=4', 'a=1 b=2 d=4 c=3', 'b=2 a=1 d=4 c=3']));
  const one = plan({ ...app, spec: { ...app.spec, source: { chart: 'cilium', helm: { parameters: [{ name: 'a', value: '1' }] } } } }, '/x');
  t.notOk('jobs' in one && one.jobs[0]?.otherOrders, 'one parameter: one order');
});
