// The node itself (issue 18): the kubelet registers and turns Ready on this machine, pods run in
// network namespaces of their own on the test's bridge with no route off it, Pod Security
// `restricted` admits them, and stop() leaves nothing behind.
import { existsSync, readFileSync, readlinkSync, readdirSync } from 'node:fs';
import t from 'tap';
import { BRIDGE, BRIDGE_IP, NODE_NAME, SUBNET_PREFIX, type Obj, eventually, run, startCluster } from './harness.js';

const c = await startCluster();
t.teardown(() => c.stop());

t.test('the node is Ready at the bridge address', async (t) => {
  const node = JSON.parse((await c.kubectl(['get', 'node', NODE_NAME, '-o', 'json'])).stdout) as Obj;
  t.equal(node.status.conditions.find((x: Obj) => x.type === 'Ready')?.status, 'True');
  t.same(
    node.status.addresses.filter((a: Obj) => a.type === 'InternalIP').map((a: Obj) => a.address),
    [BRIDGE_IP],
  );
  t.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/1\.6\./);
});

const pausePod = (name: string, image: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'nodetest' },
  spec: {
    terminationGracePeriodSeconds: 1,
    enableServiceLinks: false,
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 65535, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'pause',
        image,
        imagePullPolicy: 'Never',
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
});

t.test('two pods run side by side in namespaces of their own, on the bridge, with no route off it', async (t) => {
  const image = (await c.ctr(['images', 'ls', '-q'])).stdout.split('\n').find((l) => l.startsWith('localhost/pause:'));
  t.ok(image, 'the pause image is in the CRI image store');
  let r = await c.kubectl(['create', 'namespace', 'nodetest']);
  t.equal(r.code, 0, r.stderr);
  r = await c.kubectl(['label', 'namespace', 'nodetest', 'pod-security.kubernetes.io/enforce=restricted']);
  t.equal(r.code, 0, r.stderr);
  r = await c.kubectl(['create', '-f', '-'], { input: [pausePod('p1', image!), pausePod('p2', image!)].map((p) => JSON.stringify(p)).join('\n') });
  t.equal(r.code, 0, `restricted admits the pods: ${r.stderr}`);
  const pods = await eventually(
    'both pods to run',
    async () => {
      const list = JSON.parse((await c.kubectl(['get', 'pods', '-n', 'nodetest', '-o', 'json'])).stdout) as Obj;
      return list.items.length === 2 && list.items.every((p: Obj) => p.status.phase === 'Running' && p.status.podIP) ? (list.items as Obj[]) : undefined;
    },
    90_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${c.logs('kubelet')}\n${c.logs('containerd')}`);
  });
  const ips = pods.map((p) => p.status.podIP as string);
  t.not(ips[0], ips[1], 'two addresses');
  const hostNet = readlinkSync('/proc/self/ns/net');
  const tasks = (await c.ctr(['tasks', 'ls'])).stdout;
  for (const p of pods) {
    t.ok(p.status.podIP.startsWith(`${SUBNET_PREFIX}.`), `${p.metadata.name} has ${p.status.podIP} on ${BRIDGE}`);
    const id = String(p.status.containerStatuses[0].containerID).replace(/^containerd:\/\//, '');
    const pid = new RegExp(`^${id}\\s+(\\d+)`, 'm').exec(tasks)?.[1];
    t.ok(pid, `the container's task runs (${id})`);
    t.not(readlinkSync(`/proc/${pid}/ns/net`), hostNet, 'its own network namespace');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    t.match(status, /^Uid:\s+65535\s/m, 'runs as the pod security context says');
    const routes = await run('nsenter', ['-t', pid!, '-n', 'ip', '-4', 'route', 'show']);
    t.equal(routes.code, 0, routes.stderr);
    t.notMatch(routes.stdout, /default/, `no default route in the pod: ${routes.stdout.trim()}`);
    t.match(routes.stdout, new RegExp(`^${SUBNET_PREFIX.replace(/\./g, '\\.')}\\.0/24 dev eth0`, 'm'));
  }
  // The pods reach each other on the bridge (both on-link).
  const pid0 = new RegExp(`^${String(pods[0]!.status.containerStatuses[0].containerID).replace(/^containerd:\/\//, '')}\\s+(\\d+)`, 'm').exec(tasks)![1]!;
  const ping = await run('nsenter', ['-t', pid0, '-n', 'ping', '-c', '1', '-W', '2', ips[1]!], { timeoutMs: 10_000 });
  if (ping.code !== 127) t.equal(ping.code, 0, `pod to pod: ${ping.stdout}${ping.stderr}`);
  // And an address off the bridge is unreachable from inside, without a packet leaving.
  const off = await run('nsenter', ['-t', pid0, '-n', 'ip', 'route', 'get', '192.0.2.1']);
  t.not(off.code, 0, 'no route to anything off the bridge');
  t.match(off.stderr, /unreachable/i);
});

t.test('Pod Security restricted refuses a pod that runs as root', async (t) => {
  const bad = pausePod('root', 'localhost/pause:any');
  delete bad.spec.securityContext.runAsNonRoot;
  bad.spec.securityContext.runAsUser = 0;
  const r = await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(bad) });
  t.not(r.code, 0);
  t.match(r.stderr, /violates PodSecurity "restricted:latest"/);
});

t.test('stop() leaves no process, mount, namespace, bridge or directory behind', async (t) => {
  const dir = c.dir;
  await c.stop();
  t.notOk(existsSync(dir), 'the cluster directory is gone');
  t.notMatch((await run('ip', ['-o', 'link', 'show'])).stdout, new RegExp(`\\b${BRIDGE}\\b`), 'no bridge');
  t.notMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(dir), 'no mounts');
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) left.push(pid);
    } catch {
      /* exited */
    }
  }
  t.same(left, [], 'no process runs from the cluster directory');
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const ns of netns) {
    const addrs = (await run('ip', ['-n', ns, '-4', '-o', 'addr'])).stdout;
    t.notMatch(addrs, new RegExp(` ${SUBNET_PREFIX.replace(/\./g, '\\.')}\\.`), `netns ${ns} is not one of ours`);
  }
  t.notOk(existsSync('/sys/fs/cgroup/memory/kubepods'), "the kubelet's cgroups are removed");
});
