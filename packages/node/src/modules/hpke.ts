/**
 * Each org's HPKE public key (RFC 9180, X25519; ADR 0018), to which customers seal the corrections
 * they send it. `hpke.setKey {key}` is signed by one of the org's member keys; setting a new key
 * rotates it (the entry names the previous key id, and the org's node keeps the old private key to
 * open what was sealed to it). Public, like the member set: any wallet reads it with a state proof.
 *
 * State: `hpkekey/<org>` -> HpkeKeyEntry.
 */
import { fromBase64url } from '@custos/protocol/encoding';
import { hpkeKeyId } from '@custos/protocol/hpke';
import type { HpkeKeyEntry } from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { signerOrg } from './common.js';

export type { HpkeKeyEntry };

export function hpkeKeyKey(org: string): string {
  return `hpkekey/${org}`;
}

/** The HPKE key `org` has in force, or undefined if it never published one. */
export function hpkeKeyOf(ctx: Pick<ExecContext, 'get'>, org: string): HpkeKeyEntry | undefined {
  return ctx.get(hpkeKeyKey(org)) as unknown as HpkeKeyEntry | undefined;
}

export const hpkeModule: Module = {
  name: 'hpke',
  actions: {
    setKey(ctx: ExecContext, args: Args) {
      arg.only(args, ['key']);
      const org = signerOrg(ctx);
      const key = arg.str(args, 'key', 43, /^[A-Za-z0-9_-]{43}$/);
      let bytes: Uint8Array;
      try {
        bytes = fromBase64url(key, 32);
      } catch {
        throw new ExecFailure('INVALID_ARGS', 'expected args.key as a 32-byte X25519 public key in base64url');
      }
      // The all-zero point (and the other low-order points' common encoding) makes every shared secret zero.
      if (bytes.every((b) => b === 0))
        throw new ExecFailure('INVALID_ARGS', 'expected args.key to be a real X25519 public key, not zero');
      const kid = hpkeKeyId(bytes);
      const cur = hpkeKeyOf(ctx, org);
      if (cur?.kid === kid) throw new ExecFailure('CONFLICT', `key ${kid} is already the HPKE key of '${org}'`);
      const entry: HpkeKeyEntry = {
        org,
        key,
        kid,
        since: ctx.time,
        height: ctx.height,
        txId: ctx.txId,
        previous: cur?.kid ?? null,
      };
      ctx.put(hpkeKeyKey(org), entry);
      return 'OK';
    },
  },
};
