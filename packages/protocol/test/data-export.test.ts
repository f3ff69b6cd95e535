/**
 * The customer's data export (ADR 0021): sealed by the org to the customer's pairwise key, opened
 * by the wallet only for that org, pseudonym, request and chain, and checked value by value against
 * the ledger's salted commitments: "complete: N of N records", or the records that fail.
 */

import { fromHex, sha256, toHex, utf8 } from '@custos/protocol';
import {
  checkDataExport,
  type DataExport,
  dataExportToCsv,
  EXPORT_PAD_FLOOR,
  exportDigest,
  exportPaddedSize,
  type LedgerRecordFacts,
  openDataExport,
  parseExportEnvelope,
  sealDataExport,
} from '@custos/protocol/data-export';
import { canonicalize } from '@custos/protocol/jcs';
import { Wallet } from '@custos/protocol/wallet';
import { describe, expect, it } from 'vitest';

const wallet = Wallet.create();
const me = wallet.relationship('test', 'bank');
const CTX = { chainId: 'test', org: 'bank', subject: me.did, request: 'cd'.repeat(32) };

function record(id: string, value: { [k: string]: string }) {
  const salt = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const commitment = toHex(sha256(new Uint8Array([...fromHex(salt), ...utf8(canonicalize(value))])));
  return {
    exported: {
      record: id,
      category: 'dpv:EmailAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      salt,
      value,
    },
    ledger: { id, commitment, registeredAt: 10, erasedAt: null } as LedgerRecordFacts,
  };
}

const A = record('a1'.repeat(32), { email: 'ada@example.org' });
const B = record('b2'.repeat(32), { street: '1 New Road, "Flat 2"', city: 'Leeds' });

function data(records = [A.exported, B.exported]): DataExport {
  return {
    v: 1,
    ...CTX,
    kind: 'export',
    jurisdiction: 'GDPR',
    createdAt: 20,
    records,
    statements: { automated: [], transfers: [], complaints: ['your supervisory authority (GDPR Art. 77)'] },
  };
}

async function sealed(d = data()) {
  const env = await sealDataExport(CTX, d);
  return { env, answer: { digest: exportDigest(env), records: 2, closedAt: 30 } };
}

describe('data export', () => {
  it('round-trips to the wallet and checks complete: 2 of 2 records', async () => {
    const { env, answer } = await sealed();
    expect(JSON.stringify(env)).not.toContain('Leeds');
    const opened = await openDataExport(wallet, parseExportEnvelope(JSON.parse(JSON.stringify(env))), CTX);
    expect(opened.records[1]?.value).toEqual({ street: '1 New Road, "Flat 2"', city: 'Leeds' });
    const check = checkDataExport(opened, [A.ledger, B.ledger], answer, exportDigest(env));
    expect(check).toMatchObject({ complete: true, total: 2, verified: 2, failures: [] });
    expect(check.summary).toBe('complete: 2 of 2 records');
    const csv = dataExportToCsv(opened).split('\r\n');
    expect(csv[0]).toBe('record,category,source,purposes,value,salt');
    expect(csv[2]).toContain('"{""city"":""Leeds"",""street"":""1 New Road, \\""Flat 2\\""""}"');
  });

  it('trust #19: whoever carries the envelope learns only its size bucket; it opens to exactly what was sealed', async () => {
    const ctBytes = (env: { ct: string }) => Math.floor((env.ct.length * 3) / 4);
    // One record or two, the same size: the floor plus the AEAD tag.
    const one = await sealed(data([A.exported]));
    const two = await sealed();
    expect(ctBytes(one.env)).toBe(EXPORT_PAD_FLOOR + 16);
    expect(ctBytes(two.env)).toBe(EXPORT_PAD_FLOOR + 16);
    // Above the floor: the next power of two, never above the largest export.
    const big = data([record('c3'.repeat(32), { note: 'x'.repeat(EXPORT_PAD_FLOOR + 100) }).exported]);
    const bigEnv = await sealDataExport(CTX, big);
    expect(ctBytes(bigEnv)).toBe(2 * EXPORT_PAD_FLOOR + 16);
    expect(exportPaddedSize(3 * 1024 * 1024)).toBe(4 * 1024 * 1024);
    expect(exportPaddedSize(4 * 1024 * 1024 - 1)).toBe(4 * 1024 * 1024);
    // The wallet gets back exactly the bytes that were sealed, not one of padding.
    for (const [env, d] of [
      [one.env, data([A.exported])],
      [bigEnv, big],
    ] as const) {
      expect(canonicalize((await openDataExport(wallet, env, CTX)) as never)).toBe(canonicalize(d as never));
    }
  });

  it('trust #19: opens for no other org, pseudonym, request, chain or wallet', async () => {
    const { env } = await sealed();
    for (const change of [
      { org: 'shop' },
      { subject: wallet.relationship('test', 'shop').did },
      { request: 'ef'.repeat(32) },
      { chainId: 'other' },
    ]) {
      await expect(openDataExport(wallet, env, { ...CTX, ...change })).rejects.toMatchObject({
        code: 'BAD_CIPHERTEXT',
      });
    }
    await expect(openDataExport(Wallet.create(), env, CTX)).rejects.toMatchObject({ code: 'BAD_CIPHERTEXT' });
    const ct = env.ct.startsWith('A') ? `B${env.ct.slice(1)}` : `A${env.ct.slice(1)}`;
    await expect(openDataExport(wallet, { ...env, ct }, CTX)).rejects.toMatchObject({ code: 'BAD_CIPHERTEXT' });
    await expect(sealDataExport({ ...CTX, org: 'shop' }, data())).rejects.toMatchObject({ code: 'BAD_JSON' });
    expect(() => parseExportEnvelope({ ...env, extra: 1 })).toThrow(/exactly v: 1, kid, enc and ct/);
  });

  it('trust #19: names a tampered value, a missing record and a digest the ledger does not hold: not complete', async () => {
    const tampered = { ...B.exported, value: { street: '2 Old Road', city: 'Leeds' } };
    const t = await sealed(data([A.exported, tampered]));
    const c1 = checkDataExport(
      await openDataExport(wallet, t.env, CTX),
      [A.ledger, B.ledger],
      t.answer,
      exportDigest(t.env),
    );
    expect(c1.complete).toBe(false);
    expect(c1.failures).toEqual([{ record: B.ledger.id, problem: 'value-mismatch' }]);
    expect(c1.summary).toContain(
      `incomplete: 1 of 2 records verified; record ${B.ledger.id}: the value does not match`,
    );

    const m = await sealed(data([A.exported]));
    const c2 = checkDataExport(
      await openDataExport(wallet, m.env, CTX),
      [A.ledger, B.ledger],
      m.answer,
      exportDigest(m.env),
    );
    expect(c2).toMatchObject({ complete: false, verified: 1, failures: [{ record: B.ledger.id, problem: 'missing' }] });

    const other = await sealed();
    const c3 = checkDataExport(
      await openDataExport(wallet, other.env, CTX),
      [A.ledger, B.ledger],
      t.answer,
      exportDigest(other.env),
    );
    expect(c3).toMatchObject({ complete: false, digestMatches: false });
    // A record registered after the answer is not expected; one held but unknown to the ledger fails.
    const late = { ...B.ledger, registeredAt: 40 };
    const c4 = checkDataExport(
      await openDataExport(wallet, other.env, CTX),
      [A.ledger, late],
      { ...other.answer, records: 1 },
      exportDigest(other.env),
    );
    expect(c4.failures).toEqual([{ record: B.ledger.id, problem: 'not-held' }]);
  });
});
