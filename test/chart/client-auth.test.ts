// The chart's client authentication, TLS minimum and CiliumNetworkPolicy values with the real helm,
// and the rendered CiliumNetworkPolicy validated against Cilium's own CRD schema (v1.18.1, from
// scripts/tools.sh cilium-crds) with ajv.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import t from 'tap';
import { parse } from 'yaml';
import { NAMESPACE, find, render } from '../helpers/chart.js';
import { CHART, ciliumCRDs, helm } from '../helpers/tools.js';

const exec = promisify(execFile);
const args = (r: Awaited<ReturnType<typeof render>>): string[] => find(r, 'Deployment').spec.template.spec.containers[0].args as string[];

t.test('defaults: TLS 1.3, no client authentication, no Events for unauthenticated callers, no CiliumNetworkPolicy', async (t) => {
  const r = await render();
  t.ok(args(r).includes('--tls-min-version=1.3'));
  t.notOk(args(r).some((a) => a.startsWith('--client-ca') || a === '--events-unauthenticated'));
  t.notOk(r.docs.some((d) => d.kind === 'CiliumNetworkPolicy'));
  t.notOk(find(r, 'Deployment').spec.template.spec.volumes.some((v: { name: string }) => v.name === 'client-ca'));
});

t.test('tls.minVersion 1.2 and events.unauthenticated reach the arguments', async (t) => {
  const r = await render({ set: { 'tls.minVersion': '1.2', 'events.unauthenticated': true } });
  t.ok(args(r).includes('--tls-min-version=1.2'));
  t.ok(args(r).includes('--events-unauthenticated'));
  const off = await render({ set: { 'events.enabled': false, 'events.unauthenticated': true } });
  t.notOk(args(off).includes('--events-unauthenticated'), 'nothing without Events');
});

t.test('clientAuth: the CA bundle mounted as a directory, the flags, and the names', async (t) => {
  const cm = await render({ set: { 'clientAuth.enabled': true, 'clientAuth.caConfigMap': 'apiserver-client-ca' } });
  t.ok(args(cm).includes('--client-ca=/client-ca/ca.crt'));
  t.ok(args(cm).includes('--client-names=kube-apiserver'));
  const pod = find(cm, 'Deployment').spec.template.spec;
  t.same(pod.volumes.find((v: { name: string }) => v.name === 'client-ca'), {
    name: 'client-ca',
    configMap: { name: 'apiserver-client-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
  });
  const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'client-ca');
  t.same(mount, { name: 'client-ca', mountPath: '/client-ca', readOnly: true }, 'no subPath, so a rotated bundle reaches the file');
  const probe = pod.containers[0].readinessProbe.httpGet;
  t.same(probe, { path: '/readyz', port: 'webhook', scheme: 'HTTPS' }, 'the probes are unchanged: they need no client certificate');

  const secret = await render({
    set: { 'clientAuth.enabled': true, 'clientAuth.caSecret': 'webhook-client-ca', 'clientAuth.caKey': 'bundle.pem', 'clientAuth.names': ['kube-apiserver', 'apiserver-webhook-client'] },
  });
  t.ok(args(secret).includes('--client-ca=/client-ca/bundle.pem'));
  t.ok(args(secret).includes('--client-names=kube-apiserver,apiserver-webhook-client'));
  t.same(find(secret, 'Deployment').spec.template.spec.volumes.find((v: { name: string }) => v.name === 'client-ca').secret, {
    secretName: 'webhook-client-ca',
    items: [{ key: 'bundle.pem', path: 'bundle.pem' }],
  });
});

t.test('clientAuth and the CiliumNetworkPolicy values refuse what cannot work, naming the field', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--set', 'clientAuth.enabled=true'], /exactly one of clientAuth.caConfigMap and clientAuth.caSecret/],
    [['--set', 'clientAuth.enabled=true', '--set', 'clientAuth.caConfigMap=a', '--set', 'clientAuth.caSecret=b'], /exactly one of/],
    [['--set', 'clientAuth.enabled=true', '--set', 'clientAuth.caConfigMap=a', '--set-json', 'clientAuth.names=[]'], /needs clientAuth.names/],
    [['--set', 'tls.minVersion=1.1'], /minVersion': value must be one of '1.2', '1.3'/],
    [['--set', 'tls.minVersion=1.2', '--set', 'clientAuth.caConfigMap=Not_A_Name'], /caConfigMap/],
    [['--set', 'ciliumNetworkPolicy.webhookFromEntities={apiserver}'], /webhookFromEntities\/0': value must be one of/],
    [['--set-json', 'ciliumNetworkPolicy.webhookFromEntities=[]'], /webhookFromEntities': minItems/],
  ];
  for (const [a, expected] of cases) {
    const r = await exec(helm(), ['template', 'x', CHART, ...a]).then(
      () => ({ ok: false, stderr: 'rendered' }),
      (err: { stderr: string }) => ({ ok: true, stderr: err.stderr }),
    );
    t.ok(r.ok, `${a.join(' ')} is refused`);
    t.match(r.stderr, expected, a.join(' '));
  }
});

/** Cilium's CiliumNetworkPolicy v2 schema, as the API server would check it (structural: nothing unknown). */
function cnpValidator() {
  const crd = parse(readFileSync(path.join(ciliumCRDs(), 'ciliumnetworkpolicies.yaml'), 'utf8')) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Record<string, unknown> } }> };
  };
  const schema = crd.spec.versions.find((v) => v.name === 'v2')!.schema.openAPIV3Schema;
  // Structural schemas prune unknown fields; here they are errors, so a typo cannot pass unseen.
  const closed = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(closed);
    if (!s || typeof s !== 'object') return s;
    const o = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, closed(pv)])) : closed(v)]));
    if (o.type === 'object' && o.properties && Object.keys(o.properties as object).length > 0 && o.additionalProperties === undefined) o.additionalProperties = false;
    return o;
  };
  const strictSchema = closed(schema) as Record<string, unknown>;
  (strictSchema.properties as Record<string, unknown>).metadata = { type: 'object' };
  // The CRD's patterns are Go RE2: its one-letter Unicode classes (\\PC) are \\P{C} in JavaScript.
  const regExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern.replace(/\\([pP])([A-Z])/g, '\\$1{$2}'), flags), { code: 'new RegExp' });
  return new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp } }).compile(strictSchema);
}

t.test('the CiliumNetworkPolicy: the webhook port from kube-apiserver only, metrics from the listed scrapers; valid for Cilium 1.18', async (t) => {
  const validate = cnpValidator();
  const prometheus = { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'monitoring', 'app.kubernetes.io/name': 'prometheus' } };
  const r = await render({ set: { 'ciliumNetworkPolicy.enabled': true, 'ciliumNetworkPolicy.metricsFromEndpoints': [prometheus] } });
  const cnp = find(r, 'CiliumNetworkPolicy');
  t.equal(cnp.apiVersion, 'cilium.io/v2');
  t.equal(cnp.metadata.namespace, NAMESPACE);
  t.same(cnp.spec.endpointSelector.matchLabels, find(r, 'Deployment').spec.selector.matchLabels, 'selects exactly the pods');
  t.same(cnp.spec.ingress, [
    { fromEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '8443', protocol: 'TCP' }] }] },
    { fromEndpoints: [prometheus], toPorts: [{ ports: [{ port: '9090', protocol: 'TCP' }] }] },
  ]);
  t.notOk(cnp.spec.egress, 'egress stays open (API calls of the selfSigned mode, Events, the cluster view)');
  t.ok(validate(cnp), `valid against Cilium's CRD schema: ${JSON.stringify(validate.errors)}`);

  const bare = find(await render({ set: { 'ciliumNetworkPolicy.enabled': true, 'ciliumNetworkPolicy.webhookFromEntities': ['kube-apiserver', 'host'], 'ports.webhook': 10443 } }), 'CiliumNetworkPolicy');
  t.same(bare.spec.ingress, [{ fromEntities: ['kube-apiserver', 'host'], toPorts: [{ ports: [{ port: '10443', protocol: 'TCP' }] }] }], 'no metrics rule: metrics closed');
  t.ok(validate(bare), JSON.stringify(validate.errors));

  // The validator is not vacuous: what Cilium refuses, it refuses.
  const broken = structuredClone(cnp);
  broken.spec.ingress[0].fromEntities = ['apiserver'];
  t.notOk(validate(broken), 'an unknown entity is refused');
  const typo = structuredClone(cnp);
  typo.spec.ingress[0].toPort = typo.spec.ingress[0].toPorts;
  t.notOk(validate(typo), 'an unknown field is refused');
  const none = structuredClone(cnp);
  delete none.spec.endpointSelector;
  t.notOk(validate(none), 'a policy that selects nothing is refused');
});
