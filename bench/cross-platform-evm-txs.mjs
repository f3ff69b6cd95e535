// The `cross-platform` scenario (bench/cross-platform.mjs) with a count of what it sent to the EVM
// chain: before the scenario stops its Hardhat chain, every block is read and its transactions are
// counted by the participant contract's or the token's function (`decide`, `decideMany` and the
// legs it carried, `prepare`, `approve`, ...), so the EVM transactions and blocks per cross-chain
// transaction come from the chain itself. The count runs after the measurements (it does not
// change them) and adds `evm_chain` to the scenario's JSON.
//
// Usage: node bench/cross-platform-evm-txs.mjs [--quick]   (after `npm run build`)
import { decodeFunctionData, toFunctionSelector } from 'viem';
import { HardhatChain } from '../packages/node/dist/index.js';
import { CustosParticipant, LoyaltyToken } from '../packages/node/dist/interop/evm/contracts/artifacts.generated.js';
import { run } from './cross-platform.mjs';

/** Function names by 4-byte selector, of both contracts. */
const NAMES = new Map();
for (const { abi } of [CustosParticipant, LoyaltyToken]) {
  for (const f of abi.filter((x) => x.type === 'function')) NAMES.set(toFunctionSelector(f), f.name);
}

async function rpc(url, calls) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params }))),
  });
  const out = await res.json();
  return out.sort((a, b) => a.id - b.id).map((r) => r.result);
}

/** Every block's transactions, counted by function; legs per `decideMany`. */
async function countChain(url) {
  const [head] = await rpc(url, [['eth_blockNumber', []]]);
  const last = Number(head);
  const calls = {};
  let legs = 0;
  let withTx = 0;
  for (let from = 0; from <= last; from += 200) {
    const batch = [];
    for (let n = from; n <= Math.min(last, from + 199); n++)
      batch.push(['eth_getBlockByNumber', [`0x${n.toString(16)}`, true]]);
    for (const block of await rpc(url, batch)) {
      if (block.transactions.length > 0) withTx++;
      for (const tx of block.transactions) {
        const name = tx.to === null ? 'deploy' : (NAMES.get(tx.input.slice(0, 10)) ?? 'other');
        calls[name] = (calls[name] ?? 0) + 1;
        if (name === 'decideMany') {
          legs += decodeFunctionData({ abi: CustosParticipant.abi, data: tx.input }).args[0].length;
        }
      }
    }
  }
  return { blocks: last, blocks_with_transactions: withTx, calls, decide_many_legs: legs };
}

const counts = [];
const stop = HardhatChain.prototype.stop;
HardhatChain.prototype.stop = async function () {
  try {
    counts.push(await countChain(this.rpcUrl));
  } catch (e) {
    counts.push({ error: String(e) });
  }
  return stop.call(this);
};

const out = await run({ quick: process.argv.includes('--quick') });
const chain = counts[0] ?? {};
const perTx = (x) => Math.round((x / out.succeeded) * 100) / 100;
const c = chain.calls ?? {};
const decides = (c.decide ?? 0) + (c.decideMany ?? 0);
const moved = (c.approve ?? 0) + (c.prepare ?? 0) + decides + (c.release ?? 0);
out.evm_chain = {
  ...chain,
  cross_chain_transactions: out.succeeded,
  // approve, prepare, decide or decideMany, release: the EVM transactions of the cross-chain ones.
  evm_tx_per_tx: perTx(moved),
  decide_calls_per_tx: perTx(decides),
  legs_per_decide_many: c.decideMany ? Math.round((chain.decide_many_legs / c.decideMany) * 10) / 10 : 0,
  blocks_per_tx: perTx(chain.blocks_with_transactions ?? 0),
};
console.log(JSON.stringify(out));
