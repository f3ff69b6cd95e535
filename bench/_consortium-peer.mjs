// One peer of the `consortium` benchmark, run as its own OS process (bench/consortium.mjs starts
// three). It opens the consortium node the way a peer's `custos node start` does (src/cli/peer.ts:
// `openConsortiumNode` on the etcd orderer and checkpoint board, the HTTP API on loopback), from a
// JSON file written by the bench: its store path, the genesis, its own member key (hex), its etcd
// configuration and the other peers' URLs. The API runs without rate limits (a benchmark, or a node
// behind its own gateway). Once listening it prints `{"url": ...}` on stdout; on SIGTERM or SIGINT
// it closes the server and the node and exits 0 (so that `--cpu-prof` writes its profile).
import { readFileSync } from 'node:fs';
import { createServer, listen, nativeSigner, openConsortiumNode } from '../packages/node/dist/index.js';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const log = config.log
  ? (message) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message })}\n`)
  : undefined;
const node = await openConsortiumNode({
  dbPath: config.dbPath,
  genesis: config.genesis,
  signers: [nativeSigner(Uint8Array.from(Buffer.from(config.secretKey, 'hex')))],
  maxPending: 1_000_000,
  config: config.consortium,
  ...(log === undefined ? {} : { log }),
});
const app = createServer(node, { rateLimit: false });
const url = await listen(app, { host: '127.0.0.1', port: config.port });

let closing;
const close = (code) => {
  closing ??= Promise.allSettled([app.close(), node.close()]).then(() => process.exit(code));
  return closing;
};
process.on('SIGTERM', () => close(0));
process.on('SIGINT', () => close(0));
node.on('fatal', (e) => {
  process.stderr.write(`fatal: ${e?.message ?? String(e)}\n`);
  close(70);
});
process.stdout.write(`${JSON.stringify({ url })}\n`);
