/**
 * Cross-chain commands (docs/architecture.md#atomic-cross-chain-transactions): `custos relay`
 * carries cross-chain transactions and their proofs between chains until stopped; `custos xtx
 * status ID` shows where one stands on each chain. Both speak to the chains' HTTP APIs only.
 */
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import type { Command } from 'commander';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { requirePassphrase } from '../home.js';
import { type ChainEndpoint, httpEndpoint } from '../interop/endpoint.js';
import { evmMemberSets } from '../interop/evm/evm-status.js';
import { type RelayAction, Relayer } from '../interop/relayer.js';
import { xtxStatus } from '../interop/xtx-status.js';
import { loadSigner } from '../keys/keystore.js';
import { parsePositiveInt, parseTxId } from './args.js';
import { output, table } from './output.js';
import { checkEvmRpcUrls, evmLegRows, evmMemberSetRows, evmRelayChains } from './relay-evm-flags.js';

interface RelayFlags {
  chain: string[];
  token: string[];
  evmRpc: string[];
  evmAccount?: string;
  evmKeyFile?: string;
  key?: string;
  passphraseFile?: string;
  interval: string;
  once?: boolean;
  json?: boolean;
}

interface StatusFlags {
  chain: string[];
  token: string[];
  evmRpc: string[];
  wait?: boolean;
  json?: boolean;
}

/** How long `xtx status --wait` waits for a cross-chain transaction to be committed or aborted. */
const STATUS_WAIT_MS = 300_000;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function relaySigner(flags: RelayFlags): { signer: Signer; ephemeral: boolean } {
  if (flags.key === undefined) return { signer: nativeSigner(randomSecretKey()), ephemeral: true };
  const passFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
  return { signer: loadSigner(flags.key, requirePassphrase(passFile)), ephemeral: false };
}

function actionLine(a: RelayAction): string {
  return `  ${a.step.padEnd(8)} ${a.chainId.padEnd(16)} ${a.xtxId}  ${a.code}`;
}

/** One endpoint per `--chain`, with the `--token` in the same position (or the one token for all). */
function endpoints(urls: string[], tokens: string[] = []): ChainEndpoint[] {
  if (tokens.length > 1 && tokens.length !== urls.length) {
    throw new NodeError(
      'BAD_REQUEST',
      `expected one --token per --chain (${urls.length}), or one for all; got ${tokens.length}`,
    );
  }
  return urls.map((u, i) => {
    const token = tokens.length === 1 ? tokens[0] : tokens[i];
    return httpEndpoint(u, token === undefined ? {} : { token });
  });
}

export function registerRelayCommands(program: Command): void {
  program
    .command('relay')
    .description('carry cross-chain transactions and their proofs between chains (any number may run at once)')
    .option('--chain <url>', 'HTTP API of a chain (repeat for each chain)', collect, [])
    .option(
      '--token <token>',
      "a member's API token with 'read' on that chain (repeat in --chain order, or once for all)",
      collect,
      [],
    )
    .option('--evm-rpc <url>', 'JSON-RPC endpoint of an EVM chain of EVM participants (repeat for each)', collect, [])
    .option('--evm-account <address>', 'EVM account the endpoint signs for (a development chain), pays for decide')
    .option(
      '--evm-key-file <file>',
      'EVM keystore (custos keys evm new) of the account that pays for decide, signing locally (a real chain)',
    )
    .option('--key <file>', 'sign relay transactions with this keystore (default: a one-time key)')
    .option(
      '--passphrase-file <file>',
      'file holding the passphrase of --key and --evm-key-file (else $CUSTOS_PASSPHRASE)',
    )
    .option('--interval <ms>', 'longest pause between scans (a new block on a chain starts the next one)', '500')
    .option('--once', 'one scan, then exit')
    .option('--json', 'JSON: one document with --once, else one JSON line per step submitted')
    .action(async (flags: RelayFlags) => {
      const out = output(flags.json === true);
      const evm = evmRelayChains(flags, (line) => out.note(line));
      if (flags.chain.length < (evm.length > 0 ? 1 : 2)) {
        throw new NodeError('BAD_REQUEST', 'expected at least two --chain URLs, or one with --evm-rpc');
      }
      const interval = parsePositiveInt(flags.interval, '--interval');
      const chains = endpoints(flags.chain, flags.token);
      const { signer, ephemeral } = relaySigner(flags);
      const did = didFromPublicKey(signer.publicKey);
      out.note(
        `relaying between ${chains.map((c) => c.label).join(', ')} as ${did}${ephemeral ? ' (one-time key)' : ''}`,
      );
      // A chain that stays down is reported once per outage, not once per scan.
      let failedBefore = new Set<string>();
      let failedNow = new Set<string>();
      // A chain's API that answers RATE_LIMITED is given time: the next scans wait longer.
      let limitedUntil = 0;
      const backoff = Math.min(Math.max(interval * 10, 5_000), 60_000);
      const relayer = new Relayer({
        chains,
        signer,
        evm,
        onAction: (a) => {
          if (flags.once === true) return;
          if (out.json) process.stdout.write(`${JSON.stringify(a)}\n`);
          else process.stdout.write(`${actionLine(a)}\n`);
        },
        onError: (label, e) => {
          if (e instanceof NodeError && e.code === 'RATE_LIMITED') limitedUntil = Date.now() + backoff;
          if (!failedBefore.has(label) && !failedNow.has(label)) out.note(`${label}: ${(e as Error).message}`);
          failedNow.add(label);
        },
      });
      if (flags.once === true) {
        const actions = await relayer.step();
        out.result(
          { relayer: did, actions },
          actions.length === 0
            ? 'Nothing to relay.'
            : [`Submitted ${actions.length} steps:`, ...actions.map(actionLine)],
        );
        return;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        // `Relayer.run`: the cross-chain steps and the EVM deliveries as two loops, each pass on a
        // chain's next block (its block stream), every `--interval` at the latest.
        await relayer.run({
          intervalMs: interval,
          signal: stop.signal,
          pauseMs: () => limitedUntil - Date.now(),
          onPass: () => {
            failedBefore = failedNow;
            failedNow = new Set();
          },
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  const xtx = program.command('xtx').description('atomic cross-chain transactions');
  xtx
    .command('status <xtxId>')
    .description('where a cross-chain transaction stands on each chain, and its outcome')
    .option('--chain <url>', 'HTTP API of a participant chain (repeat for each)', collect, [])
    .option(
      '--token <token>',
      "a member's API token with 'read' on that chain (repeat in --chain order, or once for all)",
      collect,
      [],
    )
    .option('--evm-rpc <url>', 'JSON-RPC endpoint of an EVM chain, to show its legs (repeat for each)', collect, [])
    .option(
      '--wait',
      `wait until it is committed or aborted on every chain (at most ${STATUS_WAIT_MS / 60_000} minutes)`,
    )
    .option('--json', 'print one JSON document')
    .action(async (id: string, flags: StatusFlags) => {
      const out = output(flags.json === true);
      const xtxId = parseTxId(id);
      if (flags.chain.length === 0) throw new NodeError('BAD_REQUEST', 'expected at least one --chain URL');
      const eps = endpoints(flags.chain, flags.token);
      const evmOpts = { evm: flags.evmRpc.map((rpcUrl) => ({ rpcUrl })) };
      let s = await xtxStatus(eps, xtxId, evmOpts);
      const until = Date.now() + STATUS_WAIT_MS;
      while (flags.wait === true && s.stage !== 'committed' && s.stage !== 'aborted') {
        if (Date.now() > until)
          throw new NodeError(
            'TIMEOUT',
            `cross-chain transaction ${xtxId} is still ${s.stage} after ${STATUS_WAIT_MS / 60_000} minutes (is \`custos relay\` running?)`,
          );
        await new Promise((r) => setTimeout(r, 500));
        s = await xtxStatus(eps, xtxId, evmOpts);
      }
      if (s.stage === 'unknown')
        throw new NodeError('NOT_FOUND', `no chain given knows cross-chain transaction ${xtxId}`);
      const rows: [string, string][] = s.chains.map((c) => [
        c.reachable ? c.chainId : c.label,
        !c.reachable
          ? 'unreachable'
          : c.record === null
            ? 'not prepared'
            : `${c.record.status}${c.record.vote === null ? '' : ` (voted ${c.record.vote})`}${c.record.reason === null ? '' : `: ${c.record.reason}`}`,
      ]);
      rows.push(...evmLegRows(s.evm));
      const decided =
        s.decision === null
          ? `not decided yet (decision chain ${s.decisionChain ?? '?'}, deadline height ${s.deadlineHeight ?? '?'})`
          : `${s.decision.decision} at height ${s.decision.height} of ${s.decisionChain} (${s.decision.reason})`;
      out.result(s, [`Cross-chain transaction ${xtxId}: ${s.stage}`, `  decision: ${decided}`, ...table(rows)]);
    });

  xtx
    .command('evm-members')
    .description(
      "each EVM participant contract's member-set epoch: in force on the decision chain, held by the contract",
    )
    .option('--chain <url>', 'HTTP API of the decision chain')
    .option('--token <token>', "a member's API token with 'read' (optional: the member sets are public)")
    .option('--evm-rpc <url>', 'JSON-RPC endpoint of an EVM chain of the contracts (repeat for each)', collect, [])
    .option('--json', 'print one JSON document')
    .action(async (flags: { chain?: string; token?: string; evmRpc: string[]; json?: boolean }) => {
      const out = output(flags.json === true);
      if (flags.chain === undefined) throw new NodeError('BAD_REQUEST', 'expected --chain: the decision chain');
      const [d] = endpoints([flags.chain], flags.token === undefined ? [] : [flags.token]);
      checkEvmRpcUrls(flags.evmRpc);
      const contracts = await evmMemberSets(
        d as ChainEndpoint,
        flags.evmRpc.map((rpcUrl) => ({ rpcUrl })),
      );
      out.result(
        { contracts },
        contracts.length === 0
          ? 'No EVM participant contract is registered on this chain.'
          : [`EVM member sets of ${contracts.length} contracts:`, ...table(evmMemberSetRows(contracts))],
      );
    });
}
