// Scenario `gpp-records`: consent signals through the node. Each is a customer-signed `gpp.record`
// carrying an IAB reference GPP string (US National, every opt-out taken), which every peer decodes
// with the IAB library (bounded) and applies (opt-outs, objection, sensitive-data limit); then the
// cost of decoding a string and of emitting one for the ad stack, in process. Compared with the
// ledger ceiling: the raw Ed25519 verify rate on all cores, measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosNode, exampleProfile, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import { decodeGpp, emitGpp } from '../packages/protocol/dist/gpp/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { drive } from './_drive.mjs';
import { latencySummary, machine } from './_stats.mjs';

/** IAB reference strings (the iabgpp-es library's test suite). */
const USNAT = 'DBABLA~CVVVkkkkkpFY.YA';
const TCF = 'DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAAOwAQAOgAAAA.IAOgBgAAgAAA.YAAAAAAAAAAA';

function rate(n, f) {
  const t = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return Math.round(n / ((performance.now() - t) / 1000));
}

export async function run({ quick = false } = {}) {
  const records = quick ? 5_000 : 30_000;
  console.error('measuring the raw Ed25519 verify ceiling on all cores...');
  const ceiling = await rawVerifyRate();
  const org = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: 'bench',
    members: [
      { id: 'bank', name: 'Bench bank', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile('bank') },
    ],
    params: { blockMaxTxs: 2000, blockMaxMs: 10 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
  try {
    const node = await CustosNode.open({
      dbPath: join(dir, 'node.db'),
      genesis,
      signers: [org],
      maxPending: 1_000_000,
    });
    console.error(`signing ${records} gpp.record transactions...`);
    const now = Date.now();
    const txs = Array.from({ length: records }, () =>
      signTx(
        { chainId: 'bench', type: 'gpp.record', args: { org: 'bank', gpp: USNAT }, now, ttlMs: 3_000_000 },
        nativeSigner(randomSecretKey()),
      ),
    );
    const r = await drive(node, txs);
    const throughput = (r.sent - r.failed) / r.seconds;
    console.error(`${Math.round(throughput)} gpp.record/s`);
    await node.close();
    const n = quick ? 2_000 : 10_000;
    const same = { sale: true, share: true, targeted: true, sensitive: true, consented: new Set(), gpc: false };
    const decodeUsnat = rate(n, () => decodeGpp(USNAT));
    const decodeTcf = rate(n, () => decodeGpp(TCF));
    const emitUsnat = rate(n, () => emitGpp(USNAT, same));
    return {
      scenario: 'gpp-records',
      succeeded: r.sent - r.failed,
      failed: r.failed,
      send_rate: Math.round(r.sent / r.seconds),
      throughput: Math.round(throughput),
      unit: 'gpp.record/s',
      latency_ms: latencySummary(r.latencies),
      ceiling: { name: 'ed25519_verify_per_s_all_cores', value: ceiling },
      ratio: Math.round((throughput / ceiling) * 1000) / 1000,
      in_process_per_s: { decode_usnat: decodeUsnat, decode_tcf: decodeTcf, emit_usnat: emitUsnat },
      machine: machine(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
