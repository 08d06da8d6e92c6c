// A real control plane on loopback for tests: etcd and kube-apiserver built from their Go modules
// (scripts/tools.sh), RBAC on, static tokens for an admin and for test identities, and a service
// account signing key so TokenRequest works. Nothing listens or dials beyond 127.0.0.1.
// Modelled on controller-runtime's envtest (pkg/internal/testing/controlplane).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateCA, issueServing } from '../../src/certs/pki.js';
import { etcd, kubeApiserver, kubectl } from './tools.js';

const run = promisify(execFile);

export interface ControlPlane {
  url: string;
  dir: string;
  /** A kubeconfig for the admin (system:masters). */
  kubeconfig: string;
  ca: string;
  adminToken: string;
  /** A kubeconfig for the given static user (see `users`), or for a bearer token. */
  kubeconfigFor(tokenOrUser: string): string;
  kubectl(args: string[], options?: { input?: string; kubeconfig?: string }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Process ids of etcd and kube-apiserver (for the end-to-end benchmark's CPU and RSS figures). */
  pids: { etcd: number; apiserver: number };
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function waitExit(p: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      resolve();
    }, ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Static users: name -> groups. Each gets a token; kubeconfigFor(name) uses it. `allowPrivileged`
 * lets the API server store privileged pod templates (the Cilium chart's DaemonSet); no pod ever
 * runs here (there is no kubelet), so it is off unless a test installs such a chart.
 */
export async function startControlPlane(
  options: {
    users?: Record<string, string[]>;
    allowPrivileged?: boolean;
    /**
     * A client certificate the API server presents to every webhook (admission configuration
     * `kubeConfigFile` for ValidatingAdmissionWebhook and MutatingAdmissionWebhook, user `*`), as
     * `--admission-control-config-file` sets it up on a real control plane.
     */
    webhookClient?: { cert: string; key: string };
  } = {},
): Promise<ControlPlane> {
  // scripts/e2e.sh points CILIUM_GUARD_TEST_TMP at a directory of its own, and afterwards kills
  // whatever still runs from it: the backstop for a test process killed before its teardown.
  const dir = mkdtempSync(path.join(process.env.CILIUM_GUARD_TEST_TMP ?? os.tmpdir(), 'cilium-guard-kube-'));
  const procs: ChildProcess[] = [];
  const logs: string[] = [];
  const keep = (name: string, p: ChildProcess): void => {
    const add = (chunk: Buffer): void => {
      logs.push(`[${name}] ${chunk.toString()}`);
      if (logs.length > 400) logs.shift();
    };
    p.stdout?.on('data', add);
    p.stderr?.on('data', add);
    procs.push(p);
  };
  // A test process that exits without its teardown (an uncaught error) still takes these along.
  const killAll = (): void => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killAll);
    for (const p of procs.reverse()) {
      p.kill('SIGTERM');
      await waitExit(p, 10_000);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    keep(
      'etcd',
      spawn(etcd(), [
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ]),
    );

    const ca = await generateCA({ validityMs: 86_400_000 });
    const serving = await issueServing({ ca, dnsNames: ['localhost'], ips: ['127.0.0.1'], validityMs: 86_400_000 });
    writeFileSync(path.join(dir, 'apiserver.crt'), serving.cert);
    writeFileSync(path.join(dir, 'apiserver.key'), serving.key);
    writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(path.join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(path.join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const tokens = new Map<string, string>();
    const adminToken = randomBytes(16).toString('hex');
    const lines = [`${adminToken},admin,admin,"system:masters"`];
    for (const [user, groups] of Object.entries(options.users ?? {})) {
      const t = randomBytes(16).toString('hex');
      tokens.set(user, t);
      lines.push(`${t},${user},${user},"${groups.join(',')}"`);
    }
    writeFileSync(path.join(dir, 'tokens.csv'), lines.join('\n') + '\n');
    const admissionFlags: string[] = [];
    if (options.webhookClient) {
      writeFileSync(path.join(dir, 'webhook-client.crt'), options.webhookClient.cert);
      writeFileSync(path.join(dir, 'webhook-client.key'), options.webhookClient.key);
      const clientKubeconfig = path.join(dir, 'webhook-client.kubeconfig');
      writeFileSync(
        clientKubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          users: [{ name: '*', user: { 'client-certificate': path.join(dir, 'webhook-client.crt'), 'client-key': path.join(dir, 'webhook-client.key') } }],
        }),
      );
      const webhook = { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'WebhookAdmissionConfiguration', kubeConfigFile: clientKubeconfig };
      writeFileSync(
        path.join(dir, 'admission.yaml'),
        JSON.stringify({
          apiVersion: 'apiserver.config.k8s.io/v1',
          kind: 'AdmissionConfiguration',
          plugins: [
            { name: 'ValidatingAdmissionWebhook', configuration: webhook },
            { name: 'MutatingAdmissionWebhook', configuration: webhook },
          ],
        }),
      );
      admissionFlags.push(`--admission-control-config-file=${path.join(dir, 'admission.yaml')}`);
    }

    keep(
      'kube-apiserver',
      spawn(kubeApiserver(), [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--cert-dir=${dir}`,
        `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/24',
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none',
        `--allow-privileged=${options.allowPrivileged === true}`,
        ...admissionFlags,
        '--v=0',
      ]),
    );

    const url = `https://127.0.0.1:${apiPort}`;
    const writeKubeconfig = (file: string, token: string): string => {
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': path.join(dir, 'ca.crt') } }],
          users: [{ name: 'user', user: { token } }],
          contexts: [{ name: 'test', context: { cluster: 'test', user: 'user', namespace: 'default' } }],
          'current-context': 'test',
        }),
      );
      return file;
    };
    const kubeconfig = writeKubeconfig(path.join(dir, 'admin.kubeconfig'), adminToken);
    let n = 0;
    const kubeconfigFor = (tokenOrUser: string): string =>
      writeKubeconfig(path.join(dir, `user-${n++}.kubeconfig`), tokens.get(tokenOrUser) ?? tokenOrUser);

    const ctl = async (args: string[], opts: { input?: string; kubeconfig?: string } = {}) =>
      new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        const child = execFile(kubectl(), [`--kubeconfig=${opts.kubeconfig ?? kubeconfig}`, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
          resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }),
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
      });

    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await ctl(['get', '--raw=/readyz']).catch(() => ({ code: 1, stdout: '', stderr: '' }));
      if (r.code === 0) break;
      if (procs.some((p) => p.exitCode !== null)) throw new Error('a control-plane process exited');
      if (Date.now() > deadline) throw new Error('kube-apiserver not ready in 120 s');
      await new Promise((r2) => setTimeout(r2, 500));
    }
    return { url, dir, kubeconfig, ca: ca.cert, adminToken, kubeconfigFor, kubectl: ctl, pids: { etcd: procs[0]!.pid!, apiserver: procs[1]!.pid! }, stop };
  } catch (err) {
    const tail = logs.slice(-30).join('');
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
}

export { run };
