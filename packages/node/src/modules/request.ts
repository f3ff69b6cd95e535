/**
 * Data-subject requests with deadlines computed on the ledger (docs/architecture.md#customer-data):
 * GDPR Art. 12(3) one month, extendable once by two more months; CCPA 45 days, extendable once by
 * 45 more. The block time is the clock, so every peer agrees on what is overdue.
 *
 * State: `request/<org>/<id>` -> DataRequest.
 */

import { MAX_EXPORT_RECORDS } from '@custos/protocol/data-export';
import {
  type DataRequest,
  ERASURE_EXCEPTIONS,
  type ErasureExceptionEntry,
  EXTEND_REASONS,
  REJECT_REASONS,
  REQUEST_KINDS,
  REVIEW_OUTCOMES,
  type RequestKind,
} from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { agentSubject } from './agent.js';
import {
  addBusinessDays,
  addDays,
  addMonths,
  addSubjectItem,
  JURISDICTIONS,
  type Jurisdiction,
  orgArg,
  signerOrg,
  signerSubject,
  subjectItems,
} from './common.js';
import { notifyCopies, withdrawRestrictions } from './copies.js';
import { type DataRecord, recordKey } from './data.js';
import { maybeForget } from './forget.js';
import { checkStepsComplete, recordStep } from './request-steps.js';

export { type DataRequest, REQUEST_KINDS, type RequestKind };

/** At most this many records kept under a legal exception in one `request.fulfil`. */
export const MAX_EXCEPTIONS = 256;

/**
 * Every record `org` holds on `subject` and has not erased, from the subject's item list
 * (`subjitem/<subject>/<n>`, complete by construction: every record registration appends to it).
 */
export function liveRecordsOf(ctx: Pick<ExecContext, 'get'>, org: string, subject: string): DataRecord[] {
  return subjectItems<DataRecord>(ctx, subject, `record/${org}/`).filter((rec) => rec.erasedAt === null);
}

/** The subject's fulfilled, unlifted restrictions and objections at `org`, from the subject's item list. */
function restrictionsInForce(ctx: Pick<ExecContext, 'get'>, org: string, subject: string): DataRequest[] {
  return subjectItems<DataRequest>(ctx, subject, `request/${org}/`).filter(
    (r) => (r.kind === 'restrict' || r.kind === 'object') && r.status === 'fulfilled' && r.liftedAt === undefined,
  );
}

/** `args.exceptions` of an erasure's fulfilment: [{record, code}], codes of the request's jurisdiction. */
function readExceptions(args: Args, r: DataRequest): ErasureExceptionEntry[] {
  const raw = args.exceptions;
  if (raw === undefined) return [];
  const codes: readonly string[] = ERASURE_EXCEPTIONS[r.jurisdiction];
  const shape = `expected args.exceptions as 1-${MAX_EXCEPTIONS} of {record, code} with code one of ${codes.join(', ')}`;
  if (r.kind !== 'erase') throw new ExecFailure('INVALID_ARGS', 'expected args.exceptions only on an erasure');
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_EXCEPTIONS) {
    throw new ExecFailure('INVALID_ARGS', shape);
  }
  const seen = new Set<string>();
  return raw.map((e) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new ExecFailure('INVALID_ARGS', shape);
    const x = e as Args;
    arg.only(x, ['record', 'code']);
    const record = arg.str(x, 'record', 64, /^[0-9a-f]{64}$/);
    const code = arg.str(x, 'code', 32);
    if (!codes.includes(code)) throw new ExecFailure('INVALID_ARGS', shape);
    if (seen.has(record)) throw new ExecFailure('INVALID_ARGS', 'expected each record at most once in args.exceptions');
    seen.add(record);
    return { record, code: code as ErasureExceptionEntry['code'] };
  });
}

/**
 * `args.export` of an access or export request's fulfilment (ADR 0021): the SHA-256 of the envelope
 * sealed to the customer and its number of records, so the customer can prove what they were given.
 */
function readExport(args: Args, r: DataRequest): DataRequest['export'] {
  const raw = args.export;
  if (raw === undefined) return undefined;
  if (r.kind !== 'access' && r.kind !== 'export') {
    throw new ExecFailure('INVALID_ARGS', 'expected args.export only on an access or export request');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ExecFailure('INVALID_ARGS', 'expected args.export as {digest, records}');
  }
  const x = raw as Args;
  arg.only(x, ['digest', 'records']);
  const digest = arg.str(x, 'digest', 64, /^[0-9a-f]{64}$/);
  return { digest, records: arg.int(x, 'records', 0, MAX_EXPORT_RECORDS) };
}

export function requestKey(org: string, id: string): string {
  return `request/${org}/${id}`;
}

/**
 * The legal deadline of a request opened at `t`: GDPR Art. 12(3) one month; CCPA 45 days
 * (1798.130(a)(2)), but an opt-out of sale or sharing within 15 business days (regulations 7026(f)).
 */
export function deadlineOf(jurisdiction: Jurisdiction, t: number, kind?: RequestKind): number {
  if (jurisdiction === 'GDPR') return addMonths(t, 1);
  return kind === 'optout' ? addBusinessDays(t, 15) : addDays(t, 45);
}

/** The deadline after the one extension the law allows (none for a CCPA opt-out). */
export function extendedDeadlineOf(jurisdiction: Jurisdiction, openedAt: number): number {
  return jurisdiction === 'GDPR' ? addMonths(openedAt, 3) : addDays(openedAt, 90);
}

/**
 * CCPA requests to know, delete and correct must be confirmed within 10 business days of receipt,
 * saying how the business will process them (regulations 7021(a)). GDPR sets no such step: undefined.
 */
export function ackDeadlineOf(jurisdiction: Jurisdiction, kind: RequestKind, t: number): number | undefined {
  const confirmed: readonly RequestKind[] = ['access', 'export', 'erase', 'rectify'];
  return jurisdiction === 'CCPA' && confirmed.includes(kind) ? addBusinessDays(t, 10) : undefined;
}

/** Whether the org's confirmation of receipt is due and missing at `now`. */
export function isAckOverdue(r: DataRequest, now: number): boolean {
  return r.ackDeadline !== undefined && r.acknowledgedAt === undefined && r.status === 'open' && now > r.ackDeadline;
}

/**
 * A review request (GDPR Art. 22(3)) concerns records with automated decisions: those it names, or,
 * naming none, every live one of the subject at the org; at least one must exist.
 */
function checkReviewable(ctx: ExecContext, org: string, subject: string, records: string[]): void {
  const automated = (rec: DataRecord | undefined) => rec !== undefined && (rec.automated?.length ?? 0) > 0;
  if (records.length === 0) {
    if (!liveRecordsOf(ctx, org, subject).some(automated)) {
      throw new ExecFailure(
        'INVALID_ARGS',
        `expected a record of yours at ${org} with an automated decision to review`,
      );
    }
    return;
  }
  for (const id of records) {
    if (!automated(ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined)) {
      throw new ExecFailure('INVALID_ARGS', `expected record ${id} to carry an automated decision (GDPR Art. 22)`);
    }
  }
}

export function isOverdue(r: DataRequest, now: number): boolean {
  return r.status === 'open' && now > r.deadline;
}

function openRequest(ctx: ExecContext, args: Args): DataRequest {
  const org = signerOrg(ctx);
  const id = arg.str(args, 'request', 64, /^[0-9a-f]{64}$/);
  const r = ctx.get(requestKey(org, id)) as unknown as DataRequest | undefined;
  if (r === undefined) throw new ExecFailure('NOT_FOUND', `no request ${id} to ${org}`);
  ctx.index(r.subject);
  if (r.status !== 'open') throw new ExecFailure('CONFLICT', `the request is already ${r.status}`);
  return r;
}

export const requestModule: Module = {
  name: 'request',
  actions: {
    /**
     * The customer asks an org to act on their rights; or an authorised agent does, signing with its
     * own key and carrying the customer's delegation credential (`delegation`, checked in agent.ts).
     */
    open(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'kind', 'jurisdiction', 'records', 'delegation']);
      const org = orgArg(ctx, args, 'org');
      const kind = arg.oneOf(args, 'kind', REQUEST_KINDS);
      const byAgent = args.delegation === undefined ? undefined : agentSubject(ctx, args.delegation, org, kind);
      const subject = byAgent?.subject ?? signerSubject(ctx);
      const jurisdiction = arg.oneOf(args, 'jurisdiction', JURISDICTIONS);
      const records = args.records === undefined ? [] : arg.strList(args, 'records', 64, 64, /^[0-9a-f]{64}$/);
      for (const id of records) {
        const rec = ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined;
        if (rec === undefined || rec.subject !== subject)
          throw new ExecFailure('NOT_FOUND', `no record ${id} of yours at ${org}`);
      }
      if (kind === 'review') checkReviewable(ctx, org, subject, records);
      ctx.index(subject);
      const ackDeadline = ackDeadlineOf(jurisdiction, kind, ctx.time);
      const r: DataRequest = {
        id: ctx.txId,
        org,
        subject,
        kind,
        jurisdiction,
        openedAt: ctx.time,
        deadline: deadlineOf(jurisdiction, ctx.time, kind),
        originalDeadline: null,
        extensionReason: null,
        status: 'open',
        closedAt: null,
        reason: null,
        records,
        ...(ackDeadline === undefined ? {} : { ackDeadline }),
        ...(byAgent === undefined ? {} : { agent: byAgent.agent }),
      };
      ctx.put(requestKey(org, ctx.txId), r);
      addSubjectItem(ctx, subject, requestKey(org, ctx.txId));
      return 'OK';
    },
    /** The org extends the deadline once, within the legal maximum, giving the reason (a code). */
    extend(ctx: ExecContext, args: Args) {
      arg.only(args, ['request', 'reason']);
      const r = openRequest(ctx, args);
      const reason = arg.oneOf(args, 'reason', EXTEND_REASONS);
      if (r.originalDeadline !== null) throw new ExecFailure('CONFLICT', 'the deadline was already extended once');
      if (r.jurisdiction === 'CCPA' && r.kind === 'optout') {
        throw new ExecFailure('CONFLICT', 'a CCPA opt-out has 15 business days and no extension (regulations 7026(f))');
      }
      if (ctx.time > r.deadline)
        throw new ExecFailure('CONFLICT', 'the deadline has passed; it can no longer be extended');
      ctx.put(requestKey(r.org, r.id), {
        ...r,
        originalDeadline: r.deadline,
        deadline: extendedDeadlineOf(r.jurisdiction, r.openedAt),
        extensionReason: reason,
      });
      return 'OK';
    },
    /** The org confirms it received the request (CCPA regulations 7021(a)), once. */
    acknowledge(ctx: ExecContext, args: Args) {
      arg.only(args, ['request']);
      const r = openRequest(ctx, args);
      if (r.acknowledgedAt !== undefined) throw new ExecFailure('CONFLICT', 'the request was already acknowledged');
      ctx.put(requestKey(r.org, r.id), { ...r, acknowledgedAt: ctx.time });
      return 'OK';
    },
    /**
     * The org answers the request. For `restrict` and `object`, the records concerned become restricted:
     * no further access or share is valid. A `review` names its outcome: a person upheld or changed
     * the automated decision.
     */
    fulfil(ctx: ExecContext, args: Args) {
      arg.only(args, ['request', 'exceptions', 'outcome', 'export']);
      const r = openRequest(ctx, args);
      const exceptions = readExceptions(args, r);
      const delivered = readExport(args, r);
      if ((r.kind === 'review') !== (args.outcome !== undefined)) {
        throw new ExecFailure(
          'INVALID_ARGS',
          r.kind === 'review'
            ? `expected args.outcome, one of ${REVIEW_OUTCOMES.join(', ')}, for a review`
            : 'expected args.outcome only on a review',
        );
      }
      const reviewOutcome = r.kind === 'review' ? arg.oneOf(args, 'outcome', REVIEW_OUTCOMES) : undefined;
      let restricted: string[] | undefined;
      if (r.kind === 'restrict' || r.kind === 'object') {
        // No record list: everything the org holds on the subject (what the CLI and portal send).
        const ids = r.records.length > 0 ? r.records : liveRecordsOf(ctx, r.org, r.subject).map((rec) => rec.id);
        restricted = [];
        for (const id of ids) {
          const rec = ctx.get(recordKey(r.org, id)) as unknown as DataRecord | undefined;
          if (rec === undefined || rec.erasedAt !== null) continue;
          ctx.put(recordKey(r.org, id), { ...rec, restricted: true });
          notifyCopies(ctx, rec, 'restrict');
          restricted.push(id);
        }
      }
      if (r.kind === 'erase') {
        // Erasure is fulfilled only once every record the org holds on the subject is erased
        // (data.erased comes first), or kept under a legal exception recorded here (trust #9).
        const live = new Set(liveRecordsOf(ctx, r.org, r.subject).map((rec) => rec.id));
        for (const e of exceptions) {
          if (!live.has(e.record)) {
            throw new ExecFailure('NOT_FOUND', `record ${e.record} is not a live record of this subject at ${r.org}`);
          }
          live.delete(e.record);
        }
        const [left] = live;
        if (left !== undefined) {
          throw new ExecFailure(
            'CONFLICT',
            `${live.size} record(s) of the subject are not erased yet (first: ${left}); erase them or record a legal exception`,
          );
        }
      }
      // Every system of the org's data map ran its step, or carries a legal exception (issue 16).
      checkStepsComplete(ctx, r);
      ctx.put(requestKey(r.org, r.id), {
        ...r,
        status: 'fulfilled',
        closedAt: ctx.time,
        ...(exceptions.length === 0 ? {} : { exceptions }),
        ...(restricted === undefined ? {} : { restricted }),
        ...(reviewOutcome === undefined ? {} : { reviewOutcome }),
        ...(delivered === undefined ? {} : { export: delivered }),
      });
      // The erasure, or the last open request of an erased subject, may complete it: forget the subject.
      maybeForget(ctx, r.subject);
      return 'OK';
    },
    /**
     * The customer lifts a restriction or withdraws an objection they made: its records may be
     * processed again, except those another restriction or objection of theirs still holds.
     */
    lift(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'request']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const id = arg.str(args, 'request', 64, /^[0-9a-f]{64}$/);
      const r = ctx.get(requestKey(org, id)) as unknown as DataRequest | undefined;
      if (r === undefined || r.subject !== subject)
        throw new ExecFailure('NOT_FOUND', `no request ${id} of yours to ${org}`);
      ctx.index(subject);
      if (r.kind !== 'restrict' && r.kind !== 'object') {
        throw new ExecFailure('INVALID_ARGS', `expected a restriction or objection request, not ${r.kind}`);
      }
      if (r.status !== 'fulfilled') {
        throw new ExecFailure('CONFLICT', `the request is ${r.status}: only a restriction in force can be lifted`);
      }
      if (r.liftedAt !== undefined) throw new ExecFailure('CONFLICT', 'the restriction was already lifted');
      const held = new Set(
        restrictionsInForce(ctx, org, subject)
          .filter((other) => other.id !== r.id)
          .flatMap((other) => other.restricted ?? other.records),
      );
      for (const recordId of r.restricted ?? r.records) {
        if (held.has(recordId)) continue;
        const rec = ctx.get(recordKey(org, recordId)) as unknown as DataRecord | undefined;
        if (rec?.restricted) {
          ctx.put(recordKey(org, recordId), { ...rec, restricted: false });
          withdrawRestrictions(ctx, rec);
        }
      }
      ctx.put(requestKey(org, id), { ...r, liftedAt: ctx.time });
      return 'OK';
    },
    /**
     * One system's step of the request's execution, with its evidence (request-steps.ts): done with
     * the row count and the salted digest of what was exported or erased, failed with the error, or
     * kept under a legal exception.
     */
    step(ctx: ExecContext, args: Args) {
      const r = openRequest(ctx, args);
      recordStep(ctx, args, r);
      return 'OK';
    },
    /** The org refuses the request, with the reason the customer will see (a code). */
    reject(ctx: ExecContext, args: Args) {
      arg.only(args, ['request', 'reason']);
      const r = openRequest(ctx, args);
      const reason = arg.oneOf(args, 'reason', REJECT_REASONS);
      ctx.put(requestKey(r.org, r.id), { ...r, status: 'rejected', closedAt: ctx.time, reason });
      maybeForget(ctx, r.subject);
      return 'OK';
    },
  },
};
