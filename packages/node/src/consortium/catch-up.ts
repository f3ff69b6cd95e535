/**
 * Catch-up from other peers (DESIGN.md section 4): a peer that is behind fetches the missing blocks
 * from the others' HTTP APIs (GET /v1/blocks/:height), and applies each one only if it extends its
 * own chain and carries a valid quorum certificate over the checkpoint it computes itself
 * (`CustosNode.applyCertifiedBlock`). Blocks without a full certificate yet are left to the orderer.
 */
import { NodeError } from '../errors.js';
import type { CustosNode } from '../node.js';

export interface CatchUpOptions {
  /** Base URLs of other peers' HTTP APIs. */
  peers: string[];
  /** Per-request deadline. Default 10 s. */
  timeoutMs?: number;
  log?: (message: string) => void;
}

const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/** Applies every certified block the peers have beyond this node's head; resolves to how many it applied. */
export async function catchUpFromPeers(node: CustosNode, opts: CatchUpOptions): Promise<number> {
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const heads = await Promise.all(
    opts.peers.map(async (url) => {
      const b = await getJson(`${url}/v1/blocks/latest`, timeoutMs).catch(() => undefined);
      const h = (b as { height?: unknown } | undefined)?.height;
      return { url, height: typeof h === 'number' && Number.isSafeInteger(h) ? h : -1 };
    }),
  );
  const live = heads.filter((p) => p.height > node.latest().height).sort((a, b) => b.height - a.height);
  if (live.length === 0) return 0;
  const target = live[0]!.height;
  log(`catching up from ${node.latest().height} to ${target} (${live.length} peers ahead)`);
  let applied = 0;
  while (node.latest().height < target) {
    const h = node.latest().height + 1;
    let done = false;
    let lastError: unknown;
    for (const peer of live) {
      if (peer.height < h) continue;
      try {
        const block = (await getJson(`${peer.url}/v1/blocks/${h}`, timeoutMs)) as Record<string, unknown>;
        await node.applyCertifiedBlock({ header: block?.header, txs: block?.txs, qc: block?.qc });
        done = true;
        break;
      } catch (e) {
        if ((e as NodeError).code === 'DIVERGED' || (e as NodeError).code === 'NODE_STOPPED') throw e;
        lastError = e;
      }
    }
    if (!done) {
      // The newest blocks are often not final yet anywhere: the orderer delivers those.
      log(`no peer served block ${h} with a quorum certificate: ${(lastError as Error)?.message ?? 'none'}`);
      break;
    }
    applied++;
  }
  return applied;
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new NodeError('CATCH_UP_FAILED', `${url}: HTTP ${r.status}`);
  const len = Number(r.headers.get('content-length') ?? 0);
  if (len > MAX_BLOCK_BYTES) throw new NodeError('CATCH_UP_FAILED', `${url}: answer over ${MAX_BLOCK_BYTES} bytes`);
  const text = await r.text();
  if (text.length > MAX_BLOCK_BYTES) throw new NodeError('CATCH_UP_FAILED', `${url}: answer too large`);
  return JSON.parse(text) as unknown;
}
