// Serving certificates change under load without failing a request: through the Secret path
// (setServingCertificate) and through files written non-atomically (watchCertificates).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import t from 'tap';
import { generateCA, issueServing, parseCert, type KeyPair } from '../../src/certs/pki.js';
import { defaultConfig } from '../../src/policy/config.js';
import { buildServer } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';
import { setServingCertificate, watchCertificates } from '../../src/server/tls.js';
import { makeReview } from '../helpers/apiserver.js';
import { example } from '../helpers/corpus.js';

const DAY = 86_400_000;
const ca1 = await generateCA({ validityMs: DAY });
const ca2 = await generateCA({ validityMs: DAY });
const leaf = (ca: KeyPair) => issueServing({ ca, dnsNames: ['localhost'], ips: ['127.0.0.1'], validityMs: DAY });
const pairs = [await leaf(ca1), await leaf(ca2)];
const fingerprint = (p: KeyPair) => parseCert(p.cert)!.fingerprint;
const trust = [ca1.cert, ca2.cert];
const body = JSON.stringify(makeReview({ operation: 'CREATE', object: example('01-app-cilium-good.yaml') }));

async function start() {
  const guard = buildServer({ config: defaultConfig(), logger: pino({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }), tls: pairs[0]! });
  await guard.app.listen({ port: 0, host: '127.0.0.1' });
  return { guard, server: guard.app.server as unknown as https.Server, port: (guard.app.server.address() as AddressInfo).port };
}

interface LoadResult {
  ok: number;
  failed: string[];
  seen: Set<string>;
}

/** Workers send reviews until `stop` resolves: half over keep-alive, half on a new connection each time. */
async function load(port: number, stop: Promise<void>, workers = 12): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: [], seen: new Set() };
  let done = false;
  void stop.then(() => (done = true));
  const keepAlive = new https.Agent({ keepAlive: true, ca: trust, maxSockets: workers });
  const one = (fresh: boolean) =>
    new Promise<void>((resolve) => {
      const req = https.request(
        { host: '127.0.0.1', port, path: '/validate', method: 'POST', ca: trust, agent: fresh ? false : keepAlive, headers: { 'content-type': 'application/json' } },
        (res) => {
          const peer = (res.socket as TLSSocket).getPeerCertificate();
          if (peer?.fingerprint256) result.seen.add(peer.fingerprint256);
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            if (res.statusCode === 200 && (JSON.parse(text) as { response?: { allowed?: boolean } }).response?.allowed === true) result.ok++;
            else result.failed.push(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        result.failed.push(err.message);
        resolve();
      });
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      while (!done) await one(i % 2 === 0);
    }),
  );
  keepAlive.destroy();
  return result;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('swapping the serving certificate 20 times under load fails no request', async (t) => {
  const { guard, server, port } = await start();
  t.teardown(() => guard.app.close());
  const rotations = (async () => {
    for (let i = 1; i <= 20; i++) {
      await sleep(60);
      setServingCertificate(server, pairs[i % 2]!);
    }
    await sleep(100);
  })();
  const result = await load(port, rotations);
  t.same(result.failed, [], 'no request failed');
  t.ok(result.ok > 100, `${result.ok} reviews answered during the rotations`);
  t.same([...result.seen].sort(), pairs.map((p) => fingerprint(p)).sort(), 'new connections saw both certificates');
});

t.test('a mismatched pair is refused and the current certificate stays', async (t) => {
  const { guard, server, port } = await start();
  t.teardown(() => guard.app.close());
  t.throws(() => setServingCertificate(server, { cert: pairs[1]!.cert, key: pairs[0]!.key }));
  const result = await load(port, sleep(200).then(() => undefined), 2);
  t.same(result.failed, []);
  t.same([...result.seen], [fingerprint(pairs[0]!)]);
});

t.test('files rewritten one at a time (a half-written rotation) under load: no request fails', async (t) => {
  const { guard, server, port } = await start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cilium-guard-reload-'));
  const files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
  writeFileSync(files.cert, pairs[0]!.cert);
  writeFileSync(files.key, pairs[0]!.key);
  const loaded: string[] = [];
  const stopWatching = watchCertificates(server, files, pino({ level: 'silent' }), 20, (p) => loaded.push(fingerprint(p)));
  t.teardown(async () => {
    stopWatching();
    await guard.app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rotations = (async () => {
    for (let i = 1; i <= 6; i++) {
      await sleep(80);
      writeFileSync(files.cert, pairs[i % 2]!.cert); // for a moment the cert and the key disagree
      await sleep(45);
      writeFileSync(files.key, pairs[i % 2]!.key);
    }
    await sleep(150);
  })();
  const result = await load(port, rotations);
  t.same(result.failed, [], 'no request failed');
  t.ok(loaded.length >= 3, `reloaded ${loaded.length} times`);
  t.equal(loaded.at(-1), fingerprint(pairs[0]!), 'ends on the last pair written');
  t.same([...result.seen].sort(), pairs.map((p) => fingerprint(p)).sort());
});
