/**
 * The demo's EVM side (docs/interop.md#the-demo-loyalty-tokens-for-consent): a local Hardhat chain
 * started as a child process, the retailer's ERC-20 loyalty token and the participant contract
 * deployed on it, the contract registered on the demo chain by the three members, each member's EVM
 * key (encrypted in the home as `keys/<org>-evm.json`, registered with `member.setEvmKey`), and the
 * members' duties (attesters, decision signers) and one relayer running in the demo process.
 *
 * Hardhat keeps no state: every start of the demo runs a new EVM chain. So that the decision
 * chain's light client never sees two chains under one chain id (it would freeze), each start uses
 * the next chain id (31337, then 31338, ...), counted from the participants already registered.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { didFromPublicKey, randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { toBase64url } from '@custos/protocol/encoding';
import { evmSecretKey, proveEvmKey } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Abi, type Address, type Hex, keccak256, type PublicClient } from 'viem';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { evmMemberSetAt } from '../governance/evm-member-set.js';
import { KEYS_DIR } from '../home.js';
import { nodeEndpoint } from '../interop/endpoint.js';
import { evmClients } from '../interop/evm/clients.js';
import { CustosParticipant, LoyaltyToken } from '../interop/evm/contracts/artifacts.generated.js';
import { EvmDuties } from '../interop/evm/evm-duties.js';
import { HardhatChain } from '../interop/evm/hardhat.js';
import { EvmAttester, EvmDecisionSigner } from '../interop/evm/member-duties.js';
import { Relayer } from '../interop/relayer.js';
import { loadEvmKey, writeEvmKeystore } from '../keys/keystore.js';
import { evmRegistrationBytes } from '../modules/evm.js';
import { memberKey } from '../modules/member-state.js';
import type { CustosNode } from '../node.js';

/** The first EVM chain id of a demo home (Hardhat's own). */
export const DEMO_EVM_FIRST_CHAIN_ID = 31337;
/** Loyalty points the retailer's account is minted at each start. */
export const DEMO_EVM_MINT = 1_000_000n;
/** Milliseconds between passes of the members' duties and of the relayer. */
const PASS_MS = 250;

export interface DemoEvmOptions {
  node: CustosNode;
  /** The demo home: the members' EVM keystores go to its `keys/`. */
  home: string;
  passphrase: string;
  /** Signers of the orgs this node holds (the demo's three members). */
  orgSigners: Map<string, Signer>;
  /** Where Hardhat's output goes (default: a temp file). */
  logFile?: string;
  log?: (message: string) => void;
}

/** A running demo EVM side. `stop()` ends the loops and the Hardhat process. */
export interface DemoEvm {
  chain: HardhatChain;
  /** EIP-155 chain id of this run's EVM chain. */
  evmChainId: number;
  /** `evm:<chainId>:<contract>` as bodies name it. */
  participant: string;
  contract: Address;
  token: Address;
  /** The retailer's EVM account, which holds the points and locks them in a leg. */
  retailer: Address;
  /** Hardhat's funded accounts (index 0 is the retailer's, 9 the relayer's). */
  accounts: Address[];
  pub: PublicClient;
  /** Sends a contract call from `from` (an unlocked Hardhat account) and waits for its receipt. */
  write(address: Address, abi: Abi, functionName: string, args: unknown[], from: Address): Promise<Hex>;
  /** Points held by `who`. */
  balanceOf(who: Address): Promise<bigint>;
  /** One pass of every member's duties and of the relayer (the loops run them every 250 ms). */
  pass(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the demo's EVM side; throws if Hardhat cannot start (the demo then runs without it). */
export async function startDemoEvm(o: DemoEvmOptions): Promise<DemoEvm> {
  const { node } = o;
  const orgs = [...o.orgSigners.keys()].filter((id) => node.genesis.members.some((m) => m.id === id));
  if (orgs.length === 0) throw new NodeError('BAD_REQUEST', 'this node holds no member keys: no EVM side');
  const registered = node.store.listState('evmp/', undefined, 1000).length;
  const chain = await HardhatChain.start({
    chainId: DEMO_EVM_FIRST_CHAIN_ID + registered,
    ...(o.logFile === undefined ? {} : { logFile: o.logFile }),
  });
  try {
    // The members' keys once the chain is up: a demo without Hardhat leaves the ledger as it was.
    const evmKeys = new Map<string, Uint8Array>();
    for (const org of orgs) evmKeys.set(org, await memberEvmKey(o, org));
    const {
      chain: viemChain,
      pub,
      wallet,
    } = evmClients(chain.rpcUrl, chain.chainId, {
      name: 'custos-demo',
      pollingMs: 50,
    });
    const accounts = await wallet.getAddresses();
    const retailer = accounts[0]!;
    const receipt = async (hash: Hex) => {
      const r = await pub.waitForTransactionReceipt({ hash });
      if (r.status !== 'success') throw new NodeError('CONFLICT', `EVM transaction ${hash} reverted`);
      return r;
    };
    const deploy = async (artifact: { abi: Abi; bytecode: Hex }, args: unknown[]) => {
      const hash = await wallet.deployContract({ ...artifact, args, account: retailer, chain: viemChain });
      const r = await receipt(hash);
      if (!r.contractAddress) throw new NodeError('INTERNAL', 'the deployment made no contract');
      return r.contractAddress;
    };
    const write = async (address: Address, abi: Abi, functionName: string, args: unknown[], from: Address) => {
      const hash = await wallet.writeContract({ address, abi, functionName, args, account: from, chain: viemChain });
      await receipt(hash);
      return hash;
    };
    const token = await deploy(LoyaltyToken as unknown as { abi: Abi; bytecode: Hex }, ['Retailer Points', 'PTS']);
    const set = evmMemberSetAt(node.store);
    if (set === undefined || !set.ready) throw new NodeError('CONFLICT', 'the EVM member set is not ready');
    const contract = await deploy(CustosParticipant as unknown as { abi: Abi; bytecode: Hex }, [
      BigInt(set.epoch),
      set.addresses,
      BigInt(set.threshold),
    ]);
    await write(token, LoyaltyToken.abi as Abi, 'mint', [retailer, DEMO_EVM_MINT], retailer);
    const participant = `evm:${chain.chainId}:${contract.toLowerCase()}`;
    const codeHash = keccak256((await pub.getCode({ address: contract })) as Hex);
    const cosignatures = orgs.map((org) => {
      const s = o.orgSigners.get(org)!;
      return {
        signer: didFromPublicKey(s.publicKey),
        sig: toBase64url(s.sign(evmRegistrationBytes(node.chainId, participant, codeHash))),
      };
    });
    await submitOk(node, o.orgSigners.get(orgs[0]!)!, 'evm.register', { participant, codeHash, cosignatures });

    const ep = nodeEndpoint(node);
    const attesters = orgs.map(
      (org) =>
        new EvmAttester({
          chain: ep,
          signer: o.orgSigners.get(org)!,
          rpcUrl: chain.rpcUrl,
          confirmations: 0,
          headEvery: 1,
        }),
    );
    const signers = orgs.map(
      (org) => new EvmDecisionSigner({ chain: ep, signer: o.orgSigners.get(org)!, evmKey: evmKeys.get(org)! }),
    );
    const log = o.log ?? (() => {});
    const duties = new EvmDuties(attesters, signers, PASS_MS, log, ep);
    const relayer = new Relayer({
      chains: [ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: chain.rpcUrl, account: { address: accounts[9]! } }],
      onError: (label, e) => log(`relayer ${label}: ${(e as Error).message}`),
    });
    const abort = new AbortController();
    duties.start();
    const relaying = relayer.run({ intervalMs: PASS_MS, signal: abort.signal }).catch(() => {});
    return {
      chain,
      evmChainId: chain.chainId,
      participant,
      contract,
      token,
      retailer,
      accounts,
      pub,
      write,
      async balanceOf(who) {
        return (await pub.readContract({
          address: token,
          abi: LoyaltyToken.abi as Abi,
          functionName: 'balanceOf',
          args: [who],
        })) as bigint;
      },
      async pass() {
        await duties.step();
        await relayer.step();
      },
      async stop() {
        abort.abort();
        await duties.stop();
        await relaying;
        await chain.stop();
      },
    };
  } catch (e) {
    await chain.stop();
    throw e;
  }
}

/**
 * The member's EVM key: from `keys/<org>-evm.json` when the home has one, else a new one written
 * there (encrypted with the home's passphrase); registered with `member.setEvmKey` unless the
 * ledger already names it.
 */
async function memberEvmKey(o: DemoEvmOptions, org: string): Promise<Uint8Array> {
  const path = join(o.home, KEYS_DIR, `${org}-evm.json`);
  let key: Uint8Array;
  if (existsSync(path)) key = loadEvmKey(path, o.passphrase);
  else {
    key = evmSecretKey();
    writeEvmKeystore(path, key, o.passphrase);
  }
  const { address, proof } = proveEvmKey(key, { chainId: o.node.chainId, member: org });
  const text = o.node.store.getState(memberKey(org));
  const member = text === undefined ? undefined : (JSON.parse(text) as { evmKey?: string });
  if (member?.evmKey !== address)
    await submitOk(o.node, o.orgSigners.get(org)!, 'member.setEvmKey', { address, proof });
  return key;
}

async function submitOk(node: CustosNode, signer: Signer, type: string, args: { [k: string]: JsonValue }) {
  const r = await node.submitAndWait(signTx({ chainId: node.chainId, type, args }, signer));
  if (r.code !== 'OK') throw new NodeError('INTERNAL', `demo EVM step ${type} ended with ${r.code}`);
  return r;
}
