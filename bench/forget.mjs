/**
 * Scenario `forget`: what forgetting a subject costs the block that does it
 * (docs/adr/0019-forget-on-the-ledger.md): a subject with 100 and 1,000 events (a record and its
 * uses) in a ledger, erased; after the grace period, the commit latency of the block that deletes
 * its state and prunes its transactions' bodies (secure_delete, then a TRUNCATE checkpoint of the
 * WAL), against the ceiling measured in the same run: the same one-transaction block without a
 * forget, on the same node. ratio = ceiling p50 / forget ms (1: forgetting is free).
 *
 * Usage: npm run bench -- forget [--quick] (after `npm run build`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CustosNode, exampleProfile, makeGenesis, nativeSigner, SoloOrderer } from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';

const FORGET_AFTER_MS = 30 * 86_400_000;

export async function run(options = {}) {
  const sizes = options.quick ? [100] : [100, 1000];
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-forget-'));
  const bank = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: 'bench',
    time: Date.now() - 1000,
    members: [{ id: 'bank', name: 'Bank', keys: [didFromPublicKey(bank.publicKey)], profile: exampleProfile('bank') }],
    params: { blockMaxTxs: 500, blockMaxMs: 2 },
  });
  let clock = Date.now();
  const now = () => clock;
  const node = await CustosNode.open({
    dbPath: join(dir, 'node.db'),
    genesis,
    signers: [bank],
    verifyThreads: 1,
    now,
    orderer: new SoloOrderer({ maxTxs: 500, maxWaitMs: 2, now }),
  });
  const send = (signer, type, args) => node.submitAndWait(signTx({ chainId: 'bench', type, args, now: clock }, signer));
  let tick = 0;
  const timedTick = async () => {
    const t0 = performance.now();
    const r = await send(bank, 'kv.put', { ns: 'tick', key: 'k', value: tick++ });
    if (r.code !== 'OK') throw new Error(`tick: ${r.code}`);
    return performance.now() - t0;
  };
  const results = [];
  try {
    for (const events of sizes) {
      const customer = nativeSigner(randomSecretKey());
      const did = didFromPublicKey(customer.publicKey);
      const reg = await send(bank, 'data.register', {
        subject: did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        commitment: 'cd'.repeat(32),
        vaultRef: '0f'.repeat(16),
        retentionDays: 30,
      });
      const uses = Array.from({ length: events - 1 }, () =>
        node.submitAndWait(
          signTx(
            {
              chainId: 'bench',
              type: 'data.access',
              args: { record: reg.txId, purpose: 'dpv:ServiceProvision', basis: 'contract' },
              now: clock,
            },
            bank,
          ),
        ),
      );
      await Promise.all(uses);
      const req = await send(customer, 'request.open', { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' });
      await send(bank, 'data.erased', { records: [reg.txId], reason: 'request' });
      const f = await send(bank, 'request.fulfil', { request: req.txId });
      if (f.code !== 'OK') throw new Error(`fulfil: ${f.code}`);
      // The ceiling: the same one-transaction block without a forget, just before.
      const ceiling = [];
      for (let i = 0; i < 21; i++) ceiling.push(await timedTick());
      ceiling.sort((a, b) => a - b);
      clock += FORGET_AFTER_MS + 60_000;
      const forgetMs = await timedTick();
      const pruned = node.store.getTx(req.txId)?.tx === null;
      if (!pruned) throw new Error('the subject was not forgotten');
      const ceilingP50 = ceiling[10];
      results.push({
        events: events + 2,
        forget_block_ms: Number(forgetMs.toFixed(2)),
        ceiling_block_ms_p50: Number(ceilingP50.toFixed(2)),
        ratio: Number((ceilingP50 / forgetMs).toFixed(3)),
      });
      console.error(JSON.stringify(results.at(-1)));
    }
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { scenario: 'forget', unit: 'ms', results };
}
