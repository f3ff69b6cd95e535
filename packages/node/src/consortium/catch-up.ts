/**
 * Catch-up from other peers (docs/architecture.md#catch-up-and-snapshots): a peer that is behind
 * fetches the missing blocks from the others' HTTP APIs (GET /v1/replica/blocks/:height, signed
 * with a member key), and applies each one only if it extends its own chain and carries a valid
 * quorum certificate over the checkpoint it computes itself (`CustosNode.applyCertifiedBlock`).
 * A block the peer holds final without a quorum in its own certificate (final through a later one:
 * docs/architecture.md#finality) is applied with an anchor: the headers after it, from
 * GET /v1/blocks/:height, up to the first whose own certificate is a quorum.
 * Blocks without a full certificate yet are left to the orderer.
 */
import type { Signer } from '@custos/protocol/crypto';
import { signRequest } from '@custos/protocol/http';
import { NodeError } from '../errors.js';
import type { CertifiedAnchor, CustosNode } from '../node.js';
import { MAX_ANCHOR_HEADERS } from '../peer/certified.js';

export interface CatchUpOptions {
  /** Base URLs of other peers' HTTP APIs. */
  peers: string[];
  /**
   * A member key of this peer: whole blocks (GET /v1/replica/blocks/:height) are served to the
   * consortium's peers only, so each request is signed with it (RFC 9421).
   */
  signer?: Signer;
  /** Per-request deadline. Default 10 s. */
  timeoutMs?: number;
  log?: (message: string) => void;
}

const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
const MAX_STATUS_BYTES = 64 * 1024;
/** A block's header and certificate (GET /v1/blocks/:height shows a page of transaction ids at most). */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;

/** Largest header kept while looking for an anchor (a real one is under 1 KiB). */
const MAX_KEPT_HEADER_CHARS = 4096;

/** Later headers and a quorum over the last one, found at a peer: `headers[0]` is at height `from`. */
interface FoundAnchor {
  from: number;
  headers: unknown[];
  qc: unknown;
}

interface PeerHead {
  url: string;
  /** The latest height the peer says is final (certified by a quorum); -1 if unknown. */
  final: number;
  /** Set once the peer served a block that failed verification: it is not asked again. */
  distrusted: boolean;
}

/**
 * Applies every certified block the peers have beyond this node's head; resolves to how many it
 * applied. A peer that serves a block that does not verify (a forged certificate, another chain) is
 * not asked again; when every peer that claims a height final fails to serve a verifiable block
 * for it, catch-up fails with CATCH_UP_FAILED naming each peer's failure. Heights no peer claims
 * final yet are left to the orderer.
 */
export async function catchUpFromPeers(node: CustosNode, opts: CatchUpOptions): Promise<number> {
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const heads: PeerHead[] = await Promise.all(
    opts.peers.map(async (url) => ({ url, final: await finalHeightOf(url, timeoutMs), distrusted: false })),
  );
  const ahead = heads.filter((p) => p.final > node.latest().height).sort((a, b) => b.final - a.final);
  if (ahead.length === 0) return 0;
  const target = ahead[0]!.final;
  log(`catching up from ${node.latest().height} to ${target} (${ahead.length} peers ahead)`);
  let applied = 0;
  let anchor: FoundAnchor | undefined;
  while (node.latest().height < target) {
    const h = node.latest().height + 1;
    const failures: { peer: string; reason: string }[] = [];
    let done = false;
    for (const peer of ahead) {
      if (peer.final < h || peer.distrusted) continue;
      let block: Record<string, unknown>;
      const get = (path: string, maxBytes: number) => {
        const url = `${peer.url}${path}`;
        const headers = opts.signer === undefined ? {} : { ...signRequest({ method: 'GET', url }, opts.signer) };
        return getJson(url, timeoutMs, maxBytes, headers) as Promise<Record<string, unknown>>;
      };
      try {
        block = await get(`/v1/replica/blocks/${h}`, MAX_BLOCK_BYTES);
      } catch (e) {
        failures.push({ peer: peer.url, reason: (e as Error).message });
        continue;
      }
      const served = { header: block?.header, txs: block?.txs, qc: block?.qc, results: block?.results };
      try {
        const known = anchorAt(anchor, h);
        try {
          await node.applyCertifiedBlock(served, known);
        } catch (e) {
          // Final at the peer through a later certificate: find it there, then apply with it.
          if (known !== undefined || !uncertified(e)) throw e;
          anchor = await findAnchor(node, h, peer.final, (j) => get(`/v1/blocks/${j}`, MAX_HEADER_BYTES));
          await node.applyCertifiedBlock(served, anchorAt(anchor, h));
        }
        done = true;
        break;
      } catch (e) {
        const code = (e as NodeError).code;
        if (code === 'DIVERGED' || code === 'NODE_STOPPED') throw e;
        if (code === 'CATCH_UP_FAILED' && (e as Error).message.includes('moved on meanwhile')) {
          done = node.latest().height >= h;
          break;
        }
        // It claimed the height final and served something that does not verify: not believed again.
        peer.distrusted = true;
        const why = (e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : '';
        failures.push({ peer: peer.url, reason: `${(e as Error).message}${why}` });
        log(`peer ${peer.url} served an unverifiable block ${h}; not asking it again`);
      }
    }
    if (!done) {
      if (failures.length === 0) break;
      throw new NodeError(
        'CATCH_UP_FAILED',
        `no peer served block ${h} with a valid quorum certificate: ${failures.map((f) => `${f.peer}: ${f.reason}`).join('; ')}`,
        { details: { height: h, failures } },
      );
    }
    applied++;
  }
  return applied;
}

/** Whether `e` says only that the block's own certificate is not a quorum. */
function uncertified(e: unknown): boolean {
  return (e as NodeError).code === 'CATCH_UP_FAILED' && (e as NodeError).details?.uncertified === true;
}

/** The part of `anchor` that certifies block `h`, if it reaches past `h`. */
function anchorAt(anchor: FoundAnchor | undefined, h: number): CertifiedAnchor | undefined {
  if (anchor === undefined || anchor.from > h + 1 || anchor.from + anchor.headers.length - 1 <= h) return undefined;
  return { headers: anchor.headers.slice(h + 1 - anchor.from), qc: anchor.qc };
}

/**
 * The first block after `h`, up to the peer's final height `final`, whose own certificate is a
 * quorum, with the headers on the way; CATCH_UP_FAILED when there is none within reach.
 */
async function findAnchor(
  node: CustosNode,
  h: number,
  final: number,
  blockAt: (height: number) => Promise<Record<string, unknown>>,
): Promise<FoundAnchor> {
  const last = Math.min(final, h + MAX_ANCHOR_HEADERS);
  const headers: unknown[] = [];
  for (let j = h + 1; j <= last; j++) {
    const b = await blockAt(j);
    // Only the header is kept, and a header is a few hundred bytes: a peer cannot fill memory here.
    if (JSON.stringify(b?.header ?? null).length > MAX_KEPT_HEADER_CHARS) {
      throw new NodeError(
        'CATCH_UP_FAILED',
        `block ${j}: expected a header of at most ${MAX_KEPT_HEADER_CHARS} characters`,
      );
    }
    headers.push(b?.header);
    if (node.certifies(b?.header, b?.qc)) return { from: h + 1, headers, qc: b.qc };
  }
  throw new NodeError(
    'CATCH_UP_FAILED',
    `block ${h} has no quorum certificate, and no later block up to ${last} has one to certify it`,
    { details: { uncertified: true } },
  );
}

/** The peer's latest final height (GET /v1/finality), -1 when it does not answer. */
async function finalHeightOf(url: string, timeoutMs: number): Promise<number> {
  try {
    const f = (await getJson(`${url}/v1/finality`, timeoutMs, MAX_STATUS_BYTES)) as { final?: unknown };
    return typeof f?.final === 'number' && Number.isSafeInteger(f.final) && f.final >= -1 ? f.final : -1;
  } catch {
    return -1;
  }
}

/** GET `url` as JSON, reading at most `maxBytes` of the answer (a peer's answer is attacker-controlled). */
export async function getJson(
  url: string,
  timeoutMs: number,
  maxBytes: number,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) {
    await r.body?.cancel().catch(() => {});
    throw new NodeError('CATCH_UP_FAILED', `${url}: HTTP ${r.status}`);
  }
  const text = new TextDecoder().decode(await readBounded(r, maxBytes, url));
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new NodeError('CATCH_UP_FAILED', `${url}: expected JSON`, { cause: e });
  }
}

/** The body of `r`, failing with CATCH_UP_FAILED past `maxBytes` (whatever Content-Length claims). */
export async function readBounded(r: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const tooLarge = () => new NodeError('CATCH_UP_FAILED', `${url}: answer over ${maxBytes} bytes`);
  if (Number(r.headers.get('content-length') ?? 0) > maxBytes) {
    await r.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (r.body === null) return new Uint8Array(0);
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
