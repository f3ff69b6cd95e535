/**
 * Worker thread of `EvmSignPool` (sign-pool.ts): signs a job's digests with the job's key and
 * answers the signatures; it keeps nothing between jobs.
 */
import { parentPort } from 'node:worker_threads';
import { evmSign } from '@custos/protocol/interop';
import { installNativeSecp256k1 } from '../../crypto/secp256k1.js';
import type { SignJob, SignReply } from './sign-pool.js';

if (parentPort === null) throw new Error('sign-worker.js runs only as a worker thread of EvmSignPool');
const port = parentPort;
installNativeSecp256k1();

port.on('message', (job: SignJob) => {
  let reply: SignReply;
  try {
    reply = { id: job.id, signatures: job.digests.map((d) => evmSign(d, job.key)) };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).message };
  }
  port.postMessage(reply);
});
