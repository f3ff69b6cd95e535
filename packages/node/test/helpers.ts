/** Shared test fixtures: temp dirs, genesis with fresh member keys, signed transactions. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import { nativeSigner } from '../src/crypto/native.js';
import { type Genesis, makeGenesis } from '../src/genesis.js';

export function tempDir(prefix = 'custos-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Fixture {
  genesis: Genesis;
  orgs: Record<string, Signer>;
}

export function fixture(
  orgIds = ['bank', 'insurer', 'retailer'],
  params = { blockMaxTxs: 500, blockMaxMs: 5 },
  opts: { chainId?: string; names?: Record<string, string> } = {},
): Fixture {
  const orgs: Record<string, Signer> = {};
  for (const id of orgIds) orgs[id] = nativeSigner(randomSecretKey());
  const genesis = makeGenesis({
    chainId: opts.chainId ?? 'test',
    time: Date.now() - 1000,
    members: orgIds.map((id) => ({
      id,
      name: opts.names?.[id] ?? `${id} org`,
      keys: [didFromPublicKey(orgs[id]!.publicKey)],
    })),
    params,
  });
  return { genesis, orgs };
}

export function userSigner(): Signer {
  return nativeSigner(randomSecretKey());
}

export function tx(
  signer: Signer,
  type: string,
  args: { [k: string]: JsonValue },
  extra: { chainId?: string; now?: number; ttlMs?: number } = {},
): SignedTx {
  return signTx(
    {
      chainId: extra.chainId ?? 'test',
      type,
      args,
      ...(extra.now === undefined ? {} : { now: extra.now }),
      ...(extra.ttlMs === undefined ? {} : { ttlMs: extra.ttlMs }),
    },
    signer,
  );
}
