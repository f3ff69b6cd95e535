// Scenario `cross-platform`: atomic transactions over a Custos ledger and an EVM chain (issue 15,
// docs/interop.md) on loopback: a kv.put on the decision chain D (three members with EVM keys) and
// an ERC-20 leg on a Hardhat chain (automine, its own process), each timed from the body's prepare
// on D to the contract's outcome proven back on D. The ceiling is the Custos-only figure of the same
// run: transactions over two Custos chains, measured the same way.
// - Sustained (the throughput target): IN_FLIGHT transactions kept in flight over SUSTAINED
//   transactions (when one outcome is in, the next transaction starts: its prepare on D and the
//   holder's lock on the contract, sent together), while each member's duties (`EvmDuties`, as the
//   member's peer runs them) and the relayer (`Relayer.run`) run as their own loops, waking on D's
//   blocks. Throughput over the steady state (_closed-loop.mjs), latency, and the median time of
//   each stage. Custos-only: the same number kept in flight, the relayer as its loop.
// - One at a time (the latency target): passes run in this process until the outcome is proven:
//   the three members' attesters side by side, their signers side by side, then one relayer. Also
//   the EVM gas of each transaction (approve, prepare, decide, from their receipts).
// - One burst (kept for continuity with earlier figures): IN_FLIGHT transactions prepared at once
//   and carried by the same passes until every outcome is in.
// Also the transactions D committed per cross-chain transaction, by type (`d_tx_per_tx`).
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, keccak256 } from 'viem';
import {
  CustosNode,
  exampleProfile,
  HardhatChain,
  makeGenesis,
  memberSetOf,
  nativeSigner,
} from '../packages/node/dist/index.js';
import { nodeEndpoint } from '../packages/node/dist/interop/endpoint.js';
import { CustosParticipant, LoyaltyToken } from '../packages/node/dist/interop/evm/contracts/artifacts.generated.js';
import { EvmDuties } from '../packages/node/dist/interop/evm/evm-duties.js';
import { EvmAttester, EvmDecisionSigner } from '../packages/node/dist/interop/evm/member-duties.js';
import { Relayer } from '../packages/node/dist/interop/relayer.js';
import { evmRegistrationBytes } from '../packages/node/dist/modules/evm.js';
import {
  didFromPublicKey,
  evmSecretKey,
  proveEvmKey,
  randomSecretKey,
  signRegistration,
  signTx,
  toBase64url,
} from '../packages/protocol/dist/index.js';
import { buildXtx, xtxPrepareTx } from '../packages/sdk/dist/index.js';
import { blockWaiter, closedLoop } from './_closed-loop.mjs';
import { latencySummary, machine } from './_stats.mjs';

const PARAMS = { blockMaxTxs: 2000, blockMaxMs: 5 };
/** Transactions in flight for the throughput figures. */
const IN_FLIGHT = 20;
/** Transactions of the sustained run (the steady state leaves out the first and last IN_FLIGHT). */
const SUSTAINED = 150;
const ORGS = ['org1', 'org2', 'org3'];
/** The pause of the relayer's and the duties' loops between passes (the least `evm.json` takes). */
const LOOP_MS = 100;

async function openChain(dir, chainId, orgIds) {
  const orgs = Object.fromEntries(orgIds.map((o) => [o, nativeSigner(randomSecretKey())]));
  const genesis = makeGenesis({
    chainId,
    members: orgIds.map((id) => ({
      id,
      name: `${id} of ${chainId}`,
      keys: [didFromPublicKey(orgs[id].publicKey)],
      profile: exampleProfile(id),
    })),
    params: PARAMS,
  });
  const node = await CustosNode.open({ dbPath: join(dir, `${chainId}.db`), genesis, signers: Object.values(orgs) });
  return { chainId, node, genesis, orgs };
}

async function ok(node, tx, what) {
  const r = await node.submitAndWait(tx);
  if (r.code !== 'OK') throw new Error(`${what}: ${r.code}`);
}

const state = (node, key) => JSON.parse(node.store.getState(key) ?? 'null');

/** The transactions `node` committed after height `from`, counted by type. */
function txTypes(node, from) {
  const out = {};
  for (let h = from + 1; h <= node.latest().height; h++) {
    for (const tx of node.store.getBlock(h)?.txs ?? []) {
      if (tx !== null) out[tx.body.type] = (out[tx.body.type] ?? 0) + 1;
    }
  }
  return out;
}

/** `types` per transaction: the total and each type, to one decimal. */
function perTx(types, count) {
  const round = (x) => Math.round((x / count) * 10) / 10;
  const total = Object.values(types).reduce((s, n) => s + n, 0);
  return { total: round(total), ...Object.fromEntries(Object.entries(types).map(([k, n]) => [k, round(n)])) };
}

/** Custos-only: two chains, `count` transactions one at a time, each a kv.put on both. */
async function custosOnly(dir, count, inFlight, total) {
  const a = await openChain(dir, 'ceil-a', ['org']);
  const b = await openChain(dir, 'ceil-b', ['org']);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ]) {
    const remote = { chainId: y.chainId, members: memberSetOf(y.genesis) };
    const args = { chain: remote, cosignatures: [signRegistration(x.chainId, remote, x.orgs.org)] };
    await ok(x.node, signTx({ chainId: x.chainId, type: 'interop.register', args }, x.orgs.org), 'register');
  }
  const relayer = new Relayer({
    chains: [nodeEndpoint(a.node), nodeEndpoint(b.node)],
    signer: nativeSigner(randomSecretKey()),
  });
  const client = nativeSigner(randomSecretKey());
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const { xtx, xtxId } = buildXtx({
      decisionChain: a.chainId,
      deadlineHeight: a.node.latest().height + 1000,
      ops: [a, b].map((c) => ({
        chainId: c.chainId,
        type: 'kv.put',
        args: { ns: 'x', key: `k${i}`, value: i },
        signer: a.orgs.org,
      })),
    });
    const t0 = performance.now();
    await ok(a.node, xtxPrepareTx(xtx, a.chainId, client), 'prepare');
    while (
      state(b.node, `xtx/${xtxId}`)?.status !== 'committed' ||
      state(a.node, `xtx/${xtxId}`)?.status !== 'committed'
    ) {
      await relayer.step();
    }
    latencies.push(performance.now() - t0);
  }
  // In flight: a batch prepared at once, relayed until every one is committed on both chains.
  const batch = [];
  for (let i = 0; i < inFlight; i++) {
    batch.push(
      buildXtx({
        decisionChain: a.chainId,
        deadlineHeight: a.node.latest().height + 1000,
        ops: [a, b].map((c) => ({
          chainId: c.chainId,
          type: 'kv.put',
          args: { ns: 'y', key: `k${i}`, value: i },
          signer: a.orgs.org,
        })),
      }),
    );
  }
  const t0 = performance.now();
  await Promise.all(batch.map(({ xtx }) => ok(a.node, xtxPrepareTx(xtx, a.chainId, client), 'prepare')));
  const done = ({ xtxId }) =>
    state(b.node, `xtx/${xtxId}`)?.status === 'committed' && state(a.node, `xtx/${xtxId}`)?.status === 'committed';
  while (!batch.every(done)) await relayer.step();
  const seconds = (performance.now() - t0) / 1000;
  // Sustained: `inFlight` kept in flight over `total` transactions, the relayer as its own loop.
  const stop = new AbortController();
  const loop = relayer.run({ intervalMs: LOOP_MS, signal: stop.signal });
  const [wa, wb] = [blockWaiter(a.node), blockWaiter(b.node)];
  const steady = await closedLoop({
    total,
    inFlight,
    one: async (i) => {
      const { xtx, xtxId } = buildXtx({
        decisionChain: a.chainId,
        deadlineHeight: a.node.latest().height + 1000,
        ops: [a, b].map((c) => ({
          chainId: c.chainId,
          type: 'kv.put',
          args: { ns: 'z', key: `k${i}`, value: i },
          signer: a.orgs.org,
        })),
      });
      await ok(a.node, xtxPrepareTx(xtx, a.chainId, client), 'prepare');
      await wa.until(() => state(a.node, `xtx/${xtxId}`)?.status === 'committed');
      await wb.until(() => state(b.node, `xtx/${xtxId}`)?.status === 'committed');
    },
  });
  stop.abort();
  await loop;
  wa.close();
  wb.close();
  await a.node.close();
  await b.node.close();
  return { latencies, throughput: inFlight / seconds, steady };
}

async function crossPlatform(dir, count, inFlight, total) {
  const d = await openChain(dir, 'dchain', ORGS);
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
  const chain = await HardhatChain.start({});
  try {
    const transport = http(chain.rpcUrl, { retryCount: 0 });
    const pub = createPublicClient({ transport, cacheTime: 0, pollingInterval: 20 });
    const wallet = createWalletClient({ transport });
    const [deployer, holder, receiver, relayerAccount] = await wallet.getAddresses();
    const receipt = (hash) => pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    const deploy = async (artifact, args) =>
      (await receipt(await wallet.deployContract({ ...artifact, args, account: deployer, chain: null })))
        .contractAddress;
    const write = async (address, abi, functionName, args, account) =>
      receipt(await wallet.writeContract({ address, abi, functionName, args, account, chain: null }));
    const token = await deploy(LoyaltyToken, ['Points', 'PTS']);
    const set = state(d.node, 'gov/evm-memberset');
    const participant = await deploy(CustosParticipant, [BigInt(set.epoch), set.addresses, BigInt(set.threshold)]);
    await write(token, LoyaltyToken.abi, 'mint', [holder, 1_000_000n], deployer);
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
      attesters.push(
        await new EvmAttester({
          chain: ep,
          signer: d.orgs[o],
          rpcUrl: chain.rpcUrl,
          confirmations: 0,
          headEvery: 1,
        }).init(),
      );
    }
    const signers = ORGS.map((o) => new EvmDecisionSigner({ chain: ep, signer: d.orgs[o], evmKey: evmKeys[o] }));
    const relayer = new Relayer({
      chains: [ep],
      signer: nativeSigner(randomSecretKey()),
      evm: [{ rpcUrl: chain.rpcUrl, account: { address: relayerAccount } }],
    });
    // One pass: the members' attesters side by side, then their signers side by side (each member's
    // peer runs its own duties, so the three do not wait for each other), then the relayer.
    const pass = async () => {
      await Promise.all(attesters.map((a) => a.step()));
      await Promise.all(signers.map((s) => s.step()));
      await relayer.step();
    };
    const client = nativeSigner(randomSecretKey());
    const latencies = [];
    const gas = { approve: [], prepare: [], decide: [] };
    const oneFrom = d.node.latest().height;
    for (let i = 0; i < count; i++) {
      const leg = { token: token.toLowerCase(), from: holder.toLowerCase(), to: receiver.toLowerCase(), amount: '10' };
      const { xtx, xtxId } = buildXtx({
        decisionChain: d.chainId,
        deadlineHeight: d.node.latest().height + 1000,
        ops: [{ chainId: d.chainId, type: 'kv.put', args: { ns: 'x', key: `k${i}`, value: i }, signer: d.orgs.org1 }],
        legs: { [pid]: leg },
      });
      const t0 = performance.now();
      await ok(d.node, xtxPrepareTx(xtx, d.chainId, client), 'prepare');
      const approve = await write(token, LoyaltyToken.abi, 'approve', [participant, 10n], holder);
      const deadline = (await pub.getBlockNumber()) + 500n;
      const prepare = await write(
        participant,
        CustosParticipant.abi,
        'prepare',
        [`0x${xtxId}`, { ...leg, amount: 10n }, deadline],
        holder,
      );
      for (;;) {
        await pass();
        const out = state(d.node, `xtxevmd/${xtxId}/${pid}`)?.outcome?.status;
        if (out !== undefined) {
          if (out !== 'committed') throw new Error(`transaction ${i}: ${out}`);
          break;
        }
      }
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
    const oneTypes = txTypes(d.node, oneFrom);
    // In flight: the batch prepared on D, the holder's one approve and a prepare each, then the loop.
    const legOf = { token: token.toLowerCase(), from: holder.toLowerCase(), to: receiver.toLowerCase(), amount: '10' };
    const batch = [];
    for (let i = 0; i < inFlight; i++) {
      batch.push(
        buildXtx({
          decisionChain: d.chainId,
          deadlineHeight: d.node.latest().height + 1000,
          ops: [{ chainId: d.chainId, type: 'kv.put', args: { ns: 'y', key: `k${i}`, value: i }, signer: d.orgs.org1 }],
          legs: { [pid]: legOf },
        }),
      );
    }
    const flightFrom = d.node.latest().height;
    const t0 = performance.now();
    await Promise.all(batch.map(({ xtx }) => ok(d.node, xtxPrepareTx(xtx, d.chainId, client), 'prepare')));
    await write(token, LoyaltyToken.abi, 'approve', [participant, 10n * BigInt(inFlight)], holder);
    const deadline = (await pub.getBlockNumber()) + 500n;
    // The prepares sent together, as the holders of 20 transactions in flight would, not each
    // after the receipt of the one before (the endpoint orders them under the account's nonces).
    const prepares = await Promise.all(
      batch.map(({ xtxId }) =>
        wallet.writeContract({
          address: participant,
          abi: CustosParticipant.abi,
          functionName: 'prepare',
          args: [`0x${xtxId}`, { ...legOf, amount: 10n }, deadline],
          account: holder,
          chain: null,
        }),
      ),
    );
    await Promise.all(prepares.map(receipt));
    const outcome = ({ xtxId }) => state(d.node, `xtxevmd/${xtxId}/${pid}`)?.outcome?.status;
    while (!batch.every((x) => outcome(x) !== undefined)) await pass();
    const seconds = (performance.now() - t0) / 1000;
    const flightTypes = txTypes(d.node, flightFrom);
    const failed = batch.filter((x) => outcome(x) !== 'committed').length;
    if (failed > 0) throw new Error(`${failed} of the batch did not commit`);
    // Sustained: the holder's allowance for every transaction, then `inFlight` kept in flight, each
    // member's duties as its own loop (as its peer runs them) and the relayer as its own loop.
    await write(token, LoyaltyToken.abi, 'approve', [participant, 10n * BigInt(total)], holder);
    const stop = new AbortController();
    const duties = ORGS.map((_, k) => new EvmDuties([attesters[k]], [signers[k]], LOOP_MS, () => {}, ep));
    for (const x of duties) x.start();
    const loop = relayer.run({ intervalMs: LOOP_MS, signal: stop.signal });
    const wd = blockWaiter(d.node);
    const steadyFrom = d.node.latest().height;
    const stages = { prepared: [], voted: [], signed: [], proven: [] };
    const steady = await closedLoop({
      total,
      inFlight,
      one: async (i) => {
        const t0 = performance.now();
        const { xtx, xtxId } = buildXtx({
          decisionChain: d.chainId,
          deadlineHeight: d.node.latest().height + 1000,
          ops: [{ chainId: d.chainId, type: 'kv.put', args: { ns: 'z', key: `k${i}`, value: i }, signer: d.orgs.org1 }],
          legs: { [pid]: legOf },
        });
        // The client's prepare on D and the holder's lock on the EVM chain, sent together.
        const lock = async () => {
          const hash = await wallet.writeContract({
            address: participant,
            abi: CustosParticipant.abi,
            functionName: 'prepare',
            args: [`0x${xtxId}`, { ...legOf, amount: 10n }, (await pub.getBlockNumber()) + 500n],
            account: holder,
            chain: null,
          });
          if ((await receipt(hash)).status !== 'success') throw new Error(`transaction ${i}: the prepare reverted`);
        };
        await Promise.all([ok(d.node, xtxPrepareTx(xtx, d.chainId, client), 'prepare'), lock()]);
        const t1 = performance.now();
        // Where each transaction spends its time: its vote recorded on D, the threshold's
        // signatures recorded, the contract's outcome proven on D.
        await wd.until(() => state(d.node, `xtxevm/${xtxId}/${pid}`) !== null);
        const t2 = performance.now();
        await wd.until(() => {
          const rec = state(d.node, `xtxevmd/${xtxId}/${pid}`);
          return rec !== null && (rec.outcome !== undefined || rec.signatures.length >= rec.threshold);
        });
        const t3 = performance.now();
        await wd.until(() => outcome({ xtxId }) !== undefined);
        if (outcome({ xtxId }) !== 'committed') throw new Error(`transaction ${i}: ${outcome({ xtxId })}`);
        stages.prepared.push(t1 - t0);
        stages.voted.push(t2 - t1);
        stages.signed.push(t3 - t2);
        stages.proven.push(performance.now() - t3);
      },
    });
    stop.abort();
    await loop;
    await Promise.all(duties.map((x) => x.stop()));
    wd.close();
    const steadyTypes = txTypes(d.node, steadyFrom);
    const mean = (xs) => Math.round(xs.reduce((s, x) => s + x, 0) / xs.length);
    return {
      throughput: inFlight / seconds,
      latencies,
      steady: { ...steady, stages },
      dTx: { one: perTx(oneTypes, count), inFlight: perTx(flightTypes, inFlight), steady: perTx(steadyTypes, total) },
      gas: {
        approve: mean(gas.approve),
        prepare: mean(gas.prepare),
        decide: mean(gas.decide),
        total: mean(gas.approve) + mean(gas.prepare) + mean(gas.decide),
      },
    };
  } finally {
    await chain.stop();
    await d.node.close();
  }
}

export async function run({ quick = false } = {}) {
  const count = quick ? 5 : 30;
  const inFlight = quick ? 5 : IN_FLIGHT;
  const total = quick ? 30 : SUSTAINED;
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-xplat-'));
  const loadBefore = os.loadavg()[0];
  try {
    const ceiling = await custosOnly(dir, count, inFlight, total);
    const evm = await crossPlatform(dir, count, inFlight, total);
    const round = (x) => Math.round(x * 10) / 10;
    const ratio = (x, y) => Math.round((x / y) * 100) / 100;
    return {
      scenario: 'cross-platform',
      transactions: count,
      one_at_a_time: { latency_ms: latencySummary(evm.latencies), d_tx_per_tx: evm.dTx.one },
      sustained: {
        what: `${inFlight} kept in flight over ${total} transactions, the relayer and each member's duties as their own loops`,
        transactions: total,
        in_flight: inFlight,
        tx_per_s: round(evm.steady.throughput),
        of_ceiling: ratio(evm.steady.throughput, ceiling.steady.throughput),
        latency_ms: latencySummary(evm.steady.latencies),
        // Median ms of each part: prepared on both sides, vote on D, the threshold's signatures,
        // the contract's decide and its outcome proven on D.
        stages_p50_ms: Object.fromEntries(
          Object.entries(evm.steady.stages).map(([k, xs]) => [k, Math.round(latencySummary(xs).p50)]),
        ),
        d_tx_per_tx: evm.dTx.steady,
      },
      in_flight: {
        what: 'one batch prepared at once, carried by passes until every outcome is in',
        transactions: inFlight,
        d_tx_per_tx: evm.dTx.inFlight,
        tx_per_s: round(evm.throughput),
        of_ceiling: ratio(evm.throughput, ceiling.throughput),
      },
      evm_gas_per_tx: evm.gas,
      ceiling: {
        what: 'Custos-only cross-chain, two chains',
        latency_ms: latencySummary(ceiling.latencies),
        in_flight_tx_per_s: round(ceiling.throughput),
        sustained_tx_per_s: round(ceiling.steady.throughput),
        sustained_latency_ms: latencySummary(ceiling.steady.latencies),
      },
      // Sustained throughput divided by the sustained Custos-only figure (the target: 0.5).
      ratio: ratio(evm.steady.throughput, ceiling.steady.throughput),
      load_average: { before: round(loadBefore), after: round(os.loadavg()[0]) },
      machine: machine(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
}
