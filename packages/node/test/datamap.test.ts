/**
 * The data map (issue 16, point 1): the file's checks say where a problem is and what was expected,
 * the digest ignores formatting, and `datamap.publish` records which map was in force when, with
 * versions only going up.
 */
import { join } from 'node:path';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Fixture, fixture, tempDir } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DataMap,
  DataMapError,
  dataMapCoverage,
  dataMapDigest,
  MAX_DATAMAP_BYTES,
  parseDataMap,
  publishArgs,
} from '../src/connectors/datamap.js';
import { type DataMapEntry, dataMapKey, dataMapVersionKey } from '../src/modules/datamap.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';

export function sampleMap(version = 1): DataMap {
  return {
    custosDataMap: 1,
    org: 'bank',
    version,
    systems: [
      {
        id: 'crm',
        kind: 'postgres',
        tables: [
          {
            name: 'customers',
            identity: { field: 'custos_subject', kind: 'pseudonym' },
            erasure: 'delete',
            timestampField: 'created_at',
            fields: [
              { name: 'email', category: 'pd:EmailAddress', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
              { name: 'full name', category: 'pd:Name', purposes: ['dpv:ServiceProvision'], retentionDays: 3650 },
            ],
          },
          {
            schema: 'marketing',
            name: 'newsletter',
            identity: { field: 'email', kind: 'vault', category: 'pd:EmailAddress', key: 'email' },
            erasure: 'mask',
            fields: [
              { name: 'phone', category: 'pd:TelephoneNumber', purposes: ['dpv:Marketing'], retentionDays: 365 },
            ],
          },
        ],
      },
      { id: 'vault', kind: 'vault' },
    ],
  };
}

function problems(doc: unknown): { path: string; message: string }[] {
  try {
    parseDataMap(typeof doc === 'string' ? doc : JSON.stringify(doc));
  } catch (e) {
    expect(e).toBeInstanceOf(DataMapError);
    return (e as DataMapError).problems;
  }
  throw new Error('expected the map to be refused');
}

describe('checking a data map', () => {
  it('accepts a valid map and reports its coverage', () => {
    const map = parseDataMap(JSON.stringify(sampleMap()));
    const c = dataMapCoverage(map);
    expect(c.tables).toBe(2);
    expect(c.fields).toBe(3);
    expect(c.categories).toEqual({ 'pd:EmailAddress': 1, 'pd:Name': 1, 'pd:TelephoneNumber': 1 });
    expect(c.purposes).toEqual({ 'dpv:ServiceProvision': 2, 'dpv:Marketing': 1 });
    expect(c.withoutTimestamp).toEqual(['crm:marketing.newsletter']);
    expect(c.linkedThroughVault).toEqual(['crm:marketing.newsletter']);
    expect(c.systems).toEqual([
      { id: 'crm', kind: 'postgres', tables: 2, fields: 3, retentionByTime: 1 },
      { id: 'vault', kind: 'vault', tables: 0, fields: 0, retentionByTime: 0 },
    ]);
  });

  it('names the path of a bad field and what was expected', () => {
    const bad = sampleMap() as unknown as { systems: { tables: { fields: Record<string, JsonValue>[] }[] }[] };
    bad.systems[0]!.tables[0]!.fields[1]!.category = 'EmailAddress';
    expect(problems(bad)).toEqual([
      {
        path: 'systems[0].tables[0].fields[1].category',
        message: 'expected a DPV code like pd:EmailAddress or dpv:Marketing',
      },
    ]);
    const unknownCode = sampleMap();
    unknownCode.systems[0]!.tables![0]!.fields[0]!.category = 'pd:NotACategory';
    expect(problems(unknownCode)[0]).toEqual({
      path: 'systems[0].tables[0].fields[0].category',
      message: 'expected a DPV personal-data category Custos knows, like pd:EmailAddress',
    });
  });

  it('refuses unknown properties, wrong kinds, missing fields and bad retention', () => {
    const extra = { ...sampleMap(), owner: 'x' };
    expect(problems(extra)[0]?.path).toBe('owner');
    const kind = sampleMap() as unknown as { systems: Record<string, JsonValue>[] };
    kind.systems[0]!.kind = 'mongodb';
    expect(problems(kind)).toContainEqual({
      path: 'systems[0].kind',
      message: 'expected one of postgres, http, vault',
    });
    const retention = sampleMap();
    retention.systems[0]!.tables![0]!.fields[0]!.retentionDays = 0;
    expect(problems(retention)[0]?.path).toBe('systems[0].tables[0].fields[0].retentionDays');
    const missing = sampleMap() as unknown as { systems: { tables: Record<string, JsonValue>[] }[] };
    delete missing.systems[0]!.tables[0]!.identity;
    expect(problems(missing)[0]?.path).toBe('systems[0].tables[0].identity');
    expect(problems('{"custosDataMap": 1,')[0]?.message).toMatch(/^expected JSON/);
    expect(problems({ ...sampleMap(), custosDataMap: 2 })[0]?.path).toBe('custosDataMap');
  });

  it('refuses repeats and identity rules a schema cannot say', () => {
    const dupSystem = sampleMap();
    dupSystem.systems[1] = { ...dupSystem.systems[0]! };
    expect(problems(dupSystem).map((p) => p.path)).toContain('systems[1].id');
    const dupField = sampleMap();
    const t = dupField.systems[0]!.tables![0]!;
    t.fields.push({ ...t.fields[0]! });
    expect(problems(dupField)).toContainEqual({
      path: 'systems[0].tables[0].fields[2].name',
      message: "expected each field once; 'email' appears twice",
    });
    const idAsField = sampleMap();
    idAsField.systems[0]!.tables![0]!.fields[0]!.name = 'custos_subject';
    expect(problems(idAsField)[0]?.path).toBe('systems[0].tables[0].fields[0].name');
    const vaultNoCategory = sampleMap();
    delete vaultNoCategory.systems[0]!.tables![1]!.identity.category;
    expect(problems(vaultNoCategory)[0]?.path).toBe('systems[0].tables[1].identity.category');
    const vaultTables = sampleMap();
    vaultTables.systems[1]!.tables = vaultTables.systems[0]!.tables!;
    expect(problems(vaultTables)[0]?.path).toBe('systems[1].tables');
    const badPurpose = sampleMap();
    badPurpose.systems[0]!.tables![0]!.fields[0]!.purposes = ['dpv:Marketing', 'dpv:Marketing'];
    expect(problems(badPurpose)[0]?.path).toBe('systems[0].tables[0].fields[0].purposes');
  });

  it('bounds the size of every part', () => {
    const big = ' '.repeat(MAX_DATAMAP_BYTES + 1);
    expect(problems(big)[0]?.message).toBe(`expected at most ${MAX_DATAMAP_BYTES} bytes`);
    const manySystems = sampleMap();
    manySystems.systems = Array.from({ length: 65 }, (_, i) => ({ id: `s${i}`, kind: 'vault' as const }));
    expect(problems(manySystems)[0]?.path).toBe('systems');
    const longName = sampleMap();
    longName.systems[0]!.tables![0]!.name = 'x'.repeat(64);
    expect(problems(longName)[0]).toEqual({
      path: 'systems[0].tables[0].name',
      message: 'expected a name of 1-63 characters without control characters or "',
    });
    const quote = sampleMap();
    quote.systems[0]!.tables![0]!.name = 'a"; drop table x; --';
    expect(problems(quote)[0]?.path).toBe('systems[0].tables[0].name');
  });

  it('digests the canonical form: formatting and key order do not matter, content does', () => {
    const map = sampleMap();
    const pretty = parseDataMap(JSON.stringify(map, null, 2));
    const reordered = parseDataMap(JSON.stringify({ systems: map.systems, version: 1, org: 'bank', custosDataMap: 1 }));
    expect(dataMapDigest(pretty)).toBe(dataMapDigest(reordered));
    expect(dataMapDigest(pretty)).toMatch(/^[0-9a-f]{64}$/);
    expect(dataMapDigest(sampleMap(2))).not.toBe(dataMapDigest(pretty));
    expect(publishArgs(map)).toEqual({
      version: 1,
      digest: dataMapDigest(map),
      systems: ['crm', 'vault'],
      tables: 2,
      fields: 3,
    });
  });
});

describe('datamap.publish on the ledger', () => {
  let tmp: ReturnType<typeof tempDir>;
  let fx: Fixture;
  let node: CustosNode;
  let clock: number;

  beforeEach(async () => {
    tmp = tempDir();
    fx = fixture();
    clock = Date.now();
    const now = () => clock;
    node = await CustosNode.open({
      dbPath: join(tmp.dir, 'node.db'),
      genesis: fx.genesis,
      signers: Object.values(fx.orgs),
      verifyThreads: 1,
      now,
      orderer: new SoloOrderer({ maxTxs: 100, maxWaitMs: 2, now }),
    });
  });
  afterEach(async () => {
    await node.close();
    tmp.cleanup();
  });

  function publish(org: string, args: { [k: string]: JsonValue }) {
    return node.submitAndWait(signTx({ chainId: 'test', type: 'datamap.publish', args, now: clock }, fx.orgs[org]!));
  }
  function entry(key: string): DataMapEntry | undefined {
    const t = node.store.getState(key);
    return t === undefined ? undefined : (JSON.parse(t) as DataMapEntry);
  }

  it('records each version, keeps the history, and refuses going back or republishing', async () => {
    const v1 = await publish('bank', publishArgs(sampleMap(1)));
    expect(v1.code).toBe('OK');
    const first = entry(dataMapKey('bank'))!;
    expect(first).toMatchObject({ org: 'bank', version: 1, digest: dataMapDigest(sampleMap(1)), previous: null });
    expect(first.txId).toBe(v1.txId);

    clock += 1000;
    const v2 = await publish('bank', publishArgs(sampleMap(2)));
    expect(v2.code).toBe('OK');
    expect(entry(dataMapKey('bank'))).toMatchObject({ version: 2, previous: 1, publishedAt: clock });
    // The replaced version stays readable: which map was in force at a given time.
    expect(entry(dataMapVersionKey('bank', 1))).toEqual(first);

    const back = await publish('bank', publishArgs(sampleMap(1)));
    expect(back).toMatchObject({ code: 'CONFLICT' });
    expect(back.detail).toMatch(/above 2/);
    const same = await publish('bank', { ...publishArgs(sampleMap(2)), version: 3 });
    expect(same.code).toBe('CONFLICT');
    expect(same.detail).toMatch(/already in force as version 2/);
    // Each org has its own map.
    expect((await publish('insurer', publishArgs(sampleMap(1)))).code).toBe('OK');
  });

  it('refuses customers and bad arguments', async () => {
    const { userSigner } = await import('@custos/test-utils/node');
    const user = userSigner();
    const byUser = await node.submitAndWait(
      signTx({ chainId: 'test', type: 'datamap.publish', args: publishArgs(sampleMap()), now: clock }, user),
    );
    expect(byUser.code).toBe('UNAUTHORIZED');
    const ok = publishArgs(sampleMap());
    for (const bad of [
      { ...ok, digest: 'xyz' },
      { ...ok, version: 0 },
      { ...ok, systems: ['crm', 'crm'] },
      { ...ok, systems: ['Not An Id'] },
      { ...ok, map: {} },
    ]) {
      expect((await publish('bank', bad)).code).toBe('INVALID_ARGS');
    }
  });
});

describe('custos org datamap check (reading the file)', () => {
  it('reads a valid file and refuses a bad one with every problem on its own line', async () => {
    const { writeFileSync } = await import('node:fs');
    const { readDataMap } = await import('../src/cli/datamap-actions.js');
    const tmp = tempDir();
    try {
      const good = join(tmp.dir, 'map.json');
      writeFileSync(good, JSON.stringify(sampleMap(), null, 2));
      expect(readDataMap(good).version).toBe(1);
      const badMap = sampleMap();
      badMap.systems[0]!.tables![0]!.fields[0]!.category = 'pd:Nope';
      badMap.systems[0]!.tables![0]!.fields[1]!.purposes = ['dpv:Nope'];
      const bad = join(tmp.dir, 'bad.json');
      writeFileSync(bad, JSON.stringify(badMap));
      let message = '';
      try {
        readDataMap(bad);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('BAD_REQUEST');
        message = (e as Error).message;
      }
      expect(message.split('\n')).toEqual([
        `${bad} is not a valid data map:`,
        '  systems[0].tables[0].fields[0].category: expected a DPV personal-data category Custos knows, like pd:EmailAddress',
        '  systems[0].tables[0].fields[1].purposes[0]: expected a DPV purpose Custos knows, like dpv:Marketing',
      ]);
      expect(() => readDataMap(join(tmp.dir, 'missing.json'))).toThrow(/no such file/);
    } finally {
      tmp.cleanup();
    }
  });
});
