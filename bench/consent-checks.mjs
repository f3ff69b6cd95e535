// Scenario `consent-checks`: access checks through the node. Each is a signed `data.access` by an org
// that the ledger accepts only if a live consent covers org, purpose and category at that height
// (consent lookup), and that is logged in the history log. Compared with the ledger ceiling: the
// raw Ed25519 verify rate on all cores, measured in the same run. Consentio (consent on Fabric)
// reports about 6,000 access requests per second.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustosNode, exampleProfile, makeGenesis, nativeSigner } from '../packages/node/dist/index.js';
import { didFromPublicKey, randomSecretKey, signTx } from '../packages/protocol/dist/index.js';
import { rawVerifyRate } from './_ceiling.mjs';
import { cpuAccount, cpuSnapshot, mainThreadCpuMs, mainThreadUsPerTx } from './_cpu.mjs';
import { drive } from './_drive.mjs';
import { latencySummary, machine } from './_stats.mjs';

const DAY = 86_400_000;

export async function run({ quick = false } = {}) {
  const subjects = quick ? 200 : 1000;
  const checks = quick ? 20_000 : 60_000;
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
    console.error(`setting up ${subjects} customers with a consent and a record each...`);
    const now = Date.now();
    const setup = [];
    const people = Array.from({ length: subjects }, () => nativeSigner(randomSecretKey()));
    for (const p of people) {
      setup.push(
        signTx(
          {
            chainId: 'bench',
            type: 'consent.grant',
            args: {
              org: 'bank',
              purposes: ['dpv:Marketing', 'dpv:ServiceProvision'],
              categories: ['pd:EmailAddress'],
              expiresAt: now + 365 * DAY,
              jurisdiction: 'GDPR',
              notice: 'ab'.repeat(32),
            },
            now,
            ttlMs: 3_000_000,
          },
          p,
        ),
      );
    }
    await drive(node, setup);
    const registers = people.map((p, i) =>
      signTx(
        {
          chainId: 'bench',
          type: 'data.register',
          args: {
            subject: didFromPublicKey(p.publicKey),
            category: 'pd:EmailAddress',
            purposes: { 'dpv:Marketing': 'consent' },
            source: 'subject',
            commitment: 'cd'.repeat(32),
            vaultRef: i.toString(16).padStart(32, '0'),
            retentionDays: 365,
          },
          now,
          ttlMs: 3_000_000,
        },
        org,
      ),
    );
    const regTxIds = [];
    for (const t of registers) regTxIds.push(node.submit(t));
    const recordIds = (await Promise.all(regTxIds.map((s) => s.committed))).map((r) => r.txId);
    console.error(`signing ${checks} access checks...`);
    const accesses = Array.from({ length: checks }, (_, i) =>
      signTx(
        {
          chainId: 'bench',
          type: 'data.access',
          args: { record: recordIds[i % recordIds.length], purpose: 'dpv:Marketing', basis: 'consent' },
          now: Date.now(),
          ttlMs: 3_000_000,
        },
        org,
      ),
    );
    const snap0 = await cpuSnapshot(node.pool);
    const cpu0 = mainThreadCpuMs();
    const r = await drive(node, accesses);
    const cpu1 = mainThreadCpuMs();
    const snap1 = await cpuSnapshot(node.pool);
    const throughput = (r.sent - r.failed) / r.seconds;
    console.error(`${Math.round(throughput)} access checks/s`);
    await node.close();
    return {
      scenario: 'consent-checks',
      succeeded: r.sent - r.failed,
      failed: r.failed,
      send_rate: Math.round(r.sent / r.seconds),
      throughput: Math.round(throughput),
      unit: 'access checks/s',
      latency_ms: latencySummary(r.latencies),
      ceiling: { name: 'ed25519_verify_per_s_all_cores', value: ceiling },
      ratio: Math.round((throughput / ceiling) * 1000) / 1000,
      machine: machine(),
      subjects,
      // Main-thread CPU per check (the node's serial path and the driver's submit; the checks were
      // signed before it starts): a busy machine disturbs it far less than throughput.
      main_thread_us_per_tx: mainThreadUsPerTx(cpu0, cpu1, r.sent - r.failed),
      // The whole process's CPU per committed transaction, by thread: what the workers' verification
      // costs, what everything else costs, and the cores left idle (docs/performance.md, "Where a
      // transaction's CPU goes").
      cpu_us_per_tx: cpuAccount(snap0, snap1, r.sent - r.failed, availableParallelism()),
      comparison: { consentio_fabric_access_per_s: 6000 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
