/**
 * The customer's evidence of a request (`@custos/sdk/views` requestEvidence, exportDigest,
 * parseExportPackage): the summary per request from its verified `request.step` events, the latest
 * step per system, and the digest recomputed from an export package equal to the one the node
 * recorded (connectors/connector.ts evidenceDigest), and different for any changed row or salt.
 */
import { signTx } from '@custos/protocol/ledger';
import { exportDigest, parseExportPackage, requestEvidence, stepText } from '@custos/sdk/views';
import { describe, expect, it } from 'vitest';
import { evidenceDigest, newEvidenceSalt } from '../src/connectors/connector.js';
import { nativeSigner } from '../src/crypto/native.js';

const REQ = 'a'.repeat(64);
const signer = nativeSigner(new Uint8Array(32).fill(7));
let n = 0;

function stepEvent(args: Record<string, string | number>, code = 'OK') {
  n++;
  const tx = signTx({ chainId: 'demo', type: 'request.step', args: { request: REQ, ...args } }, signer);
  return {
    type: 'request.step',
    code,
    tx,
    at: 1_700_000_000_000 + n,
    txId: `${n}`.padStart(64, '0'),
    height: n,
    index: 0,
  };
}

describe('requestEvidence', () => {
  it('a fulfilled erasure: "Erased in 3 of 3 systems", the latest step of each system', () => {
    const events = [
      stepEvent({ system: 'crm', step: 'erase', outcome: 'failed', error: 'CONNECTOR_FAILED' }),
      stepEvent({ system: 'crm', step: 'erase', outcome: 'done', rows: 1, digest: 'b'.repeat(64) }),
      stepEvent({ system: 'marketing', step: 'erase', outcome: 'done', rows: 2, digest: 'c'.repeat(64) }),
      stepEvent({ system: 'vault', step: 'erase', outcome: 'done', rows: 3, digest: 'd'.repeat(64) }),
      // Refused by the ledger: not evidence.
      stepEvent({ system: 'vault', step: 'erase', outcome: 'done', rows: 9, digest: 'e'.repeat(64) }, 'CONFLICT'),
      // Another request's step.
      {
        ...stepEvent({ system: 'crm', step: 'erase', outcome: 'done', rows: 5, digest: 'f'.repeat(64) }),
        tx: signTx({ chainId: 'demo', type: 'request.step', args: { request: 'b'.repeat(64), system: 'crm' } }, signer),
      },
    ];
    const e = requestEvidence({ id: REQ, kind: 'erase', status: 'fulfilled' }, events)!;
    expect(e.summary).toBe('Erased in 3 of 3 systems');
    expect(e.steps.map((s) => [s.system, s.outcome, s.rows])).toEqual([
      ['crm', 'done', 1],
      ['marketing', 'done', 2],
      ['vault', 'done', 3],
    ]);
    expect(stepText(e.steps[1]!)).toBe('erased 2 rows');
  });

  it('an open request: counted against the map in force, paused where a step failed', () => {
    const events = [
      stepEvent({ system: 'crm', step: 'export', outcome: 'done', rows: 1, digest: 'b'.repeat(64) }),
      stepEvent({ system: 'marketing', step: 'export', outcome: 'failed', error: 'TIMEOUT' }),
    ];
    const open = { id: REQ, kind: 'access', status: 'open' } as const;
    expect(requestEvidence(open, events, ['crm', 'marketing', 'vault'])!.summary).toBe(
      'Exported in 1 of 3 systems so far; paused: it failed in marketing and will be run again',
    );
    expect(requestEvidence(open, events)!.total).toBeUndefined();
    expect(requestEvidence({ ...open, kind: 'restrict' }, events)).toBeUndefined();
    expect(requestEvidence(open, [])).toBeUndefined();
  });
});

describe('an export package checked by the customer', () => {
  const tables = [{ table: 'public.customers', rows: [{ custos_subject: 'did:key:z6Mk', email: 'ada@example.org' }] }];

  it('recomputes the digest the node recorded, and no other for a changed row or salt', () => {
    const salt = newEvidenceSalt();
    const recorded = evidenceDigest(salt, { system: 'crm', tables });
    const file = JSON.stringify({ request: REQ, systems: [{ system: 'crm', salt: salt.toString('hex'), tables }] });
    const pkg = parseExportPackage(file);
    expect(exportDigest(pkg.systems[0]!)).toBe(recorded);
    const changed = {
      ...pkg.systems[0]!,
      tables: [{ ...tables[0]!, rows: [{ ...tables[0]!.rows[0]!, email: 'x@example.org' }] }],
    };
    expect(exportDigest(changed)).not.toBe(recorded);
    expect(exportDigest({ ...pkg.systems[0]!, salt: newEvidenceSalt().toString('hex') })).not.toBe(recorded);
  });

  it('refuses what is not an export package, saying what was expected', () => {
    expect(() => parseExportPackage('nope')).toThrow(/expected a JSON export file/);
    expect(() => parseExportPackage('{"request":"x","systems":[]}')).toThrow(/64 hex digits/);
    expect(() =>
      parseExportPackage(JSON.stringify({ request: REQ, systems: [{ system: 'crm', salt: 'zz', tables: [] }] })),
    ).toThrow(/systems\[0\]: expected/);
    expect(() => parseExportPackage(' '.repeat(16 * 1024 * 1024 + 1))).toThrow(/at most/);
  });
});
