// L1: settings Cilium cannot change on a running cluster, judged on the cilium-config the chart
// writes for the Application (chart defaults, every Helm layer, extraConfig), against the running
// cilium-config (cluster view, destination this cluster) and, on UPDATE, the old Application.
import t from 'tap';
import type { ClusterView } from '../../src/policy/cluster-view.js';
import { defaultConfig, resolveConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import { LIVE_SETTINGS, runningConfig } from '../../src/policy/live.js';
import type { Decision, JsonObject } from '../../src/policy/types.js';
import { example } from '../helpers/corpus.js';
import { applicationRequest } from '../helpers/review.js';

const config = defaultConfig();
const good = example('01-app-cilium-good.yaml') as JsonObject;

/** What Talos installed: the chart's cilium-config for the Talos values (ipam kubernetes), the keys L1 reads. */
const talosConfig: Record<string, string> = {
  ipam: 'kubernetes',
  'cluster-name': 'default',
  'cluster-id': '0',
  'routing-mode': 'tunnel',
  'tunnel-protocol': 'vxlan',
  'kube-proxy-replacement': 'true',
};
const running = (data: Record<string, string> = talosConfig, extra: Partial<ClusterView> = {}): ClusterView => ({ ciliumConfig: { data }, ...extra });

function app(edit: (values: any, a: any) => void = () => {}): JsonObject {
  const a = structuredClone(good) as any;
  edit(a.spec.source.helm.valuesObject, a);
  return a;
}

function judge(object: JsonObject, oldObject: JsonObject | null, cluster?: ClusterView, cfg = config): Decision {
  return validate(applicationRequest(object, oldObject), cfg, cluster ? { cluster } : {});
}

const l1 = (d: Decision) => d.findings.filter((f) => f.rule === 'L1');

t.test('nothing runs and no old object: nothing to compare with', async (t) => {
  t.same(l1(judge(app((v) => (v.ipam.mode = 'cluster-pool')), null)), []);
  t.same(l1(judge(app((v) => (v.ipam.mode = 'cluster-pool')), null, {})), [], 'a view without cilium-config (Cilium not installed yet)');
});

t.test('the Talos Application matches what Talos installed: admitted, no finding', async (t) => {
  const d = judge(app(), null, running());
  t.same(l1(d), []);
  t.equal(d.allowed, true);
  t.same(l1(judge(app(), app(), running())), [], 'UPDATE with both references');
});

t.test('on UPDATE, where the old Application and the running cilium-config agree, one finding names both', async (t) => {
  const before = app((v) => (v.operator.replicas = 3));
  const found = l1(judge(app((v) => (v.ipam.mode = 'cluster-pool')), before, running()));
  t.match(found, [{ verdict: 'deny', subject: 'cilium-config ipam vs running', message: /from "kubernetes" in the running cilium-config and the previous version of this Application;/ }]);
  t.equal(found.length, 1);
  // With a stale view, the old Application speaks first: the denial stays certain.
  const stale = l1(judge(app((v) => (v.ipam.mode = 'cluster-pool')), before, running(talosConfig, { stale: true })));
  t.match(stale, [{ verdict: 'deny', subject: 'cilium-config ipam vs previous', message: /in the previous version of this Application and the running cilium-config \(as last seen; the view may be stale\);/ }]);
  t.equal(stale.length, 1);
});

t.test('ipam.mode flip against the running cluster is denied, with the value to keep', async (t) => {
  const d = judge(app((v) => (v.ipam.mode = 'cluster-pool')), null, running());
  t.equal(d.allowed, false);
  t.match(l1(d), [
    {
      verdict: 'deny',
      path: 'spec.source.helm.valuesObject.ipam.mode',
      subject: 'cilium-config ipam vs running',
      value: 'cluster-pool',
      message: /cilium-config ipam "cluster-pool", which changes it from "kubernetes" in the running cilium-config; changing the IPAM mode .*: set ipam.mode so that ipam stays "kubernetes"$/,
    },
  ]);
  // Leaving ipam.mode out is the same change: the chart default is cluster-pool.
  const omitted = l1(judge(app((v) => delete v.ipam), null, running()));
  t.match(omitted, [{ verdict: 'deny', value: 'cluster-pool', message: /ipam "cluster-pool"/ }], 'the chart default counts');
  // An empty mode falls back to the default (sprig coalesce).
  t.match(l1(judge(app((v) => (v.ipam.mode = '')), null, running())), [{ verdict: 'deny', value: 'cluster-pool' }]);
  // aksbyocni forces cluster-pool whatever ipam.mode says.
  t.match(l1(judge(app((v) => (v.aksbyocni = { enabled: true })), null, running())), [{ verdict: 'deny', value: 'cluster-pool' }]);
});

t.test('extraConfig overrides what the chart writes, case-insensitively, as the agent reads it', async (t) => {
  t.match(l1(judge(app((v) => (v.extraConfig = { ipam: 'multi-pool' })), null, running())), [{ verdict: 'deny', value: 'multi-pool', path: 'spec.source.helm.valuesObject.extraConfig.ipam' }]);
  t.match(l1(judge(app((v) => (v.extraConfig = { IPAM: ' kubernetes\n' })), null, running())), [], 'same value, other spelling and spaces');
  const both = l1(judge(app((v) => (v.extraConfig = { Ipam: 'cluster-pool' })), null, running()));
  t.match(both, [{ verdict: 'deny', message: /"kubernetes" or "cluster-pool" \(several spellings in cilium-config; the agent takes either\)/ }], 'two spellings, one changes it');
  t.same(l1(judge(app((v) => (v.extraConfig = { ipam: true })), null, running())), [], 'a non-string value: the API server refuses cilium-config, nothing changes (C1/T2 territory)');
});

t.test('cluster name and id: any change is denied, parameters and values strings included', async (t) => {
  t.match(l1(judge(app((v) => (v.cluster = { name: 'prod', id: 1 })), null, running())), [
    { verdict: 'deny', subject: 'cilium-config cluster-name vs running', value: 'prod', message: /restarting every workload/ },
    { verdict: 'deny', subject: 'cilium-config cluster-id vs running', value: '1', message: /security identity/ },
  ]);
  const param = app((_v, a) => (a.spec.source.helm.parameters = [{ name: 'cluster.name', value: 'prod' }]));
  t.match(l1(judge(param, null, running())), [{ verdict: 'deny', path: 'spec.source.helm.parameters[0]', value: 'prod' }]);
  const str = app((_v, a) => (a.spec.source.helm.parameters = [{ name: 'cluster.id', value: '0', forceString: true }]));
  t.same(l1(judge(str, null, running())), [], 'a string "0" renders cluster-id "0" as well');
  // cluster.id: null deletes the key; the chart then writes no cluster-id and the agent uses 0.
  t.same(l1(judge(app((v) => (v.cluster = { id: null })), null, running())), [], 'absent cluster-id is the agent default 0');
  t.match(l1(judge(app((v) => (v.cluster = { id: null })), null, running({ ...talosConfig, 'cluster-id': '7' }))), [{ verdict: 'deny', message: /unset \(the agent uses "0"\)/ }]);
});

t.test('cluster-pool CIDRs: appending passes, changing, removing or reordering an entry is denied; the mask never changes', async (t) => {
  const pool = { ...talosConfig, ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.0.0.0/16 10.1.0.0/16', 'cluster-pool-ipv4-mask-size': '24' };
  const withPool = (list: unknown, mask: unknown = 24) =>
    app((v) => {
      v.ipam = { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: list, clusterPoolIPv4MaskSize: mask } };
    });
  t.same(l1(judge(withPool(['10.0.0.0/16', '10.1.0.0/16']), null, running(pool))), []);
  t.same(l1(judge(withPool(['10.0.0.0/16', '10.1.0.0/16', '10.2.0.0/16']), null, running(pool))), [], 'appended');
  t.match(l1(judge(withPool(['10.0.0.0/16']), null, running(pool))), [{ verdict: 'deny', message: /drops or changes the existing entry 10\.1\.0\.0\/16/ }]);
  t.match(l1(judge(withPool(['10.1.0.0/16', '10.0.0.0/16']), null, running(pool))), [{ verdict: 'deny', message: /moves the existing entry 10\.0\.0\.0\/16/ }]);
  t.match(l1(judge(withPool('10.0.0.0/16 10.1.0.0/16'), null, running(pool))), [], 'a string joins to the same line');
  t.match(l1(judge(withPool(['10.0.0.0/16', '10.1.0.0/16'], 26), null, running(pool))), [{ verdict: 'deny', subject: 'cilium-config cluster-pool-ipv4-mask-size vs running', value: '26' }]);
  t.same(l1(judge(withPool(['10.0.0.0/16', '10.1.0.0/16'], '24'), null, running(pool))), [], '"24" and 24 render alike');
  // The operator splits the line with Go's strings.Fields (unicode.IsSpace): U+0085 separates, U+FEFF does not.
  t.same(l1(judge(withPool('10.0.0.0/16\u008510.1.0.0/16'), null, running(pool))), [], 'U+0085 is a space for Go');
  t.match(l1(judge(withPool('10.0.0.0/16\ufeff10.1.0.0/16'), null, running(pool))), [{ verdict: 'deny', message: /drops or changes the existing entry 10\.0\.0\.0\/16/ }], 'U+FEFF is not (fidelity seed 101296)');
  // Two spellings that each only append, but list different entries: the agent takes either at each start.
  const twice = (extra: string) =>
    app((v) => {
      v.ipam = { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['10.0.0.0/16', '10.1.0.0/16'], clusterPoolIPv4MaskSize: 24 } };
      v.extraConfig = { 'Cluster-Pool-IPv4-CIDR': extra };
    });
  t.match(l1(judge(twice('10.0.0.0/16 10.1.0.0/16 10.2.0.0/16'), null, running(pool))), [{ verdict: 'deny', message: /alternates between them at each agent start/ }], 'fidelity seeds 102029, 102414');
  t.same(l1(judge(twice(' 10.0.0.0/16  10.1.0.0/16'), null, running(pool))), [], 'the same entries, spaced differently');
  // The chart default list, when nothing sets one.
  t.match(l1(judge(app((v) => (v.ipam = { mode: 'cluster-pool' })), null, running(pool))), [{ verdict: 'deny', value: '10.0.0.0/8' }]);
  // With IPv4 off the chart writes no pool: nothing to compare.
  t.same(
    l1(judge(app((v) => ((v.ipam = { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['192.168.0.0/16'] } }), (v.ipv4 = { enabled: false }))), null, running(pool))),
    [],
  );
});

t.test('a cilium-config the API server refuses changes nothing: a boolean or number in any extraConfig key', async (t) => {
  const flip = (extra: Record<string, unknown>) => app((v) => ((v.ipam.mode = 'cluster-pool'), (v.extraConfig = extra)));
  t.same(l1(judge(flip({ 'kube-proxy-replacement.x': true }), null, running())), [], 'another key: fidelity seeds 100387, 101671, 101798, 102454');
  t.same(l1(judge(flip({ 'enable-foo': 7 }), null, running())), []);
  t.match(l1(judge(flip({ 'enable-foo': null }), null, running())), [{ verdict: 'deny', subject: 'cilium-config ipam vs running' }], 'a null is stored as ""');
  t.match(l1(judge(flip({ 'enable-foo': 'true' }), null, running())), [{ verdict: 'deny' }]);
});

t.test('parameters whose outcome depends on their order (Go maps): denied if every order changes the key, else a warning', async (t) => {
  const pool = { ...talosConfig, ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.0.0.0/16 10.1.0.0/16', 'cluster-pool-ipv4-mask-size': '24' };
  const withParams = (params: Array<{ name: string; value: string }>) =>
    app((v, a) => {
      v.ipam = { mode: 'cluster-pool', operator: { clusterPoolIPv4MaskSize: 24 } };
      a.spec.source.helm.parameters = params;
    });
  const list = 'ipam.operator.clusterPoolIPv4PodCIDRList';
  // [a] last, or [a] then [1]=x: every order drops 10.1.0.0/16 (fidelity seed 201146, helm 3.19).
  const every = l1(judge(withParams([{ name: `${list}[0]`, value: '10.0.0.0/16' }, { name: `${list}[1]`, value: '10.9.0.0/16' }, { name: list, value: '{10.0.0.0/16}' }]), null, running(pool)));
  t.match(every, [{ verdict: 'deny', message: /every order Argo CD may pass them in changes it/ }]);
  // The whole list last keeps the running one; [1]=x last changes it: only a warning.
  const some = l1(judge(withParams([{ name: `${list}[1]`, value: '10.9.0.0/16' }, { name: list, value: '{10.0.0.0/16,10.1.0.0/16}' }]), null, running(pool)));
  t.match(some, [{ verdict: 'warn', message: /depends on the order Argo CD passes parameters in/ }]);
});

t.test('routing mode, tunnel protocol, native-routing CIDR and encryption only warn', async (t) => {
  const d = judge(
    app((v) => {
      v.routingMode = 'native';
      v.ipv4NativeRoutingCIDR = '10.244.0.0/16';
      v.encryption = { enabled: true, type: 'wireguard' };
    }),
    null,
    running(),
  );
  t.equal(d.allowed, true);
  t.match(l1(d), [
    { verdict: 'warn', subject: 'cilium-config routing-mode vs running', value: 'native', message: /only a warning/ },
    { verdict: 'warn', subject: 'cilium-config ipv4-native-routing-cidr vs running', value: '10.244.0.0/16' },
    { verdict: 'warn', subject: 'cilium-config enable-wireguard vs running', value: 'true' },
  ]);
  t.same(l1(judge(app((v) => delete v.routingMode), null, running())), [], 'the default is tunnel, as running');
  t.match(l1(judge(app((v) => ((v.gke = { enabled: true }), delete v.routingMode)), null, running())).map((f) => f.subject), ['cilium-config routing-mode vs running'], 'gke turns the default to native');
  t.same(l1(judge(app(), null, running({ ...talosConfig, 'enable-ipsec': 'False' }))), [], 'ParseBool: "False" is the agent default false');
});

t.test('on UPDATE the old Application is the reference, with or without a view', async (t) => {
  const before = app((v) => (v.cluster = { name: 'prod', id: 3 }));
  t.same(l1(judge(before, before)), [], 'unchanged');
  t.match(l1(judge(app((v) => (v.cluster = { name: 'prod', id: 4 })), before)), [
    { verdict: 'deny', subject: 'cilium-config cluster-id vs previous', message: /from "3" in the previous version of this Application/ },
  ]);
  // Another cluster: the view is not about it, only old vs new counts.
  const remote = (edit: (v: any) => void) =>
    app((v, a) => {
      edit(v);
      a.spec.destination = { server: 'https://prod.example.com:6443', namespace: 'kube-system' };
    });
  t.same(l1(judge(remote((v) => (v.ipam.mode = 'cluster-pool')), null, running())), [], 'a remote CREATE is not compared with this cluster');
  t.match(l1(judge(remote((v) => (v.ipam.mode = 'cluster-pool')), remote(() => {}), running())).map((f) => f.subject), ['cilium-config ipam vs previous']);
});

t.test('what cannot be seen only warns, and only against a known reference', async (t) => {
  const files = app((v, a) => {
    delete v.ipam;
    a.spec.source.helm.valueFiles = ['values-prod.yaml'];
  });
  const d = judge(files, null, running());
  const found = l1(d);
  t.ok(found.length > 0);
  t.ok(found.every((f) => f.verdict === 'warn' && f.downgrade === 'unverifiable'), 'never a denial');
  t.match(found.find((f) => f.subject === 'cilium-config ipam vs running'), { message: /cannot be known before the sync: .*the running cilium-config has "kubernetes"/ });
  t.same(found.filter((f) => f.subject?.startsWith('cilium-config routing-mode')), [], 'warn-only settings say nothing when unknown');
  t.same(l1(judge(files, files)), [], 'unknown on both sides: nothing to say');
});

t.test('ratchet: a mismatch the old object already had is not this update’s doing', async (t) => {
  const drifted = app((v) => (v.cluster = { name: 'prod', id: 0 }));
  // An update that changes something else (an identical spec is a status-only update, never judged).
  const d = judge(app((v) => ((v.cluster = { name: 'prod', id: 0 }), (v.operator.replicas = 3))), drifted, running());
  t.match(l1(d), [{ verdict: 'warn', downgrade: 'pre-existing', subject: 'cilium-config cluster-name vs running' }]);
  t.equal(d.allowed, true);
  const worse = judge(app((v) => (v.cluster = { name: 'staging', id: 0 })), drifted, running());
  t.equal(worse.allowed, false, 'a further change is denied');
});

t.test('a stale view only warns, an unavailable one warns that it could not compare; the mode and break-glass apply', async (t) => {
  const flip = app((v) => (v.ipam.mode = 'cluster-pool'));
  t.match(l1(judge(flip, null, running(talosConfig, { stale: true }))), [{ verdict: 'warn', downgrade: 'unverifiable', message: /the running cilium-config \(as last seen; the view may be stale\)/ }]);
  t.equal(judge(flip, null, running(talosConfig, { stale: true })).allowed, true);
  // The old Application still decides on its own, stale view or not.
  const before = app((v) => (v.ipam.mode = 'kubernetes'));
  t.match(l1(judge(flip, before, running({ ...talosConfig, ipam: 'eni' }, { stale: true }))).map((f) => f.verdict), ['deny', 'warn']);
  const pending = l1(judge(flip, null, { unavailable: 'the cluster view has not been read from the API server yet' }));
  t.match(pending, [{ verdict: 'warn', subject: 'cilium-config vs running', message: /cannot compare this Application with the running cilium-config \(the cluster view has not been read from the API server yet\).*align --live/ }]);
  t.same(l1(judge(flip, null)), [], 'no view asked for (check without --cluster): nothing said');
  const warnOnly = resolveConfig({ rules: { L1: { mode: 'warn' } } });
  if (!warnOnly.ok) throw new Error(warnOnly.errors.join('; '));
  t.match(l1(judge(flip, null, running(), warnOnly.config)), [{ verdict: 'warn' }]);
  const glass = validate({ ...applicationRequest(flip, null), userInfo: { username: 'x', groups: ['system:masters'] } }, { ...config, breakGlass: { groups: ['system:masters'], users: [] } }, { cluster: running() });
  t.match(l1(glass), [{ verdict: 'break-glass' }]);
  t.equal(glass.allowed, true);
});

t.test('a pending sync with its own source is judged too', async (t) => {
  const a = app() as any;
  a.operation = { sync: { source: structuredClone(a.spec.source) } };
  a.operation.sync.source.helm.valuesObject.ipam.mode = 'eni';
  t.match(l1(judge(a, null, running())), [{ verdict: 'deny', path: 'operation.sync.source.helm.valuesObject.ipam.mode', value: 'eni' }]);
});

t.test('the running cilium-config is read as the agent reads it', async (t) => {
  const m = runningConfig({ IPAM: ' kubernetes ', 'cluster-name': 'a', 'Cluster-Name': 'b' });
  t.same(m.get('ipam'), { state: 'known', value: 'kubernetes', path: 'cilium-config ipam' });
  t.same(m.get('cluster-name'), { state: 'ambiguous', values: ['a', 'b'], path: 'cilium-config cluster-name' });
  t.same(m.get('cluster-id'), { state: 'known', value: null, path: 'cilium-config cluster-id' });
  t.equal(LIVE_SETTINGS.length, 10);
});
