/**
 * A Custos decision chain and a real Hardhat chain wired for cross-chain transactions with an EVM
 * participant (docs/interop.md): members with EVM keys, the participant contract deployed with
 * their EVM member set and registered on the chain, an ERC-20 token, each member's attester and
 * decision signer, and relayers.
 */
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { toBase64url } from '@custos/protocol/encoding';
import {
  type CrossChainTx,
  type EvmLeg,
  evmLegHash,
  evmSecretKey,
  proveEvmKey,
  xtxDecisionKey,
  xtxVoteKey,
} from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { buildXtx, xtxPrepareTx } from '@custos/sdk';
import { type EvmFixture, startEvm } from '@custos/test-utils/evm';
import { tempDir } from '@custos/test-utils/node';
import { type Address, type Hex, keccak256 } from 'viem';
import { afterAll, beforeAll } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { evmMemberSetAt } from '../src/governance/evm-member-set.js';
import { type ChainEndpoint, nodeEndpoint } from '../src/interop/endpoint.js';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';
import type { HardhatChainOptions } from '../src/interop/evm/hardhat.js';
import { EvmAttester, EvmDecisionSigner } from '../src/interop/evm/member-duties.js';
import { type RelayAction, Relayer } from '../src/interop/relayer.js';
import { evmRegistrationBytes } from '../src/modules/evm.js';
import { type Chain, freshKey, openChain, send } from './xtx-helpers.js';

export const ORGS = ['org1', 'org2', 'org3'];

export interface EvmWorld {
  d: Chain;
  ep: ChainEndpoint;
  evm: EvmFixture;
  token: Address;
  participant: Address;
  /** `evm:<chainId>:<contract>` */
  pid: string;
  evmKeys: Record<string, Uint8Array>;
  attesters: EvmAttester[];
  signers: EvmDecisionSigner[];
  customer: Address;
  receiver: Address;
}

/**
 * The decision chain, the EVM chain and the contract, registered; members' duties ready. `evm`:
 * the Hardhat chain's options (e.g. `blockIntervalMs` for a block period instead of automine).
 */
export async function openEvmWorld(
  dir: string,
  chainId = 'alpha',
  evmOpts: HardhatChainOptions = {},
): Promise<EvmWorld> {
  const d = await openChain(dir, chainId, ORGS);
  const evmKeys: Record<string, Uint8Array> = {};
  for (const org of ORGS) {
    evmKeys[org] = evmSecretKey();
    const { address, proof } = proveEvmKey(evmKeys[org]!, { chainId, member: org });
    expectOk(await send(d, d.orgs[org]!, 'member.setEvmKey', { address, proof }));
  }
  const evm = await startEvm(evmOpts);
  const [deployer, customer, receiver] = evm.accounts as [Address, Address, Address];
  const { address: token } = await evm.deploy(LoyaltyToken, ['Points', 'PTS'], deployer);
  const set = evmMemberSetAt(d.node.store)!;
  const { address: participant } = await evm.deploy(
    CustosParticipant,
    [BigInt(set.epoch), set.addresses, BigInt(set.threshold)],
    deployer,
  );
  await evm.write({ address: token, abi: LoyaltyToken.abi, functionName: 'mint', args: [customer, 1000n] }, deployer);
  const pid = `evm:${evm.chain.chainId}:${participant.toLowerCase()}`;
  const codeHash = keccak256((await evm.publicClient.getCode({ address: participant })) as Hex);
  const cosignatures = ORGS.map((o) => {
    const s = d.orgs[o]!;
    return { signer: didOf(s), sig: b64(s.sign(evmRegistrationBytes(chainId, pid, codeHash))) };
  });
  expectOk(await send(d, d.orgs.org1!, 'evm.register', { participant: pid, codeHash, cosignatures }));
  const ep = nodeEndpoint(d.node);
  const attesters = await Promise.all(
    ORGS.map((o) =>
      new EvmAttester({
        chain: ep,
        signer: d.orgs[o]!,
        rpcUrl: evm.chain.rpcUrl,
        confirmations: 0,
        headEvery: 1,
      }).init(),
    ),
  );
  const signers = ORGS.map((o) => new EvmDecisionSigner({ chain: ep, signer: d.orgs[o]!, evmKey: evmKeys[o]! }));
  return { d, ep, evm, token, participant, pid, evmKeys, attesters, signers, customer, receiver };
}

/**
 * The world of a test file: opened before its tests (Hardhat started, the contract registered),
 * closed after them. The returned world reads through to the one opened, so tests use it as is.
 *
 * @example
 * const w = useEvmWorld();
 * it('...', async () => { await prepareOnEvm(w, xtxId, leg); });
 */
export function useEvmWorld(chainId = 'alpha'): EvmWorld {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let world: EvmWorld | undefined;
  beforeAll(async () => {
    tmp = tempDir();
    world = await openEvmWorld(tmp.dir, chainId);
  }, 180_000);
  afterAll(async () => {
    await world?.evm.close();
    await world?.d.node.close();
    tmp?.cleanup();
  });
  const opened = (): EvmWorld => {
    if (world === undefined) throw new Error('the EVM world opens in beforeAll: use it inside a test or hook');
    return world;
  };
  // Property reads, `in` and spreads (`{ ...w, participant }`) all see the opened world.
  return new Proxy({} as EvmWorld, {
    get: (_, key) => Reflect.get(opened(), key),
    has: (_, key) => Reflect.has(opened(), key),
    ownKeys: () => Reflect.ownKeys(opened()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(opened(), key),
  });
}

function didOf(s: Signer): string {
  return didFromPublicKey(s.publicKey);
}

function b64(b: Uint8Array): string {
  return toBase64url(b);
}

export function expectOk(code: string): void {
  if (code !== 'OK') throw new Error(`expected OK, got ${code}`);
}

/** A cross-chain transaction: a kv.put on the decision chain and the token leg on the EVM chain. */
export function evmXtx(
  w: EvmWorld,
  opts: { deadlineHeight: number; amount?: bigint; from?: Address },
): { xtx: CrossChainTx; xtxId: string; key: string; leg: EvmLeg } {
  const key = freshKey('evm');
  const leg: EvmLeg = {
    token: w.token.toLowerCase(),
    from: (opts.from ?? w.customer).toLowerCase(),
    to: w.receiver.toLowerCase(),
    amount: String(opts.amount ?? 10n),
  };
  const { xtx, xtxId } = buildXtx({
    decisionChain: w.d.chainId,
    deadlineHeight: opts.deadlineHeight,
    ops: [{ chainId: w.d.chainId, type: 'kv.put', args: { ns: 'x', key, value: key }, signer: w.d.orgs.org1! }],
    legs: { [w.pid]: leg },
  });
  return { xtx, xtxId, key, leg };
}

/** Hands the body to the decision chain (`xtx.prepare`). */
export async function prepareOnD(w: EvmWorld, xtx: CrossChainTx): Promise<string> {
  return (await w.d.node.submitAndWait(xtxPrepareTx(xtx, w.d.chainId, nativeSigner(randomSecretKey())))).code;
}

/** The holder locks its tokens on the contract: approve, then prepare with `deadline` blocks to go. */
export async function prepareOnEvm(
  w: EvmWorld,
  xtxId: string,
  leg: EvmLeg,
  opts: { deadlineBlocks?: number; approve?: boolean } = {},
): Promise<void> {
  const from = leg.from as Address;
  if (opts.approve !== false) {
    await w.evm.write(
      { address: w.token, abi: LoyaltyToken.abi, functionName: 'approve', args: [w.participant, BigInt(leg.amount)] },
      from,
    );
  }
  const deadline = (await w.evm.publicClient.getBlockNumber()) + BigInt(opts.deadlineBlocks ?? 200);
  await w.evm.write(
    {
      address: w.participant,
      abi: CustosParticipant.abi,
      functionName: 'prepare',
      args: [`0x${xtxId}`, { ...leg, amount: BigInt(leg.amount) }, deadline],
    },
    from,
  );
}

export function evmRelayer(w: EvmWorld, account: Address, onAction?: (a: RelayAction) => void): Relayer {
  return new Relayer({
    chains: [w.ep],
    signer: nativeSigner(randomSecretKey()),
    evm: [{ rpcUrl: w.evm.chain.rpcUrl, account: { address: account } }],
    onError: () => {},
    ...(onAction === undefined ? {} : { onAction }),
  });
}

/** Members' duties once each. */
export async function duties(w: EvmWorld): Promise<void> {
  for (const a of w.attesters) await a.step();
  for (const s of w.signers) await s.step();
}

/** The token balance of `who`. */
export async function balance(w: EvmWorld, who: Address): Promise<bigint> {
  return (await w.evm.publicClient.readContract({
    address: w.token,
    abi: LoyaltyToken.abi,
    functionName: 'balanceOf',
    args: [who],
  })) as bigint;
}

/** The status of the contract's lock of `leg` under `xtxId`. */
export async function lockStatus(w: EvmWorld, xtxId: string, leg: EvmLeg): Promise<number> {
  const lock = (await w.evm.publicClient.readContract({
    address: w.participant,
    abi: CustosParticipant.abi,
    functionName: 'lockOf',
    args: [`0x${xtxId}`, evmLegHash(leg)],
  })) as { status: number };
  return lock.status;
}

export function stateOf(w: EvmWorld, key: string): JsonValue | null {
  const t = w.d.node.store.getState(key);
  return t === undefined ? null : (JSON.parse(t) as JsonValue);
}

/** Where the transaction stands on both sides. */
export function outcomeOf(w: EvmWorld, xtxId: string) {
  const d = stateOf(w, xtxDecisionKey(xtxId)) as { decision?: string; reason?: string } | null;
  const vote = stateOf(w, xtxVoteKey(xtxId)) as { status?: string } | null;
  const carry = stateOf(w, `xtxevmd/${xtxId}/${w.pid}`) as { outcome?: { status: string } } | null;
  return { decision: d?.decision, reason: d?.reason, custos: vote?.status, evm: carry?.outcome?.status };
}

/** Runs duties and relayer passes until the EVM side's outcome is proven on D (or `max` rounds). */
export async function runUntilDone(w: EvmWorld, relayer: Relayer, xtxId: string, max = 25): Promise<void> {
  for (let i = 0; i < max; i++) {
    await duties(w);
    await relayer.step();
    const o = outcomeOf(w, xtxId);
    if (o.evm !== undefined && (o.custos === 'committed' || o.custos === 'aborted')) return;
  }
  throw new Error(`not done after ${max} rounds: ${JSON.stringify(outcomeOf(w, xtxId))}`);
}

/** A raw transaction on D by `org`. */
export async function sendAs(w: EvmWorld, org: string, type: string, args: { [k: string]: JsonValue }) {
  return (await w.d.node.submitAndWait(signTx({ chainId: w.d.chainId, type, args }, w.d.orgs[org]!))).code;
}
