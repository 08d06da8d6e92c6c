// Certificate bootstrap, sharing, caBundle injection and rotation against a real kube-apiserver,
// with the chart's own Secret, webhook configurations and RBAC, and the pods' ServiceAccount token.
import { spawn } from 'node:child_process';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import t from 'tap';
import { KubeStore, loadKubeConfig } from '../../src/certs/kube.js';
import { CertificateManager } from '../../src/certs/manager.js';
import { type KeyPair, parseBundle, parseCert, signedBy } from '../../src/certs/pki.js';
import type { RotationOptions } from '../../src/certs/rotation.js';
import { NAMESPACE, RELEASE, applyDocs, releaseDocs, render } from '../helpers/chart.js';
import { type ControlPlane, startControlPlane } from '../helpers/kube.js';

const FULLNAME = `${RELEASE}-cilium-guard`;
const SERVICE_HOST = `${FULLNAME}.${NAMESPACE}.svc`;
const DAY = 86_400_000;

const cp: ControlPlane = await startControlPlane();
t.teardown(() => cp.stop());
await cp.kubectl(['create', 'namespace', NAMESPACE]);
await applyDocs(cp, releaseDocs(await render({ set: { 'webhooks.url': 'https://127.0.0.1:9' } })));
const token = (await cp.kubectl(['create', 'token', FULLNAME, '-n', NAMESPACE, '--duration=1h'])).stdout.trim();
const podKubeconfig = cp.kubeconfigFor(token);

const options: RotationOptions = {
  caValidityMs: 10 * DAY,
  certValidityMs: 4 * DAY,
  renewFraction: 0.33,
  overlapMs: 60_000,
  retireAfterMs: 240_000,
  dnsNames: [SERVICE_HOST, `${SERVICE_HOST}.cluster.local`],
};

let offset = 0; // the replicas' shared clock, moved forward by the rotation tests
interface Replica {
  manager: CertificateManager;
  loaded: KeyPair[];
}
async function replica(): Promise<Replica> {
  const store = await KubeStore.create(await loadKubeConfig(podKubeconfig), { namespace: NAMESPACE, name: `${FULLNAME}-tls` }, [
    { kind: 'validating', name: FULLNAME },
    { kind: 'mutating', name: FULLNAME },
  ]);
  const loaded: KeyPair[] = [];
  const manager = new CertificateManager(store, options, pino({ level: 'silent' }), { onServing: (pair) => loaded.push(pair) }, () => Date.now() + offset);
  return { manager, loaded };
}

async function secretData(): Promise<Record<string, string>> {
  const r = await cp.kubectl(['get', 'secret', `${FULLNAME}-tls`, '-n', NAMESPACE, '-o', 'json']);
  const data = (JSON.parse(r.stdout) as { data?: Record<string, string> }).data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

async function caBundles(): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
    const r = await cp.kubectl(['get', kind, FULLNAME, '-o', 'json']);
    for (const w of (JSON.parse(r.stdout) as { webhooks: Array<{ clientConfig: { caBundle?: string } }> }).webhooks) {
      out.push(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'));
    }
  }
  return out;
}

const fingerprints = (pem: string): string[] => parseBundle(pem).map((c) => c.fingerprint);

/** A real TLS handshake, verified the way the API server does: caBundle as roots, the Service DNS name. */
async function handshake(pair: KeyPair, caBundle: string): Promise<string> {
  const server = https.createServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, servername: SERVICE_HOST, ca: caBundle, agent: false, path: '/' }, (res) => {
          res.setEncoding('utf8');
          let body = '';
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  } finally {
    server.close();
  }
}

const replicas = [await replica(), await replica(), await replica()];

t.test('three replicas starting at once fill the empty Secret once and all serve the same certificate', async (t) => {
  t.same(await secretData(), {}, 'the chart creates the Secret empty');
  const results = await Promise.all(replicas.map((r) => r.manager.reconcile()));
  t.equal(results.flatMap((r) => r.steps).filter((s) => s.kind === 'bootstrap').length, 1, 'exactly one replica generated the CA');
  const data = await secretData();
  t.same(Object.keys(data).sort(), ['ca.crt', 'signing-ca.crt', 'signing-ca.key', 'tls.crt', 'tls.key']);
  for (const r of replicas) t.equal(r.loaded.at(-1)?.cert, data['tls.crt'], 'each replica loaded the stored certificate');
  const bundles = await caBundles();
  t.equal(bundles.length, 3, 'two validating webhooks and one mutating webhook');
  for (const b of bundles) t.same(fingerprints(b), fingerprints(data['ca.crt']!), 'every webhook trusts the stored CA');
  const leaf = parseCert(data['tls.crt']!)!;
  t.same(leaf.dnsNames, options.dnsNames);
  t.equal(await handshake({ cert: data['tls.crt']!, key: data['tls.key']! }, bundles[0]!), 'ok', 'the API server would accept it for the Service name');
});

t.test('a restarted replica reuses what is stored and writes nothing', async (t) => {
  const before = await secretData();
  const fresh = await replica();
  const result = await fresh.manager.reconcile();
  t.same(result.steps, []);
  t.same(result.patched, []);
  t.equal(fresh.loaded[0]?.cert, before['tls.crt']);
  t.same(await secretData(), before);
});

t.test('the pods cannot do more than the chart grants: no other Secret, no create, no list', async (t) => {
  const asPod = (args: string[]) => cp.kubectl(args, { kubeconfig: podKubeconfig });
  await cp.kubectl(['create', 'secret', 'generic', 'other', '-n', NAMESPACE, '--from-literal=a=b']);
  t.equal((await asPod(['get', 'secret', 'other', '-n', NAMESPACE])).code, 1, 'get another Secret: forbidden');
  t.equal((await asPod(['get', 'secrets', '-n', NAMESPACE])).code, 1, 'list Secrets: forbidden');
  t.equal((await asPod(['create', 'secret', 'generic', 'x', '-n', NAMESPACE])).code, 1, 'create a Secret: forbidden');
  t.equal((await asPod(['delete', 'validatingwebhookconfiguration', FULLNAME])).code, 1, 'delete its webhook configuration: forbidden');
  t.equal((await asPod(['get', 'validatingwebhookconfigurations'])).code, 1, 'list webhook configurations: forbidden');
  const canI = await asPod(['auth', 'can-i', 'patch', `validatingwebhookconfigurations/${FULLNAME}`]);
  t.equal(canI.stdout.trim(), 'yes');
});

t.test('a serving certificate near its expiry is renewed from the same CA', async (t) => {
  const before = await secretData();
  offset = 3 * DAY; // the 4-day serving certificate has less than a third left; the 10-day CA is fine
  const result = await replicas[0]!.manager.reconcile();
  t.same(result.steps.map((s) => s.kind), ['issue-serving']);
  const after = await secretData();
  t.not(after['tls.crt'], before['tls.crt']);
  t.equal(after['signing-ca.crt'], before['signing-ca.crt']);
  t.same(result.patched, [], 'the CA bundle did not change');
});

t.test('CA rotation: the new CA joins the bundle first, serving switches after the overlap, the old CA leaves last', async (t) => {
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const original = await secretData();
  const oldCA = fingerprints(original['signing-ca.crt']!)[0]!;

  offset = 6.9 * DAY; // 3.1 of 10 days left: below the 0.33 renewal fraction
  const first = await a.manager.reconcile();
  t.same(first.steps.map((s) => s.kind), ['rotate-ca']);
  let data = await secretData();
  const newCA = fingerprints(data['signing-ca.crt']!)[0]!;
  t.not(newCA, oldCA);
  t.same(fingerprints(data['ca.crt']!), [newCA, oldCA], 'bundle: new CA first, old CA kept');
  t.equal(data['tls.crt'], original['tls.crt'], 'still serving the certificate the old CA signed');
  for (const bundle of await caBundles()) t.same(fingerprints(bundle), [newCA, oldCA], 'webhooks trust both');

  offset += 30_000; // inside the overlap
  t.same((await b.manager.reconcile()).steps, [], 'nothing is issued while the new CA propagates');
  t.equal((await secretData())['tls.crt'], original['tls.crt']);

  offset += 60_000; // past the overlap
  const issued = await b.manager.reconcile();
  t.same(issued.steps.map((s) => s.kind), ['issue-serving']);
  data = await secretData();
  const leaf = parseCert(data['tls.crt']!)!;
  t.ok(signedBy(leaf, parseCert(data['signing-ca.crt']!)!), 'the new serving certificate is signed by the new CA');
  t.same(fingerprints(data['ca.crt']!), [newCA, oldCA], 'the old CA stays while replicas switch');
  await c.manager.reconcile();
  await a.manager.reconcile();
  for (const r of replicas) t.equal(r.loaded.at(-1)?.cert, data['tls.crt'], 'every replica now serves the new certificate');

  offset += options.retireAfterMs + 1000;
  const pruned = await c.manager.reconcile();
  t.same(pruned.steps.map((s) => s.kind), ['prune']);
  t.same(fingerprints((await secretData())['ca.crt']!), [newCA]);
  for (const bundle of await caBundles()) t.same(fingerprints(bundle), [newCA], 'the old CA left every webhook');
});

t.test('someone replacing the webhook caBundle is repaired on the next check', async (t) => {
  const patch = JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from('garbage').toString('base64') }]);
  t.equal((await cp.kubectl(['patch', 'validatingwebhookconfiguration', FULLNAME, '--type=json', `-p=${patch}`])).code, 0);
  const result = await replicas[1]!.manager.reconcile();
  t.same(result.patched, [`validating/${FULLNAME}`]);
  const data = await secretData();
  for (const bundle of await caBundles()) t.same(fingerprints(bundle), fingerprints(data['ca.crt']!));
});

t.test('a Secret emptied by hand is bootstrapped again without dropping the CA the webhooks trust', async (t) => {
  const trusted = fingerprints((await secretData())['ca.crt']!);
  const patch = JSON.stringify([{ op: 'remove', path: '/data' }]);
  t.equal((await cp.kubectl(['patch', 'secret', `${FULLNAME}-tls`, '-n', NAMESPACE, '--type=json', `-p=${patch}`])).code, 0);
  const result = await replicas[2]!.manager.reconcile();
  t.same(result.steps.map((s) => s.kind), ['bootstrap']);
  const bundle = fingerprints((await secretData())['ca.crt']!);
  t.equal(bundle.length, 2, 'the new CA, and the one the webhooks trusted, for replicas still serving its certificate');
  t.not(bundle[0], trusted[0]);
  t.equal(bundle[1], trusted[0]);
  for (const b of await caBundles()) t.same(fingerprints(b), bundle);
});

t.test('`cilium-guard serve --cert-secret` (the binary, as the chart runs it) serves the shared certificate and exposes its expiry', async (t) => {
  offset = 0;
  // A fresh Secret for this process, so it bootstraps one with an IP SAN the test can dial.
  await cp.kubectl(['delete', 'secret', `${FULLNAME}-tls`, '-n', NAMESPACE]);
  await cp.kubectl(['create', 'secret', 'generic', `${FULLNAME}-tls`, '-n', NAMESPACE]);
  const bin = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [
    bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', `--kubeconfig=${podKubeconfig}`,
    `--cert-secret=${NAMESPACE}/${FULLNAME}-tls`, `--cert-dns-names=${SERVICE_HOST}`, '--cert-ips=127.0.0.1',
    `--validating-webhook=${FULLNAME}`, `--mutating-webhook=${FULLNAME}`, '--cert-check-interval=1s',
  ]);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  const ready = new Promise<{ validate: string; metrics: string }>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const v = /"validate":"(https:\/\/[^"]+)\/validate"/.exec(out);
      const m = /"metrics":"(http:\/\/[^"]+)"/.exec(out);
      if (v?.[1] && m?.[1]) resolve({ validate: v[1], metrics: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const urls = await ready;
  const data = await secretData();
  t.same(fingerprints((await caBundles())[0]!), fingerprints(data['ca.crt']!), 'it injected the CA');
  const served = await new Promise<string>((resolve, reject) => {
    const u = new URL(urls.validate);
    https.get({ host: u.hostname, port: u.port, path: '/healthz', ca: data['ca.crt'], agent: false }, (res) => {
      resolve((res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
      res.resume();
    }).on('error', reject);
  });
  t.equal(served, parseCert(data['tls.crt']!)!.fingerprint, 'it serves the stored certificate, verified against the stored CA');
  const metrics = await (await fetch(urls.metrics)).text();
  const expiry = Number(/cilium_guard_certificate_expiry_timestamp_seconds\{certificate="serving"\} (\d+)/.exec(metrics)?.[1]);
  t.equal(expiry, Math.floor(parseCert(data['tls.crt']!)!.notAfter / 1000), 'the expiry metric is the serving certificate notAfter');
  t.match(metrics, /cilium_guard_certificate_changes_total\{step="bootstrap"\} 1/);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});
