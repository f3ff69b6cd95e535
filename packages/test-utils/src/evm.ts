/**
 * A real EVM chain for tests: `hardhat node` (EDR) as a child process on 127.0.0.1 on a free port
 * (`HardhatChain` of the node), with viem clients. Hardhat is a devDependency, installed by `npm ci`,
 * so no system package gates these tests. Accounts are Hardhat's unlocked test accounts: the node
 * signs their transactions, no key is held here.
 */
import { HardhatChain, type HardhatChainOptions } from '@custos/node';
import { evmAddress, evmSecretKey } from '@custos/protocol/interop';
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type TransactionReceipt,
} from 'viem';

export interface EvmFixture {
  chain: HardhatChain;
  publicClient: ReturnType<typeof createPublicClient>;
  walletClient: ReturnType<typeof createWalletClient>;
  testClient: ReturnType<typeof createTestClient>;
  /** Hardhat's funded, unlocked accounts. */
  accounts: Address[];
  /** Deploys a compiled contract from `from` (default: the first account); resolves with its address and receipt. */
  deploy(
    artifact: { abi: Abi | readonly unknown[]; bytecode: Hex },
    args: readonly unknown[],
    from?: Address,
  ): Promise<{ address: Address; receipt: TransactionReceipt }>;
  /** Sends a contract call from `from` and waits for its receipt; throws if it reverts. */
  write(
    call: { address: Address; abi: Abi | readonly unknown[]; functionName: string; args?: readonly unknown[] },
    from?: Address,
  ): Promise<TransactionReceipt>;
  /** Mines `blocks` empty blocks, a second apart. */
  mine(blocks: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a Hardhat chain; call `close()` in afterAll. */
export async function startEvm(opts: HardhatChainOptions = {}): Promise<EvmFixture> {
  const chain = await HardhatChain.start(opts);
  const viemChain = defineChain({
    id: chain.chainId,
    name: 'custos-test',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [chain.rpcUrl] } },
  });
  const transport = http(chain.rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ chain: viemChain, transport, pollingInterval: 50, cacheTime: 0 });
  const walletClient = createWalletClient({ chain: viemChain, transport });
  const testClient = createTestClient({ chain: viemChain, transport, mode: 'hardhat' });
  const accounts = await walletClient.getAddresses();
  const first = accounts[0]!;
  const fixture: EvmFixture = {
    chain,
    publicClient,
    walletClient,
    testClient,
    accounts,
    async deploy(artifact, args, from = first) {
      const hash = await walletClient.deployContract({
        abi: artifact.abi as Abi,
        bytecode: artifact.bytecode,
        args: args as unknown[],
        account: from,
        chain: viemChain,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error('deployment reverted');
      return { address: receipt.contractAddress, receipt };
    },
    async write(call, from = first) {
      const hash = await walletClient.writeContract({
        address: call.address,
        abi: call.abi as Abi,
        functionName: call.functionName,
        args: (call.args ?? []) as unknown[],
        account: from,
        chain: viemChain,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`${call.functionName} reverted (${hash})`);
      return receipt;
    },
    async mine(blocks) {
      // hardhat_mine's default interval 0 lets a later block's timestamp go back: such a chain
      // cannot be replayed after a restart (HardhatChain.restart({ keepBlocks: true })).
      await testClient.mine({ blocks, interval: 1 });
    },
    close: () => chain.stop(),
  };
  return fixture;
}

/** The custom error a contract call reverted with (its name), or undefined if `e` is no revert. */
export function revertName(e: unknown): string | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
}

/** Resolves with the revert's error name of `p`; throws if `p` succeeds or fails otherwise. */
export async function reverts(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const name = revertName(e);
    if (name !== undefined) return name;
    throw e;
  }
  throw new Error('expected the call to revert; it succeeded');
}

/** A member's secp256k1 key for the participant contract's tests, with its address. */
export interface EvmMember {
  key: Uint8Array;
  address: Address;
}

/** Orders members by address, as the contract's member sets and certificates require. */
export const byEvmAddress = (a: EvmMember, b: EvmMember) => (a.address < b.address ? -1 : 1);

/** `n` fresh members, sorted by address. */
export function newEvmMembers(n: number): EvmMember[] {
  return Array.from({ length: n }, () => {
    const key = evmSecretKey();
    return { key, address: evmAddress(key) as Address };
  }).sort(byEvmAddress);
}
