/**
 * Consortium operations on a real etcd cluster, in one process:
 *
 * - Backup while running: `custos backup` (SQLite online backup through a second connection) copies
 *   peer 1's store while it commits; the chain moves on without peer 1; `custos restore` puts the
 *   copy into a fresh home, which opens as peer 1 and catches up to the others' final height with
 *   the same state root and header hash, then certifies new blocks with them.
 * - Governance admits a 4th member (2 of 3 votes) with its key and endpoint; a 4th peer holding only
 *   that key starts from the chain. Its signature over the admission block itself does not count;
 *   from the next height it does: with two of the original three stopped, the remaining original
 *   peer, the new one and a stopped member's signature make the quorum of three (four members), and
 *   the certificate carries the new member's signature.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { checkpointOf, proveMemberKey, signCheckpoint, verifyQuorumCertificate } from '@custos/protocol/ledger';
import { EtcdCluster, needsEtcd } from '@custos/test-utils/etcd';
import { fixture, type TestPeer, TestPeers, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { Command } from 'commander';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerBackupCommands } from '../src/cli/commands-backup.js';
import { sigKey } from '../src/consortium/etcd-board.js';
import { nativeVerifier } from '../src/crypto/native.js';
import { memberSetOf } from '../src/genesis.js';
import { memberSetAt } from '../src/governance/member-set.js';
import { type Proposal, proposalKey } from '../src/governance/state.js';
import { DB_FILE } from '../src/home.js';

const HAVE_ETCD = needsEtcd(import.meta.url);
const ORGS = ['bank', 'insurer', 'retailer'];

describe.skipIf(!HAVE_ETCD)('consortium operations', () => {
  let cluster: EtcdCluster;
  const tmp = tempDir();
  const user = userSigner();
  let n = 0;
  const next = (ns: string) => tx(user, 'kv.put', { ns, key: `k${n}`, value: n++ });

  const peers = new TestPeers();
  const open = (
    f: ReturnType<typeof fixture>,
    opts: { peerId: string; signer: Signer; dbPath: string; prefix: string; peers?: string[]; http?: boolean },
  ): Promise<TestPeer> =>
    peers.open({
      peerId: opts.peerId,
      dbPath: opts.dbPath,
      genesis: f.genesis,
      signers: [opts.signer],
      etcd: { endpoints: cluster.endpoints, prefix: opts.prefix },
      ...(opts.peers === undefined ? {} : { peers: opts.peers }),
      ...(opts.http === undefined ? {} : { http: opts.http }),
    });
  const stop = (p: TestPeer) => peers.stop(p);

  /** Runs a `custos` backup/restore command in process; returns its --json document. */
  async function cli(args: string[]): Promise<Record<string, unknown>> {
    const program = new Command().exitOverride();
    registerBackupCommands(program);
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync([...args, '--json'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    return JSON.parse(lines.join('')) as Record<string, unknown>;
  }

  beforeAll(async () => {
    cluster = await EtcdCluster.start(1);
  }, 60_000);

  afterAll(async () => {
    await peers.closeAll();
    await cluster?.close();
    tmp.cleanup();
  });

  it('backs up a running peer, and the restored store catches up as that peer', async () => {
    const f = fixture(ORGS, { blockMaxTxs: 2, blockMaxMs: 5 });
    const prefix = `/custos/bk${Date.now()}`;
    const homeA = join(tmp.dir, 'bank-home');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(homeA, { recursive: true });
    const a = await open(f, { peerId: 'bank', signer: f.orgs.bank!, dbPath: join(homeA, DB_FILE), prefix });
    const b = await open(f, {
      peerId: 'insurer',
      signer: f.orgs.insurer!,
      dbPath: join(tmp.dir, 'insurer.db'),
      prefix,
      http: true,
    });
    const c = await open(f, {
      peerId: 'retailer',
      signer: f.orgs.retailer!,
      dbPath: join(tmp.dir, 'retailer.db'),
      prefix,
      http: true,
    });

    // Load on peer 1 while the backup runs.
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await a.node.submitAndWait(next('bk'));
        expect(r.code).toBe('OK');
      }
    })();
    while (a.node.latest().height < 5) await new Promise((r) => setTimeout(r, 10));
    const file = join(tmp.dir, 'bank.backup');
    const before = a.node.latest().height;
    const backup = await cli(['backup', '--out', file, '--home', homeA]);
    const during = a.node.latest().height;
    const backupHeight = backup.height as number;
    expect(backup.chainId).toBe('test');
    expect(backupHeight).toBeGreaterThanOrEqual(before);
    expect(backupHeight).toBeLessThanOrEqual(during);
    // The chain moves on past the backup, first with peer 1, then without it (lost with its disk).
    while (a.node.latest().height < backupHeight + 5) await new Promise((r) => setTimeout(r, 10));
    loading = false;
    await load;
    await stop(a);
    let top = 0;
    for (let i = 0; i < 6; i++) top = (await b.node.submitAndWait(next('bk'))).height;
    await b.node.waitFinal(top, 20_000);
    await c.node.waitFinal(top, 20_000);
    expect(top).toBeGreaterThan(backupHeight + 5);

    // Restored into a fresh home, as `custos restore` does, and opened as peer 1.
    const homeA2 = join(tmp.dir, 'bank-home-2');
    const restored = await cli(['restore', file, '--home', homeA2]);
    expect(restored).toMatchObject({ chainId: 'test', height: backupHeight });
    const a2 = await open(f, {
      peerId: 'bank',
      signer: f.orgs.bank!,
      dbPath: join(homeA2, DB_FILE),
      prefix,
      peers: [b.url!, c.url!],
    });
    await a2.node.waitFinal(top, 30_000);
    const deadline = Date.now() + 30_000;
    while (a2.node.latest().height < top && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(a2.node.latest().height).toBeGreaterThanOrEqual(top);
    for (const h of [backupHeight, backupHeight + 1, top]) {
      expect(a2.node.store.getHeader(h)!.hash).toBe(b.node.store.getHeader(h)!.hash);
      expect(a2.node.store.getHeader(h)!.header.stateRoot).toBe(b.node.store.getHeader(h)!.header.stateRoot);
    }
    // Back on etcd with the others: it orders, executes and certifies new blocks.
    const r = await a2.node.submitAndWait(next('bk'));
    expect(r.code).toBe('OK');
    const qcs = await Promise.all([a2, b, c].map((p) => p.node.waitFinal(r.height, 20_000)));
    for (const qc of qcs) verifyQuorumCertificate(qc, memberSetOf(f.genesis), nativeVerifier, 'test');
    expect(new Set([a2, b, c].map((p) => p.node.store.getHeader(r.height)!.hash)).size).toBe(1);
    expect(new Set([a2, b, c].map((p) => p.node.store.getHeader(r.height)!.header.stateRoot)).size).toBe(1);
    for (const p of [a2, b, c]) await stop(p);
  }, 90_000);

  it('admits a member by vote; its peer signs with effect from the height after the admission', async () => {
    const f = fixture(ORGS, { blockMaxTxs: 10, blockMaxMs: 5 });
    const prefix = `/custos/gv${Date.now()}`;
    const peer = (org: string) =>
      open(f, { peerId: org, signer: f.orgs[org]!, dbPath: join(tmp.dir, `gv-${org}.db`), prefix });
    const [a, b, c] = [await peer('bank'), await peer('insurer'), await peer('retailer')];
    const clinic = userSigner();
    const clinicDid = didFromPublicKey(clinic.publicKey);
    const endpoint = 'https://peer.clinic.example:8443';
    const send = (signer: Signer, type: string, args: { [k: string]: JsonValue }) =>
      a.node.submitAndWait(tx(signer, type, args));

    for (let i = 0; i < 3; i++) await b.node.submitAndWait(next('gv'));
    const p = await send(f.orgs.bank!, 'gov.propose', {
      action: {
        kind: 'admit',
        id: 'clinic',
        name: 'clinic org',
        keys: [clinicDid],
        endpoint,
        proofs: [proveMemberKey(clinic, { chainId: f.genesis.chainId, member: 'clinic', action: 'admit' }).proof],
      },
      reason: 'joins the consortium',
    });
    expect(p.code).toBe('OK');
    await Promise.all([a, b, c].map((x) => x.node.waitFinal(p.height, 20_000)));

    // The 4th peer starts from the chain (genesis, then the blocks from etcd), holding only the new key.
    const d = await open(f, { peerId: 'clinic', signer: clinic, dbPath: join(tmp.dir, 'gv-clinic.db'), prefix });
    const waitHeight = async (x: TestPeer, h: number) => {
      const deadline = Date.now() + 20_000;
      while (x.node.latest().height < h) {
        if (Date.now() > deadline) throw new Error(`peer did not reach height ${h}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitHeight(d, p.height);
    expect(d.node.store.getHeader(p.height)!.hash).toBe(a.node.store.getHeader(p.height)!.hash);

    // Two of the original three stop; the second vote (2 of 3) is ordered through etcd all the same.
    await stop(b);
    await stop(c);
    const v = await send(f.orgs.insurer!, 'gov.vote', { proposal: p.txId, vote: 'yes' });
    expect(v.code).toBe('OK');
    const prop = JSON.parse(a.node.store.getState(proposalKey(p.txId))!) as Proposal;
    expect(prop).toMatchObject({ status: 'executed', decidedAt: v.height, effectiveFrom: v.height + 1 });
    expect(JSON.parse(a.node.store.getState('member/clinic')!)).toMatchObject({ keys: [clinicDid], endpoint });
    await waitHeight(d, v.height);
    expect(d.node.store.getHeader(v.height)!.hash).toBe(a.node.store.getHeader(v.height)!.hash);

    // At the admission height the new key's signature is not a member's: bank's alone is no quorum.
    const cpV = checkpointOf(a.node.store.getHeader(v.height)!.header);
    const etcd = new Etcd3({ hosts: cluster.endpoints });
    const put = (member: string, signer: Signer) =>
      etcd
        .namespace(`${prefix}/sigs/`)
        .put(sigKey(v.height, member))
        .value(JSON.stringify({ checkpoint: cpV, signatures: [signCheckpoint(cpV, signer)] }));
    try {
      await put('clinic', clinic);
      await new Promise((r) => setTimeout(r, 2500)); // over two sweeps of the board (1 s each)
      expect(a.node.latestFinal()).toBeLessThan(v.height);
      expect(d.node.latestFinal()).toBeLessThan(v.height);
      expect(a.node.fatalError()).toBeUndefined();
      // The same path with an original member's signature (the stopped insurer's) does make it final.
      await put('insurer', f.orgs.insurer!);
      const qcV = await a.node.waitFinal(v.height, 20_000);
      expect(qcV.signatures.map((s) => s.signer)).not.toContain(clinicDid);
      verifyQuorumCertificate(qcV, memberSetOf(f.genesis), nativeVerifier, 'test');
    } finally {
      etcd.close();
    }

    // From the next height the new member's signature counts. Four members need a quorum of three
    // (the admission raised the threshold, trust #12): bank + clinic + the stopped insurer's signature.
    const after = await a.node.submitAndWait(next('gv'));
    expect(after.height).toBeGreaterThan(v.height);
    expect(memberSetAt(a.node.store).threshold).toBe(3);
    const cpA = checkpointOf(a.node.store.getHeader(after.height)!.header);
    const etcd2 = new Etcd3({ hosts: cluster.endpoints });
    try {
      await etcd2
        .namespace(`${prefix}/sigs/`)
        .put(sigKey(after.height, 'insurer'))
        .value(JSON.stringify({ checkpoint: cpA, signatures: [signCheckpoint(cpA, f.orgs.insurer!)] }));
    } finally {
      etcd2.close();
    }
    const qc = await a.node.waitFinal(after.height, 20_000);
    await d.node.waitFinal(after.height, 20_000);
    const signers = qc.signatures.map((s) => s.signer);
    expect(signers).toContain(clinicDid);
    expect(signers).toContain(didFromPublicKey(f.orgs.bank!.publicKey));
    const now = memberSetAt(a.node.store);
    expect(now.members.map((m) => m.id)).toEqual(['bank', 'clinic', 'insurer', 'retailer']);
    verifyQuorumCertificate(qc, now, nativeVerifier, 'test');
    const withoutInsurer = {
      ...qc,
      signatures: qc.signatures.filter((s) => s.signer !== didFromPublicKey(f.orgs.insurer!.publicKey)),
    };
    expect(() => verifyQuorumCertificate(withoutInsurer, memberSetOf(f.genesis), nativeVerifier, 'test')).toThrow();
    expect(d.node.store.getHeader(after.height)!.hash).toBe(a.node.store.getHeader(after.height)!.hash);
  }, 90_000);
});
