/**
 * `custos proof` fetches a proof bundle from a node; `custos verify` checks one fully offline,
 * trusting nothing but the genesis member set (the bundle's quorum certificate must verify against it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '@custos/protocol/errors';
import { followMemberSetUpdates, genesisMemberChain, verifyProofBundle } from '@custos/protocol/ledger';
import type { Command } from 'commander';
import { installNativeCrypto, nativeVerifier } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { memberSetOf } from '../genesis.js';
import { GENESIS_FILE, isInitialized, readGenesisFile, resolveHome } from '../home.js';
import { parseHeight, parseTxId } from './args.js';
import { NodeClient } from './client.js';
import { nodeOption, type ReadAuthFlags, readAuthOf, readAuthOptions } from './options.js';
import { type Output, output } from './output.js';

const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

interface ProofFlags extends ReadAuthFlags {
  node: string;
  out?: string;
  json?: boolean;
}

function emitBundle(out: Output, flags: ProofFlags, what: string, bundle: unknown): void {
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (flags.out === undefined) {
    // The bundle is the result: one JSON document either way.
    process.stdout.write(text);
    return;
  }
  writeFileSync(flags.out, text);
  out.result(
    { file: flags.out, proof: what },
    `Wrote the ${what} to ${flags.out}; check it offline with: custos verify ${flags.out}`,
  );
}

export function registerProofCommands(program: Command): void {
  const proof = program.command('proof').description('fetch a proof bundle from a node');
  const common = (cmd: Command) =>
    readAuthOptions(cmd)
      .addOption(nodeOption())
      .option('--out <file>', 'write the bundle to a file')
      .option('--json', 'print one JSON document');

  common(
    proof
      .command('inclusion')
      .description('proof that a transaction is in the history log')
      .argument('<txId>', 'transaction id')
      .option('--height <h>', 'prove against the checkpoint at this height (default latest)'),
  ).action(async (txId: string, flags: ProofFlags & { height?: string }) => {
    const client = new NodeClient(flags.node, await readAuthOf(flags));
    const height = flags.height === undefined ? undefined : parseHeight(flags.height);
    const bundle = await client.inclusionProof(parseTxId(txId), height);
    emitBundle(output(flags.json === true), flags, `inclusion proof of ${txId}`, bundle);
  });

  common(
    proof
      .command('consistency')
      .description('proof that the log at height TO extends the log at height FROM (append-only)')
      .argument('<from>', 'earlier height')
      .argument('<to>', 'later height'),
  ).action(async (from: string, to: string, flags: ProofFlags) => {
    const bundle = await new NodeClient(flags.node, await readAuthOf(flags)).consistencyProof(
      parseHeight(from, 'FROM'),
      parseHeight(to, 'TO'),
    );
    emitBundle(output(flags.json === true), flags, `consistency proof ${from}..${to}`, bundle);
  });

  common(
    proof
      .command('state')
      .description('proof of the current value (or absence) of a state key')
      .argument('<key>', 'state key'),
  ).action(async (key: string, flags: ProofFlags) => {
    const bundle = await new NodeClient(flags.node, await readAuthOf(flags)).stateProof(key);
    emitBundle(output(flags.json === true), flags, `state proof of ${key}`, bundle);
  });

  program
    .command('verify')
    .description('verify a proof bundle offline against a genesis member set')
    .argument('<file>', 'proof bundle (from `custos proof ... --out`)')
    .option('--genesis <file>', 'genesis.json whose members must have certified the proof')
    .option('--home <dir>', 'read the genesis from this home (default $CUSTOS_HOME or ./.custos)')
    .option(
      '--epochs <file>',
      'member-set updates you hold (a saved GET /v1/members/epochs answer): a certificate by keys removed since is refused even if the bundle leaves its updates out',
    )
    .option('--json', 'print one JSON document')
    .action((file: string, flags: { genesis?: string; home?: string; epochs?: string; json?: boolean }) => {
      const out = output(flags.json === true);
      installNativeCrypto();
      const home = resolveHome(flags.home);
      if (flags.genesis === undefined && !isInitialized(home)) {
        throw new NodeError('BAD_REQUEST', `expected --genesis GENESIS.json or --home DIR (no chain in ${home})`);
      }
      const genesis = readGenesisFile(flags.genesis ?? join(home, GENESIS_FILE));
      // The genesis members, moved forward by the member-set updates the verifier holds (each checked).
      let trusted = genesisMemberChain(genesis.chainId, memberSetOf(genesis));
      if (flags.epochs !== undefined) {
        const doc = readBundle(flags.epochs) as { updates?: unknown } | unknown[];
        trusted = followMemberSetUpdates(trusted, Array.isArray(doc) ? doc : doc?.updates, nativeVerifier);
      }
      const fact = verifyProofBundle(readBundle(file), trusted, nativeVerifier, genesis.chainId);
      // The member set alone does not name the chain: the same members may certify several chains.
      if (fact.chainId !== genesis.chainId) {
        throw new ProtocolError(
          'BAD_PROOF',
          `the proof is for chain '${fact.chainId}', the genesis for '${genesis.chainId}'`,
        );
      }
      const s: Record<string, unknown> = { ...fact };
      out.result({ ok: true, ...s }, [
        `OK: ${file} verifies against the members of chain ${genesis.chainId} in force at its height (its genesis members, followed through the certified member-set updates).`,
        ...Object.entries(s).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
      ]);
    });
}

function readBundle(file: string): unknown {
  const text = readBoundedFile(file, {
    what: 'a proof bundle',
    maxBytes: MAX_BUNDLE_BYTES,
    protocolCode: 'BAD_PROOF',
  }).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ProtocolError('BAD_PROOF', `expected a JSON proof bundle in ${file}`, { cause });
  }
}
