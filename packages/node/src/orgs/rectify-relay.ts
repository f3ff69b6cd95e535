/**
 * Corrections across a consortium (issue 17, ADR 0018): the customer delivers a sealed correction
 * to the peer they talk to, which may be another member's. That peer checks the envelope against
 * the digest the ledger holds and keeps it (`RectifyService.receive` answers `RELAYED`); the org's
 * own node, which sees the committed `rectify.send` in its state, fetches the envelope from the
 * other peers (`GET /v1/orgs/:org/inbox/:id`, signed with the org's member key, the answer read up
 * to a bound) and applies it. On start, and on every pass, the org's node resumes every item it
 * received or wrote but the ledger does not hold as applied yet.
 */

import { MAX_ENVELOPE_BYTES } from '@custos/protocol/hpke';
import { signRequest } from '@custos/protocol/http';
import { getJson } from '../consortium/catch-up.js';
import type { CustosNode } from '../node.js';
import type { OrgLog, OrgService } from './org-service.js';
import { rectifyServiceOf } from './rectify-service.js';

export interface RectifyRelayOptions {
  /** Base URLs of the other peers' HTTP APIs (consortium.json `peers`). */
  peers: readonly string[];
  /** How often a pass runs, ms (default 5 s); a new block also starts one. */
  intervalMs?: number;
  /** Longest wait for one peer's answer, ms (default 5 s). */
  timeoutMs?: number;
  log?: OrgLog;
}

/** Items fetched per org and pass: the rest wait for the next pass. */
const MAX_ITEMS_PER_PASS = 64;
/** Longest wait before an item no peer held is asked for again. */
const MAX_BACKOFF_MS = 5 * 60_000;

export class RectifyRelay {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Items no peer held yet: when to ask again, and the current wait. */
  private readonly retry = new Map<string, { at: number; wait: number }>();
  private readonly onBlock = () => void this.pass();

  constructor(
    private readonly node: CustosNode,
    private readonly orgs: OrgService,
    private readonly opts: RectifyRelayOptions,
  ) {}

  /** Resumes pending items now, then fetches and applies envelopes on every block and every interval. */
  start(): Promise<void> {
    this.node.on('block', this.onBlock);
    this.timer = setInterval(() => void this.pass(), this.opts.intervalMs ?? 5000);
    this.timer.unref?.();
    return this.pass();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.node.off('block', this.onBlock);
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }

  /** One pass (or, if one is running, one more after it). Never rejects: errors go to the log. */
  pass(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.once().catch((e: unknown) =>
          this.opts.log?.({
            event: 'rectify-relay-failed',
            code: (e as { code?: string }).code ?? 'INTERNAL',
            message: (e as Error).message,
          }),
        );
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async once(): Promise<void> {
    const service = rectifyServiceOf(this.node, this.orgs);
    service.pruneRelayed();
    for (const org of this.orgs.localOrgs()) {
      if (this.stopped) return;
      await service.resume(org);
      const signer = this.orgs.signerOf(org);
      if (signer === undefined || this.opts.peers.length === 0) continue;
      const now = Date.now();
      for (const id of service.awaitingEnvelopes(org, MAX_ITEMS_PER_PASS)) {
        if (this.stopped) return;
        const key = `${org}/${id}`;
        const r = this.retry.get(key);
        if (r !== undefined && r.at > now) continue;
        const envelope = await this.fetchFromPeers(org, id, signer);
        if (envelope === undefined) {
          const wait = Math.min(MAX_BACKOFF_MS, (r?.wait ?? 500) * 2);
          this.retry.set(key, { at: now + wait, wait });
          continue;
        }
        this.retry.delete(key);
        try {
          const res = await service.receive(org, id, envelope);
          this.opts.log?.({ event: 'rectify-fetched', org, item: id, code: res.code });
        } catch (e) {
          this.opts.log?.({
            event: 'rectify-fetched',
            org,
            item: id,
            code: (e as { code?: string }).code ?? 'INTERNAL',
          });
        }
      }
    }
  }

  /** The envelope of item `id` from the first peer that holds it, or undefined. */
  private async fetchFromPeers(
    org: string,
    id: string,
    signer: NonNullable<ReturnType<OrgService['signerOf']>>,
  ): Promise<unknown> {
    for (const peer of this.opts.peers) {
      const url = `${peer.replace(/\/+$/, '')}/v1/orgs/${org}/inbox/${id}`;
      try {
        const body = (await getJson(url, this.opts.timeoutMs ?? 5000, MAX_ENVELOPE_BYTES * 2, {
          ...signRequest({ method: 'GET', url }, signer),
        })) as { envelope?: unknown };
        if (body?.envelope !== undefined) return body.envelope;
      } catch {
        // Not there (404), unreachable or too large: the next peer.
      }
    }
    return undefined;
  }
}
