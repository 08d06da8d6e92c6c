// The serving certificate rotated on disk (as a mounted Secret changes) six times while reviews
// are sent on new and kept-alive connections: no request fails, and new connections get the new
// certificate.
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { generateCA, issueServing, parseCert } from '../../src/certs/pki.js';
import { load, reviewMix, sleep, startServe } from './process.js';

const DAY = 86_400_000;
const ROTATIONS = 6;

t.test('certificate rotation under load: zero failed requests', async (t) => {
  const cas = [await generateCA({ validityMs: DAY }), await generateCA({ validityMs: DAY })];
  const serve = await startServe();
  t.teardown(() => serve.stop());
  const trust = [serve.ca, ...cas.map((c) => c.cert)];
  let done = false;
  const running = load(serve.url, trust, await reviewMix(), { connections: 12, until: () => done, fresh: true });
  const expected = new Set<string>();
  // serve polls the files every 5 s (fs.watchFile): one rotation per poll.
  for (let i = 0; i < ROTATIONS; i++) {
    await sleep(5200);
    const pair = await issueServing({ ca: cas[i % 2]!, dnsNames: ['localhost'], ips: ['127.0.0.1'], validityMs: DAY });
    // Like the kubelet: the new files appear at once (an atomic rename of both would need a symlink swap).
    writeFileSync(path.join(serve.dir, 'tls.key.new'), pair.key);
    writeFileSync(path.join(serve.dir, 'tls.crt.new'), pair.cert);
    renameSync(path.join(serve.dir, 'tls.key.new'), path.join(serve.dir, 'tls.key'));
    renameSync(path.join(serve.dir, 'tls.crt.new'), path.join(serve.dir, 'tls.crt'));
    expected.add(parseCert(pair.cert)!.fingerprint);
  }
  await sleep(5500);
  done = true;
  const result = await running;
  t.same(result.failed, [], 'no failed request');
  t.equal(result.refused, 0, 'no refused connection');
  const rotatedSeen = [...expected].filter((f) => result.seen.has(f)).length;
  t.ok(rotatedSeen >= ROTATIONS - 1, `new connections got the rotated certificates (${rotatedSeen} of ${ROTATIONS} seen)`);
  t.ok(serve.logs.filter((l) => l.msg === 'serving certificate reloaded').length >= ROTATIONS - 1, 'the reloads were logged');
  t.comment(`rotation under load: ${ROTATIONS} certificate rotations, ${result.ok} reviews answered, ${result.failed.length} failed, ${rotatedSeen} rotated certificates seen on new connections, ${result.retried} retried`);
});
