/**
 * Member profiles as the ledger enforces them (GDPR Arts. 26, 27, 37): an org without one records
 * no customer data (NO_PROFILE, nothing written), sets one signed by itself, changes it as a new
 * version with the old one kept, and bad input is refused saying what was expected.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type MemberProfile, signTx } from '@custos/protocol/ledger';
import { fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleProfile } from '../src/demo/profiles.js';
import { makeGenesis } from '../src/genesis.js';
import { profileKey, profileVersionKey } from '../src/modules/profile.js';
import { CustosNode } from '../src/node.js';

let tmp: ReturnType<typeof tempDir>;
let node: CustosNode;
let orgs: Record<string, Signer>;

const send = (signer: Signer, type: string, args: { [k: string]: JsonValue }) =>
  node.submitAndWait(signTx({ chainId: 'test', type, args }, signer));
const profile = (org: string, key = profileKey(org)) => {
  const v = node.store.getState(key);
  return v === undefined ? undefined : (JSON.parse(v) as MemberProfile);
};
const register = (org: string) =>
  send(orgs[org]!, 'data.register', {
    subject: didFromPublicKey(userSigner().publicKey),
    category: 'pd:EmailAddress',
    purposes: { 'dpv:ServiceProvision': 'contract' },
    source: 'subject',
    commitment: randomBytes(32).toString('hex'),
    vaultRef: randomBytes(16).toString('hex'),
    retentionDays: 30,
  });

beforeAll(async () => {
  tmp = tempDir();
  const fx = fixture(['bank', 'insurer']);
  orgs = fx.orgs;
  // The insurer joins without a profile; the bank has the fixture's from the genesis.
  const genesis = makeGenesis({
    ...fx.genesis,
    members: fx.genesis.members.map((m) => (m.id === 'insurer' ? { id: m.id, name: m.name, keys: m.keys } : m)),
  });
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis,
    signers: Object.values(orgs),
    verifyThreads: 1,
  });
});

afterAll(async () => {
  await node.close();
  tmp.cleanup();
});

describe('member profiles', () => {
  it('a genesis profile is version 1 and lets the org record data', async () => {
    expect(profile('bank')).toMatchObject({ ...exampleProfile('bank'), version: 1, height: 0, txId: 'genesis' });
    expect((await register('bank')).code).toBe('OK');
  });

  it('an org without a profile records no customer data, then does once it set one', async () => {
    const refused = await register('insurer');
    expect(refused.code).toBe('NO_PROFILE');
    expect(refused.detail).toContain('insurer has no member profile');
    expect(node.store.listState('record/insurer/', undefined, 10)).toHaveLength(0);

    const set = await send(orgs.insurer!, 'profile.set', { ...exampleProfile('insurer') });
    expect(set.code).toBe('OK');
    expect(profile('insurer')).toMatchObject({ org: 'insurer', version: 1, regions: ['FR'], txId: set.txId });
    expect((await register('insurer')).code).toBe('OK');
  });

  it('a change is the next version; the old one stays readable; the same profile again is a conflict', async () => {
    const changed = {
      ...exampleProfile('insurer'),
      regions: ['US', 'FR'],
      euRepresentative: 'https://insurer.example/eu-rep',
    };
    expect((await send(orgs.insurer!, 'profile.set', changed)).code).toBe('OK');
    expect(profile('insurer')).toMatchObject({
      version: 2,
      regions: ['FR', 'US'],
      euRepresentative: 'https://insurer.example/eu-rep',
    });
    expect(profile('insurer', profileVersionKey('insurer', 1))?.regions).toEqual(['FR']);
    const again = await send(orgs.insurer!, 'profile.set', changed);
    expect(again.code).toBe('CONFLICT');
    expect(again.detail).toContain('already in force as version 2');
  });

  it('bad input is refused saying what was expected, and changes nothing', async () => {
    const cases: [Record<string, JsonValue>, string][] = [
      [{ regions: ['XX'] }, 'ISO 3166-1 alpha-2'],
      [{ dpo: 'Jane Doe' }, 'role address'],
      [{ arrangementDigest: 'abc' }, 'GDPR Art. 26'],
      [{ legalName: 'x'.repeat(200) }, '1-128 characters'],
      [{ note: 'free text' }, 'unexpected note'],
    ];
    for (const [patch, expected] of cases) {
      const r = await send(orgs.insurer!, 'profile.set', { ...exampleProfile('insurer'), ...patch });
      expect(r.code).toBe('INVALID_ARGS');
      expect(r.detail).toContain(expected);
    }
    expect(profile('insurer')?.version).toBe(2);
    // Only a member signs a profile.
    expect((await send(userSigner(), 'profile.set', { ...exampleProfile('insurer') })).code).toBe('UNAUTHORIZED');
  });
});
