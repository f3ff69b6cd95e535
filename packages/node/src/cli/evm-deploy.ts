/**
 * What `custos evm deploy` does (docs/interop.md#from-the-command-line), over the node's HTTP API
 * and the EVM chain's JSON-RPC: each member of the home registers its EVM key (`member.setEvmKey`,
 * skipped when the ledger already names it), the EVM member set becomes ready, a loyalty token
 * (ERC-20) and the participant contract (with that member set) are deployed from a local key
 * (`--evm-key-file`, signed here) or an account a development chain signs for, points are minted
 * to it, and the contract is registered on the
 * chain (`evm.register`, co-signed by the home's members over the code hash read from the chain).
 */
import { existsSync } from 'node:fs';
import { didFromPublicKey, type Signer } from '@custos/protocol/crypto';
import { toBase64url } from '@custos/protocol/encoding';
import { proveEvmKey } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Abi, type Address, createPublicClient, type Hex, http, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { NodeError } from '../errors.js';
import { EVM_MEMBER_SET_KEY, type EvmMemberSetEntry } from '../governance/evm-member-set.js';
import { loadOrgSigner } from '../home.js';
import { evmClients } from '../interop/evm/clients.js';
import { CustosParticipant, LoyaltyToken } from '../interop/evm/contracts/artifacts.generated.js';
import { loadEvmKey } from '../keys/keystore.js';
import { evmRegistrationBytes } from '../modules/evm.js';
import { memberKey } from '../modules/member-state.js';
import { NodeClient } from './client.js';
import { evmKeyFile, homeMembers } from './commands-evm-keys.js';

/** How long to wait for the EVM chain to answer, and for the EVM member set to be ready. */
const WAIT_MS = 60_000;

/** The JSON document `custos evm deploy` prints (public values only). */
export interface EvmDeployment {
  chainId: string;
  evmChainId: number;
  rpcUrl: string;
  /** `evm:<chainId>:<contract>`, as cross-chain plans name it. */
  participant: string;
  contract: string;
  token: string;
  /** The account that deployed and holds the minted points. */
  holder: string;
  minted: string;
  /** The accounts the endpoint signs for (a development chain's; none on a real chain). */
  accounts: string[];
  memberSet: { epoch: number; addresses: string[]; threshold: number };
  /** Height of the `evm.register` transaction. */
  height: number;
}

export interface DeployOptions {
  home: string;
  passphrase: string;
  /** The node's HTTP API. */
  node: string;
  rpcUrl: string;
  mint: bigint;
  from?: string;
  /** The deploying account's secret key (`--evm-key-file`): transactions are signed here. */
  secretKey?: Hex;
  note: (line: string) => void;
}

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

async function submitOk(client: NodeClient, chainId: string, signer: Signer, type: string, args: JsonValue) {
  const r = await client.submit(signTx({ chainId, type, args: args as { [k: string]: JsonValue } }, signer), true);
  if (!('code' in r)) throw new NodeError('TIMEOUT', `${type} ${r.txId} not committed yet`);
  if (r.code !== 'OK') {
    throw new NodeError('CONFLICT', `${type} ended with ${r.code}${r.detail === undefined ? '' : `: ${r.detail}`}`);
  }
  return r;
}

async function stateValue<T>(client: NodeClient, key: string): Promise<T | undefined> {
  try {
    return (await client.stateEntry(key)).value as T;
  } catch (e) {
    if (e instanceof NodeError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
}

/** Polls `get` until it resolves to a value or `WAIT_MS` passes; then throws `TIMEOUT` with `what`. */
async function waitFor<T>(get: () => Promise<T | undefined>, what: string): Promise<T> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new NodeError('TIMEOUT', `${what} after ${WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Registers the members' EVM keys, deploys the token and the contract, registers the contract. */
export async function deployEvmParticipant(o: DeployOptions): Promise<EvmDeployment> {
  const { chainId, orgs } = homeMembers(o.home);
  const client = new NodeClient(o.node);
  const served = (await client.chain()).chainId;
  if (served !== chainId) throw bad(`the node serves chain '${served}', but the home's genesis is for '${chainId}'`);
  const signers = orgs.map((org) => [org, loadOrgSigner(o.home, org, o.passphrase)] as const);

  // 1. Each member's EVM key on the ledger.
  const addresses: string[] = [];
  for (const [org, signer] of signers) {
    const file = evmKeyFile(o.home, org);
    if (!existsSync(file)) throw bad(`no EVM key of '${org}' in ${file}: run \`custos evm duties\` first`);
    const { address, proof } = proveEvmKey(loadEvmKey(file, o.passphrase), { chainId, member: org });
    addresses.push(address);
    const member = await stateValue<{ evmKey?: string }>(client, memberKey(org));
    if (member?.evmKey === address) continue;
    await submitOk(client, chainId, signer, 'member.setEvmKey', { address, proof });
    o.note(`member.setEvmKey ${address} for '${org}'`);
  }
  const set = await waitFor(async () => {
    const s = await stateValue<EvmMemberSetEntry>(client, EVM_MEMBER_SET_KEY);
    return s?.ready === true && addresses.every((a) => s.addresses.includes(a)) ? s : undefined;
  }, 'the EVM member set is not ready (do the other members have EVM keys?)');

  // 2. The EVM side, from the local key or an account the development chain signs for.
  const probe = http(o.rpcUrl, { retryCount: 0, timeout: 5_000 });
  const evmChainId = await waitFor(async () => {
    try {
      return await createPublicClient({ transport: probe }).getChainId();
    } catch {
      return undefined;
    }
  }, `the EVM chain at ${o.rpcUrl} does not answer`);
  const { chain, pub, wallet } = evmClients(o.rpcUrl, evmChainId);
  const local = o.secretKey === undefined ? undefined : privateKeyToAccount(o.secretKey);
  // A real chain's endpoint may not even answer eth_accounts; a local key needs none.
  const accounts = (await wallet.getAddresses().catch((e) => (local === undefined ? Promise.reject(e) : []))).slice(
    0,
    20,
  );
  const from = (o.from ?? accounts[0])?.toLowerCase();
  const account = local ?? accounts.find((a) => a.toLowerCase() === from);
  if (account === undefined) {
    throw bad(
      o.from === undefined
        ? `the EVM chain at ${o.rpcUrl} signs for no account: pass --evm-key-file (or use a development chain: custos evm chain start)`
        : `expected --from to be an account the EVM chain signs for, got '${o.from.slice(0, 60)}'`,
    );
  }
  const holder = typeof account === 'string' ? account : account.address;
  const mined = async (hash: Hex) => {
    const r = await pub.waitForTransactionReceipt({ hash, timeout: WAIT_MS });
    if (r.status !== 'success') throw new NodeError('CONFLICT', `EVM transaction ${hash} reverted`);
    return r;
  };
  const deploy = async (artifact: { abi: Abi; bytecode: Hex }, args: unknown[]) => {
    const r = await mined(await wallet.deployContract({ ...artifact, args, account, chain }));
    if (!r.contractAddress) throw new NodeError('INTERNAL', 'the deployment made no contract');
    return r.contractAddress;
  };
  const token = await deploy(LoyaltyToken as unknown as { abi: Abi; bytecode: Hex }, ['Loyalty Points', 'PTS']);
  const contract = await deploy(CustosParticipant as unknown as { abi: Abi; bytecode: Hex }, [
    BigInt(set.epoch),
    set.addresses as Address[],
    BigInt(set.threshold),
  ]);
  await mined(
    await wallet.writeContract({
      address: token,
      abi: LoyaltyToken.abi as Abi,
      functionName: 'mint',
      args: [holder, o.mint],
      account,
      chain,
    }),
  );
  o.note(`deployed the token ${token} and the participant contract ${contract} on EVM chain ${evmChainId}`);

  // 3. The contract registered on the Custos chain, co-signed by the home's members.
  const participant = `evm:${evmChainId}:${contract.toLowerCase()}`;
  const codeHash = keccak256((await pub.getCode({ address: contract })) as Hex);
  const cosignatures = signers.map(([, s]) => ({
    signer: didFromPublicKey(s.publicKey),
    sig: toBase64url(s.sign(evmRegistrationBytes(chainId, participant, codeHash))),
  }));
  const r = await submitOk(client, chainId, signers[0]![1], 'evm.register', { participant, codeHash, cosignatures });
  return {
    chainId,
    evmChainId,
    rpcUrl: o.rpcUrl,
    participant,
    contract: contract.toLowerCase(),
    token: token.toLowerCase(),
    holder: holder.toLowerCase(),
    minted: o.mint.toString(),
    accounts: accounts.map((a) => a.toLowerCase()),
    memberSet: { epoch: set.epoch, addresses: set.addresses, threshold: set.threshold },
    height: r.height,
  };
}
