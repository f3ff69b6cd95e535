/**
 * The hostile ERC-20 of the re-entry tests (contracts/ReentrantToken.sol), deployed and funded:
 * its calls and reads, `arm` (call `target` with `data` during its next transfer) and the check
 * that the participant contract refused the re-entry (`Reentrant()`).
 */
import type { EvmFixture } from '@custos/test-utils/evm';
import { type Address, type Hex, toFunctionSelector } from 'viem';
import { expect } from 'vitest';
import { ReentrantToken } from './contracts/artifacts.generated.js';

const REENTRANT = toFunctionSelector('Reentrant()');

export interface HostileToken {
  address: Address;
  call(functionName: string, args: readonly unknown[]): ReturnType<EvmFixture['write']>;
  read<T>(functionName: string, args?: readonly unknown[]): Promise<T>;
  balanceOf(who: Address): Promise<bigint>;
  /** The token calls `target` with `data` during its next transfer. */
  arm(target: Address, data: Hex): ReturnType<EvmFixture['write']>;
  /** The token's last re-entry did not get in: the contract answered `Reentrant()`. */
  expectRefused(): Promise<void>;
}

/** Deploys the token (`deployer`), mints `amount` to `holder` and approves `spender` for it. */
export async function hostileToken(
  evm: EvmFixture,
  { deployer, holder, spender, amount }: { deployer: Address; holder: Address; spender: Address; amount: bigint },
): Promise<HostileToken> {
  const { address } = await evm.deploy(ReentrantToken, [], deployer);
  const call = (functionName: string, args: readonly unknown[]) =>
    evm.write({ address, abi: ReentrantToken.abi, functionName, args }, holder);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    evm.publicClient.readContract({
      address,
      abi: ReentrantToken.abi,
      functionName: functionName as 'reentered',
      args: args as [],
    }) as Promise<T>;
  await call('mint', [holder, amount]);
  await call('approve', [spender, amount]);
  return {
    address,
    call,
    read,
    balanceOf: (who) => read<bigint>('balanceOf', [who]),
    arm: (target, data) => call('arm', [target, data]),
    async expectRefused() {
      expect(await read<boolean>('reentered')).toBe(false);
      expect(await read<Hex>('lastError')).toBe(REENTRANT);
    },
  };
}
