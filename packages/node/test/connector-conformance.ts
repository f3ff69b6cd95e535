/**
 * The conformance suite every connector passes (issue 16, point 2): a harness puts data on subjects
 * into the real system and reads it back directly (not through the connector); the suite checks that
 * the connector finds and exports exactly the subject's rows, erases exactly those (canaries of other
 * subjects untouched, a re-run finds nothing), rectifies, and expires by age only what is past its
 * retention, and that the evidence digest is what anyone holding the rows and the salt recomputes.
 */
import { createHash } from 'node:crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Connector,
  evidenceDigest,
  newEvidenceSalt,
  type Rectification,
  type SubjectRef,
  type TableRows,
} from '../src/connectors/connector.js';

export interface ConformanceHarness {
  connector: Connector;
  /** Puts data on a new subject into the system; `expired` data is past its retention at `expireAt()`. */
  addSubject(opts?: { expired?: boolean }): Promise<SubjectRef>;
  /** The subject's rows holding personal data, read directly from the system, as the connector should export them. */
  truth(s: SubjectRef): Promise<TableRows[]>;
  /** A rectification of the subject's data, and the value the system then holds, read directly. */
  rectification(s: SubjectRef): { change: Rectification; readBack: () => Promise<JsonValue> };
  /** The time to expire at (ms). */
  expireAt(): number;
  close(): Promise<void>;
}

function count(tables: TableRows[]): number {
  return tables.reduce((n, t) => n + t.rows.length, 0);
}

/** Drops tables without rows: a system may or may not list an empty table. */
function nonEmpty(tables: TableRows[]): TableRows[] {
  return tables.filter((t) => t.rows.length > 0);
}

export function connectorConformance(name: string, setup: () => Promise<ConformanceHarness>, enabled = true): void {
  describe.skipIf(!enabled)(`connector conformance: ${name}`, () => {
    let h: ConformanceHarness;
    let canary: SubjectRef;
    let canaryRows: TableRows[];

    beforeAll(async () => {
      h = await setup();
      canary = await h.addSubject();
      canaryRows = await h.truth(canary);
      expect(count(canaryRows)).toBeGreaterThan(0);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('finds and exports exactly the subject rows, with a digest anyone holding the rows recomputes', async () => {
      const s = await h.addSubject();
      const truth = await h.truth(s);
      const found = await h.connector.find(s);
      expect(found.rows).toBe(count(truth));
      const exported = await h.connector.export(s);
      expect(exported.system).toBe(h.connector.system);
      expect(nonEmpty(exported.tables)).toEqual(nonEmpty(truth));
      const salt = newEvidenceSalt();
      // Recomputed from its definition, not with the connector's helper.
      const body = canonicalize({ system: exported.system, tables: exported.tables } as unknown as JsonValue);
      expect(evidenceDigest(salt, exported)).toBe(createHash('sha256').update(salt).update(body).digest('hex'));
      // Another salt, another digest: the ledger entry alone does not confirm a guess of the values.
      expect(evidenceDigest(newEvidenceSalt(), exported)).not.toBe(evidenceDigest(salt, exported));
    });

    it('answers nothing, without failing, for a subject it holds nothing on', async () => {
      const none: SubjectRef = {
        did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
        vaultIdentities: { 'pd:EmailAddress': [], 'pd:EmailAddress#email': [] },
      };
      expect((await h.connector.export(none)).rows).toBe(0);
      expect((await h.connector.erase(none)).rows).toBe(0);
    });

    it('erases exactly the subject rows, returns what it erased, and a re-run erases nothing', async () => {
      const s = await h.addSubject();
      const before = await h.truth(s);
      const erased = await h.connector.erase(s);
      expect(erased.rows).toBe(count(before));
      expect(nonEmpty(erased.tables)).toEqual(nonEmpty(before));
      expect(count(await h.truth(s))).toBe(0);
      expect(await h.truth(canary)).toEqual(canaryRows);
      expect((await h.connector.erase(s)).rows).toBe(0);
      expect((await h.connector.find(s)).rows).toBe(0);
    });

    it('rectifies the subject data and nobody else', async () => {
      const s = await h.addSubject();
      const { change, readBack } = h.rectification(s);
      const r = await h.connector.rectify(s, [change]);
      expect(r.rows).toBeGreaterThan(0);
      expect(await readBack()).toEqual(change.value);
      expect(await h.truth(canary)).toEqual(canaryRows);
    });

    it('refuses a rectification of a field the map does not name, changing nothing', async () => {
      const s = await h.addSubject();
      const before = await h.truth(s);
      const { change } = h.rectification(s);
      await expect(h.connector.rectify(s, [{ ...change, field: 'not-mapped' }])).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(h.connector.rectify(s, [{ ...change, value: 'x'.repeat(5000) }])).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      expect(await h.truth(s)).toEqual(before);
    });

    it('expires what is past its retention and keeps the rest', async () => {
      const old = await h.addSubject({ expired: true });
      const fresh = await h.addSubject();
      const freshRows = await h.truth(fresh);
      const r = await h.connector.expire(h.expireAt());
      expect(r.rows).toBeGreaterThan(0);
      expect(count(await h.truth(old))).toBe(0);
      expect(await h.truth(fresh)).toEqual(freshRows);
      expect(await h.truth(canary)).toEqual(canaryRows);
    });
  });
}
