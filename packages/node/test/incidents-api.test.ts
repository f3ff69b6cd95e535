/**
 * The incident register through the org's API and the SDK (GDPR Arts. 33-34): registering a breach,
 * the customers it may affect (from the org's records in its categories), notifying each once under
 * their pseudonym, the authority's notification before closing; schema bounds, another org kept out,
 * and each notice readable by its customer alone.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { CustosClient, signedBy } from '@custos/sdk';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentNoticeKey } from '../src/modules/incident.js';

let api: ApiNode;
let bank: CustosClient;
const people: Record<string, { signer: Signer; did: string }> = {};

beforeAll(async () => {
  api = await startApiNode({ listen: true, server: { rateLimit: false } });
  bank = new CustosClient({ baseUrl: api.url!, sign: signedBy(api.fx.orgs.bank!) });
  for (const [name, category] of [
    ['alice', 'pd:EmailAddress'],
    ['bob', 'pd:EmailAddress'],
    ['carol', 'pd:Name'],
  ] as const) {
    const signer = userSigner();
    people[name] = { signer, did: didFromPublicKey(signer.publicKey) };
    const r = await api.orgs.register('bank', {
      subject: people[name]!.did,
      category,
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { v: name },
    });
    expect(r.code).toBe('OK');
  }
});

afterAll(async () => {
  await api?.close();
});

describe('the incident register through the API', () => {
  let id: string;

  it('registers a breach and lists it with its 72-hour clock', async () => {
    const bad = bank.openIncident('bank', {
      detectedAt: Date.now(),
      nature: ['leak' as never],
      categories: ['pd:EmailAddress'],
      risk: 'high',
    });
    await expect(bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const r = await bank.openIncident('bank', {
      detectedAt: Date.now() - 3_600_000,
      nature: ['confidentiality'],
      categories: ['pd:EmailAddress'],
      risk: 'high',
    });
    expect(r.code).toBe('OK');
    id = r.txId;
    const { incidents } = await bank.orgIncidents('bank');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ id, authorityOverdue: false, notified: 0, closedAt: null });
    expect(incidents[0]!.authorityDeadline - incidents[0]!.detectedAt).toBe(72 * 3_600_000);
    // Another org reads nothing of the bank's register.
    const insurer = new CustosClient({ baseUrl: api.url!, sign: signedBy(api.fx.orgs.insurer!) });
    await expect(insurer.orgIncidents('bank')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('finds the customers whose records are in the categories concerned, and notifies each once', async () => {
    const affected = await bank.affectedSubjects('bank', id);
    expect(affected.subjects.map((s) => s.subject).sort()).toEqual([people.alice!.did, people.bob!.did].sort());
    expect(affected.subjects.every((s) => s.records === 1 && !s.notified)).toBe(true);
    const sent = await bank.notifySubjects('bank', id);
    expect(sent.results.map((r) => r.code)).toEqual(['OK', 'OK']);
    expect((await bank.affectedSubjects('bank', id)).subjects.every((s) => s.notified)).toBe(true);
    expect((await bank.notifySubjects('bank', id)).results).toEqual([]);
    const again = await bank.notifySubjects('bank', id, [people.alice!.did]);
    expect(again.results[0]!.code).toBe('CONFLICT');
    // Carol's records are not in the categories: she holds data at the bank, so a notice is accepted
    // if the bank chooses to send her one, but she is not listed as affected.
    expect((await bank.orgIncidents('bank')).incidents[0]!.notified).toBe(2);
  });

  it('lets each customer read their own notice, and no other', async () => {
    const key = incidentNoticeKey('bank', id, people.alice!.did);
    const alice = new CustosClient({ baseUrl: api.url!, sign: signedBy(people.alice!.signer) });
    const mine = await alice.stateEntry(key);
    expect(JSON.stringify(mine)).toContain(people.alice!.did);
    const bob = new CustosClient({ baseUrl: api.url!, sign: signedBy(people.bob!.signer) });
    await expect(bob.stateEntry(key)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(new CustosClient({ baseUrl: api.url! }).stateEntry(key)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('closes only after the authority was told', async () => {
    expect((await bank.closeIncident('bank', id)).code).toBe('CONFLICT');
    const told = await bank.notifyAuthority('bank', id, { digest: 'ab'.repeat(32) });
    expect(told.code).toBe('OK');
    expect((await bank.closeIncident('bank', id)).code).toBe('OK');
    const [i] = (await bank.orgIncidents('bank')).incidents;
    expect(i).toMatchObject({ authorityDigest: 'ab'.repeat(32), delayReason: null });
    expect(i!.closedAt).not.toBeNull();
  });
});
