/**
 * The chain a customer command acts on, and how it signs: the chain id and members (from the
 * genesis, checked against the node), the member org asked for, and submitting a transaction signed
 * with the pairwise key for that org.
 */
import { join } from 'node:path';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import type { PairwiseIdentity } from '@custos/protocol/wallet';
import { NodeError } from '../../errors.js';
import type { Genesis } from '../../genesis.js';
import { GENESIS_FILE, isInitialized, readGenesisFile, resolveHome } from '../../home.js';
import { type CommitResult, NodeClient } from '../client.js';
import type { Output } from '../output.js';
import { TX_FAILED_EXIT } from '../output.js';
import { type ChainFlags, openWallet } from './session.js';

export interface ChainContext {
  chainId: string;
  members: { id: string; name: string }[];
  genesis: Genesis | undefined;
  client: NodeClient;
}

function genesisOf(flags: ChainFlags): Genesis | undefined {
  if (flags.genesis !== undefined) return readGenesisFile(flags.genesis);
  const home = resolveHome(flags.home);
  return isInitialized(home) ? readGenesisFile(join(home, GENESIS_FILE)) : undefined;
}

/**
 * The chain: its id from the genesis when there is one (checked against the node when `useNode`),
 * else from the node; its members as the node lists them now (admitted since genesis too), else
 * from the genesis. A genesis is required wherever trust matters (`history`).
 */
export async function chainContext(flags: ChainFlags, useNode: boolean): Promise<ChainContext> {
  const client = new NodeClient(flags.node);
  const genesis = genesisOf(flags);
  const info = useNode || genesis === undefined ? await client.chain() : undefined;
  if (genesis !== undefined && info !== undefined && info.chainId !== genesis.chainId) {
    throw new NodeError(
      'BAD_REQUEST',
      `the node serves chain '${info.chainId}', but the genesis is for '${genesis.chainId}'`,
    );
  }
  const names = new Map(genesis?.members.map((m) => [m.id, m.name]));
  const ids = info?.members.map((m) => m.id) ?? genesis?.members.map((m) => m.id) ?? [];
  return {
    chainId: genesis?.chainId ?? info!.chainId,
    members: ids.map((id) => ({ id, name: names.get(id) ?? id })),
    genesis,
    client,
  };
}

export function requireGenesis(ctx: ChainContext): Genesis {
  if (ctx.genesis === undefined) {
    throw new NodeError(
      'BAD_REQUEST',
      'expected --genesis GENESIS.json or --home DIR: a history is verified against the genesis members, never against what the node says',
    );
  }
  return ctx.genesis;
}

export function memberOrg(ctx: ChainContext, org: string | undefined): string {
  if (org === undefined || org.length === 0) throw new NodeError('BAD_REQUEST', 'expected --org ID');
  if (!ctx.members.some((m) => m.id === org)) {
    throw new NodeError(
      'NOT_FOUND',
      `no member org '${org.slice(0, 40)}' on chain ${ctx.chainId} (members: ${ctx.members.map((m) => m.id).join(', ')})`,
    );
  }
  return org;
}

/**
 * The chain, the member org `--org` names, and the customer's pairwise identity towards it (a new
 * relationship is saved to the wallet before anything is signed with it).
 */
export async function actAs(
  flags: ChainFlags,
  org: string | undefined,
): Promise<{ ctx: ChainContext; org: string; me: PairwiseIdentity }> {
  const ctx = await chainContext(flags, true);
  const member = memberOrg(ctx, org);
  const session = await openWallet(flags);
  const me = session.wallet.relationship(ctx.chainId, member);
  await session.save();
  return { ctx, org: member, me };
}

/** Signs with the pairwise key and waits for the block; `gpc` sends the request with `Sec-GPC: 1`. */
export async function submitAs(
  ctx: ChainContext,
  who: PairwiseIdentity,
  type: string,
  args: { [key: string]: JsonValue },
  gpc = false,
): Promise<CommitResult> {
  const tx = signTx({ chainId: ctx.chainId, type, args }, who.signer);
  return ctx.client.run((sdk) => sdk.submitAndWait(tx, gpc ? { gpc: true } : {}));
}

/** Prints the result of a committed transaction; a refusal exits with `TX_FAILED_EXIT`. */
export function finish(out: Output, r: CommitResult, doc: unknown, ok: string | string[], what: string): void {
  if (r.code === 'OK') {
    out.result(doc, ok);
    return;
  }
  out.result(doc, `${what}: refused, ${r.code} (recorded in block ${r.height}, tx ${r.txId}).`);
  process.exitCode = TX_FAILED_EXIT;
}
