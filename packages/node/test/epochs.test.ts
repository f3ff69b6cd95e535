/**
 * Member-set epochs on a peer (issue 11, finding 3): a member admitted, a key rotated and a member
 * removed; then an inclusion proof verifies offline from the genesis set alone, `GET
 * /v1/members/epochs` serves the certified updates, a snapshot imports against the current set, and
 * in each case a certificate signed with the removed (or rotated-out) key no longer counts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  checkpointOf,
  followMemberSetUpdates,
  genesisMemberChain,
  type InclusionBundle,
  MEMBER_SET_KEY,
  type MemberSetUpdate,
  proveMemberKey,
  type QuorumCertificate,
  signCheckpoint,
  verifyMemberSetUpdate,
  verifyProofBundle,
} from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/api/server.js';
import { exportSnapshot, importSnapshot } from '../src/consortium/snapshot.js';
import { nativeVerifier } from '../src/crypto/native.js';
import { genesisText, memberSetOf } from '../src/genesis.js';
import { memberSetAt } from '../src/governance/member-set.js';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';
import { inclusionProof } from '../src/proofs.js';
import { CliHarness } from './fixtures/cli.js';

const did = (s: Signer) => didFromPublicKey(s.publicKey);

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let app: FastifyInstance;
const erin = userSigner();
const bankNew = userSigner();
const user = userSigner();

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(tx(signer, type, args));
}

/** Proposes `action` (bank) and votes it through with `voters`. */
async function pass(action: { [k: string]: JsonValue }, proposer: Signer, voters: Signer[]): Promise<number> {
  const p = await send(proposer, 'gov.propose', { action, reason: 'the consortium agreed to' });
  expect(p.code).toBe('OK');
  let last = p.height;
  for (const v of voters) {
    const r = await send(v, 'gov.vote', { proposal: p.txId, vote: 'yes' });
    expect(r.code).toBe('OK');
    last = r.height;
  }
  return last;
}

/** A certificate of `cp` by the given keys (a forgery when they are not a quorum of the set in force). */
function signedBy(qc: QuorumCertificate, signers: Signer[]): QuorumCertificate {
  return { checkpoint: qc.checkpoint, signatures: signers.map((s) => signCheckpoint(qc.checkpoint, s)) };
}

async function* chunks(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text, 'utf8');
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const c of stream) s += typeof c === 'string' ? c : Buffer.from(c as Uint8Array).toString('utf8');
  return s;
}

beforeAll(async () => {
  tmp = tempDir();
  // Four founders, 3 of 4; the peer holds every key, including those governance will bring in.
  fx = fixture(['bank', 'insurer', 'retailer', 'clinic']);
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: [...Object.values(fx.orgs), erin, bankNew],
    verifyThreads: 1,
  });
  app = createServer(node, { rateLimit: false });
  const { bank, insurer, retailer, clinic } = fx.orgs as Record<string, Signer>;
  await send(user, 'kv.put', { ns: 'ep', key: 'before', value: 1 });
  // Epoch 1: erin admitted (3 of 5). Epoch 2: bank's key rotated. Epoch 3: retailer removed (3 of 4).
  await pass(
    {
      kind: 'admit',
      id: 'erin',
      name: 'Erin org',
      keys: [did(erin)],
      proofs: [proveMemberKey(erin, { chainId: 'test', member: 'erin', action: 'admit' }).proof],
      endpoint: 'https://peer.erin.example',
    },
    bank!,
    [insurer!, retailer!],
  );
  await pass(
    {
      kind: 'rotateKey',
      member: 'bank',
      oldKey: did(bank!),
      newKey: did(bankNew),
      proof: proveMemberKey(bankNew, { chainId: 'test', member: 'bank', action: 'rotateKey' }).proof,
    },
    insurer!,
    [clinic!, erin],
  );
  await pass({ kind: 'remove', id: 'retailer' }, bankNew, [insurer!, erin]);
  await send(user, 'kv.put', { ns: 'ep', key: 'after', value: 2 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await node?.close();
  tmp.cleanup();
});

describe('member-set epochs on a peer', () => {
  it('records one epoch per change, each proven under a header certified by the set before it', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/members/epochs' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { latestEpoch: number; updates: MemberSetUpdate[]; next: number | null };
    expect(body.latestEpoch).toBe(3);
    expect(body.next).toBeNull();
    expect(body.updates.map((u) => u.epoch)).toEqual([1, 2, 3]);
    const chain = followMemberSetUpdates(
      genesisMemberChain('test', memberSetOf(fx.genesis)),
      body.updates,
      nativeVerifier,
    );
    expect(chain.epochs[3]!.members).toEqual(memberSetAt(node.store));
    expect(JSON.parse(node.store.getState(MEMBER_SET_KEY)!)).toMatchObject({ epoch: 3 });
    // Paging, and a bad query refused.
    const page = (await app.inject({ method: 'GET', url: '/v1/members/epochs?from=3' })).json() as typeof body;
    expect(page.updates.map((u) => u.epoch)).toEqual([3]);
    expect((await app.inject({ method: 'GET', url: '/v1/members/epochs?from=x' })).statusCode).toBe(400);
    // The auditor's replay computes the same states (the executor writes gov/memberset).
    expect(auditChain(join(tmp.dir, 'node.db'))).toMatchObject({ ok: true, problems: [] });
  });

  it('trust #3: an inclusion proof verifies offline against the current set, and the removed key no longer counts', async () => {
    const r = await send(user, 'kv.put', { ns: 'ep', key: 'proved', value: 3 });
    const bundle = inclusionProof(node, r.txId);
    expect(bundle.memberSetUpdates.map((u) => u.epoch)).toEqual([1, 2, 3]);
    const genesisSet = memberSetOf(fx.genesis);
    expect(verifyProofBundle(bundle, genesisSet, nativeVerifier, 'test')).toMatchObject({
      kind: 'inclusion',
      entry: { txId: r.txId },
    });
    // Signed by erin and bankNew: before epochs, a verifier holding the genesis set refused it.
    expect(() => verifyProofBundle({ ...bundle, type: 'custos/inclusion/v1' }, genesisSet, nativeVerifier)).toThrow(
      /not a member key/,
    );

    // A quorum of the genesis set with the removed member's key and the rotated-out key: it counted before.
    const { bank, insurer, retailer } = fx.orgs as Record<string, Signer>;
    const forged: InclusionBundle = {
      ...bundle,
      certificate: signedBy(bundle.certificate, [bank!, retailer!, insurer!]),
    };
    expect(() => verifyProofBundle(forged, genesisSet, nativeVerifier, 'test')).toThrow(/not a member key/);
    // Leaving out the updates does not help against a verifier that follows the chain's epochs.
    const body = (await app.inject({ method: 'GET', url: '/v1/members/epochs' })).json() as {
      updates: MemberSetUpdate[];
    };
    const current = followMemberSetUpdates(genesisMemberChain('test', genesisSet), body.updates, nativeVerifier);
    expect(() => verifyProofBundle({ ...forged, memberSetUpdates: [] }, current, nativeVerifier)).toThrow(
      /not a member key/,
    );
    // Nor does a forged update by the old keys that "restores" the genesis set.
    const u3 = body.updates[2]!;
    const forgedUpdate = { ...u3, epoch: 4, certificate: signedBy(u3.certificate, [bank!, retailer!, insurer!]) };
    expect(() => verifyMemberSetUpdate(current.epochs[3]!, forgedUpdate, nativeVerifier, 'test')).toThrow(
      /effectiveFrom|before epoch|not certified/,
    );
  });

  it('trust #3: `custos verify` checks a proof offline with the genesis alone, and refuses the removed key', async () => {
    const r = await send(user, 'kv.put', { ns: 'ep', key: 'cli', value: 4 });
    const bundle = inclusionProof(node, r.txId);
    const { bank, insurer, retailer } = fx.orgs as Record<string, Signer>;
    const forged = { ...bundle, certificate: signedBy(bundle.certificate, [bank!, retailer!, insurer!]) };
    const epochs = (await app.inject({ method: 'GET', url: '/v1/members/epochs' })).json() as object;
    const cli = new CliHarness('custos-epochs-cli-');
    try {
      const file = (name: string, v: unknown) => {
        const path = join(cli.tmp.dir, name);
        writeFileSync(path, typeof v === 'string' ? v : JSON.stringify(v));
        return path;
      };
      const genesis = file('genesis.json', genesisText(fx.genesis));
      const ok = await cli.run(['verify', file('ok.json', bundle), '--genesis', genesis, '--json']);
      expect(ok.stderr).toBe('');
      expect(JSON.parse(ok.stdout)).toMatchObject({
        ok: true,
        kind: 'inclusion',
        height: bundle.certificate.checkpoint.height,
      });
      const bad = await cli.run(['verify', file('forged.json', forged), '--genesis', genesis]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/BAD_CERTIFICATE.*not a member key/);
      // Holding the epochs, the verifier refuses it even with the bundle's updates left out.
      const stripped = file('stripped.json', { ...forged, memberSetUpdates: [] });
      const held = await cli.run(['verify', stripped, '--genesis', genesis, '--epochs', file('epochs.json', epochs)]);
      expect(held.code).not.toBe(0);
      expect(held.stderr).toMatch(/not a member key/);
    } finally {
      cli.tmp.cleanup();
    }
  });

  it('trust #3: a snapshot imports against the current set; one certified with the removed key is refused', async () => {
    const { stream, height } = await exportSnapshot(node);
    const text = await streamText(stream);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]!.snapshot).toBe('custos-snapshot/2');
    const dbPath = join(tmp.dir, 'joiner.db');
    const imported = await importSnapshot({ source: chunks(text), dbPath, genesis: fx.genesis });
    expect(imported.height).toBe(height);
    // The joiner serves the same epochs it imported.
    const joiner = await CustosNode.open({ dbPath, verifyThreads: 1 });
    try {
      const joinerApp = createServer(joiner, { rateLimit: false });
      const body = (await joinerApp.inject({ method: 'GET', url: '/v1/members/epochs' })).json() as {
        updates: MemberSetUpdate[];
      };
      expect(body.updates.map((u) => u.epoch)).toEqual([1, 2, 3]);
      await joinerApp.close();
    } finally {
      await joiner.close();
    }

    const { bank, insurer, retailer } = fx.orgs as Record<string, Signer>;
    const attempt = async (name: string, first: Record<string, unknown>) => {
      const tampered = [first, ...lines.slice(1)].map((l) => JSON.stringify(l)).join('\n');
      const path = join(tmp.dir, `${name}.db`);
      const p = importSnapshot({ source: chunks(`${tampered}\n`), dbPath: path, genesis: fx.genesis });
      await expect(p).rejects.toMatchObject({ code: 'CATCH_UP_FAILED' });
      expect(existsSync(path)).toBe(false);
      return p.catch((e: { message: string; details: { reason: string } }) => e);
    };
    const head = lines[0]!;
    const qc = head.qc as QuorumCertificate;
    expect(checkpointOf(head.header as never)).toEqual(qc.checkpoint);
    // The old keys (removed retailer, rotated-out bank) with insurer: a genesis quorum, not a current one.
    const old = await attempt('old-keys', { ...head, qc: signedBy(qc, [bank!, retailer!, insurer!]) });
    expect(old).toMatchObject({ details: { reason: 'CERTIFICATE' } });
    expect((old as { message: string }).message).toMatch(/epoch 3.*not a member key/);
    // Leaving out the updates: the genesis set does not certify the base block, and the state says epoch 3.
    const bare = await attempt('no-updates', { ...head, memberSetUpdates: [] });
    expect(bare).toMatchObject({ details: { reason: expect.stringMatching(/CERTIFICATE|MEMBERS/) } });
    // A forged update is refused as such.
    const ups = head.memberSetUpdates as MemberSetUpdate[];
    const forgedUps = [
      { ...ups[0]!, certificate: signedBy(ups[0]!.certificate, [erin, bankNew, insurer!]) },
      ...ups.slice(1),
    ];
    const forged = await attempt('forged-update', { ...head, memberSetUpdates: forgedUps });
    expect(forged).toMatchObject({ details: { reason: 'MEMBERS' } });
    // A repeated epoch (whose copy would otherwise be kept unverified) is refused too.
    const repeated = await attempt('repeated-update', { ...head, memberSetUpdates: [ups[0], ...ups] });
    expect(repeated).toMatchObject({ details: { reason: 'MEMBERS' } });
  });
});
