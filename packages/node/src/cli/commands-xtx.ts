/**
 * Cross-chain from the command line (issue 20 point 6), over the SDK's builder:
 *
 * - `custos interop cosign` / `interop register`: register a counterparty chain's light client,
 *   its member set read from that chain's genesis file (the trust anchor, never a node's word),
 *   with the co-signatures of a quorum of this chain's members (each member signs with
 *   `interop cosign`, or the home's own keys sign at once).
 * - `custos xtx new | sign | prepare`: plan an atomic cross-chain transaction into a file, let
 *   each party sign its own operations in that file (on its own machine if need be), then hand
 *   it to a participant chain with `xtx.prepare`; `custos relay` carries it on from there.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import {
  type Cosignature,
  parseRemoteChain,
  type RemoteChain,
  signRegistration,
  type XtxPlan,
  xtxPlanHash,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx } from '@custos/protocol/ledger';
import { assembleXtx, planXtx, signXtxOp, xtxPrepareTx } from '@custos/sdk';
import type { Command } from 'commander';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { memberSetOf } from '../genesis.js';
import { GENESIS_FILE, loadHome, loadOrgSigner, readGenesisFile, requirePassphrase, resolveHome } from '../home.js';
import { cliCommand } from '../invocation.js';
import { loadSigner } from '../keys/keystore.js';
import { parseArgsObject, parsePositiveInt } from './args.js';
import { NodeClient } from './client.js';
import { nodeOption } from './options.js';
import { output } from './output.js';
import { parseEvmLegs } from './xtx-evm-legs.js';

const MAX_PLAN_BYTES = 4 * 1024 * 1024;
const MAX_COSIGNATURE_BYTES = 16 * 1024;
const MAX_OPS = 64;

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface KeyFlags {
  home?: string;
  org?: string;
  key?: string;
  passphraseFile?: string;
}

function passFile(flags: KeyFlags): { passphraseFile?: string } {
  return flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
}

/** The counterparty as its genesis file describes it. */
function remoteFromGenesis(file: string): RemoteChain {
  const g = readGenesisFile(file);
  return parseRemoteChain({ chainId: g.chainId, members: memberSetOf(g) });
}

function readJsonFile(file: string, what: string, maxBytes: number): unknown {
  const text = readBoundedFile(file, { what, maxBytes }).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bad(`expected ${what} as JSON in ${file}`);
  }
}

function isCosignature(v: unknown): v is Cosignature {
  const c = v as { signer?: unknown; sig?: unknown } | null;
  return typeof c === 'object' && c !== null && typeof c.signer === 'string' && typeof c.sig === 'string';
}

/** The plan file `xtx new` writes and `xtx sign` fills in. */
export interface PlanFile {
  format: 'custos-xtx-plan/1';
  plan: XtxPlan;
  planHash: string;
  /** By chain, in plan order: each operation once signed, else null. */
  signed: { [chainId: string]: (SignedTx | null)[] };
}

export function readPlan(file: string): PlanFile {
  const raw = readJsonFile(file, 'a cross-chain plan (from `custos xtx new`)', MAX_PLAN_BYTES) as Partial<PlanFile>;
  if (raw?.format !== 'custos-xtx-plan/1' || typeof raw.plan !== 'object' || raw.plan === null) {
    throw bad(`expected a custos-xtx-plan/1 file from \`custos xtx new\` in ${file}`);
  }
  const planHash = xtxPlanHash(raw.plan);
  if (raw.planHash !== planHash) throw bad(`the plan in ${file} does not hash to its planHash: it was altered`);
  const signed: PlanFile['signed'] = {};
  for (const c of raw.plan.participants) {
    const ops = raw.plan.ops[c] ?? [];
    const list = raw.signed?.[c];
    signed[c] = ops.map((_, i) => (Array.isArray(list) ? (list[i] ?? null) : null));
  }
  return { format: 'custos-xtx-plan/1', plan: raw.plan, planHash, signed };
}

/** The cross-chain body of a fully signed plan, and its id; `BAD_REQUEST` while an operation is unsigned. */
export function assemblePlan(p: PlanFile): ReturnType<typeof assembleXtx> {
  const signed: { [chainId: string]: SignedTx[] } = {};
  for (const c of p.plan.participants) {
    // An EVM participant has no operations to sign: its leg is in `legs`.
    if (!Object.hasOwn(p.plan.ops, c)) continue;
    const list = p.signed[c] ?? [];
    const missing = list.indexOf(null);
    if (missing >= 0) throw bad(`operation ${missing + 1} on '${c}' is not signed yet (custos xtx sign)`);
    signed[c] = list as SignedTx[];
  }
  try {
    return assembleXtx(p, signed);
  } catch (e) {
    throw bad(`the plan does not assemble: ${(e as Error).message}`);
  }
}

function writePlan(file: string, p: PlanFile): void {
  writeFileSync(file, `${JSON.stringify(p, null, 2)}\n`);
}

export function registerXtxCommands(program: Command): void {
  const interop = program
    .command('interop')
    .description('connect this chain to another one for atomic cross-chain transactions');

  interop
    .command('cosign')
    .description("one member's co-signature of a counterparty's registration (give it to the member who registers)")
    .requiredOption(
      '--remote-genesis <file>',
      "the counterparty chain's genesis.json (its members are trusted from it)",
    )
    .requiredOption('--org <id>', 'the member of this chain who co-signs')
    .requiredOption('--out <file>', 'where to write the co-signature')
    .option('--home <dir>', 'home holding the org key (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document')
    .action((flags: KeyFlags & { remoteGenesis: string; org: string; out: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      const local = readGenesisFile(join(home, GENESIS_FILE)).chainId;
      const remote = remoteFromGenesis(flags.remoteGenesis);
      const signer = loadOrgSigner(home, flags.org, requirePassphrase({ home, ...passFile(flags) }));
      const cosig = signRegistration(local, remote, signer);
      writeFileSync(flags.out, `${JSON.stringify(cosig)}\n`);
      out.result(
        { chainId: local, remote: remote.chainId, cosignature: cosig, out: flags.out },
        `${flags.org} co-signed the registration of '${remote.chainId}' on '${local}' into ${flags.out}.`,
      );
    });

  interop
    .command('register')
    .description("register a counterparty chain's light client, co-signed by a quorum of this chain's members")
    .requiredOption(
      '--remote-genesis <file>',
      "the counterparty chain's genesis.json (its members are trusted from it)",
    )
    .option('--cosignature <file>', 'a co-signature from `interop cosign` (repeat for each member)', collect, [])
    .option('--home <dir>', 'home holding member keys, each co-signs (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (else $CUSTOS_PASSPHRASE)')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(
      async (flags: KeyFlags & { remoteGenesis: string; cosignature: string[]; node: string; json?: boolean }) => {
        const out = output(flags.json === true);
        const home = resolveHome(flags.home);
        const h = loadHome(home, requirePassphrase({ home, ...passFile(flags) }));
        const submitter = h.signers[0];
        if (submitter === undefined) throw bad(`${home} holds no member key to submit with`);
        const remote = remoteFromGenesis(flags.remoteGenesis);
        const local = h.genesis.chainId;
        const bySigner = new Map<string, Cosignature>();
        for (const s of h.signers) {
          const c = signRegistration(local, remote, s);
          bySigner.set(c.signer, c);
        }
        for (const f of flags.cosignature) {
          const c = readJsonFile(f, 'a co-signature (from `custos interop cosign`)', MAX_COSIGNATURE_BYTES);
          if (!isCosignature(c)) throw bad(`expected a co-signature {signer, sig} in ${f}`);
          bySigner.set(c.signer, c);
        }
        const client = new NodeClient(flags.node);
        const { chainId } = await client.chain();
        if (chainId !== local) throw bad(`the node serves chain '${chainId}', but ${home} holds '${local}'`);
        const tx = signTx(
          {
            chainId: local,
            type: 'interop.register',
            args: {
              chain: remote as unknown as JsonValue,
              cosignatures: [...bySigner.values()] as unknown as JsonValue,
            },
          },
          submitter,
        );
        const r = await client.submit(tx, true);
        if (!('code' in r)) throw new NodeError('INTERNAL', 'expected a commit result');
        const why = r.detail === undefined ? '' : `: ${r.detail}`;
        out.result(
          { ...r, remote: remote.chainId, cosignatures: bySigner.size },
          r.code === 'OK'
            ? `Registered '${remote.chainId}' on '${local}' with ${bySigner.size} co-signature(s) (block ${r.height}).`
            : `Registration of '${remote.chainId}' refused, ${r.code}${why} (block ${r.height}, tx ${r.txId}).`,
        );
        if (r.code !== 'OK') process.exitCode = 1;
      },
    );

  const xtx = program.commands.find((c) => c.name() === 'xtx') ?? program.command('xtx');

  xtx
    .command('new')
    .description('plan an atomic cross-chain transaction into a file, for each party to sign')
    .option('--chain <url>', 'HTTP API of a participant chain (repeat for each)', collect, [])
    .requiredOption('--decision-chain <id>', 'the participant that records the decision')
    .requiredOption('--deadline-blocks <n>', 'blocks of the decision chain, from its head, before it aborts')
    .option(
      '--op <json>',
      'an operation: {"chainId", "type", "args", and "org" (a member) or "signer" (a did:key)}; repeat, in order',
      collect,
      [],
    )
    .option(
      '--evm-leg <json>',
      'a token leg on an EVM participant: {"participant": "evm:<chainId>:<contract>", "token", "from", "to", "amount"}; one per participant',
      collect,
      [],
    )
    .requiredOption('--out <file>', 'the plan file to write')
    .option('--json', 'print one JSON document')
    .action(
      async (flags: {
        chain: string[];
        decisionChain: string;
        deadlineBlocks: string;
        op: string[];
        evmLeg: string[];
        out: string;
        json?: boolean;
      }) => {
        const out = output(flags.json === true);
        if (flags.op.length === 0 || flags.op.length > MAX_OPS) throw bad(`expected 1-${MAX_OPS} --op`);
        const legs = parseEvmLegs(flags.evmLeg);
        const chains = new Map<string, { height: number; members: { id: string; keys: string[] }[] }>();
        for (const url of flags.chain) {
          const c = await new NodeClient(url).chain();
          chains.set(c.chainId, c);
        }
        const decision = chains.get(flags.decisionChain);
        if (decision === undefined) throw bad(`expected a --chain URL of the decision chain '${flags.decisionChain}'`);
        const ops = flags.op.map((text, i) => {
          const o = parseArgsObject(text, `--op ${i + 1}`);
          const { chainId, type, args, org, signer } = o;
          if (typeof chainId !== 'string' || !chains.has(chainId))
            throw bad(`--op ${i + 1}: expected "chainId" naming a chain given with --chain`);
          if (typeof type !== 'string') throw bad(`--op ${i + 1}: expected "type", e.g. "kv.put"`);
          if (typeof args !== 'object' || args === null || Array.isArray(args))
            throw bad(`--op ${i + 1}: expected "args" as a JSON object`);
          let did: string;
          if (typeof signer === 'string') did = signer;
          else if (typeof org === 'string') {
            const m = chains.get(chainId)?.members.find((x) => x.id === org);
            if (m === undefined || m.keys[0] === undefined)
              throw bad(`--op ${i + 1}: no member '${org.slice(0, 40)}' on chain '${chainId}'`);
            did = m.keys[0];
          } else throw bad(`--op ${i + 1}: expected "org" (a member of ${chainId}) or "signer" (a did:key)`);
          return { chainId, type, args: args as { [key: string]: JsonValue }, signer: did };
        });
        const deadline = decision.height + parsePositiveInt(flags.deadlineBlocks, '--deadline-blocks');
        let p: ReturnType<typeof planXtx>;
        try {
          p = planXtx({
            decisionChain: flags.decisionChain,
            deadlineHeight: deadline,
            ops,
            ...(Object.keys(legs).length === 0 ? {} : { legs }),
          });
        } catch (e) {
          throw bad((e as Error).message);
        }
        const signed: PlanFile['signed'] = {};
        for (const c of p.plan.participants) signed[c] = (p.plan.ops[c] ?? []).map(() => null);
        writePlan(flags.out, { format: 'custos-xtx-plan/1', plan: p.plan, planHash: p.planHash, signed });
        out.result(
          { out: flags.out, planHash: p.planHash, participants: p.plan.participants, deadlineHeight: deadline },
          [
            `Planned ${ops.length} operation(s) on ${p.plan.participants.join(', ')} into ${flags.out} (decision on ${flags.decisionChain} by height ${deadline}).`,
            `Each party signs its operations: ${cliCommand(`xtx sign ${flags.out} --org ID`)} (or --key FILE).`,
          ],
        );
      },
    );

  xtx
    .command('sign')
    .description('sign your operations of a plan file (every one whose signer is your key)')
    .argument('<plan>', 'plan file from `xtx new`')
    .option('--org <id>', "sign with this org's key from the home")
    .option('--key <file>', 'sign with this keystore file')
    .option('--home <dir>', 'home directory for --org (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document')
    .action((file: string, flags: KeyFlags & { json?: boolean }) => {
      const out = output(flags.json === true);
      if ((flags.key === undefined) === (flags.org === undefined))
        throw bad('expected exactly one of --key FILE or --org ID');
      let signer: Signer;
      if (flags.key !== undefined) signer = loadSigner(flags.key, requirePassphrase(passFile(flags)));
      else {
        const home = resolveHome(flags.home);
        signer = loadOrgSigner(home, flags.org as string, requirePassphrase({ home, ...passFile(flags) }));
      }
      const did = didFromPublicKey(signer.publicKey);
      const p = readPlan(file);
      const done: string[] = [];
      for (const c of p.plan.participants) {
        (p.plan.ops[c] ?? []).forEach((op, i) => {
          if (op.signer !== did) return;
          (p.signed[c] as (SignedTx | null)[])[i] = signXtxOp(p, c, i, signer);
          done.push(`${c} #${i + 1} ${op.type}`);
        });
      }
      if (done.length === 0) throw new NodeError('NOT_FOUND', `no operation of the plan is to be signed by ${did}`);
      writePlan(file, p);
      const missing = p.plan.participants.flatMap((c) => (p.signed[c] ?? []).filter((s) => s === null));
      out.result({ signed: done, missing: missing.length }, [
        `Signed ${done.join(', ')} into ${file}.`,
        missing.length === 0
          ? `Every operation is signed: ${cliCommand(`xtx prepare ${file} --node URL`)}`
          : `${missing.length} operation(s) still to be signed by their parties.`,
      ]);
    });

  xtx
    .command('prepare')
    .description('hand a fully signed plan to a participant chain (xtx.prepare); `custos relay` does the rest')
    .argument('<plan>', 'plan file, every operation signed')
    .addOption(nodeOption())
    .option('--json', 'print one JSON document')
    .action(async (file: string, flags: { node: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const p = readPlan(file);
      const assembled = assemblePlan(p);
      const client = new NodeClient(flags.node);
      const { chainId } = await client.chain();
      if (!p.plan.participants.includes(chainId))
        throw bad(`the node serves '${chainId}', not a participant (${p.plan.participants.join(', ')})`);
      // Anyone may submit xtx.prepare: the operations carry the authority, so a one-time key signs it.
      const tx = xtxPrepareTx(assembled.xtx, chainId, nativeSigner(randomSecretKey()));
      const r = await client.submit(tx, true);
      if (!('code' in r)) throw new NodeError('INTERNAL', 'expected a commit result');
      const why = r.detail === undefined ? '' : `: ${r.detail}`;
      out.result(
        { ...r, xtxId: assembled.xtxId },
        r.code === 'OK'
          ? [
              `Prepared cross-chain transaction ${assembled.xtxId} on '${chainId}' (block ${r.height}).`,
              `Relay it to the other chains: ${cliCommand('relay --chain URL --chain URL')}`,
            ]
          : `xtx.prepare refused on '${chainId}', ${r.code}${why} (block ${r.height}, tx ${r.txId}).`,
      );
      if (r.code !== 'OK') process.exitCode = 1;
    });
}
