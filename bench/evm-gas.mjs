// Scenario `evm-gas`: gas of the EVM participant contract (docs/interop.md#gas) per prepare and per
// decide, with member sets of 3, 5 and 7 (threshold a strict majority), read from the receipts of a
// real Hardhat chain (`hardhat node`, EDR, started by HardhatChain on 127.0.0.1). Member keys are
// derived from fixed seeds, so the calldata and the figures are the same on every run. The ceiling
// measured in the same run: a plain ERC-20 `transferFrom` and `transfer` of the same token, the
// token movements a prepare and a decide cannot avoid; `overhead` is what the contract adds to them.
//
// Usage: npm run bench -- evm-gas   (or `node bench/evm-gas.mjs` after `npm run build`)
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createPublicClient, createWalletClient, defineChain, http } from 'viem';
import { HardhatChain } from '../packages/node/dist/index.js';
import { CustosParticipant, LoyaltyToken } from '../packages/node/dist/interop/evm/contracts/artifacts.generated.js';
import {
  evmAddress,
  evmDecisionDigest,
  evmLegHash,
  evmMembersDigest,
  evmSign,
  sortEvmSignatures,
} from '../packages/protocol/dist/interop/index.js';
import { machine } from './_stats.mjs';

const SIZES = [3, 5, 7];
/** Decisions per `decideMany` measured (COMMITs, a quorum each), beside a single `decide`. */
const BATCHES = [1, 5, 20];
/** Transactions measured per size and kind; the median is reported. */
const REPEAT = 5;

/** Deterministic member keys: SHA-256 of a seed (each a valid secp256k1 scalar with overwhelming probability). */
function membersOf(n, tag) {
  return Array.from({ length: n }, (_, i) => {
    const key = new Uint8Array(createHash('sha256').update(`custos bench evm-gas ${tag} ${i}`).digest());
    return { key, address: evmAddress(key) };
  }).sort((a, b) => (a.address < b.address ? -1 : 1));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const xtx = (n) => `0x${n.toString(16).padStart(64, '0')}`;

async function clients(chain) {
  const viemChain = defineChain({
    id: chain.chainId,
    name: 'custos-bench',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [chain.rpcUrl] } },
  });
  const transport = http(chain.rpcUrl, { retryCount: 0 });
  const pub = createPublicClient({ chain: viemChain, transport, pollingInterval: 20, cacheTime: 0 });
  const wallet = createWalletClient({ chain: viemChain, transport });
  const accounts = await wallet.getAddresses();
  const gasOf = async (hash) => {
    const r = await pub.waitForTransactionReceipt({ hash });
    if (r.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return r;
  };
  const deploy = async (artifact, args, account) =>
    (await gasOf(await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args, account })))
      .contractAddress;
  const write = async (address, abi, functionName, args, account) =>
    Number((await gasOf(await wallet.writeContract({ address, abi, functionName, args, account }))).gasUsed);
  return { pub, accounts, deploy, write };
}

async function measureSize(c, n) {
  const [issuer, customer, bank] = c.accounts;
  const members = membersOf(n, n);
  const threshold = Math.floor(n / 2) + 1;
  const token = await c.deploy(LoyaltyToken, ['Bench points', 'PTS'], issuer);
  const participant = await c.deploy(CustosParticipant, [1n, members.map((m) => m.address), BigInt(threshold)], issuer);
  const domain = { chainId: c.pub.chain.id, contract: participant };
  const tok = (fn, args, from) => c.write(token, LoyaltyToken.abi, fn, args, from);
  const part = (fn, args, from) => c.write(participant, CustosParticipant.abi, fn, args, from);
  await tok('mint', [customer, 1_000_000n], issuer);
  await tok('approve', [participant, 2n ** 255n], customer);
  // The contract's balance slot of the token is written from zero by the first lock only: that
  // first prepare is reported apart, the steady state is the median of the next ones.
  // Every lock here is the same leg (under different ids): its hash, as the decision digest binds it.
  const leg = { token, from: customer, to: bank, amount: 10n };
  const legHash = evmLegHash({
    token: token.toLowerCase(),
    from: customer.toLowerCase(),
    to: bank.toLowerCase(),
    amount: '10',
  });
  const sign = (signers, id, commit) => {
    const digest = evmDecisionDigest(domain, id, legHash, commit, 1);
    return sortEvmSignatures(
      digest,
      signers.map((m) => evmSign(digest, m.key)),
    );
  };
  let next = n * 1000;
  const prepare = async () => {
    const id = xtx(next++);
    const deadline = (await c.pub.getBlockNumber()) + 1000n;
    return {
      id,
      gas: await part('prepare', [id, leg, deadline], customer),
    };
  };
  const first = await prepare();
  const keep = await prepare(); // stays locked so that later locks never empty the contract's balance
  const g = { prepare: [], commitQuorum: [], abortQuorum: [], commitAll: [] };
  for (let i = 0; i < REPEAT; i++) {
    for (const [kind, signers, commit] of [
      ['commitQuorum', members.slice(0, threshold), true],
      ['abortQuorum', members.slice(n - threshold), false],
      ['commitAll', members, true],
    ]) {
      const p = await prepare();
      g.prepare.push(p.gas);
      g[kind].push(await part('decide', [p.id, legHash, commit, 1n, sign(signers, p.id, commit)], bank));
    }
  }
  // Several COMMITs in one decideMany: gas per leg against a single decide's.
  const batches = {};
  for (const size of BATCHES) {
    const perLeg = [];
    for (let i = 0; i < 3; i++) {
      const items = [];
      for (let j = 0; j < size; j++) {
        const p = await prepare();
        items.push({
          xtxId: p.id,
          legHash,
          commit: true,
          epoch: 1n,
          signatures: sign(members.slice(0, threshold), p.id, true),
        });
      }
      perLeg.push(Math.round((await part('decideMany', [items], bank)) / size));
    }
    batches[`decide_many_${size}_per_leg`] = median(perLeg);
  }
  // A member-set update to another set of the same size, signed by a quorum of the current one.
  const nextSet = membersOf(n, `${n}-next`).map((m) => m.address);
  const digest = evmMembersDigest(domain, 2, nextSet, threshold);
  const updateSigs = sortEvmSignatures(
    digest,
    members.slice(0, threshold).map((m) => evmSign(digest, m.key)),
  );
  const updateMembers = await part('updateMembers', [2n, nextSet, BigInt(threshold), updateSigs], bank);
  void keep;
  return {
    members: n,
    threshold,
    gas: {
      prepare_first: first.gas,
      prepare: median(g.prepare),
      decide_commit_quorum: median(g.commitQuorum),
      decide_abort_quorum: median(g.abortQuorum),
      decide_commit_all: median(g.commitAll),
      update_members: updateMembers,
      ...batches,
    },
    samples: REPEAT,
  };
}

/** The ceiling: the same token's plain transferFrom and transfer, between accounts that already hold a balance. */
async function reference(c) {
  const [issuer, customer, bank] = c.accounts;
  const token = await c.deploy(LoyaltyToken, ['Reference points', 'REF'], issuer);
  const tok = (fn, args, from) => c.write(token, LoyaltyToken.abi, fn, args, from);
  await tok('mint', [customer, 1_000_000n], issuer);
  await tok('mint', [bank, 1n], issuer);
  await tok('approve', [issuer, 2n ** 255n], customer);
  const transferFrom = [];
  const transfer = [];
  for (let i = 0; i < REPEAT; i++) {
    transferFrom.push(await tok('transferFrom', [customer, bank, 10n], issuer));
    transfer.push(await tok('transfer', [bank, 10n], customer));
  }
  return { erc20_transfer_from: median(transferFrom), erc20_transfer: median(transfer) };
}

export async function run() {
  const chain = await HardhatChain.start();
  try {
    const c = await clients(chain);
    const ceiling = await reference(c);
    const sizes = [];
    for (const n of SIZES) {
      const s = await measureSize(c, n);
      s.overhead = {
        prepare: s.gas.prepare - ceiling.erc20_transfer_from,
        decide_commit_quorum: s.gas.decide_commit_quorum - ceiling.erc20_transfer,
      };
      sizes.push(s);
      console.error(`# ${n} members: ${JSON.stringify(s.gas)}`);
    }
    // Gas per extra signature in a decide: from the largest set's all-member and quorum commits.
    const big = sizes.at(-1);
    const perSignature = Math.round(
      (big.gas.decide_commit_all - big.gas.decide_commit_quorum) / (big.members - big.threshold),
    );
    return {
      scenario: 'evm-gas',
      machine: machine(),
      evm: { node: 'hardhat (EDR)', hardfork: 'cancun', chain_id: chain.chainId, automine: true },
      ceiling,
      sizes,
      gas_per_extra_signature: perSignature,
    };
  } finally {
    await chain.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run()));
}
