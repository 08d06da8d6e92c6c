// A real one-node cluster on this machine for the chart's pods (npm run test:cluster, issue 18):
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a kubelet (built from the same
// Kubernetes module as the e2e suite's API server, scripts/tools.sh node) with a containerd of its own
// (Debian's 1.6, runc, private root, state and socket) and a CNI bridge the harness creates.
//
// The network rule (../shared/design/E2E-NOTES.md): nothing here sends anywhere but loopback and the
// bridge the harness creates. Pods sit in their own network namespaces on that bridge with no default
// route (the CNI config has a route to the pod subnet only, no masquerade, no portmap), so a pod that
// dialed a Service IP or anything off the machine gets "network unreachable" inside its namespace.
// The API server listens on the bridge address only (the host reaches it there), reaches webhook pods
// as endpoints (--enable-aggregator-routing), and pods reach it at the bridge address through
// KUBERNETES_SERVICE_HOST/_PORT set explicitly. No kube-proxy, no DNS.
//
// `stop()` takes everything down in order (pods, kubelet, containerd, control plane) and then, as a
// backstop, kills what runc still runs under the private runc root, unmounts what is left under the
// cluster's directory, deletes the pod network namespaces on our subnet, the bridge, the kubelet's
// cgroups and the CNI state, and restores the sysctls the kubelet changes.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateCA, issueServing } from '../../src/certs/pki.js';
import { issueClient } from '../helpers/client-certs.js';
import { freePort } from '../helpers/kube.js';
import { etcd, kubeApiserver, kubectl as kubectlPath, tool } from '../helpers/tools.js';
import { eventually as pollUntil, sleep } from '../e2e/harness.js';

export { sleep };

export type Obj = Record<string, any>;

/** The bridge the test creates, its address (node IP, API server address) and the pod subnet on it. */
export const BRIDGE = process.env.CILIUM_GUARD_TEST_BRIDGE ?? 'cgtest0';
export const SUBNET_PREFIX = process.env.CILIUM_GUARD_TEST_SUBNET ?? '10.123.45';
export const BRIDGE_IP = `${SUBNET_PREFIX}.1`;
export const POD_SUBNET = `${SUBNET_PREFIX}.0/24`;
export const NODE_NAME = 'cg-node';
export const PAUSE_IMAGE_NAME = 'localhost/pause';
/** The runc root of our containerd: `runc --root` lists and kills what the cluster runs. */
const RUNC_ROOT_NAME = 'runc';

/** The e2e harness's poller, with this suite's longer defaults (a node and its pods are slower than one API call). */
export const eventually = <T>(what: string, check: () => Promise<T | undefined>, ms = 60_000, every = 500): Promise<T> =>
  pollUntil(what, check, ms, every);

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

export function run(cmd: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 120_000, ...(options.env ? { env: options.env } : {}) }, (err, stdout, stderr) =>
      resolve({ stdout: String(stdout), stderr: String(stderr), code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0 }),
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

const sh = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return '';
  }
};

export interface Cluster {
  dir: string;
  /** https://BRIDGE_IP:PORT */
  url: string;
  apiPort: number;
  kubeconfig: string;
  /** The admin's bearer token (system:masters) and the CA of the API server's certificate (PEM). */
  adminToken: string;
  ca: string;
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<Run>;
  /** `ctr` against the cluster's containerd, namespace k8s.io (the CRI's). */
  ctr(args: string[], options?: { timeoutMs?: number }): Promise<Run>;
  /** Imports an OCI/docker archive into the CRI's image store; `baseName` names an OCI index's ref.name tags. */
  importImage(archive: string, baseName?: string): Promise<void>;
  /** The last lines each process logged (for a failing test's message). */
  logs(name?: string, lines?: number): string;
  stop(): Promise<void>;
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
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

/** Sysctls the kubelet sets on start (protectKernelDefaults false); restored by stop(). */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];

/**
 * Host paths written whatever the configuration says: the kubelet's device-plugin socket folder, the
 * symlinks of container logs, libcni's result cache (containerd 1.6 sets no cache dir).
 */
const HOST_PATHS = ['/var/lib/kubelet', '/var/log/containers', '/var/log/pods', '/var/lib/cni'];

/** Network namespaces (under /run/netns) holding an address on our pod subnet. */
function podNetnsOnSubnet(): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return out;
  }
  for (const ns of names) {
    if (!ns.startsWith('cni-')) continue;
    const addrs = sh('ip', ['-n', ns, '-4', '-o', 'addr', 'show']);
    if (addrs.includes(` ${SUBNET_PREFIX}.`)) out.push(ns);
  }
  return out;
}

function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp === dir || mp.startsWith(dir + '/'))) out.push(mp.replace(/\\040/g, ' '));
  }
  return out;
}

/** The kubelet's cgroups (cgroupfs driver, cgroupsPerQOS): kubepods under each v1 controller and the unified tree. */
function kubepodsCgroups(): string[] {
  const out: string[] = [];
  let ctrls: string[] = [];
  try {
    ctrls = readdirSync('/sys/fs/cgroup');
  } catch {
    return out;
  }
  for (const c of ctrls) {
    const d = path.join('/sys/fs/cgroup', c, 'kubepods');
    if (existsSync(d)) out.push(d);
  }
  return out;
}

function rmdirTree(d: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(d);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(d, e);
    try {
      if (statSync(p).isDirectory()) rmdirTree(p);
    } catch {
      /* gone */
    }
  }
  try {
    rmdirSync(d);
  } catch {
    /* still in use or gone */
  }
}

/**
 * Removes what a killed run left behind (the bridge, pod namespaces on our subnet, runc containers
 * under a runc root, mounts under a directory): called before a start and by stop().
 */
export function sweep(options: { dir?: string } = {}): void {
  if (options.dir) {
    const runcRoot = path.join(options.dir, 'state', RUNC_ROOT_NAME);
    // runc's root holds one folder per namespace (k8s.io); each lists containers.
    for (const ns of existsSync(runcRoot) ? readdirSync(runcRoot) : []) {
      const root = path.join(runcRoot, ns);
      for (const id of existsSync(root) ? readdirSync(root) : []) {
        sh('runc', ['--root', root, 'kill', '--all', id, 'KILL']);
      }
      for (const id of existsSync(root) ? readdirSync(root) : []) {
        sh('runc', ['--root', root, 'delete', '--force', id]);
      }
    }
    // Shims started for this containerd (their command line names its socket).
    const sock = path.join(options.dir, 'containerd', 'containerd.sock');
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmdline.startsWith('containerd-shim') || cmdline.includes('/containerd-shim')) {
          if (cmdline.includes(sock)) process.kill(Number(pid), 'SIGKILL');
        }
      } catch {
        /* exited */
      }
    }
  }
  for (const ns of podNetnsOnSubnet()) {
    sh('ip', ['netns', 'delete', ns]);
  }
  if (options.dir) {
    for (const mp of mountsUnder(options.dir).reverse()) sh('umount', ['-l', mp]);
  }
  if (sh('ip', ['-o', 'link', 'show', BRIDGE]).includes(BRIDGE)) sh('ip', ['link', 'delete', BRIDGE]);
  for (const cg of kubepodsCgroups()) rmdirTree(cg);
}

export async function startCluster(options: { onLog?: (line: string) => void } = {}): Promise<Cluster> {
  const base = process.env.CILIUM_GUARD_TEST_TMP ?? os.tmpdir();
  const dir = mkdtempSync(path.join(base, 'cg-node-'));
  const procs: Proc[] = [];
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir);
  // Paths the kubelet and the CNI library use whatever their configuration says; removed by stop()
  // when this run created them.
  const created = HOST_PATHS.filter((d) => !existsSync(d));
  const sysctls = new Map<string, string>();
  for (const s of KUBELET_SYSCTLS) {
    try {
      sysctls.set(s, readFileSync(`/proc/sys/${s}`, 'utf8').trim());
    } catch {
      /* not on this kernel */
    }
  }
  const start = (name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess => {
    const log = path.join(logDir, `${name}.log`);
    writeFileSync(log, '');
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    const add = (chunk: Buffer): void => appendFileSync(log, chunk);
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
    procs.push({ name, child, log });
    return child;
  };
  const killAll = (): void => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    sweep({ dir });
    for (const d of created) rmSync(d, { recursive: true, force: true });
  };
  process.once('exit', killAll);
  const logs = (name?: string, lines = 40): string =>
    procs
      .filter((p) => !name || p.name === name)
      .map((p) => {
        let text = '';
        try {
          text = readFileSync(p.log, 'utf8');
        } catch {
          /* removed */
        }
        return `--- ${p.name} (last ${lines} lines)\n${text.split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');

  const containerdDir = path.join(dir, 'containerd');
  const sock = path.join(containerdDir, 'containerd.sock');
  const ctr = (args: string[], opts: { timeoutMs?: number } = {}): Promise<Run> =>
    run('ctr', ['--address', sock, '-n', 'k8s.io', ...args], { timeoutMs: opts.timeoutMs ?? 120_000 });

  let kubeconfig = '';
  const kubectl = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Run> =>
    run(kubectlPath(), [`--kubeconfig=${kubeconfig}`, ...args], opts);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killAll);
    const byName = (n: string): Proc | undefined => procs.find((p) => p.name === n);
    const alive = (n: string): boolean => {
      const p = byName(n);
      return !!p && p.child.exitCode === null && p.child.signalCode === null;
    };
    // Pods first, while the kubelet and containerd still run, so the CRI stops the sandboxes and the
    // CNI plugin removes their namespaces and addresses (bounded: a stuck pod is the backstop's job).
    if (alive('kubelet') && alive('kube-apiserver')) {
      await kubectl(['delete', 'pods', '--all', '--all-namespaces', '--grace-period=1', '--wait=false'], { timeoutMs: 20_000 });
      await eventually(
        'the kubelet to stop every pod',
        async () => {
          const r = await ctr(['tasks', 'ls'], { timeoutMs: 10_000 });
          return r.code === 0 && !/\bRUNNING\b/.test(r.stdout) && podNetnsOnSubnet().length === 0 ? true : undefined;
        },
        30_000,
      ).catch(() => undefined);
    }
    for (const name of ['kubelet', 'kube-scheduler', 'kube-controller-manager', 'containerd', 'kube-apiserver', 'etcd']) {
      const p = byName(name);
      if (!p) continue;
      p.child.kill('SIGTERM');
      await waitExit(p.child, 10_000);
    }
    sweep({ dir });
    for (const [s, v] of sysctls) {
      try {
        if (readFileSync(`/proc/sys/${s}`, 'utf8').trim() !== v) writeFileSync(`/proc/sys/${s}`, v);
      } catch {
        /* read-only or gone */
      }
    }
    for (const d of created) rmSync(d, { recursive: true, force: true });
    if (process.env.CILIUM_GUARD_KEEP_LOGS) {
      const keep = process.env.CILIUM_GUARD_KEEP_LOGS;
      mkdirSync(keep, { recursive: true });
      for (const p of procs) {
        try {
          writeFileSync(path.join(keep, `${p.name}.log`), readFileSync(p.log));
        } catch {
          /* none */
        }
      }
    }
    if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  };

  try {
    sweep();
    const nodeDir = tool('node');
    const pauseDir = path.join(path.dirname(nodeDir), path.basename(nodeDir).replace(/^kube-node-/, 'pause-'));
    const pauseTag = readFileSync(path.join(pauseDir, 'tag'), 'utf8').trim();
    const pauseImage = `${PAUSE_IMAGE_NAME}:${pauseTag}`;

    // The bridge, with the address the CNI bridge plugin also uses as the pods' gateway to the subnet.
    for (const args of [
      ['link', 'add', BRIDGE, 'type', 'bridge'],
      ['addr', 'add', `${BRIDGE_IP}/24`, 'dev', BRIDGE],
      ['link', 'set', BRIDGE, 'up'],
    ]) {
      const r = await run('ip', args);
      if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }

    // Certificates: one CA signs the API server's serving certificate (the bridge address is its
    // IP SAN, and kubernetes.default.svc as in any cluster) and the API server's client certificate
    // to the kubelet; the controller-manager publishes it as kube-root-ca.crt for the pods.
    const pki = path.join(dir, 'pki');
    mkdirSync(pki);
    const ca = await generateCA({ validityMs: 86_400_000, commonName: 'cg-node test CA' });
    const serving = await issueServing({
      ca,
      dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'],
      ips: [BRIDGE_IP, '127.0.0.1'],
      validityMs: 86_400_000,
    });
    const kubeletClient = await issueClient(ca, 'kube-apiserver-kubelet-client');
    const files = {
      ca: path.join(pki, 'ca.crt'),
      apiCert: path.join(pki, 'apiserver.crt'),
      apiKey: path.join(pki, 'apiserver.key'),
      kcCert: path.join(pki, 'kubelet-client.crt'),
      kcKey: path.join(pki, 'kubelet-client.key'),
      saKey: path.join(pki, 'sa.key'),
      saPub: path.join(pki, 'sa.pub'),
      tokens: path.join(pki, 'tokens.csv'),
    };
    writeFileSync(files.ca, ca.cert);
    writeFileSync(files.apiCert, serving.cert);
    writeFileSync(files.apiKey, serving.key);
    writeFileSync(files.kcCert, kubeletClient.cert);
    writeFileSync(files.kcKey, kubeletClient.key);
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(files.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(files.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = randomBytes(16).toString('hex');
    const nodeToken = randomBytes(16).toString('hex');
    writeFileSync(files.tokens, `${adminToken},admin,admin,"system:masters"\n${nodeToken},system:node:${NODE_NAME},system:node:${NODE_NAME},"system:nodes"\n`);

    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const url = `https://${BRIDGE_IP}:${apiPort}`;
    const writeKubeconfig = (file: string, token: string): string => {
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': files.ca } }],
          users: [{ name: 'user', user: { token } }],
          contexts: [{ name: 'test', context: { cluster: 'test', user: 'user', namespace: 'default' } }],
          'current-context': 'test',
        }),
      );
      return file;
    };
    kubeconfig = writeKubeconfig(path.join(dir, 'admin.kubeconfig'), adminToken);
    const nodeKubeconfig = writeKubeconfig(path.join(dir, 'kubelet.kubeconfig'), nodeToken);

    start('etcd', etcd(), [
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--listen-metrics-urls=',
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    start('kube-apiserver', kubeApiserver(), [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--secure-port=${apiPort}`,
      // The bridge address only: the host reaches it there, and so do the pods.
      `--bind-address=${BRIDGE_IP}`,
      `--advertise-address=${BRIDGE_IP}`,
      `--cert-dir=${pki}`,
      `--tls-cert-file=${files.apiCert}`,
      `--tls-private-key-file=${files.apiKey}`,
      `--client-ca-file=${files.ca}`,
      '--authorization-mode=Node,RBAC',
      `--token-auth-file=${files.tokens}`,
      '--anonymous-auth=false',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      // Webhook Services resolve to their endpoints (pod IPs on the bridge), never to a ClusterIP.
      '--enable-aggregator-routing=true',
      '--endpoint-reconciler-type=none',
      `--kubelet-client-certificate=${files.kcCert}`,
      `--kubelet-client-key=${files.kcKey}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--allow-privileged=false',
      '--v=0',
    ]);

    // containerd: private root, state, sockets, runc root; cgroupfs; the CNI bridge below; our pause.
    const cniConf = path.join(dir, 'cni', 'net.d');
    mkdirSync(cniConf, { recursive: true });
    writeFileSync(
      path.join(cniConf, '10-cgtest.conflist'),
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          name: 'cgtest',
          plugins: [
            {
              type: 'bridge',
              bridge: BRIDGE,
              isGateway: true,
              isDefaultGateway: false,
              ipMasq: false,
              hairpinMode: true,
              ipam: {
                type: 'host-local',
                dataDir: path.join(dir, 'cni', 'ipam'),
                ranges: [[{ subnet: POD_SUBNET, rangeStart: `${SUBNET_PREFIX}.10`, rangeEnd: `${SUBNET_PREFIX}.250`, gateway: BRIDGE_IP }]],
                // No routes: the subnet is on-link, and nothing else is reachable from a pod.
                routes: [],
              },
            },
          ],
        },
        null,
        2,
      ),
    );
    mkdirSync(containerdDir, { recursive: true });
    const state = path.join(dir, 'state');
    // Processes here lack CAP_SYS_RESOURCE: containerd must not lower oom_score_adj below its own
    // (restrict_oom_score_adj). Its default spec's RLIMIT_NOFILE (1024) is below our hard limit.
    writeFileSync(
      path.join(containerdDir, 'config.toml'),
      `version = 2
root = "${path.join(dir, 'root')}"
state = "${state}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConf}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "runc"
        Root = "${path.join(state, RUNC_ROOT_NAME)}"
`,
    );
    start('containerd', 'containerd', ['--config', path.join(containerdDir, 'config.toml')]);
    await eventually(
      'containerd to answer',
      async () => {
        if (procs.find((p) => p.name === 'containerd')!.child.exitCode !== null) throw new Error('containerd exited');
        const r = await ctr(['version'], { timeoutMs: 5_000 });
        return r.code === 0 ? true : undefined;
      },
      30_000,
      200,
    );
    const importImage = async (archive: string, baseName?: string): Promise<void> => {
      const args = ['images', 'import', '--snapshotter', 'overlayfs', ...(baseName ? ['--base-name', baseName] : []), archive];
      const r = await ctr(args, { timeoutMs: 300_000 });
      if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${r.stderr}`);
    };
    await importImage(path.join(pauseDir, 'pause.tar'), PAUSE_IMAGE_NAME);

    await eventually(
      'kube-apiserver to be ready',
      async () => {
        if (procs.some((p) => p.child.exitCode !== null)) throw new Error('a control-plane process exited');
        const r = await kubectl(['get', '--raw=/readyz'], { timeoutMs: 10_000 });
        return r.code === 0 ? true : undefined;
      },
      120_000,
    );
    // The API server's client certificate may use the kubelet API (logs, exec) as kubeadm grants it.
    await kubectl(['create', 'clusterrolebinding', 'kube-apiserver-kubelet-client', '--clusterrole=system:kubelet-api-admin', '--user=kube-apiserver-kubelet-client']);

    start('kube-controller-manager', path.join(nodeDir, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`,
      `--service-account-private-key-file=${files.saKey}`,
      `--root-ca-file=${files.ca}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      '--controllers=endpoint,endpointslice,deployment,replicaset,job,disruption,namespace,garbagecollector,serviceaccount,serviceaccount-token,root-ca-cert-publisher,nodelifecycle,podgc,ttl-after-finished',
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--secure-port=0',
      '--node-monitor-grace-period=40s',
      '--v=0',
    ]);
    start('kube-scheduler', path.join(nodeDir, 'kube-scheduler'), [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=0']);

    // The kubelet: cgroup v1 allowed (hybrid host), cgroupfs, swap tolerated, no static pods, an empty
    // resolv.conf (pods never get the host's DNS), authentication and authorization by the API server.
    const kubeletDir = path.join(dir, 'kubelet');
    mkdirSync(kubeletDir);
    const resolvConf = path.join(dir, 'resolv.conf');
    writeFileSync(resolvConf, '');
    const kubeletPort = await freePort();
    const kubeletConfig = path.join(dir, 'kubelet.yaml');
    writeFileSync(
      kubeletConfig,
      JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          address: BRIDGE_IP,
          port: kubeletPort,
          readOnlyPort: 0,
          healthzPort: 0,
          failCgroupV1: false,
          cgroupDriver: 'cgroupfs',
          failSwapOn: false,
          containerRuntimeEndpoint: `unix://${sock}`,
          resolvConf,
          podLogsDir: path.join(dir, 'pod-logs'),
          clusterDomain: 'cluster.local',
          authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: files.ca } },
          authorization: { mode: 'Webhook' },
          // The disk is shared with everything else on this machine: no eviction or image GC on its
          // account (image GC would remove the imported images, which no registry can give back).
          evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          serializeImagePulls: false,
          nodeStatusUpdateFrequency: '4s',
          syncFrequency: '10s',
          registerNode: true,
          rotateCertificates: false,
          serverTLSBootstrap: false,
          enableServer: true,
          tlsCertFile: '',
          localStorageCapacityIsolation: true,
          shutdownGracePeriod: '0s',
          containerLogMaxSize: '5Mi',
        },
        null,
        2,
      ),
    );
    start('kubelet', path.join(nodeDir, 'kubelet'), [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${nodeKubeconfig}`,
      `--root-dir=${kubeletDir}`,
      `--cert-dir=${path.join(kubeletDir, 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${BRIDGE_IP}`,
      '--v=1',
    ]);
    await eventually(
      `node ${NODE_NAME} to be Ready`,
      async () => {
        if (procs.some((p) => p.child.exitCode !== null)) {
          throw new Error(`exited: ${procs.filter((p) => p.child.exitCode !== null).map((p) => `${p.name} (${p.child.exitCode})`).join(', ')}`);
        }
        const r = await kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { timeoutMs: 10_000 });
        return r.stdout.trim() === 'True' ? true : undefined;
      },
      120_000,
    );
    // Namespaced ServiceAccounts are created by the controller-manager; pods wait for "default".
    await eventually(
      'the default ServiceAccount',
      async () => ((await kubectl(['get', 'serviceaccount', 'default', '-n', 'default'], { timeoutMs: 10_000 })).code === 0 ? true : undefined),
      60_000,
    );
    return { dir, url, apiPort, kubeconfig, adminToken, ca: ca.cert, kubectl, ctr, importImage, logs, stop };
  } catch (err) {
    const tail = logs(undefined, 25);
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
}
