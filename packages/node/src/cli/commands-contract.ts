/**
 * `custos contract propose | vote | call | pause | state | list` (docs/contracts.md, "Lifecycle"):
 * the contract transactions signed with an org's key (`--org ID` from the home, or `--key FILE`),
 * and reads of contracts and their state. Every command takes `--json`. `contract check` (the
 * offline risk check) is in commands-contract-check.ts.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type ContractInfo, contractTx } from '@custos/sdk';
import type { Command } from 'commander';
import { CONTRACT_LIMITS } from '../contracts/limits.js';
import { NodeError } from '../errors.js';
import { MAX_CODE_CHARS } from '../modules/contract.js';
import { parseArgsObject, parsePositiveInt, parseTxId } from './args.js';
import { NodeClient } from './client.js';
import { contractGroup, readJson, readText } from './commands-contract-check.js';
import { nodeOption, type ReadAuthFlags, readAuthOf, readAuthOptions } from './options.js';
import { output, TX_FAILED_EXIT, table } from './output.js';
import { signerOf, type TxFlags } from './tx-signer.js';

type SignFlags = Pick<TxFlags, 'key' | 'org' | 'home' | 'passphraseFile' | 'node' | 'json'>;
const CONTRACT_ID = /^[a-z][a-z0-9-]{1,62}$/;

function signOptions(cmd: Command): Command {
  return cmd
    .option('--key <file>', 'sign with this keystore file')
    .option('--org <id>', "sign with this org's key from the home directory")
    .option('--home <dir>', 'home directory for --org (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (else $CUSTOS_PASSPHRASE)')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document');
}

function contractId(id: string): string {
  if (!CONTRACT_ID.test(id)) throw new NodeError('BAD_REQUEST', 'expected a contract id of 2-63 characters a-z 0-9 -');
  return id;
}

/** Signs and submits one body, waits for its commit and prints the result (exit 1 if refused). */
async function send(flags: SignFlags, body: { type: string; args: { [k: string]: JsonValue } }, what: string) {
  const out = output(flags.json === true);
  const { signer, chainId: homeChain } = signerOf(flags);
  const client = new NodeClient(flags.node);
  const { chainId } = await client.chain();
  if (homeChain !== undefined && homeChain !== chainId) {
    throw new NodeError(
      'BAD_REQUEST',
      `the node serves chain '${chainId}', but the home's genesis is for '${homeChain}'`,
    );
  }
  const r = await client.submit(signTx({ chainId, ...body }, signer), true);
  if (!('code' in r)) throw new NodeError('TIMEOUT', `transaction ${r.txId} was not committed in time`);
  out.result(
    r,
    `${what}: transaction ${r.txId} at height ${r.height}, result ${r.code}${r.detail ? `: ${r.detail}` : ''}.`,
  );
  if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
  return r;
}

export function registerContractCommands(program: Command): void {
  const group = contractGroup(program);

  signOptions(
    group
      .command('propose')
      .description('propose a contract (or an upgrade): the risk check runs on every peer, members then vote')
      .argument('<file>', 'the contract source (JavaScript)')
      .requiredOption('--manifest <file>', 'the manifest (JSON)')
      .option('--tests <file>', 'declared test calls (JSON list of {method, args, caller}) for the dry run')
      .option('--activate-at <height>', 'first height the contract may run at once approved')
      .requiredOption('--reason <text>', 'why, for the members who vote'),
  ).action(
    async (
      file: string,
      flags: SignFlags & { manifest: string; tests?: string; activateAt?: string; reason: string },
    ) => {
      const code = readText(file, 'the contract source', MAX_CODE_CHARS);
      const manifest = readJson(flags.manifest, 'the manifest', 64 * 1024) as { [k: string]: JsonValue };
      const tests =
        flags.tests === undefined
          ? undefined
          : readJson(flags.tests, 'the test calls', 16 * (CONTRACT_LIMITS.argsBytes + 1024));
      await send(
        flags,
        contractTx.propose({
          code,
          manifest,
          reason: flags.reason.slice(0, 1024),
          ...(tests === undefined ? {} : { tests: tests as never }),
          ...(flags.activateAt === undefined
            ? {}
            : { activateAt: parsePositiveInt(flags.activateAt, '--activate-at') }),
        }),
        'Proposed (the proposal id is the transaction id)',
      );
    },
  );

  signOptions(
    group
      .command('vote')
      .description(
        'vote on a contract proposal (its id is the txId of contract.propose, or of a resume/remove proposal)',
      )
      .argument('<proposal>', 'proposal id')
      .option('--vote <yes|no>', 'the vote', 'yes'),
  ).action(async (proposal: string, flags: SignFlags & { vote: string }) => {
    if (flags.vote !== 'yes' && flags.vote !== 'no')
      throw new NodeError('BAD_REQUEST', 'expected --vote yes or --vote no');
    await send(flags, contractTx.vote(parseTxId(proposal), flags.vote), 'Voted');
  });

  signOptions(
    group
      .command('call')
      .description('call a method of an active contract; the receipt (code, gas, events) is recorded either way')
      .argument('<contract>', 'contract id')
      .argument('<method>', 'method name')
      .option('--args <json>', 'arguments as a JSON object', '{}')
      .option('--gas <limit>', 'gas limit of the call (capped by the manifest)'),
  ).action(async (contract: string, method: string, flags: SignFlags & { args: string; gas?: string }) => {
    const gas = flags.gas === undefined ? undefined : parsePositiveInt(flags.gas, '--gas');
    await send(flags, contractTx.call(contractId(contract), method, parseArgsObject(flags.args), gas), 'Called');
  });

  signOptions(
    group
      .command('pause')
      .description('ask for an emergency pause: effective at once when a third of the members (rounded up) asked'),
  )
    .argument('<contract>', 'contract id')
    .action(async (contract: string, flags: SignFlags) => {
      await send(flags, contractTx.pause(contractId(contract)), 'Pause vote');
    });

  for (const kind of ['resume', 'remove'] as const) {
    signOptions(
      group
        .command(kind)
        .description(`propose to ${kind} a contract (a gov proposal; members vote with 'contract vote')`)
        .argument('<contract>', 'contract id')
        .requiredOption('--reason <text>', 'why'),
    ).action(async (contract: string, flags: SignFlags & { reason: string }) => {
      await send(
        flags,
        contractTx.govern(`contract.${kind}`, contractId(contract), flags.reason.slice(0, 1024)),
        'Proposed',
      );
    });
  }

  group
    .command('list')
    .description(
      'every contract with its status (proposed, active, paused, removed), version, calls, gas and risk check',
    )
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (flags: { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const client = new NodeClient(flags.node);
      const list = await client.run((sdk) => sdk.contracts());
      const rows = [];
      for (const c of list) {
        const digest = c.pending?.digest ?? c.digest;
        const code = digest === null ? undefined : await client.run((sdk) => sdk.contractCode(digest));
        rows.push({ ...c, risk: code === undefined ? null : { passed: code.risk.passed, score: code.risk.score } });
      }
      out.result({ contracts: rows }, rows.length === 0 ? 'No contracts.' : rows.map(line));
    });

  readAuthOptions(
    group
      .command('state')
      .description("a contract's record and its state entries (members: --as ORG or --token)")
      .argument('<contract>', 'contract id'),
  )
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (contract: string, flags: ReadAuthFlags & { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const id = contractId(contract);
      const client = new NodeClient(flags.node, await readAuthOf(flags));
      const info = (await client.stateEntry(`contract-info/${id}`)).value as ContractInfo;
      const page = await client.run((sdk) => sdk.state({ prefix: `contract/${id}/`, limit: 100 }));
      const digest = info.pending?.digest ?? info.digest;
      const risk = digest === null ? null : (await client.run((sdk) => sdk.contractCode(digest))).risk;
      out.result({ contract: info, risk, entries: page.entries, next: page.next }, [
        line({ ...info, risk }),
        ...table(page.entries.map((e) => [e.key, JSON.stringify(e.value)] as [string, string])),
        ...(page.next === null ? [] : [`  (more after ${page.next})`]),
      ]);
    });
}

function line(c: ContractInfo & { risk?: { passed: boolean; score: { [k: string]: JsonValue } } | null }): string {
  const risk = c.risk
    ? `, risk check ${c.risk.passed ? 'passed' : 'NOT passed'} (${String(c.risk.score.level ?? '')})`
    : '';
  const pending = c.pending ? `, proposal ${c.pending.proposal.slice(0, 12)}… for ${c.pending.version}` : '';
  return `${c.id}  ${c.status}  ${c.version ?? '-'}  calls ${c.calls}, gas ${c.gasUsed}${pending}${risk}`;
}
