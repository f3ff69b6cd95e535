/**
 * The EVM parts of `custos relay` and `custos xtx status` (docs/interop.md): the EVM endpoints and
 * the account paying for `decide`, and the lines that show an EVM leg.
 */
import { isAddress } from 'viem';
import { NodeError } from '../errors.js';
import { requirePassphrase } from '../home.js';
import type { EvmLegStatus, EvmMemberSetStatus } from '../interop/evm/evm-status.js';
import type { EvmRelayChain } from '../interop/evm/relay-evm.js';
import { readEvmKeyFile } from './evm-key-file.js';

/** `BAD_REQUEST` unless every `--evm-rpc` is an http(s) URL. */
export function checkEvmRpcUrls(urls: string[]): void {
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch (cause) {
      throw new NodeError('BAD_REQUEST', `expected --evm-rpc as an http(s) URL, got '${u.slice(0, 100)}'`, { cause });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new NodeError('BAD_REQUEST', `expected --evm-rpc as an http(s) URL, got '${u.slice(0, 100)}'`);
    }
  }
}

/** The EVM chains a relayer reaches, from `--evm-rpc`, with `--evm-account` or `--evm-key-file`. */
export function evmRelayChains(
  flags: { evmRpc: string[]; evmAccount?: string; evmKeyFile?: string; passphraseFile?: string },
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): EvmRelayChain[] {
  if (flags.evmRpc.length === 0) {
    if (flags.evmAccount !== undefined || flags.evmKeyFile !== undefined) {
      throw new NodeError('BAD_REQUEST', '--evm-account and --evm-key-file need --evm-rpc');
    }
    return [];
  }
  checkEvmRpcUrls(flags.evmRpc);
  let account: EvmRelayChain['account'];
  if (flags.evmKeyFile !== undefined) {
    if (flags.evmAccount !== undefined)
      throw new NodeError('BAD_REQUEST', 'expected --evm-account or --evm-key-file, not both');
    const passphraseFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
    account = {
      secretKey: readEvmKeyFile(flags.evmKeyFile, { passphrase: () => requirePassphrase(passphraseFile), warn }),
    };
  } else if (flags.evmAccount !== undefined) {
    if (!isAddress(flags.evmAccount, { strict: false })) {
      throw new NodeError(
        'BAD_REQUEST',
        `expected --evm-account as a 0x address, got '${flags.evmAccount.slice(0, 60)}'`,
      );
    }
    account = { address: flags.evmAccount as `0x${string}` };
  } else {
    throw new NodeError('BAD_REQUEST', 'expected --evm-account or --evm-key-file: the account that pays for decide');
  }
  return flags.evmRpc.map((rpcUrl) => ({ rpcUrl, account }));
}

/** Table rows for the EVM legs of `custos xtx status`. */
export function evmLegRows(legs: EvmLegStatus[]): [string, string][] {
  return legs.map((l) => {
    const parts = [l.lock ?? (l.outcome === null ? 'lock unknown (no --evm-rpc)' : l.outcome)];
    if (l.vote !== null) parts.push(`vote ${l.vote} proven`);
    if (l.prepareTx !== null)
      parts.push(`prepare ${l.prepareTx} in block ${l.block}, ${l.confirmations} confirmations`);
    if (l.decision !== null) {
      parts.push(
        `${l.decision.commit ? 'COMMIT' : 'ABORT'} signed by ${l.decision.signatures} of ${l.decision.threshold} needed`,
      );
    }
    if (l.outcome !== null) parts.push(`${l.outcome} proven on the decision chain`);
    const m = l.memberSet;
    if (m.chain !== null) {
      const behind =
        m.contract !== null && m.contract < m.chain ? ' (updateMembers pending: is `custos relay` running?)' : '';
      parts.push(
        `member set epoch ${m.chain} on the decision chain, ${m.contract === null ? '? (no --evm-rpc)' : m.contract} on the contract${behind}`,
      );
    }
    if (l.atRisk) parts.push(`AT RISK: the lock's deadline block ${l.deadline} is near and the COMMIT is not applied`);
    return [l.participant, parts.join('; ')];
  });
}

/** Table rows for `custos xtx evm-members`: each registered contract's member-set epoch on both sides. */
export function evmMemberSetRows(list: EvmMemberSetStatus[]): [string, string][] {
  return list.map((m) => {
    if (m.chain === null) return [m.participant, 'no EVM member set on the decision chain'];
    const c = m.chain;
    const parts = [
      `epoch ${c.epoch} on the decision chain (${c.keys} EVM keys, threshold ${c.threshold}${c.ready ? '' : ', not ready'})`,
      `${m.contract === null ? '? (no --evm-rpc for its chain)' : m.contract} on the contract`,
      `${m.signed} members signed epoch ${c.epoch}`,
    ];
    if (m.pending) parts.push('updateMembers pending: is `custos relay` running?');
    return [m.participant, parts.join('; ')];
  });
}
