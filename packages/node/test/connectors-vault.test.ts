/**
 * The org's vault as a connector passes the same conformance suite as the PostgreSQL connector: its
 * rows are the subject's live records (id, category, commitment, retention), read directly from the
 * ledger state; erasure crypto-shreds and commits data.erased, rectification commits data.update.
 */

import { didFromPublicKey } from '@custos/protocol/crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { describe, expect, it } from 'vitest';
import type { TableRows } from '../src/connectors/connector.js';
import { executeRequest } from '../src/connectors/execute.js';
import { VAULT_TABLE, VaultConnector } from '../src/connectors/vault-connector.js';
import type { DataRecord } from '../src/modules/data.js';
import { type ConformanceHarness, connectorConformance } from './connector-conformance.js';

const DAY = 86_400_000;

async function harness(): Promise<ConformanceHarness> {
  const api: ApiNode = await startApiNode({ members: ['bank'] });
  const connector = new VaultConnector('vault', api.orgs, 'bank');
  const live = (did: string): DataRecord[] => api.orgs.recordsOf('bank', did).filter((r) => r.erasedAt === null);
  return {
    connector,
    async addSubject(opts = {}) {
      const did = didFromPublicKey(userSigner().publicKey);
      for (const [category, value] of [
        ['pd:EmailAddress', { email: `${did.slice(-8)}@example.org` }],
        ['pd:Name', { name: 'Ada' }],
      ] as const) {
        const r = await api.orgs.register('bank', {
          subject: did,
          category,
          purposes: { 'dpv:ServiceProvision': 'contract' },
          source: 'subject',
          retentionDays: opts.expired ? 1 : 365,
          value,
        });
        expect(r.code).toBe('OK');
      }
      return { did };
    },
    async truth(s) {
      const rows = live(s.did)
        .map((r) => ({
          record: r.id,
          category: r.category,
          commitment: r.commitment,
          retentionUntil: r.retentionUntil,
        }))
        .sort((a, b) => (canonicalize(a) < canonicalize(b) ? -1 : 1));
      const t: TableRows[] = [{ table: VAULT_TABLE, rows: rows as { [k: string]: JsonValue }[] }];
      return t;
    },
    rectification(s) {
      const rec = live(s.did).find((r) => r.category === 'pd:Name')!;
      const value = 'Ada Lovelace';
      return {
        change: { table: VAULT_TABLE, field: rec.id, value },
        // A lawful access (the contract basis declared at registration) reads the new value.
        readBack: async () => {
          expect(api.orgs.record('bank', rec.id)!.commitment).not.toBe(rec.commitment);
          const r = await api.orgs.access('bank', rec.id, 'dpv:ServiceProvision', 'contract');
          expect(r.code).toBe('OK');
          return r.value as JsonValue;
        },
      };
    },
    expireAt: () => Date.now() + 2 * DAY,
    close: () => api.close(),
  };
}

connectorConformance('vault', harness);

describe('a request run on the vault alone', () => {
  it('erases, records the step, fulfils; a second concurrent run of the same request is refused', async () => {
    const api = await startApiNode({ members: ['bank'] });
    try {
      const p = await api.orgs.submit('bank', 'datamap.publish', {
        version: 1,
        digest: 'cd'.repeat(32),
        systems: ['vault'],
        tables: 0,
        fields: 0,
      });
      expect(p.code).toBe('OK');
      const ada = userSigner();
      const did = didFromPublicKey(ada.publicKey);
      const reg = await api.orgs.register('bank', {
        subject: did,
        category: 'pd:EmailAddress',
        purposes: { 'dpv:ServiceProvision': 'contract' },
        source: 'subject',
        retentionDays: 365,
        value: { email: 'ada@example.org' },
      });
      expect(reg.code).toBe('OK');
      const open = await api.node.submitAndWait(
        signTx(
          {
            chainId: api.node.chainId,
            type: 'request.open',
            args: { org: 'bank', kind: 'erase', jurisdiction: 'GDPR' },
          },
          ada,
        ),
      );
      const vault = [new VaultConnector('vault', api.orgs, 'bank')];
      const first = executeRequest(api.orgs, 'bank', open.txId, vault);
      await expect(executeRequest(api.orgs, 'bank', open.txId, vault)).rejects.toThrow(/already running/);
      const report = await first;
      expect(report).toMatchObject({ status: 'fulfilled', steps: [{ system: 'vault', outcome: 'done', rows: 1 }] });
      expect(api.orgs.requestStep('bank', open.txId, 'vault')).toMatchObject({ outcome: 'done', rows: 1 });
      expect(api.orgs.record('bank', reg.recordId)!.erasedAt).not.toBeNull();
      // Closed: a re-run is refused.
      await expect(executeRequest(api.orgs, 'bank', open.txId, [])).rejects.toThrow(/already fulfilled/);
    } finally {
      await api.close();
    }
  });
});
