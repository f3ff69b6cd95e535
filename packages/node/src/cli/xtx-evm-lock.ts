/**
 * The EVM calls of `custos xtx lock` (commands-xtx-evm.ts): for each leg on the chain at the RPC
 * URL, the holder approves the contract and calls `prepare(xtxId, leg, deadline)`. A leg the
 * contract already knows is reported as it stands, so running the command twice is harmless. The
 * holder signs with its own key (`--evm-key-file`, signed here) or is an account the endpoint signs
 * for (a development chain).
 */
import { type EvmLeg, evmLegHash, parseEvmParticipant } from '@custos/protocol/interop';
import { type Abi, type Account, type Address, createPublicClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { NodeError } from '../errors.js';
import { evmClients } from '../interop/evm/clients.js';
import { CustosParticipant, LoyaltyToken } from '../interop/evm/contracts/artifacts.generated.js';

const RECEIPT_MS = 60_000;

/** What the contract's `lockOf` status means, by its number. */
export const LOCK_STATUS = ['none', 'prepared (YES vote)', 'committed', 'aborted', 'refused (NO vote)'] as const;

export interface LockedLeg {
  participant: string;
  holder: string;
  amount: string;
  /** What the contract holds for the leg now. */
  status: (typeof LOCK_STATUS)[number];
  deadline: string;
  /** The `prepare` transaction, when this command sent it. */
  prepareTx: string | null;
}

/** Locks the legs of `legs` whose participant is on the chain at `rpcUrl`; the others are left out. */
export async function lockLegs(
  rpcUrl: string,
  xtxId: string,
  legs: { [participant: string]: EvmLeg },
  lockBlocks: bigint,
  secretKey?: `0x${string}`,
): Promise<LockedLeg[]> {
  const transport = http(rpcUrl, { retryCount: 0 });
  let evmChainId: number;
  try {
    evmChainId = await createPublicClient({ transport }).getChainId();
  } catch (cause) {
    throw new NodeError('NODE_UNREACHABLE', `the EVM chain at ${rpcUrl} does not answer`, { cause });
  }
  const { chain, pub, wallet } = evmClients(rpcUrl, evmChainId);
  const local = secretKey === undefined ? undefined : privateKeyToAccount(secretKey);
  const accounts = new Set(local === undefined ? (await wallet.getAddresses()).map((a) => a.toLowerCase()) : []);
  const send = async (address: Address, abi: Abi, functionName: string, args: unknown[], from: Account | Address) => {
    const hash = await wallet.writeContract({ address, abi, functionName, args, account: from, chain });
    const r = await pub.waitForTransactionReceipt({ hash, timeout: RECEIPT_MS });
    if (r.status !== 'success') throw new NodeError('CONFLICT', `EVM transaction ${functionName} ${hash} reverted`);
    return hash;
  };
  const done: LockedLeg[] = [];
  for (const [participant, leg] of Object.entries(legs)) {
    const { evmChainId: legChain, contract } = parseEvmParticipant(participant);
    if (legChain !== evmChainId) continue;
    const lockOf = async () =>
      (await pub.readContract({
        address: contract as Address,
        abi: CustosParticipant.abi as Abi,
        functionName: 'lockOf',
        args: [`0x${xtxId}`, evmLegHash(leg)],
      })) as { status: number; deadline: bigint };
    let prepareTx: Hex | null = null;
    if ((await lockOf()).status === 0) {
      const holder = leg.from as Address;
      if (local !== undefined && local.address.toLowerCase() !== holder.toLowerCase()) {
        throw new NodeError(
          'BAD_REQUEST',
          `the key in --evm-key-file is for ${local.address}, not for the holder ${holder} of the leg on ${participant}`,
        );
      }
      const from = local ?? holder;
      if (local === undefined && !accounts.has(holder.toLowerCase())) {
        throw new NodeError(
          'BAD_REQUEST',
          `the EVM chain does not sign for the holder ${holder} of the leg on ${participant}: pass the holder's key with --evm-key-file`,
        );
      }
      const amount = BigInt(leg.amount);
      await send(leg.token as Address, LoyaltyToken.abi as Abi, 'approve', [contract, amount], from);
      const deadline = (await pub.getBlockNumber()) + lockBlocks;
      prepareTx = await send(
        contract as Address,
        CustosParticipant.abi as Abi,
        'prepare',
        [`0x${xtxId}`, { ...leg, amount }, deadline],
        from,
      );
    }
    const lock = await lockOf();
    done.push({
      participant,
      holder: leg.from,
      amount: leg.amount,
      status: LOCK_STATUS[lock.status] ?? 'none',
      deadline: lock.deadline.toString(),
      prepareTx,
    });
  }
  return done;
}
