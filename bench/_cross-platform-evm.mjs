// The Custos+EVM side of the `cross-platform` scenario: a decision chain D of three members with
// EVM keys, a Hardhat chain (its own process; automine, or a block every `blockMs`) with the loyalty
// token and the participant contract, each transaction a kv.put on D and an ERC-20 leg on the contract.
import { readFileSync } from 'node:fs';
import { createPublicClient, createWalletClient, http, keccak256 } from 'viem';
import { HardhatChain, nativeSigner } from '../packages/node/dist/index.js';
import { nodeEndpoint } from '../packages/node/dist/interop/endpoint.js';
import { CustosParticipant, LoyaltyToken } from '../packages/node/dist/interop/evm/contracts/artifacts.generated.js';
import { EvmDuties } from '../packages/node/dist/interop/evm/evm-duties.js';
import { EvmAttester, EvmDecisionSigner } from '../packages/node/dist/interop/evm/member-duties.js';
import { rpcFetch } from '../packages/node/dist/interop/evm/rpc-fetch.js';
import { Relayer } from '../packages/node/dist/interop/relayer.js';
import { evmRegistrationBytes } from '../packages/node/dist/modules/evm.js';
import {
  didFromPublicKey,
  evmSecretKey,
  proveEvmKey,
  randomSecretKey,
  signTx,
  toBase64url,
} from '../packages/protocol/dist/index.js';
import { buildXtx, xtxPrepareTx } from '../packages/sdk/dist/index.js';
import { blockWaiter, closedLoop } from './_closed-loop.mjs';
import { D_DEADLINE_BLOCKS, LOOP_MS, ok, openChain, perTx, state, txTypes } from './_cross-platform-custos.mjs';
import { blockFill, receiptWaiter } from './_evm-blocks.mjs';

const ORGS = ['org1', 'org2', 'org3'];

/** User plus system CPU seconds of process `pid` (Linux /proc, 100 ticks a second); NaN elsewhere. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
/**
 * EVM blocks before a lock's deadline, from the head when a sweep point starts: with automine each
 * prepare and each decide is a block, so 400 in flight move the head by hundreds of blocks in one
 * transaction's life (the contract takes at most 100,000). With a block period the head moves with
 * the clock instead (4 blocks a second at 250 ms): 50,000 blocks are 3.5 hours, and a point lasts
 * about a minute.
 */
const LOCK_BLOCKS = 50_000n;

/**
 * `count` transactions one at a time (lock-step passes in this process, with the gas of each),
 * then for each `{ inFlight, total }` of `sweep` a closed loop with each member's duties and the
 * relayer as their own loops. Each point also has the cores this process and the Hardhat process
 * used over it (CPU seconds over wall seconds, and CPU ms per transaction) and the EVM blocks
 * the point took. `blockMs`: the EVM chain cuts a block every `blockMs` (0: automine).
 */
export async function custosEvm(dir, count, sweep, { blockMs = 0 } = {}) {
  // Each mode its own decision chain (a fresh store), as its own EVM chain.
  const d = await openChain(dir, blockMs > 0 ? 'dchain-blocks' : 'dchain', ORGS);
  const evmKeys = {};
  for (const org of ORGS) {
    evmKeys[org] = evmSecretKey();
    const { address, proof } = proveEvmKey(evmKeys[org], { chainId: d.chainId, member: org });
    await ok(
      d.node,
      signTx({ chainId: d.chainId, type: 'member.setEvmKey', args: { address, proof } }, d.orgs[org]),
      'setEvmKey',
    );
  }
  const chain = await HardhatChain.start({ blockIntervalMs: blockMs });
  // The client's calls (the holders' locks and their receipts) that start together go out as one
  // JSON-RPC batch over a kept-alive connection, as the members' and the relayer's reads do. With
  // hundreds in flight a lock can wait in the endpoint's queue longer than viem's 10 s default.
  const transport = http(chain.rpcUrl, {
    retryCount: 0,
    timeout: 60_000,
    batch: { batchSize: 100 },
    fetchFn: rpcFetch,
  });
  const pub = createPublicClient({ transport, cacheTime: 0, pollingInterval: 20 });
  // With automine a receipt is there when the send returns (the first read finds it); with a block
  // period it comes with the next block: one poll of the head for all in flight, at a fifth of it.
  const receipts = blockMs > 0 ? receiptWaiter(pub, Math.max(10, Math.round(blockMs / 5))) : undefined;
  try {
    const wallet = createWalletClient({ transport });
    const [deployer, holder, receiver, relayerAccount] = await wallet.getAddresses();
    const receipt = (hash) => receipts?.wait(hash) ?? pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    const deploy = async (artifact, args) =>
      (await receipt(await wallet.deployContract({ ...artifact, args, account: deployer, chain: null })))
        .contractAddress;
    const write = async (address, abi, functionName, args, account) =>
      receipt(await wallet.writeContract({ address, abi, functionName, args, account, chain: null }));
    const token = await deploy(LoyaltyToken, ['Points', 'PTS']);
    const set = state(d.node, 'gov/evm-memberset');
    const participant = await deploy(CustosParticipant, [BigInt(set.epoch), set.addresses, BigInt(set.threshold)]);
    const all = count + sweep.reduce((s, p) => s + p.total, 0);
    await write(token, LoyaltyToken.abi, 'mint', [holder, 10n * BigInt(all)], deployer);
    const pid = `evm:${chain.chainId}:${participant.toLowerCase()}`;
    const codeHash = keccak256(await pub.getCode({ address: participant }));
    const cosignatures = ORGS.map((o) => ({
      signer: didFromPublicKey(d.orgs[o].publicKey),
      sig: toBase64url(d.orgs[o].sign(evmRegistrationBytes(d.chainId, pid, codeHash))),
    }));
    await ok(
      d.node,
      signTx(
        { chainId: d.chainId, type: 'evm.register', args: { participant: pid, codeHash, cosignatures } },
        d.orgs.org1,
      ),
      'evm.register',
    );
    const ep = nodeEndpoint(d.node);
    const attesters = [];
    for (const o of ORGS) {
      const opts = { chain: ep, signer: d.orgs[o], rpcUrl: chain.rpcUrl, confirmations: 0, headEvery: 1 };
      attesters.push(await new EvmAttester(opts).init());
    }
    const signers = ORGS.map((o) => new EvmDecisionSigner({ chain: ep, signer: d.orgs[o], evmKey: evmKeys[o] }));
    const relayer = new Relayer({
      chains: [ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: chain.rpcUrl, account: { address: relayerAccount } }],
      onError: (label, e) => console.error(`relayer: ${label}: ${e?.message}`),
    });
    // One pass: the members' attesters side by side, then their signers side by side (each member's
    // peer runs its own duties, so the three do not wait for each other), then the relayer.
    const pass = async () => {
      await Promise.all(attesters.map((a) => a.step()));
      await Promise.all(signers.map((s) => s.step()));
      await relayer.step();
    };
    const client = nativeSigner(randomSecretKey());
    const leg = { token: token.toLowerCase(), from: holder.toLowerCase(), to: receiver.toLowerCase(), amount: '10' };
    const xtxOf = (ns, i) =>
      buildXtx({
        decisionChain: d.chainId,
        deadlineHeight: d.node.latest().height + D_DEADLINE_BLOCKS,
        ops: [{ chainId: d.chainId, type: 'kv.put', args: { ns, key: `k${i}`, value: i }, signer: d.orgs.org1 }],
        legs: { [pid]: leg },
      });
    const outcome = (xtxId) => state(d.node, `xtxevmd/${xtxId}/${pid}`)?.outcome?.status;
    // The holder's lock: sent without a nonce, so that the endpoint orders the account's
    // transactions sent together under its nonces.
    const lock = async (xtxId, deadline) => {
      const hash = await wallet.writeContract({
        address: participant,
        abi: CustosParticipant.abi,
        functionName: 'prepare',
        args: [`0x${xtxId}`, { ...leg, amount: 10n }, deadline],
        account: holder,
        chain: null,
      });
      const r = await receipt(hash);
      if (r.status !== 'success') throw new Error(`the prepare of ${xtxId} reverted`);
      return r;
    };
    const latencies = [];
    const gas = { approve: [], prepare: [], decide: [] };
    const oneFrom = d.node.latest().height;
    for (let i = 0; i < count; i++) {
      const { xtx, xtxId } = xtxOf('x', i);
      const t0 = performance.now();
      await ok(d.node, xtxPrepareTx(xtx, d.chainId, client), 'prepare');
      // One at a time, the holder approves each transaction's 10 tokens (its gas is counted).
      const approve = await write(token, LoyaltyToken.abi, 'approve', [participant, 10n], holder);
      const prepare = await lock(xtxId, (await pub.getBlockNumber()) + LOCK_BLOCKS);
      while (outcome(xtxId) === undefined) await pass();
      if (outcome(xtxId) !== 'committed') throw new Error(`transaction ${i}: ${outcome(xtxId)}`);
      latencies.push(performance.now() - t0);
      const [decided] = await pub.getContractEvents({
        address: participant,
        abi: CustosParticipant.abi,
        eventName: 'Decided',
        args: { xtxId: `0x${xtxId}` },
        fromBlock: 0n,
      });
      gas.approve.push(Number(approve.gasUsed));
      gas.prepare.push(Number(prepare.gasUsed));
      gas.decide.push(Number((await pub.getTransactionReceipt({ hash: decided.transactionHash })).gasUsed));
    }
    // In the closed loops, the holder's allowance covers every transaction, approved once.
    await write(token, LoyaltyToken.abi, 'approve', [participant, 10n * BigInt(all)], holder);
    const oneTypes = txTypes(d.node, oneFrom);
    const stop = new AbortController();
    const duties = ORGS.map(
      (_, k) => new EvmDuties([attesters[k]], [signers[k]], LOOP_MS, (m) => console.error(m), ep),
    );
    for (const x of duties) x.start();
    const loop = relayer.run({ intervalMs: LOOP_MS, signal: stop.signal });
    const wd = blockWaiter(d.node);
    const points = [];
    try {
      for (const { inFlight, total } of sweep) {
        const from = d.node.latest().height;
        const head0 = await pub.getBlockNumber();
        const mono0 = process.hrtime.bigint() / 1000n;
        const [wall0, cpu0, hh0] = [performance.now(), process.cpuUsage(), cpuSeconds(chain.pid)];
        const deadline = head0 + LOCK_BLOCKS;
        const stages = { prepared: [], voted: [], signed: [], proven: [] };
        const steady = await closedLoop({
          total,
          inFlight,
          one: async (i) => {
            const t0 = performance.now();
            const { xtx, xtxId } = xtxOf(`z${inFlight}`, i);
            // The client's prepare on D and the holder's lock on the EVM chain, sent together.
            await Promise.all([ok(d.node, xtxPrepareTx(xtx, d.chainId, client), 'prepare'), lock(xtxId, deadline)]);
            const t1 = performance.now();
            // Where each transaction spends its time: its vote recorded on D, the threshold's
            // signatures recorded, the contract's outcome proven on D.
            await wd.until(() => state(d.node, `xtxevm/${xtxId}/${pid}`) !== null, xtxId);
            const t2 = performance.now();
            await wd.until(() => {
              const rec = state(d.node, `xtxevmd/${xtxId}/${pid}`);
              return rec !== null && (rec.outcome !== undefined || rec.signatures.length >= rec.threshold);
            }, xtxId);
            const t3 = performance.now();
            await wd.until(() => outcome(xtxId) !== undefined, xtxId);
            if (outcome(xtxId) !== 'committed') throw new Error(`transaction ${i}: ${outcome(xtxId)}`);
            stages.prepared.push(t1 - t0);
            stages.voted.push(t2 - t1);
            stages.signed.push(t3 - t2);
            stages.proven.push(performance.now() - t3);
          },
        });
        const wall = (performance.now() - wall0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const mono1 = process.hrtime.bigint() / 1000n;
        const cpuS = { bench: (cpu.user + cpu.system) / 1e6, hardhat: cpuSeconds(chain.pid) - hh0 };
        const r2 = (x) => Math.round(x * 100) / 100;
        const cores = { bench: r2(cpuS.bench / wall), hardhat: r2(cpuS.hardhat / wall) };
        const cpuMsPerTx = { bench: r2((cpuS.bench * 1000) / total), hardhat: r2((cpuS.hardhat * 1000) / total) };
        // The EVM blocks of the point (with a block period, empty ones too) per cross-chain transaction.
        const fill = await blockFill(chain.rpcUrl, head0, await pub.getBlockNumber());
        const evmBlocks = {
          per_tx: r2(fill.blocks / total),
          with_txs_per_tx: r2(fill.withTxs / total),
          txs_per_block_with_txs: r2(fill.txs / Math.max(1, fill.withTxs)),
        };
        const dTx = perTx(txTypes(d.node, from), total);
        points.push({ inFlight, total, ...steady, stages, cores, cpuMsPerTx, evmBlocks, dTx });
        const mode = blockMs > 0 ? `${blockMs} ms blocks` : 'automine';
        console.error(
          `custos+evm (${mode}): ${inFlight} in flight, ${steady.throughput.toFixed(1)} tx/s, ${evmBlocks.per_tx} EVM blocks a tx, cores ${cores.bench} + ${cores.hardhat} (monotonic µs ${mono0}-${mono1}, for a --cpu-prof window)`,
        );
      }
    } finally {
      stop.abort();
      await loop;
      await Promise.all(duties.map((x) => x.stop()));
      wd.close();
    }
    const mean = (xs) => Math.round(xs.reduce((s, x) => s + x, 0) / xs.length);
    return {
      latencies,
      points,
      dTxOne: count === 0 ? undefined : perTx(oneTypes, count),
      gas:
        count === 0
          ? undefined
          : {
              approve: mean(gas.approve),
              prepare: mean(gas.prepare),
              decide: mean(gas.decide),
              total: mean(gas.approve) + mean(gas.prepare) + mean(gas.decide),
            },
    };
  } finally {
    receipts?.close();
    await chain.stop();
    await d.node.close();
  }
}
