/**
 * The operator's face of a request's execution (issue 16, point 4) through the API: the steps answer
 * with the legal deadline and its flags, a paused request re-run from its failed step, and a legal
 * exception recorded for one system (`POST .../except`), refused with what was expected when it does
 * not fit. The system that fails here is a connector that fails on demand (the PostgreSQL faults are
 * in connectors-postgres.test.ts); the vault is the real vault connector.
 */
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import { signTx } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, ConnectorResult } from '../src/connectors/connector.js';
import { AT_RISK_DAYS, deadlineFlags } from '../src/connectors/steps-view.js';
import { VaultConnector } from '../src/connectors/vault-connector.js';
import { NodeError } from '../src/errors.js';

const DAY = 86_400_000;
let api: ApiNode;
let crmDown = true;
let crmCalls = 0;

/** A system whose erasure fails while `crmDown` (as a database that does not answer would). */
const crm: Connector = {
  system: 'crm',
  kind: 'postgres',
  async erase(): Promise<ConnectorResult> {
    crmCalls++;
    if (crmDown) throw new NodeError('CONNECTOR_FAILED', 'crm: cannot reach PostgreSQL (ECONNREFUSED)');
    return { system: 'crm', rows: 2, tables: [{ table: 'public.customers', rows: [{ id: 1 }, { id: 2 }] }] };
  },
  find: () => Promise.reject(new Error('not used')),
  export: () => Promise.reject(new Error('not used')),
  expire: () => Promise.reject(new Error('not used')),
  rectify: () => Promise.reject(new Error('not used')),
  close: async () => {},
};

function headers(method: string, url: string, body?: string): Record<string, string> {
  const h = signRequest(
    { method, url: `http://localhost${url}`, ...(body === undefined ? {} : { body }) },
    api.fx.orgs.bank!,
  );
  return { ...h, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
}

async function call(method: 'GET' | 'POST', url: string, payload?: unknown) {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const res = await api.app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body }),
    headers: headers(method, url, body),
  });
  return { status: res.statusCode, body: res.json() };
}

async function openRequest(signer: Signer, kind: string, jurisdiction = 'GDPR'): Promise<string> {
  const r = await api.node.submitAndWait(
    signTx({ chainId: api.node.chainId, type: 'request.open', args: { org: 'bank', kind, jurisdiction } }, signer),
  );
  expect(r.code).toBe('OK');
  return r.txId;
}

beforeAll(async () => {
  api = await startApiNode({ members: ['bank'] });
  const p = await api.orgs.submit('bank', 'datamap.publish', {
    version: 1,
    digest: 'ab'.repeat(32),
    systems: ['crm', 'vault'],
    tables: 1,
    fields: 2,
  });
  expect(p.code).toBe('OK');
  api.orgs.setConnectors('bank', [crm, new VaultConnector('vault', api.orgs, 'bank')]);
});

afterAll(async () => {
  await api?.close();
});

describe('a request paused on a failed step, re-run, and a legal exception', () => {
  it('shows the deadline and the pause, re-runs from the failed system, and records an exception', async () => {
    const ada = userSigner();
    const reg = await api.orgs.register('bank', {
      subject: didFromPublicKey(ada.publicKey),
      category: 'pd:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value: { email: 'ada@example.org' },
    });
    expect(reg.code).toBe('OK');
    const req = await openRequest(ada, 'erase');
    const base = `/v1/orgs/bank/requests/${req}`;

    const before = await call('GET', `${base}/steps`);
    expect(before.status).toBe(200);
    const opened = api.orgs.request('bank', req)!;
    expect(before.body).toMatchObject({
      kind: 'erase',
      jurisdiction: 'GDPR',
      status: 'open',
      openedAt: opened.openedAt,
      deadline: opened.deadline,
      originalDeadline: null,
      overdue: false,
      paused: false,
      atRisk: false,
      complete: 0,
      systems: 2,
    });
    // GDPR: one calendar month from the opening block's time.
    expect(opened.deadline - opened.openedAt).toBeGreaterThanOrEqual(28 * DAY);
    expect(opened.deadline - opened.openedAt).toBeLessThanOrEqual(31 * DAY);

    // The first run fails in crm: the request pauses there; the vault is not reached.
    const first = await call('POST', `${base}/execute`, { attempts: 1 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'paused', steps: [{ system: 'crm', outcome: 'failed', attempts: 1 }] });
    expect(first.body.steps[0].error).toMatch(/^CONNECTOR_FAILED: crm: cannot reach PostgreSQL/);
    const paused = await call('GET', `${base}/steps`);
    expect(paused.body).toMatchObject({ paused: true, atRisk: false, complete: 0 });
    expect(paused.body.steps).toEqual([
      expect.objectContaining({
        system: 'crm',
        outcome: 'failed',
        error: 'CONNECTOR_FAILED',
        failures: 1,
        attempts: 1,
        // The message stays on this node (the ledger holds the code): what the operator reads later.
        message: 'CONNECTOR_FAILED: crm: cannot reach PostgreSQL (ECONNREFUSED)',
      }),
      { request: req, system: 'vault', outcome: 'pending' },
    ]);

    // Exceptions that do not fit are refused, each saying what was expected.
    const ccpa = await call('POST', `${base}/except`, { system: 'crm', code: 'ccpa-105-d-1' });
    expect(ccpa.body).toMatchObject({ code: 'INVALID_ARGS' });
    expect(ccpa.body.detail).toMatch(/expected args.exception as one of gdpr-17-3-a/);
    const unknown = await call('POST', `${base}/except`, { system: 'billing', code: 'gdpr-17-3-e' });
    expect(unknown.body).toMatchObject({ code: 'NOT_FOUND' });
    const free = await call('POST', `${base}/except`, { system: 'crm', code: 'because we said so' });
    expect(free.status).toBe(400);
    expect(free.body.detail).toMatch(/code/);
    const extra = await call('POST', `${base}/except`, { system: 'crm', code: 'gdpr-17-3-e', note: 'x' });
    expect(extra.status).toBe(400);

    // The vault's step re-run alone would still leave crm: re-running resumes from crm.
    crmDown = false;
    const callsBefore = crmCalls;
    const rerun = await call('POST', `${base}/execute`, {});
    expect(rerun.body).toMatchObject({
      status: 'fulfilled',
      steps: [
        { system: 'crm', outcome: 'done', rows: 2 },
        { system: 'vault', outcome: 'done', rows: 1 },
      ],
    });
    expect(crmCalls).toBe(callsBefore + 1);
    const after = await call('GET', `${base}/steps`);
    expect(after.body).toMatchObject({ status: 'fulfilled', paused: false, atRisk: false, complete: 2 });
    expect(after.body.steps[0]).toMatchObject({ outcome: 'done', rows: 2, failures: 1, attempts: 1 });
    expect(after.body.steps[0]).not.toHaveProperty('message');
  });

  it('keeps one system under a legal exception, and fulfils once the others are done', async () => {
    crmDown = true;
    const bob = userSigner();
    const req = await openRequest(bob, 'erase', 'CCPA');
    const base = `/v1/orgs/bank/requests/${req}`;
    const ccpaDeadline = api.orgs.request('bank', req)!;
    expect(ccpaDeadline.deadline - ccpaDeadline.openedAt).toBe(45 * DAY);
    const exc = await call('POST', `${base}/except`, { system: 'crm', code: 'ccpa-105-d-2' });
    expect(exc.status).toBe(200);
    expect(exc.body).toMatchObject({ code: 'OK' });
    // Twice is a conflict: nothing is recorded twice.
    expect((await call('POST', `${base}/except`, { system: 'crm', code: 'ccpa-105-d-3' })).body).toMatchObject({
      code: 'CONFLICT',
    });
    const calls = crmCalls;
    const run = await call('POST', `${base}/execute`, {});
    expect(run.body).toMatchObject({
      status: 'fulfilled',
      steps: [
        { system: 'crm', outcome: 'skipped' },
        { system: 'vault', outcome: 'done', rows: 0 },
      ],
    });
    // The excepted system was not touched.
    expect(crmCalls).toBe(calls);
    const steps = await call('GET', `${base}/steps`);
    expect(steps.body.steps[0]).toMatchObject({ outcome: 'exception', exception: 'ccpa-105-d-2' });
    expect(steps.body.complete).toBe(2);
  });

  it('refuses an exception on an access request, and without credentials', async () => {
    const carol = userSigner();
    const req = await openRequest(carol, 'access');
    const url = `/v1/orgs/bank/requests/${req}/except`;
    expect((await call('POST', url, { system: 'crm', code: 'gdpr-17-3-e' })).body).toMatchObject({
      code: 'INVALID_ARGS',
    });
    const anonymous = await api.app.inject({
      method: 'POST',
      url,
      payload: JSON.stringify({ system: 'crm', code: 'gdpr-17-3-e' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('the deadline flags', () => {
  const deadline = Date.UTC(2026, 5, 30);
  const failed = [{ outcome: 'done' as const }, { outcome: 'failed' as const }];
  const fine = [{ outcome: 'done' as const }, { outcome: 'pending' as const }];
  const open = { status: 'open' as const, deadline };

  it('flags a request a failed step keeps open near or past its deadline', () => {
    expect(deadlineFlags(open, failed, deadline - 30 * DAY)).toEqual({ overdue: false, paused: true, atRisk: false });
    expect(deadlineFlags(open, failed, deadline - AT_RISK_DAYS * DAY)).toEqual({
      overdue: false,
      paused: true,
      atRisk: true,
    });
    expect(deadlineFlags(open, failed, deadline + 1)).toEqual({ overdue: true, paused: true, atRisk: true });
  });

  it('does not flag a request without a failed step as at risk, nor a closed one', () => {
    expect(deadlineFlags(open, fine, deadline - DAY)).toEqual({ overdue: false, paused: false, atRisk: false });
    expect(deadlineFlags(open, fine, deadline + DAY)).toEqual({ overdue: true, paused: false, atRisk: false });
    expect(deadlineFlags({ status: 'fulfilled' as const, deadline }, failed, deadline + DAY)).toEqual({
      overdue: false,
      paused: false,
      atRisk: false,
    });
  });
});
