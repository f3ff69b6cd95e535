/**
 * The shared customer views (`@custos/sdk/views`) on a small made-up history: who did what in one
 * sentence, how it ended, and what the company holds. The same module renders `custos history` and
 * the web portal; the demo customers are compared through both in web/test/views-cross-render.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import type { DataRecord, LogEntry, SignedTx } from '@custos/protocol/ledger';
import { describe, expect, it } from 'vitest';
import type { TrustAnchor } from '../src/history.js';
import {
  companyView,
  copiesView,
  correctionEvidence,
  eventSentence,
  outcomeText,
  recordSentence,
} from '../src/views/index.js';

const DID = 'did:key:z6MkCustomer';
const BANK_KEY = 'did:key:z6MkBank';
const RECORD = 'a'.repeat(64);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 3);
const trust: TrustAnchor = {
  chainId: 'demo',
  threshold: 1,
  members: [
    { id: 'bank', name: 'Bank', keys: [BANK_KEY] },
    { id: 'insurer', name: 'Insurer', keys: ['did:key:z6MkInsurer'] },
  ],
};

function event(n: number, signer: string, type: string, args: Record<string, JsonValue>, code = 'OK') {
  const tx = { body: { chainId: 'demo', type, args, signer, createdAt: T0 + n }, sig: '' } as unknown as SignedTx;
  const entry = { txId: n.toString(16).padStart(64, '0'), height: n, index: 0, time: T0 + n, code } as LogEntry;
  return { tx, entry };
}

const record = {
  id: RECORD,
  org: 'bank',
  subject: DID,
  category: 'pd:EmailAddress',
  purposes: { 'dpv:Marketing': 'consent' },
  source: 'subject',
  commitment: '',
  vaultRef: '',
  registeredAt: T0,
  updatedAt: T0,
  retentionUntil: T0 + 365 * DAY,
  erasedAt: null,
  erasureRequestedAt: null,
  sourceRecord: null,
  copies: [],
  restricted: false,
};

const history = {
  facts: [{ key: `record/bank/${RECORD}`, value: record as unknown as JsonValue }],
  events: [
    event(1, DID, 'consent.grant', {
      org: 'bank',
      purposes: ['dpv:Marketing'],
      categories: ['pd:EmailAddress'],
      expiresAt: T0 + 30 * DAY,
      share: true,
      sale: false,
    }),
    event(2, BANK_KEY, 'data.access', { record: RECORD, purpose: 'dpv:Marketing', basis: 'consent' }),
    event(3, BANK_KEY, 'data.share', { record: RECORD, recipient: 'insurer', purpose: 'dpv:Marketing' }, 'OPTED_OUT'),
  ],
};

describe('the customer views', () => {
  it('tell each event in one sentence, with how it ended', () => {
    const v = companyView({ org: 'bank', did: DID, history, trust, now: T0 + DAY });
    expect(v.events.map((e) => [e.sentence, e.outcome.text])).toEqual([
      ['Bank tried to share your email address to Insurer, for marketing', 'Refused: you opted out'],
      ['Bank used your email address for marketing, because you agreed', 'Allowed'],
      ['You agreed that Bank may use your email address for marketing until 2026-04-02 (and may share it)', 'Done'],
    ]);
    expect(v.records.map((r) => [r.label, r.state, r.sourceText])).toEqual([
      ['Email address', 'kept', 'you gave it to them'],
    ]);
    expect(recordSentence(v.records[0]!, v.name)).toBe(
      'Bank uses your email address for marketing, because you agreed.',
    );
    expect(v.active).toBe(true);
  });

  it('say the same event to anyone else without "you"', () => {
    const [, access] = history.events;
    const s = eventSentence(access!.tx, {
      name: (id) => (id === 'bank' ? 'Bank' : id),
      actor: 'bank',
      category: () => undefined,
      requestKind: () => undefined,
      subject: 'a customer',
    });
    expect(s).toBe('Bank used their data for marketing, with the customer’s consent');
    expect(outcomeText('data.share', 'OPTED_OUT', 'a customer').text).toBe('Refused: the customer opted out');
  });
});

describe('a GPP record in words', () => {
  const tx = (args: { [k: string]: JsonValue }) =>
    ({ body: { type: 'gpp.record', args }, sig: '' }) as unknown as SignedTx;
  const ctx = (actor?: string) => ({
    name: (id: string) => (id === 'bank' ? 'Bank' : id),
    actor,
    category: () => undefined,
    requestKind: () => undefined,
    subject: 'you' as const,
  });

  it('says what the banner string held, and who recorded it', () => {
    const gpp = 'DBABLA~CVVVkkkkkpFY.YA';
    expect(eventSentence(tx({ org: 'bank', gpp }), ctx())).toBe(
      'You recorded your choices from Bank’s consent banner (IAB GPP): no sale, no sharing, no targeted advertising, sensitive data limited',
    );
    expect(eventSentence(tx({ org: 'bank', gpp }), ctx('bank'))).toMatch(
      /^Bank recorded your choices from its consent banner/,
    );
    // A string that does not decode still reads as a sentence, without a list.
    expect(eventSentence(tx({ org: 'bank', gpp: 'DBABLA~zzz' }), ctx())).toBe(
      'You recorded your choices from Bank’s consent banner (IAB GPP)',
    );
  });
});

describe('an EVM vote that completes a cross-chain transaction, in words', () => {
  const vote = { body: { type: 'xtx.evmVote', args: { decide: true } }, sig: '' } as unknown as SignedTx;
  const base = { name: (id: string) => id, category: () => undefined, requestKind: () => undefined };

  it('reads as the completion in the customer’s own history, and as a vote elsewhere', () => {
    // In her history only the vote that applied the writes about her appears: it completed the transaction.
    expect(eventSentence(vote, { ...base, actor: 'A relayer', subject: 'you' })).toBe(
      'A relayer: Cross-chain transaction completed',
    );
    expect(eventSentence(vote, { ...base, actor: 'A relayer', subject: 'a customer' })).toBe(
      'A relayer: EVM vote proven, deciding the cross-chain transaction if it was the last vote',
    );
  });
});

describe('copies of an erasure in words (GDPR Art. 19)', () => {
  const record = (org: string, id: string, over: Partial<DataRecord> = {}): DataRecord => ({
    id,
    org,
    subject: DID,
    category: 'pd:EmailAddress',
    purposes: { 'dpv:Marketing': 'consent' },
    source: 'subject',
    commitment: '0'.repeat(64),
    vaultRef: '0'.repeat(32),
    registeredAt: T0,
    updatedAt: T0,
    retentionUntil: T0 + 365 * DAY,
    erasedAt: null,
    erasureRequestedAt: null,
    sourceRecord: null,
    copies: [],
    restricted: false,
    ...over,
  });
  const asked = (at: number) => ({
    obligations: [{ kind: 'erase' as const, at, txId: 'f'.repeat(64), due: at + 31 * DAY, doneAt: null }],
    erasureRequestedAt: at,
  });
  const source = record('bank', RECORD, {
    erasedAt: T0 + DAY,
    copies: [
      { org: 'insurer', id: 'b'.repeat(64) },
      { org: 'shop', id: 'c'.repeat(64) },
      { org: 'telco', id: 'd'.repeat(64) },
      { org: 'broker', id: 'e'.repeat(64) },
    ],
  });
  const foreign = [
    record('insurer', 'b'.repeat(64), { erasedAt: T0 + 2 * DAY, ...asked(T0 + DAY) }),
    record('shop', 'c'.repeat(64), asked(T0 + DAY)),
    record('telco', 'd'.repeat(64), asked(T0 + 40 * DAY)),
  ];

  it('counts the copies erased, and marks each pending or overdue by its due date', () => {
    const v = copiesView({ org: 'bank', records: [source], foreign }, T0 + 35 * DAY);
    expect([v.erased, v.total, v.overdue]).toEqual([1, 3, 1]);
    expect(v.copies.map((c) => [c.org, c.state])).toEqual([
      ['insurer', 'erased'],
      ['shop', 'overdue'],
      ['telco', 'pending'],
    ]);
    // The broker's copy is not in the customer's verified history: it is not shown.
    expect(v.copies.some((c) => c.org === 'broker')).toBe(false);
    // Before the source's erasure asked anything, a copy is kept.
    const before = copiesView(
      { org: 'bank', records: [{ ...source, erasedAt: null }], foreign: [record('shop', 'c'.repeat(64))] },
      T0,
    );
    expect(before.copies.map((c) => c.state)).toEqual(['kept']);
  });

  it('tells a recipient recording its copy restricted in one sentence', () => {
    const tx = {
      body: { type: 'data.restricted', args: { records: ['c'.repeat(64)] } },
      sig: '',
    } as unknown as SignedTx;
    const s = eventSentence(tx, {
      name: (id: string) => (id === 'shop' ? 'Shop' : id),
      actor: 'shop',
      category: () => 'Email address',
      requestKind: () => undefined,
      subject: 'you',
    });
    expect(s).toBe('Shop restricted its copy of your email address, as the company it came from did');
  });
});

describe('a correction carried into the company systems', () => {
  const ITEM = 'c'.repeat(64);
  const step = (n: number, args: { [k: string]: JsonValue }) => {
    const { tx, entry } = event(n, BANK_KEY, 'rectify.step', { item: ITEM, ...args });
    return { type: 'rectify.step', code: 'OK', tx, at: entry.time, txId: entry.txId, height: n, index: 0 };
  };
  const item = { id: ITEM, status: 'applied' as const, systems: ['crm', 'vault'] };
  const failed = step(1, { system: 'crm', outcome: 'failed', error: 'CONNECTOR_FAILED', attempts: 3 });
  const vault = step(2, { system: 'vault', outcome: 'done', rows: 1, digest: 'd'.repeat(64) });
  const crm = step(3, { system: 'crm', outcome: 'done', rows: 2, digest: 'e'.repeat(64) });

  it('counts the systems done of those the company named, the latest step of each winning', () => {
    expect(correctionEvidence(item, [vault, failed])?.summary).toBe(
      'Corrected in 1 of 2 systems so far; it failed in crm and will be run again',
    );
    const done = correctionEvidence(item, [crm, vault, failed]);
    expect(done?.summary).toBe('Corrected in 2 of 2 systems');
    // In the order the company named its systems, whatever the order of the events.
    expect(done?.steps.map((s) => [s.system, s.outcome, s.rows])).toEqual([
      ['crm', 'done', 2],
      ['vault', 'done', 1],
    ]);
    // A step for a system the correction did not name, or of another item, counts for nothing.
    const other = step(4, { system: 'billing', outcome: 'done', rows: 5, digest: 'f'.repeat(64) });
    expect(correctionEvidence(item, [vault, other])?.summary).toBe('Corrected in 1 of 2 systems so far');
    // Pending, or applied without systems: nothing to count.
    expect(correctionEvidence({ ...item, status: 'pending' }, [vault])).toBeUndefined();
    expect(correctionEvidence({ id: ITEM, status: 'applied' }, [vault])).toBeUndefined();
  });

  it('tells each step in a sentence', () => {
    const ctx = {
      name: (id: string) => (id === 'bank' ? 'Bank' : id),
      actor: 'bank',
      category: () => undefined,
      requestKind: () => undefined,
      subject: 'you' as const,
    };
    expect(eventSentence(crm.tx, ctx)).toBe(
      'Bank corrected 2 rows of your data in its system crm, as your correction asked',
    );
    expect(eventSentence(failed.tx, ctx)).toBe(
      'Bank could not yet correct your data in its system crm (CONNECTOR_FAILED); it will try again',
    );
  });
});
