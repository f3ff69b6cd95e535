/**
 * The EVM side's member set follows Custos governance (docs/interop.md, "Member-set updates"), on
 * a Custos decision chain and a real Hardhat chain: when governance moves the EVM member set to a
 * new epoch (a compromised key rotated or taken out, a key added), the members' peers sign the new
 * set for the registered contract (`evm.signMembers`), and relayers (several, replaced after a
 * crash) submit `updateMembers` in epoch order, skipping what is already in. After the update the
 * old key's signatures are refused by the contract and the new set's accepted; a decision made
 * under the old set is signed again under the new one and applied.
 */

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomSecretKey } from '@custos/protocol/crypto';
import {
  evmAddress,
  evmDecisionDigest,
  evmLegHash,
  evmMembersDigest,
  evmSecretKey,
  evmSign,
  proveEvmKey,
  sortEvmSignatures,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { removeEvmKeyAction, setEvmKeyAction } from '@custos/sdk';
import { reverts } from '@custos/test-utils/evm';
import type { Address, Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { createServer, listen } from '../src/api/server.js';
import { evmLegRows } from '../src/cli/relay-evm-flags.js';
import { nativeSigner } from '../src/crypto/native.js';
import { type EvmMemberSetEntry, evmMemberSetAt } from '../src/governance/evm-member-set.js';
import { CustosParticipant } from '../src/interop/evm/contracts/artifacts.generated.js';
import { EvmDecisionSigner } from '../src/interop/evm/member-duties.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import { xtxStatus } from '../src/interop/xtx-status.js';
import { tokenStoreOf } from '../src/orgs/tokens.js';
import {
  evmRelayer,
  evmXtx,
  expectOk,
  ORGS,
  outcomeOf,
  prepareOnD,
  prepareOnEvm,
  runUntilDone,
  sendAs,
  stateOf,
  useEvmWorld,
} from './evm-xtx-helpers.js';
import { kvValue } from './xtx-helpers.js';

const CLI = fileURLToPath(new URL('../dist/bin/custos.js', import.meta.url));

const w = useEvmWorld();

function custos(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, CUSTOS_PASSPHRASE: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

const evmSet = (): EvmMemberSetEntry => evmMemberSetAt(w.d.node.store)!;

/** The set the contract holds. */
async function contractSet(): Promise<{ epoch: number; members: string[]; threshold: number }> {
  const [epoch, members, threshold] = (await w.evm.publicClient.readContract({
    address: w.participant,
    abi: CustosParticipant.abi,
    functionName: 'memberSet',
  })) as [bigint, readonly Address[], bigint];
  return { epoch: Number(epoch), members: members.map((m) => m.toLowerCase()), threshold: Number(threshold) };
}

/** A governance proposal by org1 and org2's vote (the rotateKey rule: a majority of three). */
async function govPass(action: { [k: string]: JsonValue }): Promise<string> {
  const p = await w.d.node.submitAndWait(
    signTx({ chainId: w.d.chainId, type: 'gov.propose', args: { action, reason: 'EVM key change' } }, w.d.orgs.org1!),
  );
  if (p.code !== 'OK') return p.code;
  return sendAs(w, 'org2', 'gov.vote', { proposal: p.txId, vote: 'yes' });
}

/** The org's decision signer now holds `key` (its operator installed the new keystore). */
function useKey(org: string, key: Uint8Array): void {
  w.evmKeys[org] = key;
  w.signers[ORGS.indexOf(org)] = new EvmDecisionSigner({ chain: w.ep, signer: w.d.orgs[org]!, evmKey: key });
}

async function signersStep(): Promise<void> {
  for (const s of w.signers) await s.step();
}

/** A relayer whose submitted steps and errors the test reads. */
function watchedRelayer(account: Address, onAction: (a: RelayAction) => void = () => {}) {
  const actions: RelayAction[] = [];
  const errors: string[] = [];
  const relayer = new Relayer({
    chains: [w.ep],
    signer: nativeSigner(randomSecretKey()),
    evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: account } }],
    onAction: (a) => {
      actions.push(a);
      onAction(a);
    },
    onError: (label, e) => errors.push(`${label}: ${(e as Error).message}`),
  });
  return { relayer, actions, errors, members: () => actions.filter((a) => a.step === 'evmMembers') };
}

/** A decision certificate for the contract signed by `keys` under `epoch`, sorted by signer. */
function certificate(keys: Uint8Array[], xtxId: string, legHash: string, commit: boolean, epoch: number): Hex[] {
  const digest = evmDecisionDigest(
    { chainId: w.evm.chain.chainId, contract: w.participant },
    xtxId,
    legHash,
    commit,
    epoch,
  );
  return sortEvmSignatures(
    digest,
    keys.map((k) => evmSign(digest, k)),
  );
}

const decide = (xtxId: string, legHash: string, commit: boolean, epoch: number, signatures: Hex[]) =>
  w.evm.write(
    {
      address: w.participant,
      abi: CustosParticipant.abi,
      functionName: 'decide',
      args: [`0x${xtxId}`, legHash as Hex, commit, BigInt(epoch), signatures],
    },
    w.evm.accounts[9] as Address,
  );

describe('the EVM member set follows Custos governance', () => {
  it('a compromised key rotated by vote: two relayers at once send one update; the old key is refused, the new one counts', async () => {
    const e0 = evmSet();
    expect(await contractSet()).toEqual({ epoch: e0.epoch, members: e0.addresses, threshold: 2 });
    const compromised = w.evmKeys.org3!;
    const fresh = evmSecretKey();
    expect(await govPass(setEvmKeyAction(w.d.chainId, 'org3', fresh))).toBe('OK');
    const e1 = evmSet();
    expect(e1).toMatchObject({ epoch: e0.epoch + 1, ready: true, threshold: 2 });
    expect(e1.addresses).toContain(evmAddress(fresh));
    expect(e1.addresses).not.toContain(evmAddress(compromised));
    useKey('org3', fresh);

    // Each member's peer signs the new set for the registered contract.
    await signersStep();
    const record = stateOf(w, `evmmu/${w.pid}/${e1.epoch}`) as {
      addresses: string[];
      signatures: { member: string; address: string }[];
    };
    expect(record.addresses).toEqual(e1.addresses);
    expect(record.signatures.map((s) => s.member).sort()).toEqual(['org1', 'org2', 'org3']);
    // The same set again by the same key is refused: once per member and key.
    const digest = evmMembersDigest(
      { chainId: w.evm.chain.chainId, contract: w.participant },
      e1.epoch,
      e1.addresses,
      e1.threshold,
    );
    const again = evmSign(digest, fresh);
    expect(await sendAs(w, 'org3', 'evm.signMembers', { participant: w.pid, epoch: e1.epoch, signature: again })).toBe(
      'CONFLICT',
    );

    // Two relayers at once: one updateMembers goes in, the other finds it in and reports nothing.
    const a = watchedRelayer(w.evm.accounts[5] as Address);
    const b = watchedRelayer(w.evm.accounts[6] as Address);
    await Promise.all([a.relayer.step(), b.relayer.step()]);
    expect([...a.members(), ...b.members()]).toEqual([
      { xtxId: `epoch ${e0.epoch} -> ${e1.epoch}`, chainId: w.pid, step: 'evmMembers', code: 'SENT' },
    ]);
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect(await contractSet()).toEqual({ epoch: e1.epoch, members: e1.addresses, threshold: 2 });
    // Already applied: the next passes skip it, no error, nothing sent.
    await a.relayer.step();
    await b.relayer.step();
    expect([...a.members(), ...b.members()]).toHaveLength(1);
    expect([...a.errors, ...b.errors]).toEqual([]);

    // A lock to decide: the old set's certificate and the compromised key are refused, the new set's counts.
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    const lh = evmLegHash(leg);
    const oldSet = [w.evmKeys.org1!, compromised];
    expect(await reverts(decide(xtxId, lh, false, e0.epoch, certificate(oldSet, xtxId, lh, false, e0.epoch)))).toBe(
      'WrongEpoch',
    );
    expect(await reverts(decide(xtxId, lh, false, e1.epoch, certificate(oldSet, xtxId, lh, false, e1.epoch)))).toBe(
      'NotMember',
    );
    // org3 (the fresh key) signs first: a decision takes the threshold of signatures, no more.
    w.signers.reverse();
    try {
      await runUntilDone(w, evmRelayer(w, w.evm.accounts[5] as Address), xtxId);
    } finally {
      w.signers.reverse();
    }
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    const carried = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { epoch: number; signatures: { address: string }[] };
    expect(carried.epoch).toBe(e1.epoch);
    expect(carried.signatures.map((s) => s.address)).toContain(evmAddress(fresh));
  }, 120_000);

  it('a decision in flight when a key is taken out (removeEvmKey): the contract follows, members sign again, the COMMIT applies', async () => {
    const e1 = evmSet();
    const before = w.evmKeys.org3!;
    const { xtx, xtxId, key, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    // Decided and signed under epoch e1, not delivered yet.
    const first = watchedRelayer(w.evm.accounts[5] as Address);
    for (let i = 0; i < 10 && outcomeOf(w, xtxId).decision === undefined; i++) {
      for (const att of w.attesters) await att.step();
      await first.relayer.step();
    }
    expect(outcomeOf(w, xtxId).decision).toBe('COMMIT');
    await signersStep();
    const signed = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { epoch: number; signatures: unknown[] };
    expect(signed).toMatchObject({ epoch: e1.epoch });
    // The threshold's signatures (a list takes no more).
    expect(signed.signatures).toHaveLength(2);

    // org3's key is taken out by vote, without a replacement: two keys remain, the threshold stays 2.
    expect(await govPass(removeEvmKeyAction('org3'))).toBe('OK');
    const e2 = evmSet();
    expect(e2).toMatchObject({ epoch: e1.epoch + 1, ready: true, threshold: 2 });
    expect(e2.addresses).toEqual([evmAddress(w.evmKeys.org1!), evmAddress(w.evmKeys.org2!)].sort());
    expect(stateOf(w, `memberevm/${evmAddress(before)}`)).toBeNull();

    // The status shows the contract behind the chain.
    const status = await xtxStatus([w.ep], xtxId, { evm: [{ rpcUrl: w.evm.chain.rpcUrl }] });
    expect(status.evm[0]?.memberSet).toEqual({ chain: e2.epoch, contract: e1.epoch, decision: e1.epoch });
    expect(evmLegRows(status.evm)[0]?.[1]).toContain(
      `member set epoch ${e2.epoch} on the decision chain, ${e1.epoch} on the contract (updateMembers pending`,
    );

    // Members sign the new set and the decision again; a relayer moves the contract, then decides.
    const second = watchedRelayer(w.evm.accounts[6] as Address);
    await runUntilDone(w, second.relayer, xtxId);
    expect(second.members()).toEqual([
      { xtxId: `epoch ${e1.epoch} -> ${e2.epoch}`, chainId: w.pid, step: 'evmMembers', code: 'SENT' },
    ]);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    expect(kvValue(w.d, key)).toBe(key);
    const carried = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { epoch: number; signatures: { member: string }[] };
    expect(carried.epoch).toBe(e2.epoch);
    expect(carried.signatures.map((s) => s.member)).toEqual(
      ['org1', 'org2'].sort((x, y) => (evmAddress(w.evmKeys[x]!) < evmAddress(w.evmKeys[y]!) ? -1 : 1)),
    );
    expect(await contractSet()).toEqual({ epoch: e2.epoch, members: e2.addresses, threshold: 2 });
    const after = await xtxStatus([w.ep], xtxId, { evm: [{ rpcUrl: w.evm.chain.rpcUrl }] });
    expect(after.evm[0]?.memberSet).toEqual({ chain: e2.epoch, contract: e2.epoch, decision: e2.epoch });

    // The removed key signs nothing more: refused by the ledger and by the contract.
    const t2 = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, t2.xtx)).toBe('OK');
    await prepareOnEvm(w, t2.xtxId, t2.leg);
    const lh = evmLegHash(t2.leg);
    const forged = certificate([w.evmKeys.org1!, before], t2.xtxId, lh, true, e2.epoch);
    expect(await reverts(decide(t2.xtxId, lh, true, e2.epoch, forged))).toBe('NotMember');
    const bad = evmSign(new Uint8Array(32), before);
    expect(await sendAs(w, 'org3', 'evm.signMembers', { participant: w.pid, epoch: e2.epoch, signature: bad })).toBe(
      'UNAUTHORIZED',
    );
    // With two keys of three members the set still certifies: the next transaction commits.
    await runUntilDone(w, evmRelayer(w, w.evm.accounts[5] as Address), t2.xtxId);
    expect(outcomeOf(w, t2.xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
  }, 120_000);

  it('refuses a removal that would leave fewer keys than the threshold, a member without a key, and signatures of another set', async () => {
    const e2 = evmSet();
    expect(await govPass(removeEvmKeyAction('org2'))).toBe('CONFLICT');
    expect(await govPass(removeEvmKeyAction('org3'))).toBe('NOT_FOUND');
    expect(evmSet()).toEqual(e2);
    const sig = evmSign(new Uint8Array(32), w.evmKeys.org1!);
    const cases: [{ [k: string]: JsonValue }, string][] = [
      [{ participant: w.pid, epoch: e2.epoch - 1, signature: sig }, 'CONFLICT'],
      [{ participant: w.pid, epoch: e2.epoch + 1, signature: sig }, 'CONFLICT'],
      [{ participant: `evm:1:0x${'00'.repeat(20)}`, epoch: e2.epoch, signature: sig }, 'NOT_FOUND'],
      [{ participant: w.pid, epoch: e2.epoch, signature: '0x12' }, 'INVALID_ARGS'],
      [{ participant: w.pid, epoch: e2.epoch, signature: sig, extra: 1 }, 'INVALID_ARGS'],
    ];
    for (const [args, code] of cases) {
      expect(await sendAs(w, 'org1', 'evm.signMembers', args), JSON.stringify(args)).toBe(code);
    }
  }, 60_000);

  it('applies sets in epoch order, and a relayer that crashes after its first update is replaced without loss', async () => {
    const e2 = evmSet();
    // A key for org3 again (by vote), then org1 rotates its own key: two epochs before any relay.
    const org3 = evmSecretKey();
    expect(await govPass(setEvmKeyAction(w.d.chainId, 'org3', org3))).toBe('OK');
    useKey('org3', org3);
    await signersStep();
    const e3 = evmSet();
    const org1 = evmSecretKey();
    const { address, proof } = proveEvmKey(org1, { chainId: w.d.chainId, member: 'org1' });
    expectOk(await sendAs(w, 'org1', 'member.setEvmKey', { address, proof }));
    useKey('org1', org1);
    await signersStep();
    const e4 = evmSet();
    expect([e3.epoch, e4.epoch]).toEqual([e2.epoch + 1, e2.epoch + 2]);
    // The contract holds {org1's old key, org2}: of e4's signers only org2 is in it, so e4 cannot
    // come first; e3 (signed by org1's old key and org2) must.
    expect(await contractSet()).toMatchObject({ epoch: e2.epoch });

    // The first relayer crashes right after its first update (its process ends mid-pass).
    const crashing = watchedRelayer(w.evm.accounts[5] as Address, (a) => {
      if (a.step === 'evmMembers') throw new Error('killed');
    });
    await crashing.relayer.step();
    expect(crashing.members().map((a) => a.xtxId)).toEqual([`epoch ${e2.epoch} -> ${e3.epoch}`]);
    expect(await contractSet()).toEqual({ epoch: e3.epoch, members: e3.addresses, threshold: 2 });
    // Another relayer, with no memory of the first, goes on from what the contract holds.
    const next = watchedRelayer(w.evm.accounts[7] as Address);
    await next.relayer.step();
    expect(next.members().map((a) => a.xtxId)).toEqual([`epoch ${e3.epoch} -> ${e4.epoch}`]);
    expect(next.errors).toEqual([]);
    expect(await contractSet()).toEqual({ epoch: e4.epoch, members: e4.addresses, threshold: 2 });

    // The new set decides.
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 200 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await prepareOnEvm(w, xtxId, leg);
    await runUntilDone(w, next.relayer, xtxId);
    expect(outcomeOf(w, xtxId)).toMatchObject({ decision: 'COMMIT', custos: 'committed', evm: 'committed' });
    expect((stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { epoch: number }).epoch).toBe(e4.epoch);
  }, 120_000);

  it('the CLI: `custos xtx evm-members` shows the contract behind the chain, `custos relay` moves it and prints it', async () => {
    const app = createServer(w.d.node, { rateLimit: false });
    const url = await listen(app, { port: 0 });
    try {
      const token = tokenStoreOf(w.d.node).create('org1', { scopes: ['read'], createdBy: 'evm-member-update' }).token;
      // org2 rotates its own key: a new epoch, signed by the members.
      const key = evmSecretKey();
      const { address, proof } = proveEvmKey(key, { chainId: w.d.chainId, member: 'org2' });
      const held = (await contractSet()).epoch;
      expectOk(await sendAs(w, 'org2', 'member.setEvmKey', { address, proof }));
      useKey('org2', key);
      await signersStep();
      const next = evmSet().epoch;
      expect(next).toBe(held + 1);

      const rpc = w.evm.chain.rpcUrl;
      const before = await custos(['xtx', 'evm-members', '--chain', url, '--evm-rpc', rpc]);
      expect(before.code, before.stderr).toBe(0);
      expect(before.stdout).toContain(w.pid);
      expect(before.stdout).toContain(`epoch ${next} on the decision chain (3 EVM keys, threshold 2)`);
      expect(before.stdout).toContain(`${held} on the contract; 3 members signed epoch ${next}; updateMembers pending`);

      const relayed = await custos([
        'relay',
        '--chain',
        url,
        '--token',
        token,
        '--evm-rpc',
        rpc,
        '--evm-account',
        w.evm.accounts[8] as string,
        '--once',
        '--json',
      ]);
      expect(relayed.code, relayed.stderr).toBe(0);
      const { actions } = JSON.parse(relayed.stdout) as { actions: RelayAction[] };
      expect(actions.filter((a) => a.step === 'evmMembers')).toEqual([
        { xtxId: `epoch ${held} -> ${next}`, chainId: w.pid, step: 'evmMembers', code: 'SENT' },
      ]);

      const after = await custos(['xtx', 'evm-members', '--chain', url, '--evm-rpc', rpc, '--json']);
      expect(after.code, after.stderr).toBe(0);
      expect(JSON.parse(after.stdout).contracts).toEqual([
        {
          participant: w.pid,
          chain: { epoch: next, ready: true, keys: 3, threshold: 2 },
          signed: 3,
          contract: next,
          pending: false,
        },
      ]);
      expect(await contractSet()).toMatchObject({ epoch: next, members: evmSet().addresses });
      // A bad endpoint is refused with what was expected.
      const bad = await custos(['xtx', 'evm-members', '--chain', url, '--evm-rpc', 'ftp://x']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('expected --evm-rpc as an http(s) URL');
    } finally {
      await app.close();
    }
  }, 120_000);
});
