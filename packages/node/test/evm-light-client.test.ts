/**
 * The EVM light client on the decision chain against a real Hardhat chain (docs/interop.md):
 * headers recorded only once a quorum of members attested the same hash, with their RLP checked
 * against it; conflicting quorum-attested hashes freeze the client and name who attested both; a
 * vote is accepted only with a valid receipts-trie proof under an attested header, from the
 * registered contract, for the plan's leg; members sign only the decision the chain recorded.
 */
import { decodeEvmHeader, evmDecisionDigest, evmSign, legHashOf } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { RLP } from '@ethereumjs/rlp';
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { CustosParticipant } from '../src/interop/evm/contracts/artifacts.generated.js';
import { encodeEvmHeader, type RpcBlock } from '../src/interop/evm/header.js';
import { buildReceiptProof } from '../src/interop/evm/receipt-proof.js';
import { duties, evmXtx, prepareOnD, prepareOnEvm, sendAs, stateOf, useEvmWorld } from './evm-xtx-helpers.js';
import { relaySigner, tick } from './xtx-helpers.js';

const w = useEvmWorld('beta');

async function rpcBlock(n: bigint | number): Promise<RpcBlock> {
  return (await w.evm.publicClient.request({
    method: 'eth_getBlockByNumber',
    params: [`0x${BigInt(n).toString(16)}`, false],
  })) as unknown as RpcBlock;
}

async function voteTxHash(xtxId: string, contract: Address = w.participant): Promise<Hex> {
  const logs = await w.evm.publicClient.getContractEvents({
    address: contract,
    abi: CustosParticipant.abi,
    eventName: 'Voted',
    args: { xtxId: `0x${xtxId}` },
    fromBlock: 0n,
  });
  return logs[0]!.transactionHash;
}

/** Submits a vote proof; anyone may (the relay key is no member). */
const evmVote = async (xtx: unknown, args: { number: number; index: number; proof: string[] }) =>
  (await w.d.node.submitAndWait(signVote(xtx, args))).code;

function signVote(xtx: unknown, args: { number: number; index: number; proof: string[] }) {
  return signTx(
    {
      chainId: w.d.chainId,
      type: 'xtx.evmVote',
      args: { xtx: xtx as JsonValue, participant: w.pid, ...args },
    },
    relaySigner,
  );
}

describe('attested EVM headers', () => {
  it('records a header once a quorum attested it, with its receiptsRoot from the checked RLP', async () => {
    await w.evm.mine(1);
    const n = await w.evm.publicClient.getBlockNumber();
    const { rlp, header } = encodeEvmHeader(await rpcBlock(n));
    const chainId = w.evm.chain.chainId;
    const args = { evmChainId: chainId, number: Number(n), hash: header.hash, header: rlp };
    expect(await sendAs(w, 'org1', 'evm.attestHeader', args)).toBe('OK');
    expect(stateOf(w, `evmhdr/${chainId}/${n}`)).toBeNull();
    expect(await sendAs(w, 'org1', 'evm.attestHeader', args)).toBe('CONFLICT');
    expect(await sendAs(w, 'org2', 'evm.attestHeader', args)).toBe('OK');
    const hdr = stateOf(w, `evmhdr/${chainId}/${n}`) as { hash: string; receiptsRoot: string; attestedBy: string[] };
    expect(hdr).toMatchObject({ hash: header.hash, receiptsRoot: header.receiptsRoot, attestedBy: ['org1', 'org2'] });
    expect((stateOf(w, `evmlc/${chainId}`) as { highest: number }).highest).toBeGreaterThanOrEqual(Number(n));
  });

  it('refuses a header that does not hash to the attested hash, another block, a non-member, oversized RLP', async () => {
    const n = await w.evm.publicClient.getBlockNumber();
    const { rlp, header } = encodeEvmHeader(await rpcBlock(n));
    const chainId = w.evm.chain.chainId;
    const other = encodeEvmHeader(await rpcBlock(n - 1n));
    const base = { evmChainId: chainId, number: Number(n), hash: header.hash, header: rlp };
    expect(await sendAs(w, 'org3', 'evm.attestHeader', { ...base, header: other.rlp })).toBe('INVALID_ARGS');
    expect(await sendAs(w, 'org3', 'evm.attestHeader', { ...base, number: Number(n) + 1 })).toBe('INVALID_ARGS');
    expect(await sendAs(w, 'org3', 'evm.attestHeader', { ...base, header: `0x${'ab'.repeat(3000)}` })).toBe(
      'INVALID_ARGS',
    );
    const stranger = signTx({ chainId: w.d.chainId, type: 'evm.attestHeader', args: base }, relaySigner);
    expect((await w.d.node.submitAndWait(stranger)).code).toBe('UNAUTHORIZED');
  });

  it('trust #16: freezes the client on two quorum-attested hashes for one block and names who attested both', async () => {
    // Another EVM chain id, so the chain the other tests use stays live.
    const fake = 424242;
    const n = Number(await w.evm.publicClient.getBlockNumber());
    const real = encodeEvmHeader(await rpcBlock(n));
    // The same block with other extra data: another hash for the same number (a fork, or lies).
    const fields = RLP.decode(hexToBytes(real.rlp as Hex)) as Uint8Array[];
    fields[12] = Uint8Array.of(1);
    const forgedRlp = bytesToHex(RLP.encode(fields));
    const forged = decodeEvmHeader(forgedRlp);
    expect(forged.hash).not.toBe(real.header.hash);
    const att = (h: { hash: string }, rlp: string) => ({ evmChainId: fake, number: n, hash: h.hash, header: rlp });
    expect(await sendAs(w, 'org1', 'evm.attestHeader', att(real.header, real.rlp))).toBe('OK');
    expect(await sendAs(w, 'org2', 'evm.attestHeader', att(real.header, real.rlp))).toBe('OK');
    expect(stateOf(w, `evmhdr/${fake}/${n}`)).toMatchObject({ hash: real.header.hash });
    // org2 attests the other hash too, with org3: a second quorum.
    expect(await sendAs(w, 'org2', 'evm.attestHeader', att(forged, forgedRlp))).toBe('OK');
    expect((stateOf(w, `evmlc/${fake}`) as { frozen: unknown }).frozen).toBeNull();
    expect(await sendAs(w, 'org3', 'evm.attestHeader', att(forged, forgedRlp))).toBe('OK');
    expect((stateOf(w, `evmlc/${fake}`) as { frozen: unknown }).frozen).toMatchObject({ number: n });
    expect(stateOf(w, `evmev/${fake}`)).toMatchObject({ number: n, signers: ['org2'] });
    // A frozen client takes no more headers.
    const next = encodeEvmHeader(await rpcBlock(n - 1));
    expect(
      await sendAs(w, 'org1', 'evm.attestHeader', {
        evmChainId: fake,
        number: n - 1,
        hash: next.header.hash,
        header: next.rlp,
      }),
    ).toBe('UNAUTHORIZED');
  });
});

describe('attested EVM headers, a list per transaction (evm.attestHeaders)', () => {
  // Another EVM chain id (the headers are real ones), so the chain the other tests use is untouched.
  const listed = 515151;
  type Item = { number: number; hash: string; header: string };
  async function items(count: number): Promise<Item[]> {
    await w.evm.mine(count);
    const top = Number(await w.evm.publicClient.getBlockNumber());
    const out = [];
    for (let n = top - count + 1; n <= top; n++) {
      const { rlp, header } = encodeEvmHeader(await rpcBlock(n));
      out.push({ number: n, hash: header.hash, header: rlp });
    }
    return out;
  }
  const attest = (org: string, headers: object[]) =>
    sendAs(w, org, 'evm.attestHeaders', { evmChainId: listed, headers: headers as JsonValue[] });

  it('one transaction per member covers a list of blocks; each block still needs a quorum of members', async () => {
    const [a, b, c] = (await items(3)) as [Item, Item, Item];
    expect(await attest('org1', [a, b, c])).toBe('OK');
    for (const x of [a, b, c]) expect(stateOf(w, `evmhdr/${listed}/${x.number}`)).toBeNull();
    expect(await attest('org1', [a, b, c])).toBe('CONFLICT');
    expect(await attest('org2', [a, b])).toBe('OK');
    expect(stateOf(w, `evmhdr/${listed}/${a.number}`)).toMatchObject({ attestedBy: ['org1', 'org2'] });
    expect(stateOf(w, `evmhdr/${listed}/${b.number}`)).toMatchObject({ attestedBy: ['org1', 'org2'] });
    expect(stateOf(w, `evmhdr/${listed}/${c.number}`)).toBeNull();
    // What org2 attested already is skipped, the rest counts.
    expect(await attest('org2', [b, c])).toBe('OK');
    expect(stateOf(w, `evmhdr/${listed}/${c.number}`)).toMatchObject({ attestedBy: ['org1', 'org2'] });
    expect((stateOf(w, `evmlc/${listed}`) as { highest: number }).highest).toBe(c.number);
  });

  it('refuses the whole list for one bad header, and a non-member, an empty or too long list', async () => {
    const [a, b] = (await items(2)) as [Item, Item];
    // b's number and hash with a's RLP: nothing of the list is recorded, a included.
    expect(await attest('org3', [a, { ...b, header: a.header }])).toBe('INVALID_ARGS');
    expect(stateOf(w, `evmatt/${listed}/${a.number}/${a.hash}`)).toBeNull();
    expect(await attest('org3', [a, { ...b, extra: 1 }])).toBe('INVALID_ARGS');
    expect(await attest('org3', [])).toBe('INVALID_ARGS');
    expect(await attest('org3', Array(17).fill(a))).toBe('INVALID_ARGS');
    const stranger = signTx(
      { chainId: w.d.chainId, type: 'evm.attestHeaders', args: { evmChainId: listed, headers: [a] } },
      relaySigner,
    );
    expect((await w.d.node.submitAndWait(stranger)).code).toBe('UNAUTHORIZED');
    expect(await attest('org3', [a, b])).toBe('OK');
    expect(stateOf(w, `evmatt/${listed}/${a.number}/${a.hash}`)).toMatchObject({ members: ['org3'] });
  });
});

describe('EVM votes on the decision chain', () => {
  it('trust #16: refuses a bad trie proof, another contract, an unattested header, another leg, another receipt', async () => {
    const { xtx, xtxId, leg } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500 });
    expect(await prepareOnD(w, xtx)).toBe('OK');

    // The same vote from an unregistered copy of the contract.
    const artifact = CustosParticipant;
    const set = (await w.evm.publicClient.readContract({
      address: w.participant,
      abi: artifact.abi,
      functionName: 'memberSet',
    })) as [bigint, Address[], bigint];
    const { address: copy } = await w.evm.deploy(artifact, [set[0], set[1], set[2]]);
    const other = { ...w, participant: copy };
    await prepareOnEvm(other, xtxId, leg);
    // Unattested yet: no member ran its attester since.
    const copyProof = await buildReceiptProof(w.evm.chain.rpcUrl, await voteTxHash(xtxId, copy));
    const copyArgs = { number: copyProof.blockNumber, index: copyProof.index, proof: copyProof.proof };
    expect(await evmVote(xtx, copyArgs)).toBe('NOT_FOUND');
    await duties(w);
    expect(stateOf(w, `evmhdr/${w.evm.chain.chainId}/${copyProof.blockNumber}`)).not.toBeNull();
    expect(await evmVote(xtx, copyArgs)).toBe('UNAUTHORIZED');

    // The registered contract, but for another leg (11 tokens instead of 10).
    const { xtx: xtx2, xtxId: id2, leg: leg2 } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 500 });
    expect(await prepareOnD(w, xtx2)).toBe('OK');
    await prepareOnEvm(w, id2, { ...leg2, amount: '11' });
    await duties(w);
    const p2 = await buildReceiptProof(w.evm.chain.rpcUrl, await voteTxHash(id2));
    expect(await evmVote(xtx2, { number: p2.blockNumber, index: p2.index, proof: p2.proof })).toBe('UNAUTHORIZED');

    // The registered contract, the right leg.
    await prepareOnEvm(w, xtxId, leg);
    await duties(w);
    const p = await buildReceiptProof(w.evm.chain.rpcUrl, await voteTxHash(xtxId));
    const good = { number: p.blockNumber, index: p.index, proof: p.proof };
    // A changed byte in the leaf: it no longer hashes to its reference.
    const last = p.proof[p.proof.length - 1]!;
    const flipped = `${last.slice(0, -2)}${last.slice(-2) === '00' ? '01' : '00'}`;
    expect(await evmVote(xtx, { ...good, proof: [...p.proof.slice(0, -1), flipped] })).toBe('UNAUTHORIZED');
    // Another block's header for the same proof.
    expect(await evmVote(xtx, { ...good, number: copyProof.blockNumber })).toBe('UNAUTHORIZED');
    // Too many nodes, and junk.
    expect(await evmVote(xtx, { ...good, proof: Array(17).fill(last) })).toBe('UNAUTHORIZED');
    expect(await evmVote(xtx, { ...good, proof: ['not hex'] })).toBe('UNAUTHORIZED');
    expect(await evmVote(xtx, good)).toBe('OK');
    expect(stateOf(w, `xtxevm/${xtxId}/${w.pid}`)).toMatchObject({ vote: 'YES', number: p.blockNumber });
    expect(await evmVote(xtx, good)).toBe('CONFLICT');
  }, 120_000);

  it('trust #16: a member’s EVM signature counts only over the decision the chain recorded, by its own key', async () => {
    const { xtx, xtxId } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 2 });
    expect(await prepareOnD(w, xtx)).toBe('OK');
    await tick(w.d, 3);
    const timeout = signTx(
      { chainId: w.d.chainId, type: 'xtx.decide', args: { xtx: xtx as unknown as JsonValue, timeout: true } },
      relaySigner,
    );
    expect((await w.d.node.submitAndWait(timeout)).code).toBe('OK');
    const rec = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { commit: boolean; epoch: number; legHash: string };
    expect(rec.commit).toBe(false);
    expect(rec.legHash).toBe(legHashOf(xtx, w.pid));
    const domain = { chainId: w.evm.chain.chainId, contract: w.participant };
    const commitSig = evmSign(evmDecisionDigest(domain, xtxId, rec.legHash, true, rec.epoch), w.evmKeys.org1!);
    const sign = (org: string, signature: string) =>
      sendAs(w, org, 'xtx.evmSign', { xtxId, participant: w.pid, signature });
    expect(await sign('org1', commitSig)).toBe('UNAUTHORIZED');
    // The recorded decision, but for another leg under the same transaction id.
    const otherLeg = evmSign(
      evmDecisionDigest(domain, xtxId, `0x${'ab'.repeat(32)}`, false, rec.epoch),
      w.evmKeys.org2!,
    );
    expect(await sign('org2', otherLeg)).toBe('UNAUTHORIZED');
    const abortByOrg2 = evmSign(evmDecisionDigest(domain, xtxId, rec.legHash, false, rec.epoch), w.evmKeys.org2!);
    expect(await sign('org1', abortByOrg2)).toBe('UNAUTHORIZED');
    expect(await sign('org2', abortByOrg2)).toBe('OK');
    expect(await sign('org2', abortByOrg2)).toBe('CONFLICT');
    const stranger = signTx(
      { chainId: w.d.chainId, type: 'xtx.evmSign', args: { xtxId, participant: w.pid, signature: abortByOrg2 } },
      relaySigner,
    );
    expect((await w.d.node.submitAndWait(stranger)).code).toBe('UNAUTHORIZED');
  });

  it('trust #16: signatures in a list (xtx.evmSign {signatures}) count each as alone, up to the threshold; one wrong refuses the list', async () => {
    const decided: { xtx: unknown; xtxId: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const { xtx, xtxId } = evmXtx(w, { deadlineHeight: w.d.node.latest().height + 2 });
      expect(await prepareOnD(w, xtx)).toBe('OK');
      decided.push({ xtx, xtxId });
    }
    await tick(w.d, 3);
    const domain = { chainId: w.evm.chain.chainId, contract: w.participant };
    const item = (i: number, org: string, commit = false) => {
      const { xtxId } = decided[i]!;
      const rec = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { epoch: number; legHash: string };
      const digest = evmDecisionDigest(domain, xtxId, rec.legHash, commit, rec.epoch);
      return { xtxId, participant: w.pid, signature: evmSign(digest, w.evmKeys[org]!) };
    };
    for (const { xtx } of decided) {
      const timeout = signTx(
        { chainId: w.d.chainId, type: 'xtx.decide', args: { xtx: xtx as unknown as JsonValue, timeout: true } },
        relaySigner,
      );
      expect((await w.d.node.submitAndWait(timeout)).code).toBe('OK');
    }
    const signs = (org: string, signatures: object[]) =>
      sendAs(w, org, 'xtx.evmSign', { signatures: signatures as JsonValue[] });
    const signers = (i: number) =>
      (stateOf(w, `xtxevmd/${decided[i]!.xtxId}/${w.pid}`) as { signatures: { member: string }[] }).signatures.map(
        (s) => s.member,
      );
    expect(await signs('org1', [item(0, 'org1'), item(1, 'org1')])).toBe('OK');
    expect([signers(0), signers(1)]).toEqual([['org1'], ['org1']]);
    // The other decision, another member's key: the whole list goes, the good signature too.
    expect(await signs('org2', [item(0, 'org2'), item(1, 'org2', true)])).toBe('UNAUTHORIZED');
    expect(await signs('org2', [item(0, 'org2'), item(1, 'org3')])).toBe('UNAUTHORIZED');
    expect(signers(0)).toEqual(['org1']);
    expect(await signs('org1', [item(0, 'org1'), item(1, 'org1')])).toBe('CONFLICT');
    expect(await signs('org2', [item(0, 'org2')])).toBe('OK');
    // Certified by the threshold (2 of 3): a list adds no more to it.
    expect(await signs('org3', [item(0, 'org3')])).toBe('CONFLICT');
    expect(signers(0).sort()).toEqual(['org1', 'org2']);
    expect(await signs('org2', [item(0, 'org2'), item(1, 'org2')])).toBe('OK');
    expect(signers(1)).toHaveLength(2);
    expect(await signs('org3', [])).toBe('INVALID_ARGS');
    expect(await signs('org3', Array(65).fill(item(0, 'org3')))).toBe('INVALID_ARGS');
    const stranger = signTx(
      { chainId: w.d.chainId, type: 'xtx.evmSign', args: { signatures: [item(0, 'org3')] } },
      relaySigner,
    );
    expect((await w.d.node.submitAndWait(stranger)).code).toBe('UNAUTHORIZED');
  });
});
