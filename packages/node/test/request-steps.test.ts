/**
 * The ledger's rules for execution with proof (issue 16, point 3): `request.step` records each
 * system's step of a request against the data map in force; a done or excepted step is final; a
 * request is fulfilled only when every system of the map has its step done or excepted. The
 * customer's history tells each step in a sentence. The connectors' side runs against PostgreSQL in
 * connectors-postgres.test.ts.
 */
import { join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { eventSentence } from '@custos/sdk/views';
import { type Fixture, fixture, tempDir, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RequestStep, requestStepKey } from '../src/modules/request-steps.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';
import { riskInputsOf } from '../src/orgs/risk-inputs.js';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;
let ada: Signer;
const DIGEST = 'ab'.repeat(32);

function send(signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  return node.submitAndWait(signTx({ chainId: 'test', type, args }, signer));
}
const bank = (type: string, args: { [k: string]: JsonValue }) => send(fx.orgs.bank!, type, args);

async function open(kind: string): Promise<string> {
  const r = await send(ada, 'request.open', { org: 'bank', kind, jurisdiction: 'GDPR' });
  expect(r.code).toBe('OK');
  return r.txId;
}

function stepState(request: string, system: string): RequestStep | undefined {
  const t = node.store.getState(requestStepKey('bank', request, system));
  return t === undefined ? undefined : (JSON.parse(t) as RequestStep);
}

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
    orderer: new SoloOrderer({ maxTxs: 100, maxWaitMs: 2 }),
  });
  ada = userSigner();
  const p = await bank('datamap.publish', {
    version: 1,
    digest: DIGEST,
    systems: ['crm', 'vault'],
    tables: 1,
    fields: 2,
  });
  expect(p.code).toBe('OK');
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

describe('request.step and fulfilment', () => {
  it('trust #15: an erasure is fulfilled only once every system of the data map has its step done or excepted', async () => {
    const req = await open('erase');
    const fulfil = () => bank('request.fulfil', { request: req });
    const refused = await fulfil();
    expect(refused.code).toBe('CONFLICT');
    expect(refused.detail).toMatch(/no completed step in 2 system\(s\) of data map version 1 \(crm, vault\)/);

    // A failure is recorded with its error code (no free text) and counted; it does not complete the step.
    const failed = await bank('request.step', {
      request: req,
      system: 'crm',
      step: 'erase',
      outcome: 'failed',
      error: 'CONNECTOR_FAILED',
    });
    expect(failed.code).toBe('OK');
    expect(stepState(req, 'crm')).toMatchObject({ outcome: 'failed', failures: 1, rows: 0, digest: null });
    expect((await fulfil()).detail).toMatch(/\(crm, vault\)/);
    // The risk model counts the request as paused on a failed system step (docs/risk.md).
    expect(riskInputsOf(node, 'bank').inputs.failedSteps).toBe(1);

    const done = await bank('request.step', {
      request: req,
      system: 'crm',
      step: 'erase',
      outcome: 'done',
      rows: 3,
      digest: DIGEST,
    });
    expect(done.code).toBe('OK');
    expect(riskInputsOf(node, 'bank').inputs.failedSteps).toBe(0);
    expect(stepState(req, 'crm')).toMatchObject({
      outcome: 'done',
      rows: 3,
      digest: DIGEST,
      failures: 1,
      txId: done.txId,
    });
    // Nothing is done twice.
    const again = await bank('request.step', {
      request: req,
      system: 'crm',
      step: 'erase',
      outcome: 'done',
      rows: 0,
      digest: DIGEST,
    });
    expect(again.code).toBe('CONFLICT');
    expect((await fulfil()).detail).toMatch(/1 system\(s\) .* \(vault\)/);

    // The vault kept under a legal exception of the request's jurisdiction.
    const ccpa = await bank('request.step', {
      request: req,
      system: 'vault',
      step: 'erase',
      outcome: 'exception',
      exception: 'ccpa-105-d-1',
    });
    expect(ccpa.code).toBe('INVALID_ARGS');
    const exc = await bank('request.step', {
      request: req,
      system: 'vault',
      step: 'erase',
      outcome: 'exception',
      exception: 'gdpr-17-3-b',
    });
    expect(exc.code).toBe('OK');
    expect((await fulfil()).code).toBe('OK');
    // Closed: no more steps.
    expect(
      (
        await bank('request.step', {
          request: req,
          system: 'vault',
          step: 'erase',
          outcome: 'failed',
          error: 'TIMEOUT',
        })
      ).code,
    ).toBe('CONFLICT');
  });

  it('checks the step kind, the system, the signer and the arguments', async () => {
    const req = await open('access');
    const base = { request: req, system: 'crm', step: 'export', outcome: 'done', rows: 1, digest: DIGEST };
    expect((await bank('request.step', { ...base, step: 'erase' })).code).toBe('INVALID_ARGS');
    expect((await bank('request.step', { ...base, system: 'billing' })).code).toBe('NOT_FOUND');
    expect((await bank('request.step', { ...base, digest: 'nope' })).code).toBe('INVALID_ARGS');
    expect((await bank('request.step', { ...base, rows: -1 })).code).toBe('INVALID_ARGS');
    expect((await bank('request.step', { ...base, error: 'x' })).code).toBe('INVALID_ARGS');
    expect((await bank('request.step', { ...base, outcome: 'exception', exception: 'gdpr-17-3-b' })).code).toBe(
      'INVALID_ARGS',
    );
    expect(
      (
        await bank('request.step', {
          request: req,
          system: 'crm',
          step: 'export',
          outcome: 'failed',
          error: 'cannot reach the database at 10.0.0.7',
        })
      ).code,
    ).toBe('INVALID_ARGS');
    expect((await send(ada, 'request.step', base)).code).toBe('UNAUTHORIZED');
    expect((await send(fx.orgs.insurer!, 'request.step', base)).code).toBe('NOT_FOUND');
    // A kind whose answer runs no step.
    const restrict = await open('restrict');
    expect((await bank('request.step', { ...base, request: restrict })).code).toBe('INVALID_ARGS');
    expect((await bank('request.fulfil', { request: restrict })).code).toBe('OK');
  });

  it('tells each step in the customer history', () => {
    const ctx = {
      name: (o: string) => (o === 'bank' ? 'Example Bank' : o),
      actor: 'bank',
      category: () => undefined,
      requestKind: () => 'erase',
      subject: 'you' as const,
    };
    const tx = (args: { [k: string]: JsonValue }) =>
      signTx(
        { chainId: 'test', type: 'request.step', args: { request: DIGEST, system: 'crm', step: 'erase', ...args } },
        fx.orgs.bank!,
      );
    expect(eventSentence(tx({ outcome: 'done', rows: 3, digest: DIGEST }), ctx)).toBe(
      'Example Bank erased 3 rows of your data in its system crm, for your request',
    );
    expect(eventSentence(tx({ outcome: 'exception', exception: 'gdpr-17-3-b' }), ctx)).toBe(
      'Example Bank kept your data in its system crm under a legal exception (gdpr-17-3-b)',
    );
    expect(eventSentence(tx({ outcome: 'failed', error: 'CONNECTOR_FAILED' }), ctx)).toMatch(
      /could not yet complete your request in its system crm/,
    );
  });
});
