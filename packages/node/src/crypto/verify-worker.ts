/**
 * Worker thread of `VerifyPool`: receives a packed chunk as one transferred ArrayBuffer, verifies
 * it with node:crypto and transfers back one byte per item.
 */
import { parentPort } from 'node:worker_threads';
import { verifyPacked } from './verify-pool.js';

if (parentPort === null) throw new Error('verify-worker.js runs only as a worker thread of VerifyPool');
const port = parentPort;

port.on('message', (msg: { id: number; buffer: ArrayBuffer }) => {
  const results = verifyPacked(msg.buffer);
  port.postMessage({ id: msg.id, results }, [results.buffer]);
});
