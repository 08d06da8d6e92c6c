// SIGTERM while reviews are being sent: every review already on a connection is answered, the
// listener closes so new connections are refused (the API server then uses another endpoint), no
// request fails, and the process exits 0 well inside the pod's grace period.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { load, reviewMix, sleep, startServe } from './process.js';

t.test('SIGTERM under load: in-flight reviews complete, new connections are refused, nothing fails', async (t) => {
  const mix = await reviewMix();
  for (const round of [1, 2, 3]) {
    const serve = await startServe();
    let stopAt = Infinity;
    let exitedAt = Infinity;
    void serve.exited.then(() => (exitedAt = performance.now()));
    // Keep sending until a while after the exit, so requests meet every phase of the stop.
    const running = load(serve.url, serve.ca, mix, { connections: 16, until: () => performance.now() > exitedAt + 300, fresh: true });
    await sleep(1500);
    const before = serve.logs.length;
    stopAt = performance.now();
    serve.child.kill('SIGTERM');
    const code = await serve.exited;
    const stopMs = performance.now() - stopAt;
    const result = await running;
    const refusedAfter = await new Promise<boolean>((resolve) => {
      const s = connect(serve.port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    await serve.stop();
    t.equal(code, 0, `round ${round}: exit code 0`);
    t.ok(stopMs < 5000, `round ${round}: stopped in ${stopMs.toFixed(0)} ms`);
    t.same(result.failed, [], `round ${round}: no failed request`);
    t.ok(result.ok > 100, `round ${round}: ${result.ok} answered`);
    t.ok(refusedAfter, `round ${round}: a new connection after the stop is refused`);
    t.ok(serve.logs.slice(before).some((l) => l.msg === 'stopped'), `round ${round}: logged its stop`);
    t.comment(`SIGTERM round ${round}: ${result.ok} answered, ${result.refused} connections refused after the listener closed, ${result.retried} retried (reused connection closed before the request was written), ${result.failed.length} failed; exit 0 after ${stopMs.toFixed(0)} ms`);
  }
});
