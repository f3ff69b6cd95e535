/**
 * The right to know, verifiable: everything a ledger says about one data subject (a pairwise
 * pseudonym), each fact with a proof against ONE quorum certificate. A wallet checks the whole report
 * with `verifySubjectReport` and the member set from genesis, without trusting the peer that built it.
 */
import { describe, fromHex, isHex, utf8 } from '../bytes.js';
import { nobleVerifier, type Verifier } from '../crypto/ed25519.js';
import { ProtocolError } from '../errors.js';
import { canonicalize, type JsonValue } from '../jcs.js';
import { leafHash, verifyInclusion } from '../merkle/rfc9162.js';
import { parseStateProof, type StateProofJson, verifyStateProof } from '../state/proof.js';
import { type LogEntry, logEntryBytes } from './block.js';
import { checkCheckpointShape, type MemberSet, type QuorumCertificate, verifyQuorumCertificate } from './checkpoint.js';
import { type MemberSetChain, memberSetForHeight } from './member-epochs.js';
import { parseTx, type SignedTx } from './tx.js';

export const SUBJECT_REPORT = 'custos/subject-report/v1';
export const MAX_REPORT_EVENTS = 1000;
export const MAX_REPORT_FACTS = 2000;

/** A state key's value (null: absent) with its proof. */
export interface StateFact {
  key: string;
  value: JsonValue | null;
  proof: StateProofJson;
}

/** A transaction in the subject's history with its log entry and inclusion path. */
export interface EventFact {
  tx: SignedTx;
  entry: LogEntry;
  leafIndex: number;
  path: string[];
}

export interface SubjectReport {
  type: typeof SUBJECT_REPORT;
  subject: string;
  certificate: QuorumCertificate;
  /** Current state about the subject: consents, opt-outs, records, requests. */
  facts: StateFact[];
  /** The subject's history, oldest first, from `cursor` on. */
  events: EventFact[];
  /** Pass as `after` to get the next page; null when this is the last one. */
  next: number | null;
}

export interface VerifiedSubjectReport {
  chainId: string;
  height: number;
  subject: string;
  facts: { key: string; value: JsonValue | null }[];
  events: { tx: SignedTx; entry: LogEntry }[];
  /**
   * True when the report provably holds every record and request listed under the subject, and the
   * consent and opt-out state for every member org: nothing was left out.
   */
  complete: boolean;
  /** Proven number of transactions in the subject's whole history (all pages together). */
  historyCount: number;
}

/**
 * Verifies every fact and event of a report against its certificate, and the certificate against the
 * member set (given a chain of member-set epochs, the set in force at the certificate's height).
 * Throws `BAD_PROOF` / `BAD_CERTIFICATE` naming the first thing that fails.
 */
export function verifySubjectReport(
  report: unknown,
  members: MemberSet | MemberSetChain,
  verifier: Verifier = nobleVerifier,
  chainId?: string,
): VerifiedSubjectReport {
  if (typeof report !== 'object' || report === null) throw bad(`expected a subject report, got ${describe(report)}`);
  const r = report as Record<string, unknown>;
  if (r.type !== SUBJECT_REPORT) throw bad(`expected type ${SUBJECT_REPORT}`);
  if (typeof r.subject !== 'string' || r.subject.length > 128) throw bad('expected subject as a did:key');
  let set: MemberSet;
  if ('epochs' in members) {
    checkCheckpointShape((r.certificate as { checkpoint?: unknown } | null)?.checkpoint);
    const height = (r.certificate as QuorumCertificate).checkpoint.height;
    set = memberSetForHeight(members, height).members;
  } else {
    set = members;
  }
  verifyQuorumCertificate(r.certificate, set, verifier, chainId ?? ('epochs' in members ? members.chainId : undefined));
  const cp = r.certificate.checkpoint;
  const stateRoot = fromHex(cp.stateRoot, 32);
  const logRoot = fromHex(cp.logRoot, 32);
  if (!Array.isArray(r.facts) || r.facts.length > MAX_REPORT_FACTS)
    throw bad(`expected at most ${MAX_REPORT_FACTS} facts`);
  if (!Array.isArray(r.events) || r.events.length > MAX_REPORT_EVENTS) {
    throw bad(`expected at most ${MAX_REPORT_EVENTS} events`);
  }
  const facts: VerifiedSubjectReport['facts'] = [];
  for (const f of r.facts as unknown[]) {
    const { key, value, proof } = (f ?? {}) as Record<string, unknown>;
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024)
      throw bad('expected each fact key as a string');
    const v = value === undefined ? null : (value as JsonValue | null);
    verifyStateProof(stateRoot, utf8(key), v === null ? null : utf8(canonicalize(v)), parseStateProof(proof));
    facts.push({ key, value: v });
  }
  const events: VerifiedSubjectReport['events'] = [];
  for (const e of r.events as unknown[]) {
    const { tx, entry, leafIndex, path } = (e ?? {}) as Record<string, unknown>;
    const parsed = parseTx(tx);
    const en = entry as LogEntry;
    if (typeof en !== 'object' || en === null || en.txId !== parsed.txId)
      throw bad('expected each event entry to match its transaction');
    if (typeof leafIndex !== 'number' || !Array.isArray(path) || path.length > 64)
      throw bad('expected leafIndex and path');
    const hashes = path.map((h) => {
      if (!isHex(h, 32)) throw bad('expected each path element as 64 hex characters');
      return fromHex(h, 32);
    });
    verifyInclusion(leafHash(logEntryBytes(en)), leafIndex, cp.logSize, hashes, logRoot);
    events.push({ tx: parsed.tx, entry: en });
  }
  const byKey = new Map(facts.map((f) => [f.key, f.value]));
  const subject = r.subject;
  // Every event must concern this subject: signed by it, naming it, or about one of its records,
  // requests or corrections (an org's `rectify.apply` / `rectify.explain` names the correction as `item`).
  const ids = new Set<string>();
  for (const f of facts) {
    const m = /^(record|request|rectify)\/[^/]+\/([0-9a-f]{64})$/.exec(f.key);
    if (m !== null && (f.value as { subject?: unknown } | null)?.subject === subject) ids.add(m[2] as string);
  }
  /** Signed by the subject, naming it, or about one of its records, requests or corrections. */
  const concerns = (body: { signer: string; type: string; args: Record<string, unknown> }, txId: string): boolean => {
    const { signer, type, args } = body;
    const refs: unknown[] = [
      args.record,
      args.request,
      args.item,
      ...(Array.isArray(args.records) ? args.records : []),
    ];
    // A contract's data.access or data.share is filed under the record's subject: the call names the
    // record in the arguments it passes to the contract.
    const inner = args.args;
    if (type === 'contract.call' && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      const a = inner as Record<string, unknown>;
      refs.push(a.record, ...(Array.isArray(a.records) ? a.records : []));
    }
    // An authorised agent's request.open is signed by the agent: the request it opened (its id is the
    // transaction's) is the subject's, as its proven state says.
    return (
      signer === subject ||
      args.subject === subject ||
      refs.some((x) => typeof x === 'string' && ids.has(x)) ||
      (type === 'request.open' && ids.has(txId))
    );
  };
  for (const { tx, entry } of events) {
    // A cross-chain transaction's prepare and finalize are filed under the subjects of the operations
    // it carries (a customer's consent, a share of her record): one of them must concern her.
    const ok =
      concerns(tx.body, entry.txId) ||
      (tx.body.type.startsWith('xtx.') && xtxOpBodies(tx.body.args.xtx).some((b) => concerns(b, entry.txId)));
    if (!ok) throw bad(`event ${entry.txId} does not concern subject ${subject}`);
  }
  let complete = set.members.every(
    (m) => byKey.has(`consent/${m.id}/${subject}`) && byKey.has(`pref/${m.id}/${subject}`),
  );
  const items = byKey.get(`subjitems/${subject}`);
  if (items === undefined) complete = false;
  else {
    const count = items === null ? 0 : Number((items as { count?: unknown }).count);
    for (let i = 0; i < count && complete; i++) {
      const target = byKey.get(`subjitem/${subject}/${i}`);
      if (typeof target !== 'string' || !byKey.has(target)) complete = false;
    }
  }
  const history = byKey.get(`history/${subject}`);
  const historyCount = history === undefined || history === null ? 0 : Number((history as { count?: unknown }).count);
  return { chainId: cp.chainId, height: cp.height, subject, facts, events, complete, historyCount };
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_PROOF', message);
}

/** The bodies of the signed operations a cross-chain transaction argument carries (at most 64). */
export function xtxOpBodies(xtx: unknown): { signer: string; type: string; args: Record<string, unknown> }[] {
  const ops = (xtx as { ops?: unknown } | null)?.ops;
  if (typeof ops !== 'object' || ops === null || Array.isArray(ops)) return [];
  const bodies: { signer: string; type: string; args: Record<string, unknown> }[] = [];
  for (const list of Object.values(ops)) {
    if (!Array.isArray(list)) continue;
    for (const op of list.slice(0, 64)) {
      const body = (op as { body?: unknown } | null)?.body as Record<string, unknown> | undefined;
      const args = body?.args;
      if (typeof body?.signer !== 'string' || typeof body.type !== 'string') continue;
      if (typeof args !== 'object' || args === null || Array.isArray(args)) continue;
      bodies.push({ signer: body.signer, type: body.type, args: args as Record<string, unknown> });
    }
    if (bodies.length >= 64) break;
  }
  return bodies;
}
