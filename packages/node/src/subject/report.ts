/**
 * Builds a subject's right-to-know report from a running peer: the current consent, opt-out, record
 * and request state for the subject with state proofs, and the subject's history with inclusion
 * proofs, all against the latest quorum certificate (see `verifySubjectReport` in the protocol).
 */
import { isDidKey } from '@custos/protocol/crypto';
import { toHex } from '@custos/protocol/encoding';
import type { JsonValue } from '@custos/protocol/jcs';
import {
  type EventFact,
  MAX_REPORT_EVENTS,
  type StateFact,
  SUBJECT_REPORT,
  type SubjectReport,
} from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';
import type { CustosNode } from '../node.js';

export function subjectReport(
  node: CustosNode,
  subject: string,
  opts: { after?: number; limit?: number } = {},
): SubjectReport {
  if (!isDidKey(subject)) throw new NodeError('BAD_REQUEST', 'expected the subject as an Ed25519 did:key');
  const limit = Math.min(Math.max(opts.limit ?? 200, 1), MAX_REPORT_EVENTS);
  // Everything below runs synchronously, so it all reads the state of one block: the certified one.
  const head = node.latest();
  const certificate = node.store.getHeader(head.height)?.qc;
  if (!certificate) throw new NodeError('NOT_FOUND', 'this peer holds no quorum certificate for its latest block');
  const facts: StateFact[] = [];
  const fact = (key: string): JsonValue | null => {
    const text = node.store.getState(key);
    const value = text === undefined ? null : (JSON.parse(text) as JsonValue);
    facts.push({ key, value, proof: node.treeView.prove(key) });
    return value;
  };
  for (const m of node.members.members) {
    fact(`consent/${m.id}/${subject}`);
    fact(`pref/${m.id}/${subject}`);
  }
  fact(`history/${subject}`);
  const items = fact(`subjitems/${subject}`) as { count: number } | null;
  for (let i = 0; i < (items?.count ?? 0); i++) {
    const target = fact(`subjitem/${subject}/${i}`);
    if (typeof target === 'string') fact(target);
  }
  const after = opts.after ?? -1;
  const indexes = node.store.subjectHistory(subject, after, limit + 1);
  const page = indexes.slice(0, limit);
  const times = new Map<number, number>();
  const timeAt = (height: number) => {
    let t = times.get(height);
    if (t === undefined) {
      t = node.store.getHeader(height)!.header.time;
      times.set(height, t);
    }
    return t;
  };
  const events: EventFact[] = page.map((logIndex) => {
    const t = node.store.getTxByLogIndex(logIndex)!;
    if (t.tx === null) {
      // Filed under this subject and under another one that was forgotten since (a cross-chain
      // operation for two customers): its body is gone, so this history cannot be shown in full.
      throw new NodeError('NOT_FOUND', `event ${t.txId} of this history was pruned after another subject's erasure`);
    }
    return {
      tx: t.tx,
      entry: { txId: t.txId, height: t.height, index: t.index, time: timeAt(t.height), code: t.code },
      leafIndex: logIndex,
      path: node.logView.inclusionProof(logIndex, certificate.checkpoint.logSize).map(toHex),
    };
  });
  return {
    type: SUBJECT_REPORT,
    subject,
    certificate,
    facts,
    events,
    next: indexes.length > limit ? (page[page.length - 1] ?? null) : null,
  };
}
