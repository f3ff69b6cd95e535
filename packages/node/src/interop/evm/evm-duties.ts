/**
 * A member peer's EVM duties, configured per node in `<home>/evm.json` (docs/operations.md): for
 * each EVM chain, the member's own JSON-RPC endpoint and how many confirmations make a block final
 * to it; for each org of this home that takes part, its EVM keystore. The peer then attests the
 * EVM headers the decision chain needs (`EvmAttester`) and signs the decisions it records for EVM
 * participants (`EvmDecisionSigner`), each in a loop that runs on every new block of the decision
 * chain, and every `intervalMs` at least. After a rotation, `outgoingEvmKeystore`
 * (optional) names the org's previous key, which then co-signs the member-set update removing it.
 *
 * ```json
 * { "chains": [{ "rpcUrl": "http://127.0.0.1:8545", "confirmations": 12 }],
 *   "orgs": { "bank": { "evmKeystore": "keys/bank-evm.json" } }, "intervalMs": 2000 }
 * ```
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Signer } from '@custos/protocol/crypto';
import { NodeError } from '../../errors.js';
import { readBoundedFile } from '../../files.js';
import { loadEvmKey } from '../../keys/keystore.js';
import type { CustosNode } from '../../node.js';
import { type ChainEndpoint, nodeEndpoint } from '../endpoint.js';
import { untilNewBlock } from '../until-new-block.js';
import { EVM_CONFIG_FILE } from './evm-config-file.js';
import { EvmAttester, EvmDecisionSigner } from './member-duties.js';

export { EVM_CONFIG_FILE };

const MAX_CONFIG_BYTES = 16 * 1024;
/** How often, at most, the attesters' loop asks its endpoint for the EVM head while it waits. */
const HEAD_POLL_MS = 250;

export interface EvmDutiesConfig {
  chains: { rpcUrl: string; confirmations: number; headEvery?: number }[];
  orgs: { [org: string]: { evmKeystore: string; outgoingEvmKeystore?: string } };
  intervalMs?: number;
}

/** Parses an untrusted `evm.json`; `BAD_REQUEST` naming the field that is wrong. */
export function parseEvmDutiesConfig(doc: unknown): EvmDutiesConfig {
  const bad = (m: string) => new NodeError('BAD_REQUEST', `${EVM_CONFIG_FILE}: ${m}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('expected a JSON object');
  const { chains, orgs, intervalMs, ...rest } = doc as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw bad(`unexpected field '${Object.keys(rest)[0]?.slice(0, 40)}'`);
  if (!Array.isArray(chains) || chains.length === 0 || chains.length > 8)
    throw bad('expected chains: 1 to 8 EVM chains');
  const int = (v: unknown, min: number, max: number) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
  for (const [i, c] of chains.entries()) {
    const { rpcUrl, confirmations, headEvery, ...more } = (c ?? {}) as Record<string, unknown>;
    if (Object.keys(more).length > 0)
      throw bad(`chains[${i}]: unexpected field '${Object.keys(more)[0]?.slice(0, 40)}'`);
    if (typeof rpcUrl !== 'string' || rpcUrl.length > 512 || !/^https?:\/\/[^\s]+$/.test(rpcUrl)) {
      throw bad(`chains[${i}].rpcUrl: expected an http(s) URL`);
    }
    if (!int(confirmations, 0, 10_000)) throw bad(`chains[${i}].confirmations: expected an integer from 0 to 10000`);
    if (headEvery !== undefined && !int(headEvery, 1, 10_000)) {
      throw bad(`chains[${i}].headEvery: expected an integer from 1 to 10000`);
    }
  }
  if (typeof orgs !== 'object' || orgs === null || Array.isArray(orgs) || Object.keys(orgs).length === 0) {
    throw bad('expected orgs: {"<org>": {"evmKeystore": "<file>"}}');
  }
  for (const [org, o] of Object.entries(orgs)) {
    const { evmKeystore, outgoingEvmKeystore, ...more } = (o ?? {}) as Record<string, unknown>;
    const file = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 512;
    if (
      !file(evmKeystore) ||
      (outgoingEvmKeystore !== undefined && !file(outgoingEvmKeystore)) ||
      Object.keys(more).length > 0
    ) {
      throw bad(
        `orgs.${org.slice(0, 40)}: expected {"evmKeystore": "<file>"} and optionally "outgoingEvmKeystore": "<file>"`,
      );
    }
  }
  if (intervalMs !== undefined && !int(intervalMs, 100, 600_000)) throw bad('intervalMs: expected 100 to 600000');
  return doc as EvmDutiesConfig;
}

/** The duties `<home>/evm.json` configures, not started; undefined without the file. */
export function loadEvmDuties(
  home: string,
  node: CustosNode,
  orgSigners: Map<string, Signer>,
  passphrase: string,
  log: (message: string) => void,
): EvmDuties | undefined {
  const path = join(home, EVM_CONFIG_FILE);
  if (!existsSync(path)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(
      readBoundedFile(path, { what: 'the EVM configuration', maxBytes: MAX_CONFIG_BYTES }).toString('utf8'),
    );
  } catch (e) {
    if (e instanceof NodeError) throw e;
    throw new NodeError('BAD_REQUEST', `${EVM_CONFIG_FILE}: expected JSON`);
  }
  const config = parseEvmDutiesConfig(doc);
  const ep = nodeEndpoint(node);
  const attesters: EvmAttester[] = [];
  const signers: EvmDecisionSigner[] = [];
  for (const [org, o] of Object.entries(config.orgs)) {
    const signer = orgSigners.get(org);
    if (signer === undefined)
      throw new NodeError('BAD_REQUEST', `${EVM_CONFIG_FILE}: this peer does not hold the keys of org '${org}'`);
    const load = (file: string) => loadEvmKey(isAbsolute(file) ? file : join(home, file), passphrase);
    const evmKey = load(o.evmKeystore);
    const outgoing = o.outgoingEvmKeystore === undefined ? {} : { outgoingKey: load(o.outgoingEvmKeystore) };
    signers.push(new EvmDecisionSigner({ chain: ep, signer, evmKey, ...outgoing }));
    for (const c of config.chains) {
      attesters.push(
        new EvmAttester({
          chain: ep,
          signer,
          rpcUrl: c.rpcUrl,
          confirmations: c.confirmations,
          ...(c.headEvery === undefined ? {} : { headEvery: c.headEvery }),
        }),
      );
    }
  }
  return new EvmDuties(attesters, signers, config.intervalMs ?? 2000, log, ep);
}

/**
 * The loops running a peer's attesters and its decision signers, each its own loop: after a pass,
 * each waits for the decision chain's next block (its endpoint's `nextBlock`, a peer's own node),
 * or `intervalMs` at most, so a signature follows the block recording a decision rather than a timer.
 */
export class EvmDuties {
  private readonly abort = new AbortController();
  private running: Promise<void>[] = [];
  private initialized = false;
  /** Last failure message of each loop, logged once until it changes (an endpoint down is not logged every pass). */
  private readonly lastError = { attest: '', sign: '' };

  constructor(
    private readonly attesters: EvmAttester[],
    private readonly signers: EvmDecisionSigner[],
    private readonly intervalMs: number,
    private readonly log: (message: string) => void,
    /** The decision chain, whose new blocks start the next passes; without one, every `intervalMs`. */
    private readonly chain?: ChainEndpoint,
  ) {}

  /** One pass of every attester and signer. */
  async step(): Promise<void> {
    await this.attest();
    await this.sign();
  }

  private async attest(): Promise<void> {
    await this.guard('attest', async () => {
      if (!this.initialized) {
        for (const a of this.attesters) await a.init();
        this.initialized = true;
      }
      for (const a of this.attesters) await a.step();
    });
  }

  private async sign(): Promise<void> {
    await this.guard('sign', async () => {
      for (const s of this.signers) await s.step();
    });
  }

  private async guard(loop: 'attest' | 'sign', pass: () => Promise<void>): Promise<void> {
    try {
      await pass();
      this.lastError[loop] = '';
    } catch (e) {
      const message = `EVM duties: ${(e as Error).message}`;
      if (message !== this.lastError[loop]) this.log(message);
      this.lastError[loop] = message;
    }
  }

  start(): void {
    const signal = this.abort.signal;
    const loop = async (pass: () => Promise<void>, also: ((signal: AbortSignal) => Promise<void>)[]) => {
      while (!signal.aborted) {
        const seen = await this.height();
        await pass();
        if (signal.aborted) return;
        await untilNewBlock(
          this.chain === undefined || seen === undefined ? [] : [[this.chain, seen]],
          this.intervalMs,
          signal,
          also,
        );
      }
    };
    // The attesters also wake on a new EVM head (a `decide` mined brings no block to the decision chain).
    const pollMs = Math.min(this.intervalMs, HEAD_POLL_MS);
    const heads = this.attesters.map((a) => (s: AbortSignal) => a.nextHead(pollMs, s));
    this.running = [loop(() => this.attest(), heads), loop(() => this.sign(), [])];
  }

  /** The decision chain's height now, if this loop has one to wait on. */
  private async height(): Promise<number | undefined> {
    try {
      return this.chain === undefined ? undefined : (await this.chain.info()).height;
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }
}
