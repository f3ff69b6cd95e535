// Ceilings measured in the same run as each scenario: the raw Ed25519 verify rate of this machine
// with node:crypto on every core at once (worker threads, one per core).
import os from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { generateKeyPairSync, sign, verify } = require('node:crypto');
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const msgs = Array.from({ length: 64 }, (_, i) => Buffer.from('custos benchmark transaction body of typical size '.repeat(4) + i));
const sigs = msgs.map((m) => sign(null, m, privateKey));
let n = 0;
const until = Date.now() + workerData.ms;
while (Date.now() < until) {
  for (let i = 0; i < 64; i++) if (!verify(null, msgs[i], publicKey, sigs[i])) throw new Error('verify failed');
  n += 64;
}
parentPort.postMessage(n);
`;

/** Ed25519 verifications per second summed over `threads` concurrent workers (default: all cores). */
export async function rawVerifyRate({ threads = os.availableParallelism(), ms = 3000 } = {}) {
  const started = performance.now();
  const counts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(WORKER, { eval: true, workerData: { ms } });
          w.once('message', (n) => {
            resolve(n);
            w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  return Math.round(counts.reduce((a, b) => a + b, 0) / Math.max(seconds, ms / 1000));
}
