/**
 * The org's own obligations through the API and the SDK: the member profile set and changed
 * (versioned), the records of processing (GDPR Art. 30) and the DPIA draft (Art. 35) whose figures
 * are the ledger's (live records by purpose, bases, retention, transfers outside the EEA from the
 * profile's regions, the data map digest in force), their renderings, and another org kept out.
 */
import { didFromPublicKey } from '@custos/protocol/crypto';
import { CustosClient, signedBy } from '@custos/sdk';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dpiaHtml, ropaCsv } from '../src/cli/obligations-report.js';
import { exampleProfile } from '../src/demo/profiles.js';

let api: ApiNode;
let bank: CustosClient;
let insurer: CustosClient;
const MAP_DIGEST = 'ab'.repeat(32);

beforeAll(async () => {
  api = await startApiNode({ listen: true, server: { rateLimit: false } });
  bank = new CustosClient({ baseUrl: api.url!, sign: signedBy(api.fx.orgs.bank!) });
  insurer = new CustosClient({ baseUrl: api.url!, sign: signedBy(api.fx.orgs.insurer!) });
  const people = [
    ['pd:EmailAddress', { 'dpv:ServiceProvision': 'contract', 'dpv:Marketing': 'consent' }, 365],
    ['pd:EmailAddress', { 'dpv:ServiceProvision': 'contract' }, 30],
    ['pd:Name', { 'dpv:ServiceProvision': 'contract' }, 90],
  ] as const;
  const ids: string[] = [];
  for (const [category, purposes, retentionDays] of people) {
    const r = await api.orgs.register('bank', {
      subject: didFromPublicKey(userSigner().publicKey),
      category,
      purposes: { ...purposes },
      source: 'subject',
      retentionDays,
      value: { v: category },
    });
    expect(r.code).toBe('OK');
    ids.push(r.recordId);
  }
  // An erased record is no longer processed: not in the records of processing.
  expect((await api.orgs.erase('bank', [ids[2]!], 'request'))[0]?.code).toBe('OK');
  const map = await api.orgs.submit('bank', 'datamap.publish', {
    version: 1,
    digest: MAP_DIGEST,
    systems: ['crm'],
    tables: 1,
    fields: 2,
  });
  expect(map.code).toBe('OK');
});

afterAll(async () => {
  await api?.close();
});

describe("the org's own obligations through the API", () => {
  it('reads the profile and changes it as the next version', async () => {
    expect(await bank.orgProfile('bank')).toMatchObject({ ...exampleProfile('bank'), version: 1 });
    await expect(
      bank.setOrgProfile('bank', { ...exampleProfile('bank'), regions: ['de' as never] }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const r = await bank.setOrgProfile('bank', { ...exampleProfile('bank'), regions: ['DE', 'US'] });
    expect(r.code).toBe('OK');
    expect(await bank.orgProfile('bank')).toMatchObject({ version: 2, regions: ['DE', 'US'] });
  });

  it('lists the records of processing with the figures of the ledger', async () => {
    const r = await bank.orgRopa('bank');
    expect(r.height).toBe(api.node.latest().height);
    expect(r.controller).toMatchObject({ legalName: exampleProfile('bank').legalName, version: 2 });
    expect(r.dataMap).toEqual({ version: 1, digest: MAP_DIGEST, systems: ['crm'] });
    expect(r.activities.map((a) => a.purpose)).toEqual(['dpv:Marketing', 'dpv:ServiceProvision']);
    const service = r.activities[1]!;
    expect(service).toMatchObject({
      categories: ['pd:EmailAddress'],
      specialCategories: [],
      subjectCategories: ['customers'],
      lawfulBases: ['contract'],
      records: 2,
      subjects: 2,
      retentionDays: { min: 30, max: 365 },
      recipients: [],
      transfers: [{ via: 'own-peers', countries: ['US'] }],
    });
    expect(r.activities[0]).toMatchObject({
      lawfulBases: ['consent'],
      records: 1,
      retentionDays: { min: 365, max: 365 },
    });
    expect(r.securityMeasures.length).toBeGreaterThan(3);
    const csv = ropaCsv(r).split('\r\n');
    expect(csv[0]).toMatch(/^purpose,categories,/);
    expect(csv[2]).toContain('dpv:ServiceProvision,pd:EmailAddress,,customers,contract,,US via own-peers,30-365,2,2');
  });

  it('drafts the DPIA from the same facts, marked as a draft', async () => {
    const d = await bank.orgDpia('bank');
    expect(d.status).toBe('draft');
    expect(d.necessity).toEqual([
      { purpose: 'dpv:Marketing', lawfulBases: ['consent'], retentionDays: { min: 365, max: 365 }, records: 1 },
      { purpose: 'dpv:ServiceProvision', lawfulBases: ['contract'], retentionDays: { min: 30, max: 365 }, records: 2 },
    ]);
    const risk = Object.fromEntries(d.risks.map((x) => [x.id, x.count]));
    expect(risk).toEqual({
      'special-categories': 0,
      'past-retention': 0,
      'uses-without-basis': 0,
      'automated-decisions': 0,
      transfers: 1,
      'open-breaches': 0,
      'overdue-copies': 0,
    });
    const html = dpiaHtml(d);
    expect(html).toContain('DRAFT for the DPO to complete');
    expect(html).toContain(`at height ${d.height}`);
    expect(html).toContain(MAP_DIGEST);
  });

  it('lists the open breaches of the incident register and the overdue copies, each with its source', async () => {
    const opened = await bank.openIncident('bank', {
      detectedAt: Date.now() - 3_600_000,
      nature: ['availability'],
      categories: ['pd:EmailAddress'],
      risk: 'risk',
    });
    expect(opened.code).toBe('OK');
    const d = await bank.orgDpia('bank');
    const h = d.height;
    const breaches = d.risks.find((x) => x.id === 'open-breaches')!;
    expect(breaches).toEqual({
      id: 'open-breaches',
      count: 1,
      present: true,
      text: 'Personal data breaches still open in the incident register (Arts. 33-34), 2 customers they may affect',
      source: `state rows incident/bank/* at height ${h}: breaches not closed`,
    });
    expect(d.risks.find((x) => x.id === 'overdue-copies')).toMatchObject({
      count: 0,
      present: false,
      source: `state rows record/bank/* at height ${h}: copies held with an obligation from their source pending past its due date`,
    });
    // Every risk says where its count comes from, in the API, the HTML draft and nothing personal.
    for (const x of d.risks) expect(x.source).toMatch(new RegExp(`(at height |blocks \\d+-)${h}\\b`));
    const html = dpiaHtml(d);
    expect(html).toContain('<th scope="col">source</th>');
    expect(html).toContain(`state rows incident/bank/* at height ${h}: breaches not closed`);
  });

  it('keeps another org out', async () => {
    await expect(insurer.orgRopa('bank')).rejects.toMatchObject({ status: 403 });
    await expect(insurer.orgDpia('bank')).rejects.toMatchObject({ status: 403 });
    expect((await insurer.orgRopa('insurer')).activities).toEqual([]);
  });
});
