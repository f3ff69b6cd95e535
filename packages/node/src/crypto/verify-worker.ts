/**
 * Worker thread of `VerifyPool`: receives a packed chunk as one transferred ArrayBuffer, verifies
 * its signatures with node:crypto and transfers back one byte per item; for `kind: 'parse'` it first
 * parses and canonicalises the chunk's transactions and sends those answers (`parse-packed.ts`).
 */
import { parentPort } from 'node:worker_threads';
import { parsePacked } from './parse-packed.js';
import { verifyPacked } from './verify-pool.js';

if (parentPort === null) throw new Error('verify-worker.js runs only as a worker thread of VerifyPool');
const port = parentPort;

port.on('message', (msg: { id: number; buffer: ArrayBuffer; kind?: 'parse' }) => {
  if (msg.kind === 'parse') {
    const { answers, errors, verify } = parsePacked(msg.buffer);
    port.postMessage({ id: msg.id, answers, errors }, [answers]);
    const results = verify();
    port.postMessage({ id: msg.id, results }, [results.buffer]);
    return;
  }
  const results = verifyPacked(msg.buffer);
  port.postMessage({ id: msg.id, results }, [results.buffer]);
});
