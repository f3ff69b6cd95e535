/**
 * A customer's data export through any member's peer (issue 19 item 4, ADR 0021). The export waits
 * on the node holding the org's vault; a customer who talks to another member's peer asks that peer
 * (`GET /v1/subjects/:did/exports/:request?org=`), which finds the org's node among its peers (its
 * public `GET /v1/orgs`) and fetches the export from it over the peers' channel:
 * `GET /v1/orgs/:org/exports/:request`, signed by one of its own member keys and carrying the
 * customer's own signature of their download, forwarded as it came, so the org's node checks that
 * the subject asked, within the signature's window, once. The relaying peer checks the envelope
 * against the digest `request.fulfil` committed to and hands it over; it holds it in memory for
 * that one answer, never writes or logs it, and cannot open it (sealed to the customer's pairwise
 * key). It learns the request id, the org, the envelope's size bucket (it is padded) and when it
 * was fetched. The org's node keeps the export until the customer confirms they have it
 * (`DELETE`, relayed the same way) or it expires, so a relay that fails them can be retried.
 */
import { type ExportEnvelope, exportDigest, MAX_EXPORT_BYTES, parseExportEnvelope } from '@custos/protocol/data-export';
import { ProtocolError } from '@custos/protocol/errors';
import { signRequest } from '@custos/protocol/http';
import type { DataRequest } from '@custos/protocol/ledger';
import { readBounded } from '../consortium/catch-up.js';
import { NodeError, type NodeErrorCode } from '../errors.js';
import type { CustosNode } from '../node.js';
import type { WaitingExport } from './export-service.js';
import type { OrgService } from './org-service.js';

/** The headers that carry the customer's signature of their download from the relaying peer to the org's node. */
export const FORWARDED_SIGNATURE_HEADERS = {
  input: 'custos-subject-signature-input',
  signature: 'custos-subject-signature',
  target: 'custos-subject-target',
} as const;
/** Longest forwarded header value accepted. */
export const MAX_FORWARDED_HEADER = 2048;
/** Most bytes of an org node's answer: the largest envelope, in base64url, and its JSON around it. */
export const MAX_RELAYED_EXPORT_BYTES = Math.ceil((MAX_EXPORT_BYTES * 4) / 3) + 64 * 1024;
/** Most bytes of a peer's `GET /v1/orgs` or problem answer. */
const MAX_SMALL_ANSWER = 64 * 1024;
/** How long a peer found serving an org is asked first without looking again. */
const LOCATE_TTL_MS = 60_000;
/** Codes of the org node's refusal passed on to the customer as they are. */
const PASSED_ON = new Set<string>([
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'SIGNATURE_EXPIRED',
  'REPLAYED_REQUEST',
]);

export interface ExportRelayOptions {
  /** Base URLs of the other peers' HTTP APIs (consortium.json `peers`). */
  peers: readonly string[];
  /** Longest wait for one peer's answer, ms (default 10 s). */
  timeoutMs?: number;
}

/** The customer's signature of their download, as the relaying peer forwards it. */
export type ForwardedSignature = Record<
  (typeof FORWARDED_SIGNATURE_HEADERS)[keyof typeof FORWARDED_SIGNATURE_HEADERS],
  string
>;

/** Said of a failure after the org's node handed the export over: it still waits there. */
const SERVED = ' (it still waits there until you confirm your download: try again, through this or any peer)';

const unreachable = (org: string, why: string, cause?: unknown) =>
  new NodeError(
    'NODE_UNREACHABLE',
    `the node of org '${org}' that holds this export ${why} through this peer; nothing was consumed, retry later`,
    cause === undefined ? {} : { cause },
  );

export class ExportRelay {
  /** org -> the peer found serving it, and until when that is trusted without asking again. */
  private readonly located = new Map<string, { peer: string; until: number }>();

  constructor(
    private readonly node: CustosNode,
    private readonly orgs: OrgService,
    private readonly opts: ExportRelayOptions,
  ) {}

  /**
   * Fetches the export of `requestId` at `org` for `subject` from the org's node and checks it
   * against the ledger. Throws NOT_FOUND when the request is not the subject's or has no export,
   * NODE_UNREACHABLE (retryable) when the org's node cannot be reached, and BAD_CIPHERTEXT when
   * it answers with an envelope other than the one committed.
   */
  async fetch(org: string, subject: string, requestId: string, forwarded: ForwardedSignature): Promise<WaitingExport> {
    const { res, r, url } = await this.forward('GET', org, subject, requestId, forwarded);
    let body: { envelope?: unknown; createdAt?: unknown; expiresAt?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await readBounded(res, MAX_RELAYED_EXPORT_BYTES, url)));
    } catch (cause) {
      throw new ProtocolError('BAD_CIPHERTEXT', `the node of org '${org}' answered with no readable export${SERVED}`, {
        cause,
      });
    }
    let envelope: ExportEnvelope;
    try {
      envelope = parseExportEnvelope(body?.envelope);
    } catch (cause) {
      throw new ProtocolError('BAD_CIPHERTEXT', `the node of org '${org}' served no export envelope${SERVED}`, {
        cause,
      });
    }
    if (exportDigest(envelope) !== r.export.digest) {
      throw new ProtocolError(
        'BAD_CIPHERTEXT',
        `the node of org '${org}' served an envelope whose SHA-256 is not the digest request.fulfil committed to${SERVED}`,
      );
    }
    const time = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : 0);
    return {
      org,
      request: requestId,
      digest: r.export.digest,
      records: r.export.records,
      createdAt: time(body.createdAt),
      expiresAt: time(body.expiresAt),
      envelope,
    };
  }

  /** Passes the customer's confirmation of their download to the org's node, which deletes the export there. */
  async confirm(org: string, subject: string, requestId: string, forwarded: ForwardedSignature): Promise<boolean> {
    const { res, url } = await this.forward('DELETE', org, subject, requestId, forwarded);
    let body: { confirmed?: unknown } = {};
    try {
      body = JSON.parse(new TextDecoder().decode(await readBounded(res, MAX_SMALL_ANSWER, url)));
    } catch {
      // An unreadable answer to a 2xx: the org's node deleted it all the same.
    }
    return body.confirmed !== false;
  }

  /** Sends the customer's `method` on their export to the org's node, signed by a member key of this peer. */
  private async forward(
    method: 'GET' | 'DELETE',
    org: string,
    subject: string,
    requestId: string,
    forwarded: ForwardedSignature,
  ): Promise<{ res: Response; r: DataRequest & { export: NonNullable<DataRequest['export']> }; url: string }> {
    const text = this.node.store.getState(`request/${org}/${requestId}`);
    const r = text === undefined ? undefined : (JSON.parse(text) as DataRequest);
    if (r === undefined || r.subject !== subject) {
      throw new NodeError('NOT_FOUND', `no request ${requestId} of this subject at org '${org}' on the ledger`);
    }
    if (r.export === undefined) {
      throw new NodeError('NOT_FOUND', `request ${requestId} was not answered with an export (yet)`);
    }
    const signer = this.orgs
      .localOrgs()
      .map((o) => this.orgs.signerOf(o))
      .find((s) => s !== undefined);
    if (signer === undefined) throw new NodeError('NOT_FOUND', 'this peer holds no member key to relay with');
    const peer = await this.locate(org);
    const url = `${peer}/v1/orgs/${org}/exports/${requestId}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...signRequest({ method, url }, signer), ...forwarded },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (cause) {
      this.located.delete(org);
      throw unreachable(org, 'did not answer', cause);
    }
    if (!res.ok) throw await this.refusal(org, res);
    return { res, r: r as DataRequest & { export: NonNullable<DataRequest['export']> }, url };
  }

  /** The org node's refusal, passed on in its words when it concerns the customer's request. */
  private async refusal(org: string, res: Response): Promise<NodeError> {
    let p: { code?: unknown; detail?: unknown } = {};
    try {
      p = JSON.parse(new TextDecoder().decode(await readBounded(res, MAX_SMALL_ANSWER, 'the org node')));
    } catch {
      // No problem body: judged by its status alone.
    }
    if (typeof p.code === 'string' && PASSED_ON.has(p.code)) {
      const detail = typeof p.detail === 'string' ? p.detail.slice(0, 300) : `HTTP ${res.status}`;
      return new NodeError(p.code as NodeErrorCode, `the node of org '${org}' answered: ${detail}`);
    }
    if (res.status === 429) return unreachable(org, 'is busy (429)');
    return unreachable(org, `failed (HTTP ${res.status})`);
  }

  /** The base URL of the peer serving `org`: the first whose public `GET /v1/orgs` lists it. */
  private async locate(org: string): Promise<string> {
    const hit = this.located.get(org);
    if (hit !== undefined && hit.until > Date.now()) return hit.peer;
    let failed = 0;
    for (const raw of this.opts.peers) {
      const peer = raw.replace(/\/+$/, '');
      try {
        const res = await fetch(`${peer}/v1/orgs`, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
        const body = res.ok
          ? (JSON.parse(new TextDecoder().decode(await readBounded(res, MAX_SMALL_ANSWER, peer))) as {
              local?: unknown;
            })
          : {};
        if (!res.ok) await res.body?.cancel().catch(() => {});
        if (Array.isArray(body.local) && body.local.includes(org)) {
          this.located.set(org, { peer, until: Date.now() + LOCATE_TTL_MS });
          return peer;
        }
      } catch {
        failed++;
      }
    }
    if (failed > 0)
      throw unreachable(org, `could not be reached (${failed} of ${this.opts.peers.length} peers did not answer)`);
    throw new NodeError('NOT_FOUND', `none of this peer's ${this.opts.peers.length} peers serves org '${org}'`);
  }
}
