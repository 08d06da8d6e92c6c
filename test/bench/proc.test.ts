// The /proc readers both benchmarks report CPU and memory with.
import t from 'tap';
import { anonRssOf, cpuSecondsOf, peakRssOf, rssOf } from '../../bench/proc.js';

t.test('this process, read from /proc, agrees with what Node says of itself', async (t) => {
  const cpu0 = cpuSecondsOf(process.pid);
  const until = Date.now() + 300;
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  t.ok(x > 0);
  const used = cpuSecondsOf(process.pid) - cpu0;
  t.ok(used >= 0.2 && used <= 5, `300 ms of busy work read as ${used.toFixed(2)} s of CPU`);
  const rss = rssOf(process.pid);
  const own = process.memoryUsage().rss;
  t.ok(Math.abs(rss - own) < 0.2 * own, `VmRSS ${rss} within 20 % of process.memoryUsage().rss ${own}`);
  t.ok(peakRssOf(process.pid) >= rss, 'the peak is at least the current resident set');
  const anon = anonRssOf(process.pid);
  t.ok(anon > 0 && anon < rssOf(process.pid), `RssAnon ${anon} is part of the resident set`);
  const grown = Buffer.alloc(32 << 20, 1); // 32 MiB of the process's own, touched
  t.ok(anonRssOf(process.pid) - anon > 24 << 20, 'and grows with the process\'s own memory');
  t.equal(grown[0], 1);
});

t.test('a process that is gone reads as 0, never a throw', async (t) => {
  const none = 2 ** 22 + 12345; // above Linux's pid_max limit (2^22)
  t.equal(cpuSecondsOf(none), 0);
  t.equal(rssOf(none), 0);
  t.equal(peakRssOf(none), 0);
  t.equal(anonRssOf(none), 0);
});
