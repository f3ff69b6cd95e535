/**
 * Consortium governance on a running peer: admission, removal, key rotation and parameter changes
 * by vote under the genesis policy, every refusal with its result code, the dynamic member set
 * (what certifies the next block), the audit replaying governance, and a light client following
 * member changes through state proofs.
 */
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { type MemberSet, proveMemberKey, STATE_BUNDLE_V1, verifyProofBundle } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeVerifier } from '../src/crypto/native.js';
import { type Genesis, genesisText, makeGenesis, parseGenesis, policyOf } from '../src/genesis.js';
import { blockParams, memberSetAt, memberSetFromState } from '../src/governance/member-set.js';
import { DEFAULT_POLICY } from '../src/governance/policy.js';
import { type Proposal, proposalKey, proposalStatusAt } from '../src/governance/state.js';
import { CustosNode } from '../src/node.js';
import { auditChain } from '../src/peer/audit.js';
import { stateProof } from '../src/proofs.js';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let opened: CustosNode | undefined;
let dbPath: string;

/** Keys by did:key, so the actions below can carry each new key's proof of possession (trust #4). */
const held = new Map<string, Signer>();
const did = (s: Signer) => {
  const d = didFromPublicKey(s.publicKey);
  held.set(d, s);
  return d;
};
/** The proof `key`'s holder signs; a well-formed but wrong one for a key no test holds. */
const proofOf = (key: string, member: string, action: 'admit' | 'rotateKey') => {
  const s = held.get(key);
  return s === undefined ? 'A'.repeat(86) : proveMemberKey(s, { chainId: 'test', member, action }).proof;
};

function orgs(): { bank: Signer; insurer: Signer; retailer: Signer } {
  return { bank: fx.orgs.bank!, insurer: fx.orgs.insurer!, retailer: fx.orgs.retailer! };
}

async function open(genesis: Genesis): Promise<void> {
  dbPath = join(tmp.dir, 'node.db');
  node = await CustosNode.open({ dbPath, genesis, signers: Object.values(fx.orgs), verifyThreads: 1 });
  opened = node;
}

beforeEach(() => {
  tmp = tempDir();
  fx = fixture(['bank', 'insurer', 'retailer']);
});

afterEach(async () => {
  await opened?.close();
  opened = undefined;
  tmp.cleanup();
});

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(tx(signer, type, args));
}

function propose(signer: Signer, action: { [k: string]: JsonValue }, reason = 'because the consortium agreed to') {
  return send(signer, 'gov.propose', { action, reason });
}

function vote(signer: Signer, proposal: string, v: 'yes' | 'no' = 'yes') {
  return send(signer, 'gov.vote', { proposal, vote: v });
}

function proposal(id: string): Proposal {
  return JSON.parse(node.store.getState(proposalKey(id))!) as Proposal;
}

function member(id: string): { [k: string]: JsonValue } | undefined {
  const text = node.store.getState(`member/${id}`);
  return text === undefined ? undefined : (JSON.parse(text) as { [k: string]: JsonValue });
}

function admit(id: string, keys: string[], endpoint = `https://peer.${id}.example:8443`) {
  return {
    kind: 'admit',
    id,
    name: `${id} org`,
    keys,
    endpoint,
    proofs: keys.map((k) => proofOf(k, id, 'admit')),
  };
}

function rotate(memberId: string, oldKey: string, newKey: string) {
  return { kind: 'rotateKey', member: memberId, oldKey, newKey, proof: proofOf(newKey, memberId, 'rotateKey') };
}

/**
 * Value of `key` as a light client learns it: a state proof verified against `trusted`, the set it
 * holds for that height (as a v1 bundle: without the member-set updates, which follow from genesis).
 */
function proven(key: string, trusted: MemberSet): JsonValue | undefined {
  const bundle = { ...stateProof(node, key), type: STATE_BUNDLE_V1, memberSetUpdates: undefined };
  const fact = verifyProofBundle(bundle, trusted, nativeVerifier, 'test');
  if (fact.kind !== 'state') throw new Error('expected a state proof');
  return fact.value ?? undefined;
}

describe('genesis policy', () => {
  it('keeps a genesis without a policy byte for byte, and checks a given one strictly', () => {
    const text = genesisText(fx.genesis);
    expect(text).not.toContain('policy');
    expect(genesisText(parseGenesis(JSON.parse(text)))).toBe(text);
    expect(policyOf(fx.genesis)).toEqual(DEFAULT_POLICY);

    const g = makeGenesis({ chainId: 'test', time: 1, members: fx.genesis.members, policy: { admit: 3 } });
    expect(g.policy).toEqual({ ...DEFAULT_POLICY, admit: 3 });
    expect(parseGenesis(JSON.parse(genesisText(g)))).toEqual(g);

    const raw = JSON.parse(genesisText(g)) as { [k: string]: JsonValue };
    const bad = (policy: JsonValue) => () => parseGenesis({ ...raw, policy });
    expect(bad({ ...DEFAULT_POLICY, admit: 0 })).toThrow(/policy.admit/);
    expect(bad({ ...DEFAULT_POLICY, remove: 'most' })).toThrow(/policy.remove/);
    expect(bad({ ...DEFAULT_POLICY, proposalTtlBlocks: 0 })).toThrow(/proposalTtlBlocks/);
    expect(bad({ ...DEFAULT_POLICY, veto: 'majority' })).toThrow(/unexpected policy.veto/);
    expect(bad({ admit: 'majority' })).toThrow(/policy/);
    expect(bad(null)).toThrow(/policy/);
    expect(() => parseGenesis({ ...raw, polcy: raw.policy })).toThrow(/unexpected field 'polcy'/);
  });
});

describe('trust #12: the quorum threshold is at least a majority of the members', () => {
  it('trust #12: a genesis with a threshold under a majority is refused', () => {
    const raw = JSON.parse(genesisText(fx.genesis)) as { [k: string]: JsonValue };
    expect(() => parseGenesis({ ...raw, threshold: 1 })).toThrow(
      /expected threshold between 2 \(a majority of 3 members\) and 3/,
    );
    expect(() => makeGenesis({ chainId: 'test', members: fx.genesis.members, threshold: 1 })).toThrow(/majority/);
    const four = [...fx.genesis.members, { id: 'clinic', name: 'Clinic', keys: [did(userSigner())] }];
    expect(() => makeGenesis({ chainId: 'test', members: four, threshold: 2 })).toThrow(/between 3/);
    expect(makeGenesis({ chainId: 'test', members: four, threshold: 3 }).threshold).toBe(3);
  });

  it('trust #12: a params proposal under a majority is refused; admissions raise the threshold, removals keep it', async () => {
    await open(fx.genesis);
    const { bank, insurer, retailer } = orgs();
    const low = await propose(bank, { kind: 'params', threshold: 1, blockMaxTxs: 100, blockMaxMs: 10 });
    expect(low.code).toBe('CONFLICT');
    expect(node.store.listState('gov/proposal/', undefined, 100)).toHaveLength(0);
    // Admit two members: 5 members need 3.
    for (const id of ['clinic', 'pharmacy']) {
      const p = await propose(bank, admit(id, [did(userSigner())]));
      await vote(insurer, p.txId);
      if (proposal(p.txId).status !== 'executed') await vote(retailer, p.txId);
      expect(proposal(p.txId).status).toBe('executed');
    }
    expect(memberSetAt(node.store).members).toHaveLength(5);
    expect(memberSetAt(node.store).threshold).toBe(3);
    // A removal leaves 4 members with a threshold of 3, still a majority; it is not lowered by it.
    const r = await propose(bank, { kind: 'remove', id: 'pharmacy' });
    await vote(insurer, r.txId);
    await vote(retailer, r.txId);
    expect(proposal(r.txId).status).toBe('executed');
    expect(memberSetAt(node.store)).toMatchObject({ threshold: 3 });
    expect(memberSetAt(node.store).members).toHaveLength(4);
    // 2 of 4 is not a majority.
    expect((await propose(bank, { kind: 'params', threshold: 2, blockMaxTxs: 100, blockMaxMs: 10 })).code).toBe(
      'CONFLICT',
    );
  });
});

describe('governance by majority (no policy in the genesis)', () => {
  beforeEach(async () => {
    await open(fx.genesis);
  });

  it('admits a member with 2 of 3 votes; its key then signs member transactions and counts in later votes', async () => {
    const { bank, insurer, retailer } = orgs();
    const clinic = userSigner();
    const p = await propose(bank, admit('clinic', [did(clinic)]));
    expect(p.code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({
      status: 'open',
      proposer: 'bank',
      createdAt: p.height,
      expiresAt: p.height + DEFAULT_POLICY.proposalTtlBlocks,
      votes: { bank: { vote: 'yes' } },
    });
    // One vote of three is below the majority: nothing changed yet.
    expect(member('clinic')).toBeUndefined();
    expect((await send(clinic, 'member.update', { name: 'Clinic' })).code).toBe('UNAUTHORIZED');

    const v = await vote(insurer, p.txId);
    expect(v.code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({
      status: 'executed',
      decidedAt: v.height,
      effectiveFrom: v.height + 1,
      tally: { yes: 2, no: 0, members: 3, required: 2 },
    });
    expect(member('clinic')).toMatchObject({
      id: 'clinic',
      keys: [did(clinic)],
      endpoint: 'https://peer.clinic.example:8443',
      since: v.height,
      admittedBy: p.txId,
    });
    expect(JSON.parse(node.store.getState('gov/members')!)).toEqual({ ids: ['bank', 'clinic', 'insurer', 'retailer'] });
    const set = memberSetAt(node.store);
    expect(set.members.map((m) => m.id)).toEqual(['bank', 'clinic', 'insurer', 'retailer']);
    // trust #12: four members need a quorum of three; the admission raised the threshold from 2.
    expect(fx.genesis.threshold).toBe(2);
    expect(set.threshold).toBe(3);

    // The new member signs member transactions (and moves its peer).
    expect(
      (await send(clinic, 'member.update', { name: 'Clinic plc', endpoint: 'https://peer2.clinic.example' })).code,
    ).toBe('OK');
    expect(member('clinic')).toMatchObject({ name: 'Clinic plc', endpoint: 'https://peer2.clinic.example' });

    // With four members a majority is three, and the clinic's vote is one of them.
    const q = await propose(clinic, { kind: 'params', threshold: 3, blockMaxTxs: 100, blockMaxMs: 10 });
    expect(q.code).toBe('OK');
    expect((await vote(retailer, q.txId)).code).toBe('OK');
    expect(proposal(q.txId).status).toBe('open');
    expect((await vote(bank, q.txId)).code).toBe('OK');
    expect(proposal(q.txId)).toMatchObject({ status: 'executed', tally: { yes: 3, members: 4, required: 3 } });
  });

  it('does nothing below the threshold, counts a double vote once, and lets a member change its vote', async () => {
    const { bank, insurer } = orgs();
    const bankKey2 = userSigner();
    const proven = proveMemberKey(bankKey2, { chainId: 'test', member: 'bank', action: 'addKey' });
    expect((await send(bank, 'member.addKey', proven)).code).toBe('OK');
    did(bankKey2);
    const p = await propose(bank, { kind: 'remove', id: 'retailer' });
    expect(p.code).toBe('OK');
    // The same member again, with the same key and with its second key: still one vote.
    expect((await vote(bank, p.txId)).code).toBe('OK');
    expect((await vote(bankKey2, p.txId)).code).toBe('OK');
    expect(proposal(p.txId).status).toBe('open');
    expect(Object.keys(proposal(p.txId).votes)).toEqual(['bank']);
    expect(member('retailer')).toBeDefined();
    // A member changes its mind: no, then yes (the latest vote counts and decides).
    expect((await vote(insurer, p.txId, 'no')).code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({ status: 'open', votes: { insurer: { vote: 'no' } } });
    expect((await vote(insurer, p.txId, 'yes')).code).toBe('OK');
    expect(proposal(p.txId).status).toBe('executed');
  });

  it('refuses proposals and votes from keys that are not member keys', async () => {
    const outsider = userSigner();
    const { bank } = orgs();
    expect((await propose(outsider, admit('outsider', [did(outsider)]))).code).toBe('UNAUTHORIZED');
    const p = await propose(bank, admit('clinic', [did(userSigner())]));
    expect((await vote(outsider, p.txId)).code).toBe('UNAUTHORIZED');
    expect(proposal(p.txId).votes).not.toHaveProperty('outsider');
    expect(node.store.getState('member/outsider')).toBeUndefined();
  });

  it('removes a member with its keys, and refuses a removal that would leave fewer members than the quorum', async () => {
    const { bank, insurer, retailer } = orgs();
    const p = await propose(bank, { kind: 'remove', id: 'retailer' });
    // The member being removed may vote too (here: against).
    expect((await vote(retailer, p.txId, 'no')).code).toBe('OK');
    const v = await vote(insurer, p.txId);
    expect(v.code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({ status: 'executed', tally: { yes: 2, no: 1, members: 3 } });
    expect(member('retailer')).toBeUndefined();
    expect(node.store.getState(`memberkey/${did(retailer)}`)).toBeUndefined();
    expect(memberSetAt(node.store).members.map((m) => m.id)).toEqual(['bank', 'insurer']);
    expect((await send(retailer, 'member.update', { name: 'Still here' })).code).toBe('UNAUTHORIZED');
    expect((await propose(retailer, { kind: 'remove', id: 'bank' })).code).toBe('UNAUTHORIZED');
    // Two members and a quorum of two: removing one more would leave a quorum nobody can reach.
    expect(fx.genesis.threshold).toBe(2);
    expect((await propose(bank, { kind: 'remove', id: 'insurer' })).code).toBe('CONFLICT');
    expect((await propose(bank, { kind: 'remove', id: 'retailer' })).code).toBe('NOT_FOUND');
  });

  it('rotates a member key: the old key is refused, the new one works', async () => {
    const { bank, insurer, retailer } = orgs();
    const fresh = userSigner();
    const p = await propose(bank, rotate('insurer', did(insurer), did(fresh)));
    expect(p.code).toBe('OK');
    expect((await vote(retailer, p.txId)).code).toBe('OK');
    expect(member('insurer')).toMatchObject({ keys: [did(fresh)] });
    expect(node.store.getState(`memberkey/${did(insurer)}`)).toBeUndefined();
    expect(JSON.parse(node.store.getState(`memberkey/${did(fresh)}`)!)).toBe('insurer');
    expect((await send(insurer, 'member.update', { name: 'Old key' })).code).toBe('UNAUTHORIZED');
    expect((await vote(insurer, p.txId)).code).toBe('UNAUTHORIZED');
    expect((await send(fresh, 'member.update', { name: 'Insurer, new key' })).code).toBe('OK');
    expect(memberSetAt(node.store).members.find((m) => m.id === 'insurer')?.keys).toEqual([did(fresh)]);
  });

  it('changes the quorum threshold and block parameters; memberSetAt and blockParams follow', async () => {
    const { bank, insurer } = orgs();
    expect(memberSetAt(node.store).threshold).toBe(2);
    expect(blockParams(node.store)).toEqual(fx.genesis.params);
    const p = await propose(bank, { kind: 'params', threshold: 3, blockMaxTxs: 100, blockMaxMs: 50 });
    expect(memberSetAt(node.store).threshold).toBe(2);
    const v = await vote(insurer, p.txId);
    expect(v.code).toBe('OK');
    expect(JSON.parse(node.store.getState('gov/params')!)).toEqual({ threshold: 3, blockMaxTxs: 100, blockMaxMs: 50 });
    expect(memberSetAt(node.store).threshold).toBe(3);
    expect(blockParams(node.store)).toEqual({ blockMaxTxs: 100, blockMaxMs: 50 });
    // Now all three are the quorum: no member can be removed.
    expect((await propose(bank, { kind: 'remove', id: 'retailer' })).code).toBe('CONFLICT');
  });

  it('refuses invalid actions with a code', async () => {
    const { bank, insurer } = orgs();
    const k = did(userSigner());
    const code = async (action: JsonValue, reason: JsonValue = 'a reason') =>
      (await send(bank, 'gov.propose', { action, reason })).code;
    expect(await code(admit('insurer', [k]))).toBe('CONFLICT'); // existing id
    expect(await code(admit('clinic', [did(insurer)]))).toBe('CONFLICT'); // a member's key
    expect(await code(admit('clinic', [k, k]))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', ['did:key:zNotAKey']))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', []))).toBe('INVALID_ARGS');
    expect(
      await code(
        admit(
          'clinic',
          Array.from({ length: 9 }, () => did(userSigner())),
        ),
      ),
    ).toBe('INVALID_ARGS');
    expect(await code(admit('Clinic', [k]))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', [k], 'ftp://peer.example'))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', [k], 'https://user:pw@peer.example'))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', [k], 'https://peer.example:99999'))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', [k], `https://${'a'.repeat(250)}.example`))).toBe('INVALID_ARGS');
    expect(await code({ ...admit('clinic', [k]), extra: 1 })).toBe('INVALID_ARGS');
    expect(await code({ kind: 'dissolve' })).toBe('INVALID_ARGS');
    expect(await code('admit')).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', [k]), 'x'.repeat(1025))).toBe('INVALID_ARGS');
    expect(await code(admit('clinic', [k]), '')).toBe('INVALID_ARGS');
    expect(await code({ kind: 'remove', id: 'nobody' })).toBe('NOT_FOUND');
    expect(await code(rotate('insurer', did(bank), k))).toBe('NOT_FOUND');
    expect(await code(rotate('insurer', did(insurer), did(bank)))).toBe('CONFLICT');
    expect(await code(rotate('insurer', did(insurer), did(insurer)))).toBe('INVALID_ARGS');
    expect(await code({ kind: 'params', threshold: 4, blockMaxTxs: 100, blockMaxMs: 10 })).toBe('CONFLICT');
    expect(await code({ kind: 'params', threshold: 0, blockMaxTxs: 100, blockMaxMs: 10 })).toBe('INVALID_ARGS');
    expect(await code({ kind: 'params', threshold: 2, blockMaxTxs: 10_001, blockMaxMs: 10 })).toBe('INVALID_ARGS');
    expect(await code({ kind: 'params', threshold: 2, blockMaxTxs: 100 })).toBe('INVALID_ARGS');
    expect((await send(bank, 'gov.propose', { action: admit('clinic', [k]), reason: 'r', more: true })).code).toBe(
      'INVALID_ARGS',
    );
    // Votes: unknown proposal, malformed id, malformed vote.
    expect((await vote(insurer, 'ab'.repeat(32))).code).toBe('NOT_FOUND');
    expect((await vote(insurer, 'not-an-id')).code).toBe('INVALID_ARGS');
    const p = await propose(bank, admit('clinic', [k]));
    expect((await send(insurer, 'gov.vote', { proposal: p.txId, vote: 'maybe' })).code).toBe('INVALID_ARGS');
    // Nothing invalid left a trace.
    expect(node.store.listState('gov/proposal/', undefined, 100)).toHaveLength(1);
  });

  it('rejects a proposal once the no votes make the threshold unreachable, then refuses votes on it', async () => {
    const { bank, insurer, retailer } = orgs();
    const p = await propose(bank, admit('clinic', [did(userSigner())]));
    expect((await vote(insurer, p.txId, 'no')).code).toBe('OK');
    expect(proposal(p.txId).status).toBe('open');
    const r = await vote(retailer, p.txId, 'no');
    expect(proposal(p.txId)).toMatchObject({ status: 'rejected', decidedAt: r.height, tally: { yes: 1, no: 2 } });
    expect((await vote(insurer, p.txId, 'yes')).code).toBe('PROPOSAL_CLOSED');
    expect(member('clinic')).toBeUndefined();
  });

  it('fails the deciding vote when the state moved on, leaving the proposal open', async () => {
    const { bank, insurer, retailer } = orgs();
    const clinic = userSigner();
    const first = await propose(bank, admit('clinic', [did(clinic)]));
    const second = await propose(insurer, admit('clinic', [did(clinic)], 'https://other.example'));
    expect((await vote(retailer, first.txId)).code).toBe('OK');
    expect(member('clinic')).toMatchObject({ admittedBy: first.txId });
    // Four members now: the second proposal needs three yes votes, and the third cannot execute it.
    expect((await vote(retailer, second.txId)).code).toBe('OK');
    expect((await vote(bank, second.txId)).code).toBe('CONFLICT');
    expect(proposal(second.txId)).toMatchObject({ status: 'open' });
    expect(Object.keys(proposal(second.txId).votes)).toEqual(['insurer', 'retailer']);
    expect((await vote(bank, second.txId, 'no')).code).toBe('OK');
    expect(proposal(second.txId).status).toBe('open');
    expect((await vote(clinic, second.txId, 'no')).code).toBe('OK');
    expect(proposal(second.txId)).toMatchObject({ status: 'rejected', tally: { yes: 2, no: 2, members: 4 } });
  });

  it('does not count the votes of a removed member, even once its id is admitted again', async () => {
    const { bank, insurer, retailer } = orgs();
    // Admit clinic so that four members make a majority of three.
    const clinic = userSigner();
    const a = await propose(bank, admit('clinic', [did(clinic)]));
    await vote(insurer, a.txId);
    const pending = await propose(retailer, { kind: 'params', threshold: 3, blockMaxTxs: 50, blockMaxMs: 5 });
    expect((await vote(clinic, pending.txId)).code).toBe('OK');
    // Remove the retailer (3 of 4), then admit it again under a new key.
    const rm = await propose(bank, { kind: 'remove', id: 'retailer' });
    await vote(insurer, rm.txId);
    expect((await vote(clinic, rm.txId)).code).toBe('OK');
    expect(member('retailer')).toBeUndefined();
    const retailer2 = userSigner();
    const back = await propose(bank, admit('retailer', [did(retailer2)]));
    await vote(insurer, back.txId);
    expect(member('retailer')).toMatchObject({ admittedBy: back.txId });
    // Four members again; the old retailer vote no longer counts: clinic + insurer = 2 < 3.
    expect((await vote(insurer, pending.txId)).code).toBe('OK');
    expect(proposal(pending.txId)).toMatchObject({ status: 'open' });
    expect((await vote(retailer2, pending.txId)).code).toBe('OK');
    expect(proposal(pending.txId)).toMatchObject({ status: 'executed', tally: { yes: 3, members: 4 } });
  });

  it('is replayed by the audit, which recomputes every root', async () => {
    const { bank, insurer, retailer } = orgs();
    const clinic = userSigner();
    const a = await propose(bank, admit('clinic', [did(clinic)]));
    await vote(insurer, a.txId);
    const fresh = userSigner();
    const r = await propose(clinic, rotate('retailer', did(retailer), did(fresh)));
    await vote(insurer, r.txId);
    await vote(bank, r.txId);
    // The retailer's peer now signs with its new key; the restart also reloads the state.
    await node.close();
    node = await CustosNode.open({ dbPath, signers: [bank, insurer, fresh], verifyThreads: 1 });
    opened = node;
    const rm = await propose(fresh, { kind: 'remove', id: 'clinic' }, 'left the consortium');
    await vote(bank, rm.txId, 'no');
    await vote(insurer, rm.txId);
    await vote(clinic, rm.txId);
    const pp = await propose(bank, { kind: 'params', threshold: 3, blockMaxTxs: 100, blockMaxMs: 10 });
    await vote(insurer, pp.txId);
    await vote(insurer, pp.txId, 'no');
    await vote(clinic, pp.txId); // removed: UNAUTHORIZED, recorded with its code
    await send(userSigner(), 'kv.put', { ns: 'n', key: 'k', value: 1 });
    const report = auditChain(dbPath);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.stateRoot).toBe(node.latest().stateRoot);
    expect(report.height).toBe(node.latest().height);
    // Every block's certificate verified against the member set in force before it.
    expect(report.certified).toBe(node.latest().height + 1);
  });

  it('lets a light client follow member changes with state proofs', async () => {
    const { bank, insurer, retailer } = orgs();
    const clinic = userSigner();
    const p = await propose(bank, admit('clinic', [did(clinic)]));
    // The set in force before the deciding block is the one that certifies it.
    const before = memberSetAt(node.store);
    const v = await vote(insurer, p.txId);
    expect(node.latest().height).toBe(v.height);
    const record = proven('member/clinic', before);
    expect(record).toMatchObject({ id: 'clinic', keys: [did(clinic)] });
    expect(proven(proposalKey(p.txId), before)).toMatchObject({ status: 'executed' });
    // From proven gov/members, member/<id> and gov/params the client builds the next set itself.
    const next = memberSetFromState(
      (key) => proven(key, before),
      () => fx.genesis,
    );
    expect(next).toEqual(memberSetAt(node.store));
    expect(next.members.map((m) => m.id)).toEqual(['bank', 'clinic', 'insurer', 'retailer']);

    // A removal: the removal block is certified by the old set; the absence of member/retailer is proven.
    const rm = await propose(bank, { kind: 'remove', id: 'retailer' });
    await vote(insurer, rm.txId);
    const set3 = memberSetAt(node.store);
    const w = await vote(clinic, rm.txId);
    expect(node.latest().height).toBe(w.height);
    expect(proven('member/retailer', set3)).toBeUndefined();
    expect(proven(`memberkey/${did(retailer)}`, set3)).toBeUndefined();
    const set4 = memberSetFromState(
      (key) => proven(key, set3),
      () => fx.genesis,
    );
    expect(set4.members.map((m) => m.id)).toEqual(['bank', 'clinic', 'insurer']);
    // Three members with a threshold of 3 (raised by the admission, kept by the removal): the
    // clinic's key now signs on this peer too.
    expect(set4.threshold).toBe(3);
    await node.close();
    node = await CustosNode.open({ dbPath, signers: [bank, insurer, retailer, clinic], verifyThreads: 1 });
    opened = node;
    // Blocks after the removal are certified by the new set: the peer no longer signs with the removed key.
    await send(userSigner(), 'kv.put', { ns: 'n', key: 'after', value: 1 });
    expect(proven('kv/n/after', set4)).toMatchObject({ value: 1 });
    expect(stateProof(node, 'kv/n/after').certificate.signatures.map((s) => s.signer)).not.toContain(did(retailer));
  });
});

describe('governance under a genesis policy', () => {
  it('needs the policy number of votes and closes proposals after their last voting height', async () => {
    const genesis = makeGenesis({
      chainId: 'test',
      time: fx.genesis.time,
      members: fx.genesis.members,
      params: fx.genesis.params,
      policy: { admit: 3, remove: 2, proposalTtlBlocks: 2 },
    });
    await open(genesis);
    const { bank, insurer, retailer } = orgs();
    const p = await propose(bank, admit('clinic', [did(userSigner())]));
    expect(JSON.parse(node.store.getState('gov/policy')!)).toEqual(genesis.policy);
    await vote(insurer, p.txId);
    expect(proposal(p.txId).status).toBe('open'); // 2 of 3: the policy asks for all three
    expect((await vote(retailer, p.txId)).code).toBe('OK');
    expect(proposal(p.txId)).toMatchObject({ status: 'executed', tally: { yes: 3, required: 3 } });
    expect((await vote(retailer, p.txId)).code).toBe('PROPOSAL_CLOSED');

    // Expiry: votes are taken at heights createdAt .. createdAt + 2 only.
    const q = await propose(bank, { kind: 'params', threshold: 4, blockMaxTxs: 10, blockMaxMs: 10 });
    expect(proposal(q.txId).expiresAt).toBe(q.height + 2);
    const filler = userSigner();
    while (node.latest().height < q.height + 2) await send(filler, 'kv.put', { ns: 'n', key: 'fill', value: 1 });
    expect(proposalStatusAt(proposal(q.txId), node.latest().height)).toBe('open');
    expect(proposalStatusAt(proposal(q.txId), node.latest().height + 1)).toBe('expired');
    const late = await vote(insurer, q.txId);
    expect(late.height).toBeGreaterThan(q.height + 2);
    expect(late.code).toBe('PROPOSAL_CLOSED');
    expect(node.store.getState('gov/params')).toBe(
      canonicalize({
        // Raised from the genesis 2 by the admission (four members need three).
        threshold: 3,
        blockMaxTxs: genesis.params.blockMaxTxs,
        blockMaxMs: genesis.params.blockMaxMs,
      }),
    );
  });

  it('caps a fixed number of votes at the member count', async () => {
    const genesis = makeGenesis({
      chainId: 'test',
      time: fx.genesis.time,
      members: fx.genesis.members,
      params: fx.genesis.params,
      policy: { params: 5 },
    });
    await open(genesis);
    const { bank, insurer, retailer } = orgs();
    const p = await propose(bank, { kind: 'params', threshold: 3, blockMaxTxs: 10, blockMaxMs: 10 });
    await vote(insurer, p.txId);
    await vote(retailer, p.txId);
    expect(proposal(p.txId)).toMatchObject({ status: 'executed', tally: { yes: 3, required: 3 } });
  });
});
