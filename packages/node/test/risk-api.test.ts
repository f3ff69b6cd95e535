/**
 * GET /v1/orgs/:org/risk: the inputs read from the ledger (counts with their sources, no personal
 * data), the figures the protocol's model gives for them (the same function the console and the
 * CLI run), assumption overrides bounded with clear errors, and member authentication.
 */
import { didFromPublicKey } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import {
  DEFAULT_ASSUMPTIONS,
  expectedAnnualLoss,
  type RiskInputs,
  type RiskResult,
  simulate,
  type TrendPoint,
  withOverrides,
} from '@custos/protocol/risk';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputsAt, riskFacts } from '../src/orgs/risk-facts.js';

let api: ApiNode;
const subject = didFromPublicKey(userSigner().publicKey);

function get(url: string, org = 'bank') {
  const h: Record<string, string> = {
    ...signRequest({ method: 'GET', url: `http://localhost${url}` }, api.fx.orgs[org]!),
  };
  return api.app.inject({ method: 'GET', url, headers: h });
}

beforeAll(async () => {
  api = await startApiNode();
  for (const category of ['pd:EmailAddress', 'pd:HealthRecord']) {
    const r = await api.orgs.register('bank', {
      subject,
      category,
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { v: category },
      // A special category on a contract: health care, GDPR Art. 9(2)(h).
      ...(category === 'pd:HealthRecord' ? { condition: 'gdpr-9-2-h' as const } : {}),
    });
    expect(r.code).toBe('OK');
  }
});

afterAll(async () => {
  await api?.close();
});

describe('GET /v1/orgs/:org/risk', () => {
  it('answers the figures the protocol model gives for the inputs read from the ledger', async () => {
    const r = await get('/v1/orgs/bank/risk?trials=2000&breachRate=0.2');
    expect(r.statusCode).toBe(200);
    const { inputs, result } = r.json() as { inputs: RiskInputs; result: RiskResult };
    expect(inputs.categories).toEqual([
      { category: 'pd:EmailAddress', records: 1, pastRetention: 0, sensitive: false },
      { category: 'pd:HealthRecord', records: 1, pastRetention: 0, sensitive: true },
    ]);
    expect(inputs.subjects).toBe(1);
    expect(inputs.height).toBe(api.node.latest().height);
    expect(inputs.checkpoint?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(inputs.sources.find((s) => s.input === 'categories')?.query).toBe(
      `state rows record/bank/* at height ${inputs.height}`,
    );
    // No personal data: the subject's pseudonym appears nowhere in the answer.
    expect(r.body).not.toContain(subject);
    const direct = simulate(inputs, withOverrides(DEFAULT_ASSUMPTIONS, { breachRate: 0.2 }), { trials: 2000 });
    expect(JSON.parse(JSON.stringify(direct))).toEqual(result);
    expect(result.assumptions.breachRate.value).toBe(0.2);
    // Two records, no issue: no GDPR cap in the worst case, only a breach of both records.
    expect(result.worstCase).toBeCloseTo((2 * 165) / 1.1, 6);
  });

  it('gives the trend over the ledger: the inputs as they stood at earlier heights, oldest first', async () => {
    const r = await get('/v1/orgs/bank/risk?breachRate=0.2');
    const { inputs, trend } = r.json() as { inputs: RiskInputs; trend: TrendPoint[] };
    expect(trend.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < trend.length; i++) expect(trend[i]!.height).toBeGreaterThan(trend[i - 1]!.height);
    const last = trend[trend.length - 1]!;
    expect(last.height).toBe(inputs.height);
    const as = withOverrides(DEFAULT_ASSUMPTIONS, { breachRate: 0.2 });
    expect(last.expectedAnnualLoss).toBe(expectedAnnualLoss(inputs, as, { trials: 10_000 }));
    // The first record came a block before the second: less was held, less was at risk.
    expect(trend[0]!.expectedAnnualLoss).toBeLessThan(last.expectedAnnualLoss);
  });

  it('refuses assumptions out of bounds, unknown ones and bad trials, saying what was expected', async () => {
    const bad = async (qs: string, message: RegExp) => {
      const r = await get(`/v1/orgs/bank/risk?${qs}`);
      expect(r.statusCode, qs).toBe(400);
      expect(r.json().detail ?? r.json().message, qs).toMatch(message);
    };
    await bad('breachRate=11', /expected assumption 'breachRate' as a number from 0 to 10/);
    await bad('fineShare=-0.5', /expected assumption 'fineShare' as a number from 0 to 1/);
    await bad('trials=10', /expected querystring.trials from 1000 to 100000/);
    await bad('trials=2000000', /querystring/);
    await bad('nope=1', /nope|additional/i);
    await bad('breachRate=abc', /breachRate|pattern/);
  });

  it('needs a member of the org: anonymous and other orgs are refused', async () => {
    const anon = await api.app.inject({ method: 'GET', url: '/v1/orgs/bank/risk' });
    expect(anon.statusCode).toBe(401);
    const other = await get('/v1/orgs/bank/risk', 'insurer');
    expect(other.statusCode).toBe(403);
  });
});

describe('the risk inputs read the incident register (GDPR Arts. 33-34)', () => {
  it('counts an open breach, a late notification to the authority and the customers told, each with its source', async () => {
    const read = async () => {
      const r = await get('/v1/orgs/bank/risk?trials=2000');
      return r.json() as { inputs: RiskInputs; result: RiskResult };
    };
    const before = await read();
    expect([before.inputs.openIncidents, before.inputs.lateAuthority, before.inputs.breachSubjects]).toEqual([0, 0, 0]);
    // Detected 80 hours ago, the authority not told: open and late.
    const opened = await api.orgs.submit('bank', 'incident.open', {
      detectedAt: Date.now() - 80 * 3_600_000,
      nature: ['confidentiality'],
      categories: ['pd:EmailAddress'],
      risk: 'high',
    });
    expect(opened.code).toBe('OK');
    const told = await api.orgs.submit('bank', 'incident.notify', { incident: opened.txId, subject });
    expect(told.code).toBe('OK');
    const open = await read();
    expect([open.inputs.openIncidents, open.inputs.lateAuthority, open.inputs.breachSubjects]).toEqual([1, 1, 1]);
    const h = open.inputs.height;
    expect(
      open.inputs.sources.filter((s) => ['openIncidents', 'lateAuthority', 'breachSubjects'].includes(s.input)),
    ).toEqual([
      { input: 'openIncidents', query: `state rows incident/bank/* at height ${h}: breaches not closed`, height: h },
      {
        input: 'lateAuthority',
        query: `state rows incident/bank/* at height ${h}: authority told after the 72 hours, or not told and past them`,
        height: h,
      },
      {
        input: 'breachSubjects',
        query: `state rows incident/bank/* at height ${h} and state rows record/bank/* at height ${h}: customers the open breaches may affect, notified or not, and others notified of them by then`,
        height: h,
      },
    ]);
    expect(open.result.expectedAnnualLoss).toBeGreaterThan(before.result.expectedAnnualLoss);
    expect(open.result.causes.find((c) => c.id === 'incidents')!.expectedAnnualLoss).toBeGreaterThan(0);
    expect(JSON.stringify(open)).not.toContain(subject);

    // Told late (with its reason) and closed: no longer open, still late; the loss comes down.
    const authority = await api.orgs.submit('bank', 'incident.authority', {
      incident: opened.txId,
      digest: 'cd'.repeat(32),
      delayReason: 'scope-being-established',
    });
    expect(authority.code).toBe('OK');
    expect((await api.orgs.submit('bank', 'incident.close', { incident: opened.txId })).code).toBe('OK');
    const closed = await read();
    expect([closed.inputs.openIncidents, closed.inputs.lateAuthority, closed.inputs.breachSubjects]).toEqual([0, 1, 0]);
    expect(closed.result.expectedAnnualLoss).toBeLessThan(open.result.expectedAnnualLoss);
    expect(closed.result.expectedAnnualLoss).toBeGreaterThan(before.result.expectedAnnualLoss);
  });
});

describe('the customers a breach may affect', () => {
  it('count before they are notified, once each; a past height counts the notices made by then', async () => {
    const read = async () => {
      const r = await get('/v1/orgs/bank/risk?trials=2000');
      return r.json() as { inputs: RiskInputs; result: RiskResult };
    };
    // Another customer, with a record in a category the breach does not concern.
    const other = didFromPublicKey(userSigner().publicKey);
    const reg = await api.orgs.register('bank', {
      subject: other,
      category: 'pd:Name',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { v: 'name' },
    });
    expect(reg.code).toBe('OK');
    const opened = await api.orgs.submit('bank', 'incident.open', {
      detectedAt: Date.now() - 3_600_000,
      nature: ['confidentiality'],
      categories: ['pd:HealthRecord'],
      risk: 'high',
    });
    expect(opened.code).toBe('OK');
    // Nobody told yet: the customer whose health record it may touch counts, and costs.
    const untold = await read();
    expect([untold.inputs.openIncidents, untold.inputs.breachSubjects]).toEqual([1, 1]);
    expect(untold.result.causes.find((c) => c.id === 'incidents')!.expectedAnnualLoss).toBeGreaterThan(0);
    // Telling them does not count them twice.
    expect((await api.orgs.submit('bank', 'incident.notify', { incident: opened.txId, subject })).code).toBe('OK');
    const told = await read();
    expect(told.inputs.breachSubjects).toBe(1);
    expect(told.result.expectedAnnualLoss).toBe(untold.result.expectedAnnualLoss);
    // The org also tells the other customer: one more, from that notice's height on.
    const before = api.node.latest();
    const notice = await api.orgs.submit('bank', 'incident.notify', { incident: opened.txId, subject: other });
    expect(notice.code).toBe('OK');
    const after = await read();
    expect(after.inputs.breachSubjects).toBe(2);
    expect(after.result.causes.find((c) => c.id === 'incidents')!.expectedAnnualLoss).toBeGreaterThan(
      told.result.causes.find((c) => c.id === 'incidents')!.expectedAnnualLoss,
    );
    const facts = riskFacts(api.node, 'bank');
    expect(inputsAt(facts, before.height, before.time, null).breachSubjects).toBe(1);
    const head = api.node.latest();
    expect(inputsAt(facts, head.height, head.time, null).breachSubjects).toBe(2);
    expect(JSON.stringify(after)).not.toContain(other);
  });
});
