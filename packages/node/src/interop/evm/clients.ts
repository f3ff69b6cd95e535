/**
 * The viem clients of one EVM JSON-RPC endpoint whose chain id is known: a chain definition (viem
 * needs one to sign locally), a public client that never caches and a wallet client. Shared by the
 * CLI commands and the demo that send EVM transactions.
 */
import { createPublicClient, createWalletClient, defineChain, http, type PublicClient, type WalletClient } from 'viem';

export interface EvmClients {
  chain: ReturnType<typeof defineChain>;
  pub: PublicClient;
  wallet: WalletClient;
}

export function evmClients(
  rpcUrl: string,
  chainId: number,
  opts: { name?: string; pollingMs?: number } = {},
): EvmClients {
  const chain = defineChain({
    id: chainId,
    name: opts.name ?? `evm-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl, { retryCount: 0 });
  const pub = createPublicClient({
    chain,
    transport,
    pollingInterval: opts.pollingMs ?? 100,
    cacheTime: 0,
  }) as PublicClient;
  return { chain, pub, wallet: createWalletClient({ chain, transport }) };
}
