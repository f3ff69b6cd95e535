/**
 * Worker thread of `WalPipeline`: its own SQLite connection to the peer's store, copying the WAL
 * back into the database file (a PASSIVE checkpoint, which never blocks the writer) when asked,
 * so that this work and its fsyncs stay off the thread that commits blocks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

if (parentPort === null) throw new Error('checkpointer-worker.js runs only as a worker thread of WalPipeline');
const port = parentPort;
const db = new Database((workerData as { path: string }).path, { fileMustExist: true });
// This connection only checkpoints; FULL makes each checkpoint sync the WAL, then the database file.
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');

port.on('message', (msg: 'checkpoint' | 'close') => {
  if (msg === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    port.postMessage({ ok: true, ...row });
  } catch (e) {
    port.postMessage({ ok: false, error: (e as Error).message });
  }
});
