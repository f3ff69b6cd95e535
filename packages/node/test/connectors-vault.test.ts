/**
 * The org's vault as a connector passes the same conformance suite as the PostgreSQL connector: its
 * rows are the subject's live records (id, category, commitment, retention), read directly from the
 * ledger state; erasure crypto-shreds and commits data.erased, rectification commits data.update.
 */

import { didFromPublicKey } from '@custos/protocol/crypto';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { type ApiNode, startApiNode, userSigner } from '@custos/test-utils/node';
import { expect } from 'vitest';
import type { TableRows } from '../src/connectors/connector.js';
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
