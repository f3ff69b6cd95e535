/**
 * A local EVM chain: Hardhat's network (EDR) run by `hardhat node` as its own child process on
 * 127.0.0.1, spoken to over JSON-RPC. Tests and the demo use it as the EVM side of a cross-chain
 * transaction (docs/interop.md). Hardhat is a devDependency: the chain is for a checkout (tests, the
 * README tour), not for production, where the EVM chain is somebody's real network.
 *
 * Nothing is compiled by Hardhat (the contracts are compiled with solc from npm at build time, see
 * scripts/compile-contracts.mjs), so it never fetches a compiler.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../consortium/processes.js';
import { NodeError } from '../../errors.js';
import { type RpcBlock, readBlocks, replayBlocks, rpcCaller } from './hardhat-replay.js';

/** The config `hardhat node` reads; its settings come from the environment this module sets. */
const CONFIG = fileURLToPath(new URL('../../../evm/hardhat.config.cjs', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Longest block period accepted (ms): Besu/QBFT, Quorum and rollups cut blocks every 0.25 to 15 s. */
export const MAX_BLOCK_INTERVAL_MS = 60_000;

export interface HardhatChainOptions {
  /** TCP port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** EIP-155 chain id (default 31337, Hardhat's). */
  chainId?: number;
  /**
   * Milliseconds between blocks (1 to `MAX_BLOCK_INTERVAL_MS`): a block is cut every period with
   * the transactions that arrived meanwhile, empty or not, as chains with a block period do
   * (Besu/QBFT, Quorum, rollups). 0 or omitted: a block per transaction (automine, the default).
   * A transaction's receipt then comes with the next block, so whoever waits for it polls at a
   * fraction of the period.
   */
  blockIntervalMs?: number;
  /** Where the process's output goes (default: a file in the chain's temp dir). */
  logFile?: string;
  /**
   * Log every JSON-RPC call and transaction in that file, as `hardhat node` does by default (for
   * debugging). Off by default: the log costs the process a quarter to a half more CPU per call (a
   * contract call 5.4 ms of CPU with it, 4.1 ms without, on the development machine).
   */
  logCalls?: boolean;
}

/** The `hardhat` command line's entry point in this installation, or undefined without Hardhat. */
export function findHardhat(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('hardhat/package.json');
    return join(dirname(pkg), 'internal', 'cli', 'cli.js');
  } catch {
    return undefined;
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * One `hardhat node` process. Its state lives in memory: a restart starts a new chain from block 0,
 * unless it keeps the blocks (`restart({ keepBlocks: true })`, see hardhat-replay.ts).
 */
export class HardhatChain {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** The genesis block's time (seconds), the same in every process of this chain. */
  private readonly genesisTime = Math.floor(Date.now() / 1000);
  /** The blocks `killKeepingBlocks` read, for the next `restart({ keepBlocks: true })`. */
  private kept: RpcBlock[] | undefined;

  private constructor(
    readonly port: number,
    readonly chainId: number,
    private readonly dir: string,
    private readonly opts: HardhatChainOptions,
  ) {}

  /** JSON-RPC endpoint (HTTP). */
  get rpcUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Milliseconds between blocks, or 0 for a block per transaction (automine). */
  get blockIntervalMs(): number {
    return this.opts.blockIntervalMs ?? 0;
  }

  /** The `hardhat node` process's id while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts `hardhat node` and resolves once it answers `eth_chainId` with the expected id. */
  static async start(opts: HardhatChainOptions = {}): Promise<HardhatChain> {
    const chainId = opts.chainId ?? 31337;
    if (!Number.isSafeInteger(chainId) || chainId < 1) {
      throw new NodeError('BAD_REQUEST', `chainId: expected a positive integer, got ${String(opts.chainId)}`);
    }
    const blockMs = opts.blockIntervalMs ?? 0;
    if (!Number.isSafeInteger(blockMs) || blockMs < 0 || blockMs > MAX_BLOCK_INTERVAL_MS) {
      throw new NodeError(
        'BAD_REQUEST',
        `blockIntervalMs: expected an integer from 0 (automine) to ${MAX_BLOCK_INTERVAL_MS}, got ${String(opts.blockIntervalMs)}`,
      );
    }
    const tries = opts.port === undefined ? 3 : 1;
    let last: unknown;
    for (let i = 0; i < tries; i++) {
      const port = opts.port ?? (await freePorts(1))[0]!;
      const dir = mkdtempSync(join(tmpdir(), 'custos-evm-'));
      const chain = new HardhatChain(port, chainId, dir, opts);
      try {
        await chain.launch();
        return chain;
      } catch (e) {
        last = e;
        await chain.stop();
      }
    }
    throw last;
  }

  /** Stops the process (SIGTERM, then SIGKILL) and deletes its temp dir. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Ends the process without cleanup (a crash); `restart` starts a fresh chain on the same port. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (p === undefined) return;
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * Reads the blocks, then kills the process (SIGKILL): a node that crashed with its blocks on
   * disk. `restart({ keepBlocks: true })` brings it back with them.
   */
  async killKeepingBlocks(): Promise<void> {
    this.checkAutomine();
    this.kept = await readBlocks(rpcCaller(this.rpcUrl));
    await this.kill();
  }

  /**
   * Kills the process (SIGKILL) if it runs and starts it again on the same port. Hardhat keeps no
   * state on disk, so this is a new chain, unless `keepBlocks`: then the blocks (read first, or by
   * `killKeepingBlocks`) are replayed into the new process, the same chain with the same block
   * hashes (a node restarted from its disk). Only for an automining chain.
   */
  async restart(opts: { keepBlocks?: boolean } = {}): Promise<void> {
    if (opts.keepBlocks !== true) {
      this.kept = undefined;
      await this.kill();
      await this.launch();
      return;
    }
    this.checkAutomine();
    const rpc = rpcCaller(this.rpcUrl);
    const blocks = this.kept ?? (this.running ? await readBlocks(rpc) : undefined);
    if (blocks === undefined) {
      throw new NodeError('CONFLICT', 'keepBlocks: the chain is down and its blocks were not kept (killKeepingBlocks)');
    }
    this.kept = undefined;
    await this.kill();
    await this.launch();
    await replayBlocks(rpc, this.chainId, blocks);
  }

  private checkAutomine(): void {
    if (this.blockIntervalMs > 0) {
      throw new NodeError('BAD_REQUEST', 'keepBlocks: expected an automining chain (no blockIntervalMs)');
    }
  }

  private async launch(): Promise<void> {
    const cli = findHardhat();
    if (cli === undefined) {
      throw new NodeError('NOT_FOUND', 'the hardhat package is not installed (npm ci in a checkout installs it)');
    }
    const log = createWriteStream(this.opts.logFile ?? join(this.dir, 'hardhat.log'), { flags: 'a' });
    const proc = spawn(process.execPath, [cli, 'node', '--hostname', '127.0.0.1', '--port', String(this.port)], {
      cwd: dirname(CONFIG),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        HARDHAT_CONFIG: CONFIG,
        CUSTOS_EVM_CHAIN_ID: String(this.chainId),
        CUSTOS_EVM_BLOCK_MS: String(this.blockIntervalMs),
        CUSTOS_EVM_GENESIS_TIME: String(this.genesisTime),
        CUSTOS_EVM_DIR: this.dir,
        HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
        DO_NOT_TRACK: '1',
      },
    });
    proc.stdout?.pipe(log, { end: false });
    proc.stderr?.pipe(log, { end: false });
    this.proc = proc;
    live.add(proc);
    this.exited = new Promise((resolve) => {
      proc.once('exit', () => {
        live.delete(proc);
        if (this.proc === proc) this.proc = undefined;
        log.end();
        resolve();
      });
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.proc !== proc) throw new Error(`hardhat node exited on start (log in ${this.dir})`);
      const id = await rpcChainId(this.rpcUrl);
      if (id !== undefined) {
        if (id !== this.chainId) throw new Error(`port ${this.port} answers chain ${id}, not ${this.chainId}`);
        // `hardhat node` turns its call log on; it stays on only when asked for (`logCalls`).
        if (this.opts.logCalls !== true) await rpcCaller(this.rpcUrl)('hardhat_setLoggingEnabled', [false]);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`hardhat node did not answer in ${START_TIMEOUT_MS} ms (log in ${this.dir})`);
  }
}

async function rpcChainId(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await res.json()) as { result?: string };
    return typeof body.result === 'string' ? Number.parseInt(body.result, 16) : undefined;
  } catch {
    return undefined;
  }
}
