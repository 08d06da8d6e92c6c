// What the fault tests share: `cilium-guard serve` as its own process (the image's V8 flags, its
// own certificates on disk), and a bounded load generator that behaves like the API server's
// client: keep-alive connections, a retry only where Go's transport retries (a reused connection
// closed before the request was written), and every answer judged.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NODE_FLAGS } from '../../bench/flags.js';
import { MAIN, sleep, spawnGuard } from '../e2e/harness.js';
import { testCertificates } from '../helpers/https.js';

export { sleep };

export interface Serve {
  child: ChildProcess;
  port: number;
  url: string;
  ca: string;
  dir: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  rssMb(): number;
  fds(): number;
  stop(): Promise<number | null>;
}

/** Starts `cilium-guard serve` on 127.0.0.1 with file certificates in a fresh directory. */
export async function startServe(extra: string[] = []): Promise<Serve> {
  const dir = mkdtempSync(path.join(process.env.CILIUM_GUARD_TEST_TMP ?? os.tmpdir(), 'cg-faults-'));
  const certs = await testCertificates();
  writeFileSync(path.join(dir, 'tls.crt'), certs.cert);
  writeFileSync(path.join(dir, 'tls.key'), certs.key);
  const args = [...NODE_FLAGS, MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key'), ...extra];
  const { child, logs, ready, exited } = await spawnGuard(args, { cwd: dir });
  const port = Number(new URL(String(ready.validate)).port);
  const pid = child.pid!;
  return {
    child,
    port,
    url: `https://127.0.0.1:${port}`,
    ca: certs.caCert,
    dir,
    logs,
    exited,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024,
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface Load {
  ok: number;
  /** Connections refused (or reset while connecting) after the listener closed: dial errors, no request sent. */
  refused: number;
  /** Requests retried because a reused connection was closed before they were written (Go retries these). */
  retried: number;
  failed: string[];
  latenciesMs: number[];
  /** SHA-256 fingerprints of the serving certificates seen. */
  seen: Set<string>;
}

export interface Body {
  route: 'validate' | 'mutate';
  body: string;
  /** Checks the parsed answer; returns a problem or null. */
  check(answer: { response?: { allowed?: boolean; patch?: string } }): string | null;
}

/**
 * Sends `bodies` round-robin from `connections` workers until `until()` is true. With `rate`, the
 * workers together send at most that many requests per second (paced, not saturating).
 */
export async function load(
  url: string,
  ca: string | string[],
  bodies: Body[],
  /** `client`: the certificate to present (the API server's, when cilium-guard requires one). */
  options: { connections: number; until: () => boolean; rate?: number; fresh?: boolean; client?: { cert: string; key: string } },
): Promise<Load> {
  const result: Load = { ok: 0, refused: 0, retried: 0, failed: [], latenciesMs: [], seen: new Set() };
  const client = options.client ? { cert: options.client.cert, key: options.client.key } : {};
  const agent = new https.Agent({ keepAlive: true, ca, maxSockets: options.connections, ...client });
  const { hostname, port } = new URL(url);
  let sent = 0;
  const started = performance.now();

  const once = (b: Body, fresh: boolean): Promise<'ok' | 'refused' | 'retry' | string> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = https.request(
        { host: hostname, port, path: `/${b.route}`, method: 'POST', ca, ...client, agent: fresh ? false : agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
          if (peer?.fingerprint256) result.seen.add(peer.fingerprint256);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => resolve(`response: ${err.message}`));
          res.on('end', () => {
            result.latenciesMs.push(performance.now() - t0);
            if (res.statusCode !== 200) return resolve(`HTTP ${res.statusCode}`);
            try {
              const problem = b.check(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { allowed?: boolean } });
              resolve(problem ?? 'ok');
            } catch (err) {
              resolve(`unreadable answer: ${(err as Error).message}`);
            }
          });
        },
      );
      // Whether the TLS connection was up, i.e. whether any byte of the request can have been sent.
      let connected = false;
      req.on('socket', (socket) => {
        if (req.reusedSocket) connected = true;
        else socket.once('secureConnect', () => (connected = true));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Refused, or reset while connecting (the kernel had queued the connection when the listener
        // closed): a dial error, before any byte of the request was sent, like ECONNREFUSED for Go.
        if (err.code === 'ECONNREFUSED' || (!connected && err.code === 'ECONNRESET')) resolve('refused');
        // Go's transport retries a request whose reused connection was closed before it was written.
        else if (req.reusedSocket && (err.code === 'ECONNRESET' || err.message === 'socket hang up')) resolve('retry');
        else resolve(`${err.code ?? ''} ${err.message}`);
      });
      req.end(b.body);
    });

  await Promise.all(
    Array.from({ length: options.connections }, async (_, w) => {
      let i = w;
      while (!options.until()) {
        if (options.rate) {
          const due = started + (sent / options.rate) * 1000;
          sent++;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          if (options.until()) break;
        }
        const b = bodies[i++ % bodies.length]!;
        let outcome = await once(b, options.fresh === true && w % 2 === 0);
        for (let tries = 0; outcome === 'retry' && tries < 3; tries++) {
          result.retried++;
          outcome = await once(b, true);
        }
        if (outcome === 'ok') result.ok++;
        else if (outcome === 'refused') {
          result.refused++;
          await sleep(5);
        } else result.failed.push(outcome);
      }
    }),
  );
  agent.destroy();
  return result;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The benchmark's reviews (allowed, large, Cilium, denied, cilium-config, argocd-cm patch), each with its check. */
export async function reviewMix(): Promise<Body[]> {
  const { payloads } = await import('../../bench/payloads.js');
  return payloads().map((p) => ({
    route: p.route,
    body: p.body,
    check: (a) => {
      const r = a.response;
      if (!r) return `${p.name}: no response`;
      const got = r.allowed !== true ? 'denied' : r.patch ? 'patched' : 'allowed';
      return got === p.expect ? null : `${p.name}: expected ${p.expect}, got ${got}`;
    },
  }));
}
