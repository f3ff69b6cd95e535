/**
 * Who may read what of the ledger (trust #5). Pseudonymous data is personal data: a transaction
 * body or a state entry about a customer names their pairwise pseudonym, the data categories,
 * purposes and consents. So:
 *
 * - **anonymous**: block headers, checkpoints, certificates, the member set and governance, the
 *   public namespaces of the state (`member/`, `memberkey/`, `gov/`, `kv/`, light clients, the
 *   cross-chain votes and decisions), the transactions of public kinds (`gov.*`, `member.*`,
 *   `interop.*`, `kv.*`, `datamap.*`, `profile.*`), and, for a transaction id they already know, where it is and its result
 *   code (what its inclusion proof shows), never its body.
 * - **a member** (a request signed by a current member key, or an org API token with `read`): all
 *   of the above, its own org's events and state in full (signed by its keys, or naming it as
 *   `org` or `recipient`), the cross-chain working state relayers need, and other orgs' events as
 *   the consortium's read policy says (genesis `readPolicy.otherOrgs`: `none`, the default, or
 *   `commitments`: id, position and result code only). Other orgs' state: never.
 * - **a subject** (a request signed by a pairwise key, RFC 9421): the public set and its own
 *   events (those it signed or that the executor indexed under it) and state entries.
 */

import type { SignedTx } from '@custos/protocol/ledger';
import type Database from 'better-sqlite3';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errorCode, NodeError } from '../errors.js';
import type { CustosNode } from '../node.js';
import type { CommittedTx } from '../store/sqlite.js';
import {
  authenticateSignature,
  authenticateToken,
  hasCredentials,
  memberOfKey,
  recordNonce,
} from './auth/authenticate.js';
import { markAuth } from './auth/guard.js';
import { problem, sendProblem } from './problem.js';

export type Reader = { kind: 'anonymous' } | { kind: 'member'; org: string } | { kind: 'subject'; did: string };

/** What a member sees of other orgs' events. */
export type OtherOrgsPolicy = 'none' | 'commitments';

export interface ReadPolicy {
  otherOrgs: OtherOrgsPolicy;
}

export const DEFAULT_READ_POLICY: ReadPolicy = { otherOrgs: 'none' };

/** The read policy of a genesis (`readPolicy`, optional: absent keeps old genesis texts and hashes). */
export function readPolicyOf(genesis: { readPolicy?: Partial<ReadPolicy> | undefined }): ReadPolicy {
  return { ...DEFAULT_READ_POLICY, ...(genesis.readPolicy ?? {}) };
}

/** Transaction kinds that are public by nature: governance, membership, light clients, the public kv. */
const PUBLIC_TX_PREFIXES = ['gov.', 'member.', 'interop.', 'evm.', 'kv.', 'datamap.', 'profile.', 'hpke.'];
/** Transaction kinds every member may read in full: cross-chain steps, which relayers carry. */
const MEMBER_TX_PREFIXES = ['xtx.', 'contract.'];
/** State namespaces anyone may read: membership, governance, the public kv, light clients, cross-chain votes. */
export const PUBLIC_STATE_PREFIXES = [
  'member/',
  'memberkey/',
  'memberevm/',
  'gov/',
  'kv/',
  'lc/',
  'lccp/',
  'lcev/',
  'xtx/',
  'xtxd/',
  // The EVM light client: attested headers and their attestations, registered EVM participants,
  // the EVM votes and the members' EVM signatures of decisions (docs/interop.md).
  'evmlc/',
  'evmhdr/',
  'evmatt/',
  'evmev/',
  'evmp/',
  'xtxevm/',
  'xtxevmd/',
  'xtxevmopen/',
  // Members' signatures of EVM member-set updates, for the contracts' updateMembers.
  'evmmu/',
  // Contracts under vote or in force, their code and risk reports: what members decide on, in the open.
  'contract-info/',
  'contract-code/',
  // Which data map each org had in force when: digests and system ids, never the map itself.
  'datamap/',
  // Each member's profile as a controller: company facts (Arts. 26, 27, 30, 37), no customer's.
  'profile/',
  // Each org's HPKE public key, to which customers seal their corrections (ADR 0018).
  'hpkekey/',
];
/** State namespaces every member may read: the cross-chain working state relayers need, contracts' state and call receipts. */
export const MEMBER_STATE_PREFIXES = ['xtxopen/', 'xtxplan/', 'xtxw/', 'lock/', 'contract/', 'contract-receipt/'];
/** State namespaces owned by one org: `<ns>/<org>/...`. */
const ORG_STATE_NAMESPACES = [
  'consent',
  'pref',
  'record',
  'request',
  'share',
  'reqstep',
  'retention',
  'incident',
  'rectify',
  'rectstep',
  'agentrev',
];
/** State namespaces owned by one subject: `<ns>/<did>...` (its items, and the count of its history). */
const SUBJECT_STATE_NAMESPACES = ['subjitem', 'subjitems', 'history'];

/** How much of one transaction a reader sees. */
export type TxVisibility = 'full' | 'commitment' | 'hidden';

const readers = new WeakMap<FastifyRequest, Reader>();

/** The reader of a request (anonymous unless a read hook authenticated it). */
export function readerOf(request: FastifyRequest): Reader {
  return readers.get(request) ?? { kind: 'anonymous' };
}

/**
 * An onRequest hook for read routes: no credentials is an anonymous reader; credentials, if sent,
 * must be valid (a bad signature or token is refused, never downgraded to anonymous). A token needs
 * the `read` scope; a signature by a current member key reads as that member, any other key as
 * the subject of that pseudonym.
 */
export function readHook(node: CustosNode): onRequestAsyncHookHandler {
  const hook: onRequestAsyncHookHandler = async (request, reply) => {
    if (!hasCredentials(request, true)) return undefined;
    try {
      const principal =
        request.headers.authorization !== undefined
          ? authenticateToken(request, node)
          : authenticateSignature(request, node);
      let reader: Reader;
      if (principal.kind === 'token') {
        if (!principal.scopes.includes('read'))
          throw new NodeError('FORBIDDEN', "this API token lacks the 'read' scope");
        reader = { kind: 'member', org: principal.org };
      } else {
        const org = memberOfKey(node, principal.did);
        reader = org === undefined ? { kind: 'subject', did: principal.did } : { kind: 'member', org };
      }
      recordNonce(request, node, principal);
      readers.set(request, reader);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'UNAUTHENTICATED' || code === 'SIGNATURE_EXPIRED' || code === 'REPLAYED_REQUEST') {
        reply.header('www-authenticate', 'Signature realm="custos", Bearer realm="custos"');
      }
      const message = e instanceof Error ? e.message : 'request refused';
      return sendProblem(reply, problem(code, code === 'INTERNAL' ? 'the node failed to check this request' : message));
    }
    return undefined;
  };
  markAuth(hook, { optional: true, tokens: true });
  return hook;
}

const subjectLookups = new WeakMap<Database.Database, Database.Statement>();

/** True if the executor indexed the log entry under `subject` (it is one of the subject's events). */
function isSubjectEvent(node: CustosNode, subject: string, logIndex: number): boolean {
  const db = node.store.db;
  let stmt = subjectLookups.get(db);
  if (stmt === undefined) {
    stmt = db.prepare('SELECT 1 FROM subject_index WHERE subject = ? AND log_index = ?').pluck();
    subjectLookups.set(db, stmt);
  }
  return stmt.get(subject, logIndex) !== undefined;
}

/** The orgs a transaction concerns: its signer's org, and the org and recipient it names. */
function orgsOf(node: CustosNode, t: { tx: SignedTx }): string[] {
  const out: string[] = [];
  const signerOrg = memberOfKey(node, t.tx.body.signer);
  if (signerOrg !== undefined) out.push(signerOrg);
  const args = t.tx.body.args as Record<string, unknown>;
  for (const k of ['org', 'recipient']) if (typeof args[k] === 'string') out.push(args[k] as string);
  return out;
}

/** How much of a committed transaction `reader` may see when it names it by id. */
export function txVisibility(node: CustosNode, reader: Reader, c: CommittedTx, policy: ReadPolicy): TxVisibility {
  // Pruned after its subject was forgotten: only the id, position and code are left, for the
  // members and subjects who read commitments (docs/adr/0019-forget-on-the-ledger.md).
  if (c.tx === null) return reader.kind === 'anonymous' ? 'hidden' : 'commitment';
  const t = { ...c, tx: c.tx };
  const type = t.tx.body.type;
  if (PUBLIC_TX_PREFIXES.some((p) => type.startsWith(p))) return 'full';
  if (reader.kind === 'member') {
    if (MEMBER_TX_PREFIXES.some((p) => type.startsWith(p))) return 'full';
    if (orgsOf(node, t).includes(reader.org)) return 'full';
    return policy.otherOrgs === 'commitments' ? 'commitment' : 'hidden';
  }
  if (reader.kind === 'subject') {
    if (t.tx.body.signer === reader.did || isSubjectEvent(node, reader.did, t.logIndex)) return 'full';
  }
  return 'hidden';
}

/** A committed transaction as `visibility` allows: in full, or its id, position and result code. */
export function txView(t: CommittedTx, visibility: TxVisibility) {
  const { txId, height, index, logIndex, code } = t;
  if (t.tx === null) return { txId, height, index, logIndex, code, pruned: true };
  return visibility === 'full'
    ? { txId, height, index, logIndex, code, tx: t.tx }
    : { txId, height, index, logIndex, code };
}

/** Who owns a state key or prefix, as far as its first segments tell. */
type KeyScope =
  | { kind: 'public' }
  | { kind: 'members' }
  | { kind: 'org'; org: string; subject?: string }
  | { kind: 'subject'; did: string }
  | { kind: 'unknown' };

function scopeOf(key: string): KeyScope {
  if (PUBLIC_STATE_PREFIXES.some((p) => key.startsWith(p))) return { kind: 'public' };
  if (MEMBER_STATE_PREFIXES.some((p) => key.startsWith(p))) return { kind: 'members' };
  const parts = key.split('/');
  const [ns, owner, rest] = parts;
  if (ns !== undefined && owner !== undefined && parts.length >= 3 && owner !== '') {
    if (ORG_STATE_NAMESPACES.includes(ns)) {
      // consent/<org>/<did>, pref/<org>/<did> and agentrev/<org>/<did>/<id> name the subject in the key.
      const subject =
        (ns === 'consent' || ns === 'pref' || ns === 'agentrev') && rest !== undefined && rest !== ''
          ? rest
          : undefined;
      return { kind: 'org', org: owner, ...(subject === undefined ? {} : { subject }) };
    }
  }
  if (ns !== undefined && SUBJECT_STATE_NAMESPACES.includes(ns) && owner?.startsWith('did:key:') === true) {
    return { kind: 'subject', did: owner };
  }
  return { kind: 'unknown' };
}

const PUBLIC_LIST = PUBLIC_STATE_PREFIXES.join(', ');

/**
 * Checks that `reader` may read the state under `prefix` (a list) or at `key` (one entry, whose
 * stored JSON is `value`). Throws FORBIDDEN (anonymous: UNAUTHENTICATED) naming what it may read.
 */
export function checkStateRead(reader: Reader, what: { prefix: string } | { key: string; value?: unknown }): void {
  const k = 'prefix' in what ? what.prefix : what.key;
  const scope = scopeOf(k);
  if (scope.kind === 'public') return;
  if (reader.kind === 'member') {
    if (scope.kind === 'members') return;
    if (scope.kind === 'org' && scope.org === reader.org) return;
    throw new NodeError(
      'FORBIDDEN',
      `members read the public state (${PUBLIC_LIST}), the cross-chain state and their own org's (consent/${reader.org}/, pref/${reader.org}/, record/${reader.org}/, request/${reader.org}/, share/${reader.org}/)`,
    );
  }
  if (reader.kind === 'subject') {
    if (scope.kind === 'subject' && scope.did === reader.did) return;
    if (scope.kind === 'org' && scope.subject === reader.did) return;
    // record/<org>/<id> and request/<org>/<id> name their subject in the value.
    if (scope.kind === 'org' && 'key' in what) {
      const v = what.value as { subject?: unknown } | undefined;
      if (v !== undefined && v !== null && typeof v === 'object' && v.subject === reader.did) return;
    }
    throw new NodeError(
      'FORBIDDEN',
      `a subject reads the public state (${PUBLIC_LIST}) and its own entries (consent/<org>/<its did>, pref/<org>/<its did>, its records and requests, subjitem/<its did>/)`,
    );
  }
  throw new NodeError(
    'UNAUTHENTICATED',
    `without credentials only the public state is readable (${PUBLIC_LIST}); sign the request with a member key or the subject's key, or send an org API token with 'read'`,
  );
}

/** Whether one state row may be shown to `reader` (for a list under a public or owned prefix). */
export function mayReadState(reader: Reader, key: string, value: unknown): boolean {
  try {
    checkStateRead(reader, { key, value });
    return true;
  } catch {
    return false;
  }
}
