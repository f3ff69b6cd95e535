/**
 * Crash safety: kill the node with SIGKILL at random moments under load, at least 20 times, and after
 * each restart check that no acknowledged transaction is lost, no block is half applied, the state
 * and log roots recomputed from the blocks equal the stored ones, and the node serves again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import { toHex } from '@custos/protocol/encoding';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { exampleProfile } from '../src/demo/profiles.js';
import { makeGenesis } from '../src/genesis.js';
import { auditChain } from '../src/peer/audit.js';
import { SqliteStore } from '../src/store/sqlite.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));
const KILLS = 24;

interface Run {
  child: ChildProcess;
  acked: Map<string, number>;
  ready: Promise<number>;
}

function startChild(dbPath: string, genesisPath: string, orgKey: string): Run {
  const child = spawn(process.execPath, [CHILD, dbPath, genesisPath], {
    env: { ...process.env, CUSTOS_TEST_ORG_KEY: orgKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Map<string, number>();
  let buf = '';
  let onReady!: (h: number) => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<number>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const [kind, a, b] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      if (kind === 'READY') onReady(Number(a));
      if (kind === 'ACK') acked.set(a!, Number(b));
      nl = buf.indexOf('\n');
    }
  });
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL') onFail(new Error(`child exited early (${code ?? signal}): ${stderr.slice(0, 2000)}`));
  });
  return { child, acked, ready };
}

function kill(run: Run): Promise<void> {
  return new Promise((resolve) => {
    run.child.once('exit', () => resolve());
    run.child.kill('SIGKILL');
  });
}

const tmp = tempDir('custos-crash-');
afterAll(() => tmp.cleanup());

describe('crash safety', () => {
  it(`keeps every acknowledged transaction and a consistent chain across ${KILLS} SIGKILLs under load`, async () => {
    const orgSecret = randomSecretKey();
    const org = nativeSigner(orgSecret);
    const genesis = makeGenesis({
      chainId: 'crash',
      members: [{ id: 'org', name: 'Org', keys: [didFromPublicKey(org.publicKey)], profile: exampleProfile('org') }],
      params: { blockMaxTxs: 200, blockMaxMs: 5 },
    });
    const dbPath = join(tmp.dir, 'node.db');
    const genesisPath = join(tmp.dir, 'genesis.json');
    writeFileSync(genesisPath, JSON.stringify(genesis));
    const allAcked = new Map<string, number>();
    let lastHeight = -1;

    for (let k = 0; k < KILLS; k++) {
      const run = startChild(dbPath, genesisPath, toHex(orgSecret));
      const startHeight = await run.ready;
      // The restarted node is at least where the previous one's acknowledgements were.
      expect(startHeight).toBeGreaterThanOrEqual(lastHeight);
      // Kill at a random moment once the node is under load: after its first acknowledgement (a
      // loaded machine can take longer than the random delay to start the verifier and commit a
      // block, and a kill before then tests nothing), then 0-350 ms into the stream of blocks.
      const loaded = Date.now() + 30_000;
      while (run.acked.size === 0 && Date.now() < loaded) await new Promise((r) => setTimeout(r, 10));
      expect(run.acked.size, 'the node acknowledged nothing within 30 s').toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 350)));
      await kill(run);
      for (const [id, h] of run.acked) allAcked.set(id, h);

      const report = auditChain(dbPath);
      expect(report.problems).toEqual([]);
      const store = new SqliteStore(dbPath, { readonly: true });
      try {
        for (const [txId, height] of run.acked) {
          const t = store.getTx(txId);
          expect(t, `acknowledged transaction ${txId} lost`).not.toBeNull();
          expect(t!.height).toBe(height);
        }
        const head = store.latestHeader()!;
        expect(report.stateRoot).toBe(head.stateRoot);
        lastHeight = head.height;
      } finally {
        store.close();
      }
    }
    expect(allAcked.size).toBeGreaterThan(KILLS * 10);

    // Serves again: a final restart commits new transactions on top of everything.
    const final = startChild(dbPath, genesisPath, toHex(orgSecret));
    await final.ready;
    const before = final.acked.size;
    const deadline = Date.now() + 10_000;
    while (final.acked.size < before + 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await kill(final);
    expect(final.acked.size).toBeGreaterThanOrEqual(before + 50);
    const store = new SqliteStore(dbPath, { readonly: true });
    try {
      for (const txId of allAcked.keys()) expect(store.getTx(txId)).not.toBeNull();
    } finally {
      store.close();
    }
    expect(auditChain(dbPath).ok).toBe(true);
  }, 300_000);
});
