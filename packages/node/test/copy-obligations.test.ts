/**
 * Copies follow the original with a deadline (GDPR Art. 19; issue 19 point 2): when the source of a
 * copy is erased, rectified or restricted, each recipient's copy gets an obligation due one month
 * later, fulfilled when the recipient records its own erasure, rectification or restriction of the
 * copy; the recipient lists its pending and overdue copies, and the source sees which recipients
 * complied, without a subject. Through the HTTP API and the SDK, with the node's clock moved a
 * month and more forward to see the deadline pass.
 */
import type { Signer } from '@custos/protocol/crypto';
import { type CopyObligations, signTx } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import { CustosClient, signedBy } from '@custos/sdk';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { riskInputsOf } from '../src/orgs/risk-inputs.js';
import type { Vault } from '../src/vault/vault.js';

const DAY = 86_400_000;
const RECIPIENTS = ['insurer', 'retailer', 'telco'];

describe('copies follow the original, with a deadline for each recipient', () => {
  let api: ApiNode;
  let client: CustosClient;
  /** How far the node's clock (and the transactions signed here) is moved forward. */
  let offset = 0;
  const now = () => Date.now() + offset;
  const asOrg = (org: string) => ({ sign: signedBy(api.fx.orgs[org]!) });
  const wallet = Wallet.create({ signerFactory: nativeSigner });

  beforeAll(async () => {
    api = await startApiNode({ listen: true, members: ['bank', ...RECIPIENTS, 'broker', 'agency'], now });
    client = new CustosClient({ baseUrl: api.url! });
    const grant = await client.submitAndWait(
      signAs(atBank().signer, 'consent.grant', {
        org: 'bank',
        purposes: ['dpv:Marketing'],
        categories: ['pd:EmailAddress'],
        expiresAt: Date.now() + 365 * DAY,
        jurisdiction: 'GDPR',
        notice: 'ab'.repeat(32),
        share: true,
      }),
    );
    expect(grant.code).toBe('OK');
  });

  afterAll(async () => {
    await api?.close();
  });

  const atBank = () => wallet.relationship('test', 'bank');
  const signAs = (signer: Signer, type: string, args: Record<string, unknown>) =>
    signTx({ chainId: 'test', type, args: args as never, now: now() }, signer);

  /** A record at the bank shared with `to`, each recipient registering its copy (vault and ledger). */
  async function sharedRecord(to: string[]): Promise<{ record: string; copies: Record<string, string> }> {
    const reg = await client.registerRecord(
      'bank',
      {
        subject: atBank().did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:Marketing': 'consent' },
        source: 'subject',
        retentionDays: 365,
        value: { email: 'ada@example.org' },
      },
      asOrg('bank'),
    );
    expect(reg.code).toBe('OK');
    const record = reg.recordId as string;
    const copies: Record<string, string> = {};
    for (const org of to) {
      const shared = await client.shareRecord(
        'bank',
        record,
        { recipient: org, purpose: 'dpv:Marketing', sale: false },
        asOrg('bank'),
      );
      expect(shared.code).toBe('OK');
      const vault = (api.orgs as unknown as { org(id: string): { vault: Vault } }).org(org).vault;
      const stored = vault.put(atBank().did, { email: 'ada@example.org' });
      const copy = await client.submitAndWait(
        signAs(api.fx.orgs[org]!, 'data.register', {
          subject: atBank().did,
          category: 'pd:EmailAddress',
          purposes: { 'dpv:Marketing': 'consent' },
          commitment: stored.commitment,
          vaultRef: stored.vaultRef,
          retentionDays: 365,
          sourceRecord: { org: 'bank', id: record },
        }),
      );
      expect(copy.code).toBe('OK');
      copies[org] = copy.txId;
    }
    return { record, copies };
  }

  it('a rectification and a restriction at the source reach the copy; the recipient fulfils each by recording its own', async () => {
    const { record, copies } = await sharedRecord(['broker', 'agency']);
    const fixed = await client.rectifyRecord('bank', record, { email: 'ada@example.com' }, asOrg('bank'));
    expect(fixed.code).toBe('OK');
    const pending = await client.orgCopies('broker', {}, asOrg('broker'));
    expect(pending.held.filter((h) => h.record === copies.broker).map((h) => [h.kind, h.doneAt])).toEqual([
      ['rectify', null],
    ]);
    // The broker corrects its copy in its vault and on the ledger: done.
    const own = await client.rectifyRecord('broker', copies.broker!, { email: 'ada@example.com' }, asOrg('broker'));
    expect(own.code).toBe('OK');
    const done = await client.orgCopies('broker', {}, asOrg('broker'));
    expect(done.held.find((h) => h.record === copies.broker)?.doneAt).toEqual(expect.any(Number));

    // The customer asks the bank to restrict; its fulfilment asks the recipients to restrict their copies.
    const asked = await client.submitAndWait(
      signAs(atBank().signer, 'request.open', {
        org: 'bank',
        kind: 'restrict',
        jurisdiction: 'GDPR',
        records: [record],
      }),
    );
    expect(asked.code).toBe('OK');
    expect((await client.fulfilRequest('bank', asked.txId, {}, asOrg('bank'))).code).toBe('OK');
    const kinds = async (org: string) =>
      (await client.orgCopies(org, {}, asOrg(org))).held
        .filter((h) => h.record === copies[org])
        .map((h) => [h.kind, h.doneAt === null ? 'pending' : 'done']);
    expect(await kinds('broker')).toEqual([
      ['restrict', 'pending'],
      ['rectify', 'done'],
    ]);
    // The broker records its restriction: done; a second time there is nothing pending.
    expect((await client.restrictCopies('broker', [copies.broker!], asOrg('broker'))).code).toBe('OK');
    expect((await client.restrictCopies('broker', [copies.broker!], asOrg('broker'))).code).toBe('CONFLICT');
    expect(await kinds('broker')).toEqual([
      ['rectify', 'done'],
      ['restrict', 'done'],
    ]);
    // The customer lifts the restriction: what the agency had not done yet is no longer asked.
    expect(await kinds('agency')).toEqual([
      ['rectify', 'pending'],
      ['restrict', 'pending'],
    ]);
    const lifted = await client.submitAndWait(
      signAs(atBank().signer, 'request.lift', { org: 'bank', request: asked.txId }),
    );
    expect(lifted.code).toBe('OK');
    expect(await kinds('agency')).toEqual([['rectify', 'pending']]);
    // A record that is not a copy with a pending restriction is refused by the ledger.
    expect((await client.restrictCopies('bank', [record], asOrg('bank'))).code).toBe('CONFLICT');
  });

  // Last: the node's clock only moves forward.
  it('an erasure at the source gives every copy a due date; each recipient is listed as it complies, on time, late or not yet', async () => {
    const { record, copies } = await sharedRecord(RECIPIENTS);
    // The bank's recipients in this test (the first test's are listed too).
    const ours = (c: CopyObligations) => c.recipients.filter((r) => RECIPIENTS.includes(r.recipient));
    const erased = await client.erase('bank', { records: [record], reason: 'request' }, asOrg('bank'));
    expect(erased.results.map((r) => r.code)).toEqual(['OK']);
    const erasedAt = api.node.latest().time;
    const due = new Date(erasedAt);
    due.setUTCMonth(due.getUTCMonth() + 1);

    // Each recipient sees its copy to erase, due one month after the source's erasure.
    const held = await client.orgCopies('retailer', {}, asOrg('retailer'));
    expect(held.held).toEqual([
      {
        record: copies.retailer,
        source: 'bank',
        category: 'pd:EmailAddress',
        kind: 'erase',
        at: erasedAt,
        txId: erased.results[0]!.txId,
        due: due.getTime(),
        doneAt: null,
        overdue: false,
      },
    ]);
    // The copy can no longer be used while its obligation is pending.
    const use = await client.submitAndWait(
      signAs(api.fx.orgs.retailer!, 'data.access', {
        record: copies.retailer!,
        purpose: 'dpv:Marketing',
        basis: 'consent',
      }),
    );
    expect(use.code).toBe('ERASED');

    // The insurer erases its copy through the API at once: its obligation is done.
    const insurerErased = await client.erase(
      'insurer',
      { records: [copies.insurer!], reason: 'request' },
      asOrg('insurer'),
    );
    expect(insurerErased.results.map((r) => r.code)).toEqual(['OK']);
    expect((await client.orgCopies('insurer', {}, asOrg('insurer'))).held).toEqual([
      expect.objectContaining({ record: copies.insurer, kind: 'erase', doneAt: expect.any(Number), overdue: false }),
    ]);
    const before = await client.orgCopies('bank', {}, asOrg('bank'));
    expect(ours(before).map((r) => [r.recipient, r.pending, r.overdue, r.done, r.late])).toEqual([
      ['insurer', 0, 0, 1, 0],
      ['retailer', 1, 0, 0, 0],
      ['telco', 1, 0, 0, 0],
    ]);
    // The source's view names no subject and no record.
    expect(JSON.stringify(before)).not.toContain(atBank().did);
    expect(JSON.stringify(before.recipients)).not.toContain(record);

    // Forty days later nothing else happened: the retailer's and telco's copies are overdue.
    offset = 40 * DAY;
    const tick = await client.submitAndWait(signAs(atBank().signer, 'optout.set', { org: 'insurer', kinds: ['sale'] }));
    expect(tick.code).toBe('OK');
    const overdue = await client.orgCopies('retailer', { overdue: true }, asOrg('retailer'));
    expect(overdue.held.map((h) => [h.record, h.kind, h.overdue])).toEqual([[copies.retailer, 'erase', true]]);
    expect((await client.orgCopies('insurer', { overdue: true }, asOrg('insurer'))).held).toEqual([]);
    // The retailer's privacy risk counts the copy it keeps past its due date; the insurer's does not.
    expect(riskInputsOf(api.node, 'retailer').inputs.overdueCopies).toBe(1);
    expect(riskInputsOf(api.node, 'insurer').inputs.overdueCopies).toBe(0);
    // Its risk in money shows it: the retention cause counts the copy and acting on it is ranked as a what-if.
    const risk = await client.orgRisk('retailer', { trials: 2000 }, asOrg('retailer'));
    expect(risk.inputs.overdueCopies).toBe(1);
    const retention = risk.result.causes.find((c) => c.id === 'retention')!;
    expect(retention.formula).toContain('+ 1 copies past their due date)');
    expect(retention.expectedAnnualLoss).toBeGreaterThan(0);
    const act = risk.result.whatIfs.find((w) => w.id === 'act-on-overdue-copies');
    expect(act?.label).toBe('Act on the 1 copies past their due date');
    expect(act!.delta).toBeLessThan(0);
    const insurerRisk = await client.orgRisk('insurer', { trials: 2000 }, asOrg('insurer'));
    expect(insurerRisk.result.whatIfs.map((w) => w.id)).not.toContain('act-on-overdue-copies');
    // So does its DPIA draft, with the query that counted it; the insurer's shows none.
    const dpia = await client.orgDpia('retailer', asOrg('retailer'));
    expect(dpia.risks.find((x) => x.id === 'overdue-copies')).toMatchObject({
      count: 1,
      present: true,
      source: expect.stringContaining('copies held with an obligation from their source pending past its due date'),
    });
    const insurerDpia = await client.orgDpia('insurer', asOrg('insurer'));
    expect(insurerDpia.risks.find((x) => x.id === 'overdue-copies')?.count).toBe(0);

    // The telco erases late (signed on the moved clock); the retailer still has not.
    const late = await client.submitAndWait(
      signAs(api.fx.orgs.telco!, 'data.erased', { records: [copies.telco!], reason: 'request' }),
    );
    expect(late.code).toBe('OK');
    const after = await client.orgCopies('bank', {}, asOrg('bank'));
    expect(ours(after).map((r) => [r.recipient, r.pending, r.overdue, r.done, r.late])).toEqual([
      ['retailer', 1, 1, 0, 0],
      ['insurer', 0, 0, 1, 0],
      ['telco', 0, 0, 1, 1],
    ]);
    expect(ours(after)[0]!.nextDue).toBe(due.getTime());
    // The agency's rectification of the first test is overdue too.
    expect(
      (await client.orgCopies('bank', { overdue: true }, asOrg('bank'))).recipients.map((r) => r.recipient),
    ).toEqual(['agency', 'retailer']);
  });
});
