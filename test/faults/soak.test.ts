// A soak: the five benchmark reviews at a steady rate, half of them on a new TLS connection each,
// for SOAK_SECONDS (180 in CI; any length with the variable). Memory stays flat after warm-up, the
// number of open file descriptors does not grow, and nothing fails. The figures are printed.
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { load, percentile, reviewMix, sleep, startServe } from './process.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const RATE = Number(process.env.SOAK_RATE ?? 200);
const WARMUP_S = Math.min(30, SECONDS / 4);
const SAMPLE_MS = Math.min(5000, (SECONDS * 1000) / 12);

t.test(`soak: ${SECONDS} s at ${RATE} reviews/s`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
  const serve = await startServe();
  t.teardown(() => serve.stop());
  const fdsIdle = serve.fds();
  const samples: Array<{ s: number; rss: number; fds: number }> = [];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  const sampler = setInterval(() => samples.push({ s: (performance.now() - start) / 1000, rss: serve.rssMb(), fds: serve.fds() }), SAMPLE_MS);
  const result = await load(serve.url, serve.ca, await reviewMix(), { connections: 8, rate: RATE, fresh: true, until: () => performance.now() > end });
  clearInterval(sampler);
  await sleep(2000);
  const fdsAfter = serve.fds();

  const steady = samples.filter((x) => x.s >= WARMUP_S);
  const window = Math.max(1, Math.floor(steady.length / 4));
  const median = (xs: number[]): number => percentile(xs, 50);
  const early = median(steady.slice(0, window).map((x) => x.rss));
  const late = median(steady.slice(-window).map((x) => x.rss));
  const peak = Math.max(...samples.map((x) => x.rss));
  const fdsMax = Math.max(...samples.map((x) => x.fds));

  t.same(result.failed.slice(0, 5), [], 'no failed request');
  t.equal(result.failed.length, 0, `${result.failed.length} failed of ${result.ok + result.failed.length}`);
  t.ok(result.ok >= RATE * SECONDS * 0.9, `${result.ok} answered (the rate held)`);
  t.ok(steady.length >= 4, `${steady.length} samples after warm-up`);
  t.ok(late - early < 10, `RSS flat after warm-up: ${early.toFixed(1)} MB -> ${late.toFixed(1)} MB (peak ${peak.toFixed(1)} MB)`);
  t.ok(fdsAfter <= fdsIdle + 2, `file descriptors back to idle after the load: ${fdsIdle} before, ${fdsAfter} after (at most ${fdsMax} during)`);
  t.ok(fdsMax <= fdsIdle + 8 * 2 + 4, `file descriptors bounded by the connections during the load (${fdsMax})`);
  t.comment(
    `soak: ${SECONDS} s at ${RATE} reviews/s (five reviews, half on a new TLS connection): ${result.ok} answered, ${result.failed.length} failed, ` +
      `p50 ${percentile(result.latenciesMs, 50).toFixed(2)} ms, p99 ${percentile(result.latenciesMs, 99).toFixed(2)} ms; ` +
      `RSS after warm-up ${early.toFixed(1)} -> ${late.toFixed(1)} MB (peak ${peak.toFixed(1)} MB); fds idle ${fdsIdle}, max ${fdsMax}, after ${fdsAfter}\n` +
      `  RSS MB every ${(SAMPLE_MS / 1000).toFixed(1)} s: ${samples.map((x) => x.rss.toFixed(0)).join(' ')}\n  fds: ${samples.map((x) => x.fds).join(' ')}`,
  );
});
