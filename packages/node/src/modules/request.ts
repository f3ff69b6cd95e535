/**
 * Data-subject requests with deadlines computed on the ledger (DESIGN.md section 5): GDPR Art. 12(3)
 * one month, extendable once by two more months; CCPA 45 days, extendable once by 45 more. The block
 * time is the clock, so every peer agrees on what is overdue.
 *
 * State: `request/<org>/<id>` -> DataRequest.
 */
import { type DataRequest, REQUEST_KINDS, type RequestKind } from '@custos/protocol';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import {
  addDays,
  addMonths,
  addSubjectItem,
  JURISDICTIONS,
  type Jurisdiction,
  orgArg,
  signerOrg,
  signerSubject,
} from './common.js';
import { type DataRecord, recordKey } from './data.js';

export { type DataRequest, REQUEST_KINDS, type RequestKind };

export function requestKey(org: string, id: string): string {
  return `request/${org}/${id}`;
}

/** The legal deadline of a request opened at `t`. */
export function deadlineOf(jurisdiction: Jurisdiction, t: number): number {
  return jurisdiction === 'GDPR' ? addMonths(t, 1) : addDays(t, 45);
}

/** The deadline after the one extension the law allows. */
export function extendedDeadlineOf(jurisdiction: Jurisdiction, openedAt: number): number {
  return jurisdiction === 'GDPR' ? addMonths(openedAt, 3) : addDays(openedAt, 90);
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
    /** The customer asks an org to act on their rights. */
    open(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'kind', 'jurisdiction', 'records']);
      const subject = signerSubject(ctx);
      const org = orgArg(ctx, args, 'org');
      const kind = arg.oneOf(args, 'kind', REQUEST_KINDS);
      const jurisdiction = arg.oneOf(args, 'jurisdiction', JURISDICTIONS);
      const records = args.records === undefined ? [] : arg.strList(args, 'records', 64, 64, /^[0-9a-f]{64}$/);
      for (const id of records) {
        const rec = ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined;
        if (rec === undefined || rec.subject !== subject)
          throw new ExecFailure('NOT_FOUND', `no record ${id} of yours at ${org}`);
      }
      ctx.index(subject);
      const r: DataRequest = {
        id: ctx.txId,
        org,
        subject,
        kind,
        jurisdiction,
        openedAt: ctx.time,
        deadline: deadlineOf(jurisdiction, ctx.time),
        originalDeadline: null,
        extensionReason: null,
        status: 'open',
        closedAt: null,
        reason: null,
        records,
      };
      ctx.put(requestKey(org, ctx.txId), r);
      addSubjectItem(ctx, subject, requestKey(org, ctx.txId));
      return 'OK';
    },
    /** The org extends the deadline once, within the legal maximum, giving the reason. */
    extend(ctx: ExecContext, args: Args) {
      arg.only(args, ['request', 'reason']);
      const r = openRequest(ctx, args);
      const reason = arg.str(args, 'reason', 500);
      if (r.originalDeadline !== null) throw new ExecFailure('CONFLICT', 'the deadline was already extended once');
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
    /**
     * The org answers the request. For `restrict` and `object`, the records concerned become restricted:
     * no further access or share is valid.
     */
    fulfil(ctx: ExecContext, args: Args) {
      arg.only(args, ['request']);
      const r = openRequest(ctx, args);
      if (r.kind === 'restrict' || r.kind === 'object') {
        for (const id of r.records) {
          const rec = ctx.get(recordKey(r.org, id)) as unknown as DataRecord | undefined;
          if (rec !== undefined) ctx.put(recordKey(r.org, id), { ...rec, restricted: true });
        }
      }
      if (r.kind === 'erase') {
        // Erasure is fulfilled only once every record concerned is erased (data.erased comes first).
        for (const id of r.records) {
          const rec = ctx.get(recordKey(r.org, id)) as unknown as DataRecord | undefined;
          if (rec !== undefined && rec.erasedAt === null) {
            throw new ExecFailure('CONFLICT', `record ${id} is not erased yet`);
          }
        }
      }
      ctx.put(requestKey(r.org, r.id), { ...r, status: 'fulfilled', closedAt: ctx.time });
      return 'OK';
    },
    /** The org refuses the request, with the reason the customer will see. */
    reject(ctx: ExecContext, args: Args) {
      arg.only(args, ['request', 'reason']);
      const r = openRequest(ctx, args);
      const reason = arg.str(args, 'reason', 500);
      ctx.put(requestKey(r.org, r.id), { ...r, status: 'rejected', closedAt: ctx.time, reason });
      return 'OK';
    },
  },
};
