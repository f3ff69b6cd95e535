/**
 * Member-set epochs across chains (issue 11, finding 3): chain alpha admits a member, rotates a key
 * and removes a member; the relayer carries alpha's certified member-set updates to beta's light
 * client by itself; a cross-chain commit then verifies on beta against alpha's current set, and a
 * vote certified with alpha's removed and rotated-out keys is refused. Forged, replayed and skipped
 * updates are refused by beta's `interop.updateMembers`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import type { LightClientState } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type MemberSetUpdate,
  proveMemberKey,
  type QuorumCertificate,
  signCheckpoint,
  signTx,
} from '@custos/protocol/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { memberSetUpdates } from '../src/governance/epochs.js';
import {
  type Chain,
  connect,
  decideTx,
  freshKey,
  kvValue,
  kvXtx,
  openChain,
  prepareTx,
  register,
  relayer,
  relaySigner,
  restart,
  send,
  settle,
  stop,
  submit,
  voteProof,
} from './xtx-helpers.js';

const did = (s: Signer) => didFromPublicKey(s.publicKey);
const signedBy = (qc: QuorumCertificate, signers: Signer[]): QuorumCertificate => ({
  checkpoint: qc.checkpoint,
  signatures: signers.map((s) => signCheckpoint(qc.checkpoint, s)),
});

let dir: string;
let alpha: Chain;
let beta: Chain;
const erin = nativeSigner(randomSecretKey());
const org1New = nativeSigner(randomSecretKey());
const owner = nativeSigner(randomSecretKey());

async function pass(action: { [k: string]: JsonValue }, proposer: Signer, voters: Signer[]): Promise<void> {
  const p = await alpha.node.submitAndWait(
    signTx(
      { chainId: alpha.chainId, type: 'gov.propose', args: { action, reason: 'the consortium agreed to' } },
      proposer,
    ),
  );
  expect(p.code).toBe('OK');
  for (const v of voters) expect(await send(alpha, v, 'gov.vote', { proposal: p.txId, vote: 'yes' })).toBe('OK');
}

function lightClient(on: Chain, of: Chain): LightClientState {
  return JSON.parse(on.node.store.getState(`lc/${of.chainId}`)!) as LightClientState;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custos-epochs-xtx-'));
  // alpha: four members, 3 of 4; its peer will also hold the keys governance brings in.
  alpha = await openChain(dir, 'alpha', ['org1', 'org2', 'org3', 'org4']);
  beta = await openChain(dir, 'beta');
  await connect([alpha, beta]);
  await stop(alpha);
  await restart(alpha, [...Object.values(alpha.orgs), erin, org1New]);
  const { org1, org2, org3, org4 } = alpha.orgs as Record<string, Signer>;
  await pass(
    {
      kind: 'admit',
      id: 'erin',
      name: 'Erin',
      keys: [did(erin)],
      proofs: [proveMemberKey(erin, { chainId: alpha.chainId, member: 'erin', action: 'admit' }).proof],
      endpoint: 'https://peer.erin.example',
    },
    org1!,
    [org2!, org3!],
  );
  await pass(
    {
      kind: 'rotateKey',
      member: 'org1',
      oldKey: did(org1!),
      newKey: did(org1New),
      proof: proveMemberKey(org1New, { chainId: alpha.chainId, member: 'org1', action: 'rotateKey' }).proof,
    },
    org2!,
    [org4!, erin],
  );
  await pass({ kind: 'remove', id: 'org3' }, org1New, [org2!, erin]);
}, 60_000);

afterAll(async () => {
  await alpha?.node.close().catch(() => {});
  await beta?.node.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('member-set epochs across chains', () => {
  it('trust #3: the relayer carries the updates; a cross-chain commit verifies on the counterparty, the removed key does not count', async () => {
    expect(lightClient(beta, alpha).epoch).toBe(0);
    const keys = { alpha: [freshKey('a')], beta: [freshKey('b')] };
    const { xtx, xtxId } = kvXtx([alpha, beta], { decision: beta, deadlineHeight: 1_000, keys, owner });
    // Prepared on both chains; alpha's YES vote is certified by its current members.
    expect(await submit(alpha, prepareTx(alpha, xtx))).toBe('OK');
    expect(await submit(beta, prepareTx(beta, xtx))).toBe('OK');
    const vote = voteProof(alpha, xtxId);
    expect(vote.certificate.signatures.map((s) => s.signer)).not.toContain(did(alpha.orgs.org3!));

    // Before the updates reach beta, its light client knows alpha's genesis set only: the vote by
    // the current members is refused there...
    expect(await submit(beta, decideTx(beta, xtx, [vote]))).toBe('UNAUTHORIZED');
    const { org1, org2, org3 } = alpha.orgs as Record<string, Signer>;

    // One relayer pass carries epochs 1-3 of alpha to beta, by itself, then drives the transaction.
    const actions = await settle(relayer([alpha, beta]));
    const members = actions.filter((a) => a.step === 'members');
    expect(members.map((a) => [a.chainId, a.xtxId, a.code])).toEqual([
      ['beta', 'epoch 1 of alpha', 'OK'],
      ['beta', 'epoch 2 of alpha', 'OK'],
      ['beta', 'epoch 3 of alpha', 'OK'],
    ]);
    const lc = lightClient(beta, alpha);
    expect(lc.epoch).toBe(3);
    expect(lc.members.members.map((m) => m.id)).toEqual(['erin', 'org1', 'org2', 'org4']);
    expect(kvValue(alpha, keys.alpha[0]!)).toBe(keys.alpha[0]);
    expect(kvValue(beta, keys.beta[0]!)).toBe(keys.beta[0]);

    // A second transaction: the forged vote by old keys is refused against the set beta now trusts.
    const second = kvXtx([alpha, beta], {
      decision: beta,
      deadlineHeight: 1_000,
      keys: { alpha: [freshKey('a')], beta: [freshKey('b')] },
      owner,
    });
    expect(await submit(alpha, prepareTx(alpha, second.xtx))).toBe('OK');
    const v2 = voteProof(alpha, second.xtxId);
    const forged2 = { ...v2, certificate: signedBy(v2.certificate, [org1!, org2!, org3!]) };
    expect(await submit(beta, decideTx(beta, second.xtx, [forged2]))).toBe('UNAUTHORIZED');
    // A later pass relays nothing more: beta is up to date.
    const again = await relayer([alpha, beta]).step();
    expect(again.filter((a) => a.step === 'members')).toEqual([]);
  });

  it('trust #3: the counterparty refuses forged, replayed and skipped member-set updates', async () => {
    const ups = memberSetUpdates(alpha.node);
    expect(ups.map((u) => u.epoch)).toEqual([1, 2, 3]);
    const gamma = await openChain(dir, 'gamma');
    try {
      // gamma registers alpha by its genesis set (epoch 0) and must follow from there.
      expect(await register(gamma, alpha)).toBe('OK');
      const sendUpdate = (u: unknown) =>
        send(gamma, relaySigner, 'interop.updateMembers', { certified: u as JsonValue });
      // Skipping epoch 1 is refused; so is epoch 1 certified by the new set instead of the old one.
      expect(await sendUpdate(ups[1])).toBe('UNAUTHORIZED');
      const { org2 } = alpha.orgs as Record<string, Signer>;
      const byNew: MemberSetUpdate = { ...ups[0]!, certificate: signedBy(ups[0]!.certificate, [erin, org1New, org2!]) };
      expect(await sendUpdate(byNew)).toBe('UNAUTHORIZED');
      // The genuine chain, in order; then a replay of epoch 2 is refused.
      for (const u of ups) expect(await sendUpdate(u)).toBe('OK');
      expect(await sendUpdate(ups[1])).toBe('UNAUTHORIZED');
      expect(lightClient(gamma, alpha).epoch).toBe(3);
      // An update by old keys (org3 removed, org1's old key) for a made-up epoch 4 is refused.
      const { org1, org3 } = alpha.orgs as Record<string, Signer>;
      const forged = { ...ups[2]!, epoch: 4, certificate: signedBy(ups[2]!.certificate, [org1!, org2!, org3!]) };
      expect(await sendUpdate(forged)).toBe('UNAUTHORIZED');
    } finally {
      await gamma.node.close();
    }
  });
});
