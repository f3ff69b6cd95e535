// Load generator for in-process node benchmarks.

/**
 * Drives `txs` into the node. With `rate` (tx/s) it sends on a schedule (open loop); without, it
 * keeps `window` transactions in flight (closed loop). Returns latencies and timings.
 */
export async function drive(node, txs, { rate, window = 8000 } = {}) {
  const latencies = new Array(txs.length);
  let failed = 0;
  let sent = 0;
  let done = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const finishOne = () => {
      done++;
      if (done === txs.length) resolve();
    };
    const sendOne = () => {
      const i = sent++;
      const t0 = performance.now();
      let sub;
      try {
        sub = node.submit(txs[i]);
      } catch {
        failed++;
        finishOne();
        return;
      }
      sub.committed.then(
        (r) => {
          latencies[i] = performance.now() - t0;
          if (r.code !== 'OK') failed++;
          finishOne();
        },
        () => {
          failed++;
          finishOne();
        },
      );
    };
    const tick = () => {
      if (sent >= txs.length) return;
      const target =
        rate === undefined
          ? Math.min(txs.length, done + window)
          : Math.min(txs.length, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < target) sendOne();
      if (sent < txs.length) setTimeout(tick, rate === undefined ? 0 : 2);
    };
    tick();
  });
  const seconds = (performance.now() - start) / 1000;
  return { seconds, sent, failed, latencies: latencies.filter((x) => x !== undefined) };
}
