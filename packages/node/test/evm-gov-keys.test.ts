/**
 * Members' EVM keys in governance (docs/interop.md#members-evm-keys): the `setEvmKey` proposal
 * action that sets or replaces a member's EVM key by vote (a member that lost its Ed25519 keys
 * cannot sign `member.setEvmKey`), EVM keys in `admit`, the proofs of possession checked when
 * proposed and when executed, and the EVM member set `gov/evm-memberset` moving to a new epoch.
 * Through the ledger (signed transactions) and through the API's governance routes. In process.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import { evmAddress, evmSecretKey, proveEvmKey } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { MEMBER_SET_KEY, proveMemberKey } from '@custos/protocol/ledger';
import { removeEvmKeyAction, admitAction as sdkAdmitAction, setEvmKeyAction as sdkSetEvmKeyAction } from '@custos/sdk';
import { govActionText } from '@custos/sdk/views';
import { type ApiNode, startApiNode, tx, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVM_MEMBER_SET_KEY, evmMemberSetAt } from '../src/governance/evm-member-set.js';
import { type Proposal, proposalKey } from '../src/governance/state.js';
import { assembleEvmDecision, signEvmDecision } from '../src/interop/evm/certificates.js';

let api: ApiNode;
const keys: Record<string, Uint8Array> = {};

const send = (s: Signer, type: string, args: { [k: string]: JsonValue }) => api.node.submitAndWait(tx(s, type, args));
const org = (id: string) => api.fx.orgs[id]!;
const state = (key: string) => api.node.store.getState(key);
const json = (key: string) => {
  const text = state(key);
  return text === undefined ? undefined : JSON.parse(text);
};
const evmSet = () => evmMemberSetAt(api.node.store);
const chainId = () => api.fx.genesis.chainId;
const prove = (key: Uint8Array, member: string, chain = chainId()) => proveEvmKey(key, { chainId: chain, member });
const propose = (by: string, action: { [k: string]: JsonValue }) =>
  send(org(by), 'gov.propose', { action, reason: 'evm key test' });
const vote = (by: string, proposal: string, v: 'yes' | 'no' = 'yes') =>
  send(org(by), 'gov.vote', { proposal, vote: v });
const proposal = (id: string) => json(proposalKey(id)) as Proposal;

/** The SDK's builder (`setEvmKeyAction`), with the proof made for `proofFor` to forge one. */
function setEvmKeyAction(member: string, key: Uint8Array, proofFor = member): { [k: string]: JsonValue } {
  const { address } = prove(key, member);
  return sdkSetEvmKeyAction(chainId(), member, { address, proof: prove(key, proofFor).proof });
}

/** A request signed by the org key, as the org routes require. */
async function post(url: string, body: unknown, by: string) {
  const payload = JSON.stringify(body);
  const headers = {
    ...signRequest({ method: 'POST', url: `http://localhost${url}`, body: payload }, org(by)),
    'content-type': 'application/json',
  };
  return api.app.inject({ method: 'POST', url, headers, payload });
}

beforeAll(async () => {
  api = await startApiNode({ members: ['bank', 'insurer', 'retailer'] });
  // Bank and retailer register their own EVM keys; the insurer has none yet.
  for (const o of ['bank', 'retailer']) {
    keys[o] = evmSecretKey();
    const { address, proof } = prove(keys[o]!, o);
    expect((await send(org(o), 'member.setEvmKey', { address, proof })).code).toBe('OK');
  }
});

afterAll(async () => {
  await api?.close();
});

describe('gov setEvmKey: a member’s EVM key set by vote', () => {
  it('trust #16: refuses a malformed action, a proof for another member, chain or key, and a taken address', async () => {
    const key = evmSecretKey();
    const good = setEvmKeyAction('insurer', key);
    const cases: [{ [k: string]: JsonValue }, string][] = [
      [{ ...good, address: (good.address as string).toUpperCase() }, 'INVALID_ARGS'],
      [{ ...good, address: '0x1234' }, 'INVALID_ARGS'],
      [{ kind: 'setEvmKey', member: 'insurer', address: good.address as string }, 'INVALID_ARGS'],
      [{ ...good, extra: 1 }, 'INVALID_ARGS'],
      [{ ...good, proof: 'x'.repeat(500) }, 'INVALID_ARGS'],
      [{ ...good, member: 'nobody' }, 'NOT_FOUND'],
      // Signed for the bank, for another chain, by another key.
      [setEvmKeyAction('insurer', key, 'bank'), 'KEY_NOT_PROVEN'],
      [{ ...good, proof: prove(key, 'insurer', 'other-chain').proof }, 'KEY_NOT_PROVEN'],
      [{ ...good, proof: prove(evmSecretKey(), 'insurer').proof }, 'KEY_NOT_PROVEN'],
      // The bank's address for the insurer, and the bank's own key again.
      [setEvmKeyAction('insurer', keys.bank!), 'CONFLICT'],
      [setEvmKeyAction('bank', keys.bank!), 'CONFLICT'],
    ];
    for (const [action, code] of cases) expect((await propose('retailer', action)).code, code).toBe(code);
    expect(api.node.store.listState('gov/proposal/', undefined, 10)).toEqual([]);
  });

  it('sets the key of a member that cannot sign: a vote executes it and the EVM set moves to a new epoch', async () => {
    const custosEpoch = state(MEMBER_SET_KEY);
    const before = evmSet()!;
    // Two of three members have keys: as many as the quorum threshold, so the set can certify.
    expect(before).toMatchObject({ ready: true, threshold: 2 });
    expect(before.addresses).toHaveLength(2);
    keys.insurer = evmSecretKey();
    const p = await propose('bank', setEvmKeyAction('insurer', keys.insurer));
    expect(p.code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({ status: 'open' });
    expect(json('member/insurer').evmKey).toBeUndefined();
    expect((await vote('retailer', p.txId)).code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({ status: 'executed', tally: { yes: 2, required: 2 } });
    const address = evmAddress(keys.insurer);
    expect(json('member/insurer').evmKey).toBe(address);
    expect(json(`memberevm/${address}`)).toBe('insurer');
    const after = evmSet()!;
    expect(after).toMatchObject({ epoch: before.epoch + 1, ready: true, threshold: 2 });
    expect(after.addresses).toEqual(['bank', 'insurer', 'retailer'].map((o) => evmAddress(keys[o]!)).sort());
    // Only the EVM set moved: other Custos chains' light clients have nothing to follow.
    expect(state(MEMBER_SET_KEY)).toBe(custosEpoch);
  });

  it('replaces a key: the old address is freed, certificates count the new key only', async () => {
    const old = keys.insurer!;
    const fresh = evmSecretKey();
    const p = await propose('retailer', setEvmKeyAction('insurer', fresh));
    await vote('bank', p.txId);
    expect(proposal(p.txId).status).toBe('executed');
    expect(state(`memberevm/${evmAddress(old)}`)).toBeUndefined();
    expect(json(`memberevm/${evmAddress(fresh)}`)).toBe('insurer');
    keys.insurer = fresh;
    const set = evmSet()!;
    const domain = { chainId: 31337, contract: `0x${'22'.repeat(20)}` };
    const decision = { xtxId: 'cd'.repeat(32), legHash: `0x${'ef'.repeat(32)}`, commit: true };
    const sig = (k: Uint8Array) => signEvmDecision(k, domain, { ...decision, epoch: set.epoch });
    expect(() => assembleEvmDecision(domain, set, decision, [sig(old), sig(keys.bank!)])).toThrow(
      /is not in EVM member set/,
    );
    const cert = assembleEvmDecision(domain, set, decision, [sig(fresh), sig(keys.bank!)]);
    expect(cert.signatures).toHaveLength(2);
  });

  it('checks again when executed: of two proposals for one address, the second’s deciding vote changes nothing', async () => {
    const contested = evmSecretKey();
    const forBank = await propose('insurer', setEvmKeyAction('bank', contested));
    const forRetailer = await propose('insurer', setEvmKeyAction('retailer', contested));
    expect([forBank.code, forRetailer.code]).toEqual(['OK', 'OK']);
    expect((await vote('bank', forBank.txId)).code).toBe('OK');
    const epoch = evmSet()!.epoch;
    const retailerBefore = state('member/retailer');
    expect((await vote('retailer', forRetailer.txId)).code).toBe('CONFLICT');
    expect(proposal(forRetailer.txId).status).toBe('open');
    expect(state('member/retailer')).toBe(retailerBefore);
    expect(json(`memberevm/${evmAddress(contested)}`)).toBe('bank');
    expect(evmSet()!.epoch).toBe(epoch);
    keys.bank = contested;
  });

  it('a non-member cannot propose it', async () => {
    const r = await send(userSigner(), 'gov.propose', {
      action: setEvmKeyAction('insurer', evmSecretKey()),
      reason: 'outsider',
    });
    expect(r.code).toBe('UNAUTHORIZED');
  });
});

describe('gov admit with an EVM key', () => {
  const admitAction = (id: string, signer: Signer, extra: { [k: string]: JsonValue }): { [k: string]: JsonValue } => {
    const { key, proof } = proveMemberKey(signer, { chainId: chainId(), member: id, action: 'admit' });
    return {
      kind: 'admit',
      id,
      name: `${id} org`,
      keys: [key],
      proofs: [proof],
      endpoint: `https://peer.${id}.example`,
      ...extra,
    };
  };

  it('trust #16: refuses an EVM key without its proof, a proof for another member and a taken address', async () => {
    const s = userSigner();
    const key = evmSecretKey();
    const { address, proof } = prove(key, 'clinic');
    const cases: [{ [k: string]: JsonValue }, string][] = [
      [admitAction('clinic', s, { evmKey: address }), 'INVALID_ARGS'],
      [admitAction('clinic', s, { evmKeyProof: proof }), 'INVALID_ARGS'],
      [admitAction('clinic', s, { evmKey: 'bank', evmKeyProof: proof }), 'INVALID_ARGS'],
      [admitAction('clinic', s, { evmKey: address, evmKeyProof: prove(key, 'lab').proof }), 'KEY_NOT_PROVEN'],
      [
        admitAction('clinic', s, { evmKey: evmAddress(keys.bank!), evmKeyProof: prove(keys.bank!, 'clinic').proof }),
        'CONFLICT',
      ],
    ];
    for (const [action, code] of cases) expect((await propose('bank', action)).code, code).toBe(code);
  });

  it('admits a member with its EVM key: recorded, indexed, and the EVM set moves to a new ready epoch', async () => {
    const before = evmSet()!;
    keys.clinic = evmSecretKey();
    const { address, proof } = prove(keys.clinic, 'clinic');
    const clinicSigner = userSigner();
    const p = await propose('bank', admitAction('clinic', clinicSigner, { evmKey: address, evmKeyProof: proof }));
    expect(p.code).toBe('OK');
    await vote('insurer', p.txId);
    expect(proposal(p.txId).status).toBe('executed');
    expect(json('member/clinic')).toMatchObject({ evmKey: address, keys: [didFromPublicKey(clinicSigner.publicKey)] });
    expect(json(`memberevm/${address}`)).toBe('clinic');
    const after = evmSet()!;
    // Four members, all with EVM keys; the quorum is raised to a majority of four.
    expect(after).toMatchObject({ epoch: before.epoch + 1, ready: true, threshold: 3 });
    expect(after.addresses).toContain(address);
    expect(after.addresses).toHaveLength(4);
    expect(JSON.parse(state(EVM_MEMBER_SET_KEY)!).effectiveFrom).toBe(api.node.latest().height + 1);
  });

  it('an admission without an EVM key: the new member is left out of the EVM set, which keeps the Custos threshold', async () => {
    const p = await propose('bank', admitAction('lab', userSigner(), {}));
    for (const v of ['insurer', 'retailer']) await vote(v, p.txId);
    expect(proposal(p.txId).status).toBe('executed');
    // Five members, a threshold of 3, four keys: a certificate still needs three members.
    expect(evmSet()).toMatchObject({ ready: true, threshold: 3 });
    expect(evmSet()!.addresses).toHaveLength(4);
  });
});

describe('through the API', () => {
  it('POST /v1/orgs/:org/gov/propose and /gov/vote carry setEvmKey; the schema refuses malformed EVM fields', async () => {
    const key = evmSecretKey();
    const action = setEvmKeyAction('lab', key);
    const bad = await post(
      '/v1/orgs/bank/gov/propose',
      { action: { ...action, address: '0xABC' }, reason: 'x' },
      'bank',
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/address/);
    const badProof = await post(
      '/v1/orgs/bank/gov/propose',
      { action: { ...action, proof: `0x${'zz'.repeat(65)}` }, reason: 'x' },
      'bank',
    );
    expect(badProof.statusCode).toBe(400);
    const r = await post('/v1/orgs/bank/gov/propose', { action, reason: 'the lab lost its keys' }, 'bank');
    expect(r.statusCode).toBe(200);
    const { txId, code } = r.json();
    expect(code).toBe('OK');
    // While open, the overview says how many yes votes it needs: the rotateKey rule, a majority of 5.
    const open = (await api.app.inject({ method: 'GET', url: '/v1/gov/proposals' })).json();
    expect(open.proposals.find((x: { id: string }) => x.id === txId)).toMatchObject({ state: 'open', needs: 3 });
    expect(open.members.find((m: { id: string }) => m.id === 'lab')).toMatchObject({ evmKey: null });
    for (const v of ['insurer', 'retailer']) {
      const res = await post(`/v1/orgs/${v}/gov/vote`, { proposal: txId, vote: 'yes' }, v);
      expect(res.statusCode).toBe(200);
      expect(res.json().code).toBe('OK');
    }
    expect(proposal(txId).status).toBe('executed');
    expect(json('member/lab').evmKey).toBe(evmAddress(key));
    expect(evmSet()).toMatchObject({ ready: true });
    expect(evmSet()!.addresses).toHaveLength(5);
    // The public overview shows the proposal with its action.
    const overview = await api.app.inject({ method: 'GET', url: '/v1/gov/proposals' });
    const listed = overview.json().proposals.find((x: { id: string }) => x.id === txId);
    expect(listed).toMatchObject({ state: 'executed', action: { kind: 'setEvmKey', member: 'lab' } });
    expect(govActionText(listed.action, (id: string) => id)).toBe('Set lab’s EVM key');
    const lab = overview.json().members.find((m: { id: string }) => m.id === 'lab');
    expect(lab).toMatchObject({ evmKey: evmAddress(key) });
  });

  it('an admission with an EVM key through the API', async () => {
    const key = evmSecretKey();
    // The SDK's builder, the EVM key signing its own proof for the new member.
    const action = sdkAdmitAction(
      chainId(),
      { id: 'shop', name: 'Shop', endpoint: 'https://peer.shop.example' },
      [userSigner()],
      key,
    );
    const evm = { address: evmAddress(key) };
    const r = await post('/v1/orgs/bank/gov/propose', { action, reason: 'new partner' }, 'bank');
    expect(r.statusCode).toBe(200);
    expect(r.json().code).toBe('OK');
    expect(proposal(r.json().txId).action).toMatchObject({ evmKey: evm.address });
  });

  it('removeEvmKey through the API: a compromised key taken out by vote, until fewer keys than the threshold would remain', async () => {
    const before = evmSet()!;
    const address = json('member/lab').evmKey as string;
    const r = await post(
      '/v1/orgs/bank/gov/propose',
      { action: removeEvmKeyAction('lab'), reason: 'key leaked' },
      'bank',
    );
    expect(r.statusCode).toBe(200);
    expect(r.json().code).toBe('OK');
    const txId = r.json().txId as string;
    expect(proposal(txId)).toMatchObject({ status: 'open' });
    expect(govActionText(proposal(txId).action as unknown as { kind: string }, (id: string) => id)).toBe(
      'Remove lab’s EVM key',
    );
    for (const v of ['insurer', 'retailer']) await vote(v, txId);
    expect(proposal(txId).status).toBe('executed');
    expect(json('member/lab').evmKey).toBeUndefined();
    expect(json(`memberevm/${address}`)).toBeUndefined();
    const after = evmSet()!;
    expect(after).toMatchObject({ epoch: before.epoch + 1, ready: true, threshold: before.threshold });
    expect(after.addresses).not.toContain(address);
    // No key to remove; malformed.
    expect((await propose('bank', { kind: 'removeEvmKey', member: 'lab' })).code).toBe('NOT_FOUND');
    expect((await propose('bank', { kind: 'removeEvmKey', member: 'lab', address })).code).toBe('INVALID_ARGS');
    // Down to the threshold of keys, then no further: the threshold is never lowered for the EVM side.
    const keyed = after.addresses.length - after.threshold;
    const holders = ['bank', 'insurer', 'retailer', 'shop'].filter(
      (o) => typeof json(`member/${o}`)?.evmKey === 'string',
    );
    for (const o of holders.slice(0, keyed)) {
      const p = await propose('bank', removeEvmKeyAction(o));
      expect(p.code).toBe('OK');
      for (const v of ['insurer', 'retailer', 'lab']) if (proposal(p.txId).status === 'open') await vote(v, p.txId);
      expect(proposal(p.txId).status).toBe('executed');
    }
    expect(evmSet()).toMatchObject({ ready: true });
    expect(evmSet()!.addresses).toHaveLength(after.threshold);
    const last = holders[keyed]!;
    const refused = await propose('bank', removeEvmKeyAction(last));
    expect(refused.code).toBe('CONFLICT');
    expect(refused.detail).toMatch(/fewer than the quorum threshold .*replace it with setEvmKey instead/);
  });
});
