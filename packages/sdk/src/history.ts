/**
 * The right to know, checked by the customer: fetch every page of a pseudonym's report and verify it
 * against the member set the customer trusts (pinned from genesis), so that nothing a peer says is
 * shown unless a quorum of members certified it, and nothing was left out (the report proves its
 * own completeness: every listed record and request, every event).
 */
import { nobleVerifier, type Verifier } from '@custos/protocol/crypto';
import { ProtocolError } from '@custos/protocol/errors';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type EventFact,
  type Genesis,
  type GenesisMember,
  type LogEntry,
  type MemberSet,
  type MemberSetChain,
  memberSetOf,
  type QuorumCertificate,
  type SignedTx,
  type StateFact,
  type SubjectReport,
  verifySubjectReport,
  xtxOpBodies,
} from '@custos/protocol/ledger';
import type { CustosClient } from './client.js';
import type { CallOptions } from './transport/http.js';

/** What a verifier trusts: the chain and its members with their keys, as the genesis names them. */
export interface TrustAnchor {
  chainId: string;
  threshold: number;
  members: GenesisMember[];
  /**
   * The member-set epochs verified since genesis (`CustosClient.verifiedMemberSets`): certificates
   * are then checked against the set in force at their height, not the genesis set.
   */
  epochs?: MemberSetChain;
}

/** The trust anchor of a genesis document (take it once, from a source you trust, and pin it). */
export function trustFromGenesis(g: Genesis): TrustAnchor {
  return {
    chainId: g.chainId,
    threshold: g.threshold,
    members: g.members.map((m) => ({ id: m.id, name: m.name, keys: [...m.keys] })),
  };
}

/** What `verifyProofBundle` and `verifySubjectReport` take: the verified epochs if any, else the genesis set. */
export function trustedMembersOf(t: TrustAnchor): MemberSet | MemberSetChain {
  return t.epochs !== undefined && t.epochs.chainId === t.chainId ? t.epochs : memberSetOf(t);
}

/** A subject's whole history, every page verified. */
export interface VerifiedHistory {
  chainId: string;
  /** The height of the last page's certificate: the state shown is as of this block. */
  height: number;
  subject: string;
  /** The certificate of the last page (the one the facts were checked against). */
  certificate: QuorumCertificate;
  facts: { key: string; value: JsonValue | null }[];
  events: { tx: SignedTx; entry: LogEntry }[];
  /** Proven number of events in the history; `events` holds exactly that many. */
  historyCount: number;
}

/** Events per page: the most one report may carry. */
const PAGE_LIMIT = 1000;
const MAX_PAGES = 10_000;

/** Fetches every page of the report on `did`, following the cursor. */
export async function fetchHistory(client: CustosClient, did: string, opts?: CallOptions): Promise<SubjectReport[]> {
  const pages: SubjectReport[] = [];
  let after: number | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await client.subjectReport(
      did,
      after === undefined ? { limit: PAGE_LIMIT } : { after, limit: PAGE_LIMIT },
      opts,
    );
    pages.push(page);
    const next = (page as { next?: unknown } | null)?.next;
    if (next === null) return pages;
    if (typeof next !== 'number' || !Number.isSafeInteger(next) || (after !== undefined && next <= after)) {
      throw new ProtocolError('BAD_PROOF', 'the node answered with a report cursor that does not advance');
    }
    after = next;
  }
  throw new ProtocolError('BAD_PROOF', `expected a history of at most ${MAX_PAGES} pages`);
}

/**
 * Verifies the pages of one subject's report against `trust` and merges them. The report must be
 * about `did` on the trusted chain, prove that it is complete, hold exactly the proven number of
 * events in log order, and every event must concern this subject (signed by it, or naming it or one
 * of its records or requests). Throws `BAD_PROOF` / `BAD_CERTIFICATE` saying what failed.
 */
export function verifyHistory(
  pages: readonly unknown[],
  trust: TrustAnchor,
  did: string,
  verifier: Verifier = nobleVerifier,
): VerifiedHistory {
  const members = trustedMembersOf(trust);
  let last: ReturnType<typeof verifySubjectReport> | undefined;
  let certificate: QuorumCertificate | undefined;
  const events: VerifiedHistory['events'] = [];
  let lastLeaf = -1;
  for (const page of pages) {
    const v = verifySubjectReport(page, members, verifier, trust.chainId);
    if (v.chainId !== trust.chainId) {
      throw bad(`the report is for chain '${v.chainId}', the genesis for '${trust.chainId}'`);
    }
    if (v.subject !== did) throw bad(`asked for the history of ${did}, got one of ${v.subject.slice(0, 80)}`);
    if (last !== undefined && v.height < last.height) throw bad('a later page was certified at an older height');
    const raw = (page as SubjectReport).events;
    v.events.forEach((e, i) => {
      const leaf = raw[i]?.leafIndex ?? -1;
      if (leaf <= lastLeaf) throw bad('expected the events in log order, each once');
      lastLeaf = leaf;
      events.push(e);
    });
    last = v;
    certificate = (page as SubjectReport).certificate;
  }
  if (last === undefined || certificate === undefined) throw bad('expected at least one report page');
  if (!last.complete) throw bad(`the report on ${did} does not prove that it lists every record, request and consent`);
  if (events.length !== last.historyCount) {
    throw bad(`the ledger proves ${last.historyCount} events in the history of ${did}, the node sent ${events.length}`);
  }
  const mine = new Set([did]);
  for (const f of last.facts) {
    const m = /^(record|request|rectify)\/[^/]+\/([0-9a-f]{64})$/.exec(f.key);
    if (m && f.value !== null && (f.value as { subject?: unknown }).subject === did) mine.add(m[2]!);
  }
  for (const e of events) {
    const b = e.tx.body;
    // A cross-chain transaction's prepare and finalize concern her through the operations they carry.
    const bodies = [b, ...(b.type.startsWith('xtx.') ? xtxOpBodies(b.args.xtx) : [])];
    if (
      !bodies.some(
        (x) => x.signer === did || argStrings(x.args as { [key: string]: JsonValue }).some((s) => mine.has(s)),
      )
    ) {
      throw bad(`event ${e.entry.txId} (${b.type.slice(0, 40)}) does not concern ${did}`);
    }
  }
  return {
    chainId: last.chainId,
    height: last.height,
    subject: did,
    certificate,
    facts: last.facts,
    events,
    historyCount: last.historyCount,
  };
}

/** The proof of one fact (a state key) in verified pages: the fact, its proof and its certificate. */
export function factProof(
  pages: readonly SubjectReport[],
  key: string,
): { fact: StateFact; certificate: QuorumCertificate } | undefined {
  for (let i = pages.length - 1; i >= 0; i--) {
    const p = pages[i]!;
    const fact = p.facts.find((f) => f.key === key);
    if (fact !== undefined) return { fact, certificate: p.certificate };
  }
  return undefined;
}

/** The inclusion proof of one event in verified pages: the event, its path and its certificate. */
export function eventProof(
  pages: readonly SubjectReport[],
  txId: string,
): { event: EventFact; certificate: QuorumCertificate } | undefined {
  for (const p of pages) {
    const event = p.events.find((e) => e.entry.txId === txId);
    if (event !== undefined) return { event, certificate: p.certificate };
  }
  return undefined;
}

/** Every string in a transaction's arguments, and in its arrays and objects one level down. */
function argStrings(args: { [key: string]: JsonValue }): string[] {
  const out: string[] = [];
  for (const v of Object.values(args)) {
    const items = typeof v === 'object' && v !== null ? Object.values(v) : [v];
    for (const x of items) if (typeof x === 'string') out.push(x);
  }
  return out;
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_PROOF', message);
}
