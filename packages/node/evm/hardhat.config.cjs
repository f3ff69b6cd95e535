/**
 * The config of the local EVM chain that `HardhatChain` (src/interop/evm/hardhat.ts) starts with
 * `hardhat node`. Its settings come from the environment the module sets; nothing is compiled here
 * (the contracts are compiled by scripts/compile-contracts.mjs), and caches go to the chain's temp dir.
 */
const { join } = require('node:path');

const dir = process.env.CUSTOS_EVM_DIR;
if (dir === undefined) throw new Error('CUSTOS_EVM_DIR is not set: start the chain with HardhatChain');
const blockMs = Number(process.env.CUSTOS_EVM_BLOCK_MS ?? '0');
// The genesis block's time (seconds): fixed so that a restarted chain rebuilds the same blocks.
const genesisTime = process.env.CUSTOS_EVM_GENESIS_TIME;

module.exports = {
  paths: { cache: join(dir, 'cache'), artifacts: join(dir, 'artifacts'), sources: join(dir, 'sources') },
  networks: {
    hardhat: {
      chainId: Number(process.env.CUSTOS_EVM_CHAIN_ID ?? '31337'),
      hardfork: 'cancun',
      // With a block period, blocks are cut every `blockMs` with what arrived (empty or not), and
      // may share a second as timestamp: without that Hardhat gives each block its parent's time plus
      // one second, and a chain of 250 ms blocks would run four times ahead of the clock (the
      // decision chain compares attested headers' times with its own).
      mining: blockMs > 0 ? { auto: false, interval: blockMs } : { auto: true },
      allowBlocksWithSameTimestamp: blockMs > 0,
      ...(genesisTime === undefined ? {} : { initialDate: new Date(Number(genesisTime) * 1000).toISOString() }),
    },
  },
};
