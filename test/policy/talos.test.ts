// T1 and T2 (Talos) and the R4.endpoint denial, on the effective values: chart defaults included,
// lists replaced as Helm replaces them. Each case fails without the rule it names.
import t from 'tap';
import { applicationRequest } from '../helpers/review.js';
import { defaultConfig, resolveConfig, type PolicyConfig } from '../../src/policy/config.js';
import { validate } from '../../src/policy/engine.js';
import type { Decision, PolicyRequest } from '../../src/policy/types.js';
import { example } from '../helpers/corpus.js';

type Obj = Record<string, any>;

const golden = (): Obj => example('01-app-cilium-good.yaml');

function review(object: Obj, config: PolicyConfig = defaultConfig(), oldObject: Obj | null = null): Decision {
  return validate(applicationRequest(object, oldObject), config);
}

const denied = (d: Decision): string[] => [...new Set(d.findings.filter((f) => f.verdict === 'deny').map((f) => f.rule))].sort();
const warned = (d: Decision): string[] => [...new Set(d.findings.filter((f) => f.verdict === 'warn').map((f) => f.rule))].sort();
const subjects = (d: Decision, rule: string): string[] => d.findings.filter((f) => f.rule === rule && f.verdict === 'deny').map((f) => String(f.subject)).sort();

const vo = (app: Obj): Obj => app.spec.source.helm.valuesObject;

function withValues(text: string): Obj {
  const app = golden();
  delete app.spec.source.helm.valuesObject;
  app.spec.source.helm.values = text;
  return app;
}

const KUBEPRISM = 'kubeProxyReplacement: true\nk8sServiceHost: localhost\nk8sServicePort: 7445\n';
const CGROUP = 'cgroup:\n  autoMount:\n    enabled: false\n  hostRoot: /sys/fs/cgroup\n';
const TALOS_CAPS = 'securityContext:\n  capabilities:\n    ciliumAgent: [CHOWN,KILL,NET_ADMIN,NET_RAW,IPC_LOCK,SYS_ADMIN,SYS_RESOURCE,DAC_OVERRIDE,FOWNER,SETGID,SETUID]\n    cleanCiliumState: [NET_ADMIN,SYS_ADMIN,SYS_RESOURCE]\n';

function withoutConfig(): PolicyConfig {
  const r = resolveConfig({ talos: { enabled: false } });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

t.test('the golden Application follows the Talos guide', async (t) => {
  t.same(denied(review(golden())), []);
  t.same(warned(review(golden())), []);
  t.same(denied(review(withValues(KUBEPRISM + CGROUP + TALOS_CAPS))), [], 'the same as a values string');
});

t.test('T1: capability lists', async (t) => {
  const omitted = golden();
  delete vo(omitted).securityContext;
  const d = review(omitted);
  t.same(denied(d), ['T1'], 'omitted lists: the chart default puts SYS_MODULE back');
  t.same(subjects(d, 'T1'), ['securityContext.capabilities.ciliumAgent', 'securityContext.capabilities.cleanCiliumState']);
  t.match(d.message, /SYS_MODULE/);
  t.match(d.message, /unable to apply caps: operation not permitted/);
  t.match(d.message, /\{NET_ADMIN,SYS_ADMIN,SYS_RESOURCE\}/, 'the message gives the Talos list');

  const agentOnly = golden();
  delete vo(agentOnly).securityContext.capabilities.cleanCiliumState;
  t.same(subjects(review(agentOnly), 'T1'), ['securityContext.capabilities.cleanCiliumState'], 'one omitted list is enough');

  const indexed = golden();
  indexed.spec.source.helm.parameters = [{ name: 'securityContext.capabilities.cleanCiliumState[1]', value: 'SYS_MODULE' }];
  t.same(subjects(review(indexed), 'T1'), ['securityContext.capabilities.cleanCiliumState'], '--set list[1]=SYS_MODULE');

  const braces = golden();
  braces.spec.source.helm.parameters = [{ name: 'securityContext.capabilities.ciliumAgent', value: '{NET_ADMIN,SYS_BOOT}' }];
  t.same(subjects(review(braces), 'T1'), ['securityContext.capabilities.ciliumAgent'], '{a,b} list parameter with SYS_BOOT');

  const bracesOk = golden();
  bracesOk.spec.source.helm.parameters = [{ name: 'securityContext.capabilities.ciliumAgent', value: '{NET_ADMIN,SYS_ADMIN}' }];
  t.same(denied(review(bracesOk)), [], 'a {a,b} list without them');

  const forced = golden();
  forced.spec.source.helm.parameters = [{ name: 'securityContext.capabilities.cleanCiliumState[0]', value: 'cap_sys_module', forceString: true }];
  t.same(subjects(review(forced), 'T1'), ['securityContext.capabilities.cleanCiliumState'], 'forceString, and containerd reads cap_sys_module as CAP_SYS_MODULE');

  const inValuesObject = golden();
  vo(inValuesObject).securityContext.capabilities.ciliumAgent.push('SYS_MODULE');
  t.same(subjects(review(inValuesObject), 'T1'), ['securityContext.capabilities.ciliumAgent'], 'valuesObject');

  t.same(denied(review(withValues(KUBEPRISM + CGROUP))), ['T1'], 'values string without the lists');
  // YAML 1.1: `on` is a boolean, not a string; the list still holds SYS_MODULE.
  const yaml11 = withValues(KUBEPRISM + CGROUP + TALOS_CAPS.replace('[NET_ADMIN,SYS_ADMIN,SYS_RESOURCE]', '[on, SYS_MODULE]'));
  t.same(subjects(review(yaml11), 'T1'), ['securityContext.capabilities.cleanCiliumState'], 'values string (YAML 1.1)');
  const anchored = withValues(KUBEPRISM + CGROUP + 'x: &caps [NET_ADMIN]\nsecurityContext:\n  capabilities:\n    ciliumAgent: *caps\n    cleanCiliumState: *caps\n');
  t.same(denied(review(anchored)), [], 'anchors in a values string');
});

t.test('T1: privileged, and the init containers that only render sometimes', async (t) => {
  const privileged = golden();
  delete vo(privileged).securityContext.capabilities;
  vo(privileged).securityContext.privileged = true;
  t.same(denied(review(privileged)), [], 'privileged: true renders no capabilities');

  const privParam = golden();
  delete vo(privParam).securityContext;
  privParam.spec.source.helm.parameters = [{ name: 'securityContext.privileged', value: 'true' }];
  t.same(denied(review(privParam)), [], 'privileged from a parameter');

  const mount = golden();
  vo(mount).securityContext.capabilities.mountCgroup = ['SYS_ADMIN', 'SYS_MODULE'];
  t.same(denied(review(mount)), [], 'mountCgroup does not matter while cgroup.autoMount is off');
  vo(mount).cgroup.autoMount.enabled = true;
  t.same(subjects(review(mount), 'T1'), ['securityContext.capabilities.mountCgroup'], 'but does once it is on');

  const sysctl = golden();
  vo(sysctl).securityContext.capabilities.applySysctlOverwrites = ['SYS_MODULE'];
  t.same(subjects(review(sysctl), 'T1'), ['securityContext.capabilities.applySysctlOverwrites'], 'sysctlfix is on by default');
  vo(sysctl).sysctlfix = { enabled: false };
  t.same(denied(review(sysctl)), [], 'applySysctlOverwrites only matters when sysctlfix is on');

  const hidden = golden();
  delete vo(hidden).securityContext;
  hidden.spec.source.helm.valueFiles = ['values-talos.yaml'];
  const h = review(hidden);
  t.notOk(denied(h).includes('T1'), 'a value file may set the lists: not certain');
  t.ok(warned(h).includes('T1'), 'a warning');
});

t.test('T2: cgroup', async (t) => {
  const auto = golden();
  delete vo(auto).cgroup;
  const d = review(auto);
  t.same(denied(d), ['T2'], 'the chart defaults mount cgroups themselves');
  t.same(subjects(d, 'T2'), ['cgroup.autoMount.enabled', 'cgroup.hostRoot']);
  t.match(d.message, /Permission denied/);

  const on = golden();
  on.spec.source.helm.parameters = [{ name: 'cgroup.autoMount.enabled', value: 'true' }];
  t.same(subjects(review(on), 'T2'), ['cgroup.autoMount.enabled']);

  const root = golden();
  vo(root).cgroup.hostRoot = '/run/cilium/cgroupv2';
  t.same(subjects(review(root), 'T2'), ['cgroup.hostRoot']);

  const extra = golden();
  vo(extra).extraConfig = { 'cgroup-root': '/run/cilium/cgroupv2' };
  t.same(subjects(review(extra), 'T2'), ['cgroup-root'], 'extraConfig overrides cgroup-root in cilium-config');
  vo(extra).extraConfig = { 'CGROUP-ROOT': '/run/cilium/cgroupv2' };
  t.same(subjects(review(extra), 'T2'), ['cgroup-root'], 'a case variant too (viper)');
  vo(extra).extraConfig = { 'cgroup-root': '/sys/fs/cgroup' };
  t.same(denied(review(extra)), [], 'the same value is fine');
  vo(extra).extraConfig = { 'cgroup-root': 1 };
  t.same(subjects(review(extra), 'T2'), ['cgroup-root'], 'not a string: cilium-config is refused');
});

t.test('talos.enabled: false turns T1 and T2 off', async (t) => {
  const app = golden();
  delete vo(app).securityContext;
  delete vo(app).cgroup;
  t.same(denied(review(app)), ['T1', 'T2']);
  t.same(denied(review(app, withoutConfig())), []);
  t.same(warned(review(app, withoutConfig())), []);
});

t.test('R4.endpoint: empty with kube-proxy replacement on is a denial, another endpoint a warning', async (t) => {
  const empty = golden();
  delete vo(empty).k8sServiceHost;
  const d = review(empty);
  t.same(denied(d), ['R4.endpoint']);
  t.match(d.message, /cannot reach the API server/);

  const emptyPort = golden();
  vo(emptyPort).k8sServicePort = '';
  t.same(denied(review(emptyPort)), ['R4.endpoint']);

  const other = golden();
  vo(other).k8sServiceHost = 'api.example.com';
  t.same(denied(review(other)), []);
  t.same(warned(review(other)), ['R4.endpoint']);

  const noKpr = golden();
  delete vo(noKpr).k8sServiceHost;
  vo(noKpr).kubeProxyReplacement = false;
  t.same(denied(review(noKpr)), ['R4'], 'without kube-proxy replacement an empty endpoint is only a warning');
  t.ok(warned(review(noKpr)).includes('R4.endpoint'));
});

t.test('ApplicationSets: the template is judged with the Talos rules', async (t) => {
  const set = example('03-appset-cilium-good.yaml');
  const req = (object: Obj): PolicyRequest => ({
    operation: 'CREATE',
    kind: { group: 'argoproj.io', version: 'v1alpha1', kind: 'ApplicationSet' },
    namespace: 'argocd',
    name: 'cilium',
    object,
    oldObject: null,
    userInfo: { username: 'alice' },
    dryRun: false,
  });
  const good = validate(req(set), defaultConfig());
  t.notOk(good.findings.some((f) => f.rule === 'T1' || f.rule === 'T2'), JSON.stringify(good.findings.map((f) => f.message)));
  const bad = structuredClone(set) as Obj;
  const helm = bad.spec.template.spec.source?.helm ?? bad.spec.template.spec.sources?.[0]?.helm;
  if (helm.valuesObject) {
    delete helm.valuesObject.securityContext;
  }
  const found = validate(req(bad), defaultConfig());
  t.ok(found.findings.some((f) => f.rule === 'T1'), 'T1 found in the template');
});
