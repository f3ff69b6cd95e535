/**
 * The customer as the source of their data (issue 17, ADR 0018, docs/customer-data.md
 * "Corrections from the customer"). The customer, under the pseudonym of one relationship:
 *
 * - `rectify.send {org, record, digest, kid, jurisdiction}`: a new value for a record, sealed with
 *   HPKE to the org's key `kid` and delivered to the org's inbox off-chain; `digest` commits to the
 *   envelope. One transaction per org, each under that org's pseudonym.
 * - `rectify.flag {org, record, reason, jurisdiction}`: the record is wrong (a reason code).
 *
 * The org, within the legal deadline (GDPR Art. 12(3) one month, CCPA 1798.130 45 days):
 *
 * - `rectify.apply {item, commitment}`: the vault holds the corrected value; the record takes the
 *   new commitment (as `data.update` does) and the item is closed as applied.
 * - `rectify.explain {item, reason}`: the record stays as it is, for a reason code.
 * - `rectify.extend {item, reason}`: the deadline is extended once, as a request's (Art. 12(3)).
 * - `rectify.step {item, system, ...}`: an applied correction carried into one of the `systems`
 *   `rectify.apply` named (rectify-steps.ts).
 *
 * State: `rectify/<org>/<id>` -> Rectification (org-owned: another org never reads it), listed
 * under the subject (`subjitem/...`) so the customer's report is provably complete.
 */
import {
  type DataRecord,
  EXPLAIN_REASONS,
  EXTEND_REASONS,
  FLAG_REASONS,
  type Rectification,
} from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { addSubjectItem, hash32, JURISDICTIONS, orgArg, signerOrg, signerSubject } from './common.js';
import { fulfilObligations, notifyCopies } from './copies.js';
import { recordKey } from './data.js';
import { hpkeKeyOf } from './hpke.js';
import { correctionSystems, recordRectifyStep } from './rectify-steps.js';
import { deadlineOf, extendedDeadlineOf } from './request.js';

export type { Rectification };

const ID = /^[0-9a-f]{64}$/;

export function rectificationKey(org: string, id: string): string {
  return `rectify/${org}/${id}`;
}

/** The live record `org` holds on the signing customer, or NOT_FOUND / ERASED. */
function subjectRecord(ctx: ExecContext, args: Args): { org: string; subject: string; rec: DataRecord } {
  const subject = signerSubject(ctx);
  const org = orgArg(ctx, args, 'org');
  const id = arg.str(args, 'record', 64, ID);
  const rec = ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined;
  // The same answer for a record of another customer as for none: nothing to learn by probing.
  if (rec === undefined || rec.subject !== subject)
    throw new ExecFailure('NOT_FOUND', `no record ${id} of yours at ${org}`);
  if (rec.erasedAt !== null) throw new ExecFailure('ERASED', 'the record was erased: there is nothing to correct');
  ctx.index(subject);
  return { org, subject, rec };
}

function open(ctx: ExecContext, r: Rectification): void {
  ctx.put(rectificationKey(r.org, r.id), r);
  addSubjectItem(ctx, r.subject, rectificationKey(r.org, r.id));
}

/** The signing org's item named by args.item. */
function orgItem(ctx: ExecContext, args: Args): Rectification {
  const org = signerOrg(ctx);
  const id = arg.str(args, 'item', 64, ID);
  const r = ctx.get(rectificationKey(org, id)) as unknown as Rectification | undefined;
  if (r === undefined) throw new ExecFailure('NOT_FOUND', `no correction or flag ${id} sent to ${org}`);
  ctx.index(r.subject);
  return r;
}

/** The signing org's pending item named by args.item. */
function pendingItem(ctx: ExecContext, args: Args): Rectification {
  const r = orgItem(ctx, args);
  if (r.status !== 'pending') throw new ExecFailure('CONFLICT', `that item is already ${r.status}`);
  return r;
}

export const rectifyModule: Module = {
  name: 'rectify',
  actions: {
    send(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'record', 'digest', 'kid', 'jurisdiction']);
      const { org, subject, rec } = subjectRecord(ctx, args);
      const digest = hash32(args, 'digest');
      const kid = arg.str(args, 'kid', 16, /^[0-9a-f]{16}$/);
      const jurisdiction = arg.oneOf(args, 'jurisdiction', JURISDICTIONS);
      const key = hpkeKeyOf(ctx, org);
      if (key === undefined) throw new ExecFailure('NOT_FOUND', `${org} has published no HPKE key`);
      // The key in force, or the one it just replaced (a wallet that read the key before a rotation).
      if (kid !== key.kid && kid !== key.previous) {
        throw new ExecFailure('CONFLICT', `expected args.kid to be ${org}'s HPKE key in force, ${key.kid}`);
      }
      open(ctx, {
        id: ctx.txId,
        org,
        subject,
        record: rec.id,
        kind: 'update',
        digest,
        kid,
        jurisdiction,
        openedAt: ctx.time,
        deadline: deadlineOf(jurisdiction, ctx.time),
        status: 'pending',
      });
      return 'OK';
    },
    flag(ctx: ExecContext, args: Args) {
      arg.only(args, ['org', 'record', 'reason', 'jurisdiction']);
      const { org, subject, rec } = subjectRecord(ctx, args);
      const reason = arg.oneOf(args, 'reason', FLAG_REASONS);
      const jurisdiction = arg.oneOf(args, 'jurisdiction', JURISDICTIONS);
      open(ctx, {
        id: ctx.txId,
        org,
        subject,
        record: rec.id,
        kind: 'flag',
        reason,
        jurisdiction,
        openedAt: ctx.time,
        deadline: deadlineOf(jurisdiction, ctx.time),
        status: 'pending',
      });
      return 'OK';
    },
    apply(ctx: ExecContext, args: Args) {
      arg.only(args, ['item', 'commitment', 'systems']);
      const r = pendingItem(ctx, args);
      const commitment = hash32(args, 'commitment');
      const systems = correctionSystems(ctx, args, r.org);
      const rec = ctx.get(recordKey(r.org, r.record)) as unknown as DataRecord | undefined;
      if (rec === undefined || rec.erasedAt !== null) {
        throw new ExecFailure('ERASED', 'the record was erased: explain instead (or nothing is left to correct)');
      }
      ctx.put(
        recordKey(r.org, r.record),
        fulfilObligations({ ...rec, commitment, updatedAt: ctx.time }, ['rectify'], ctx.time),
      );
      notifyCopies(ctx, rec, 'rectify');
      ctx.put(rectificationKey(r.org, r.id), {
        ...r,
        status: 'applied',
        closedAt: ctx.time,
        commitment,
        closedBy: ctx.txId,
        ...(systems === undefined ? {} : { systems }),
      });
      return 'OK';
    },
    /** One system's update of an applied correction (rectify-steps.ts). */
    step(ctx: ExecContext, args: Args) {
      recordRectifyStep(ctx, args, orgItem(ctx, args));
      return 'OK';
    },
    /** The org extends the deadline once, before it passes, for a reason code (GDPR Art. 12(3)). */
    extend(ctx: ExecContext, args: Args) {
      arg.only(args, ['item', 'reason']);
      const r = pendingItem(ctx, args);
      const reason = arg.oneOf(args, 'reason', EXTEND_REASONS);
      if (r.originalDeadline !== undefined) throw new ExecFailure('CONFLICT', 'the deadline was already extended once');
      if (ctx.time > r.deadline)
        throw new ExecFailure('CONFLICT', 'the deadline has passed; it can no longer be extended');
      ctx.put(rectificationKey(r.org, r.id), {
        ...r,
        originalDeadline: r.deadline,
        deadline: extendedDeadlineOf(r.jurisdiction, r.openedAt),
        extensionReason: reason,
      });
      return 'OK';
    },
    explain(ctx: ExecContext, args: Args) {
      arg.only(args, ['item', 'reason']);
      const r = pendingItem(ctx, args);
      const answer = arg.oneOf(args, 'reason', EXPLAIN_REASONS);
      ctx.put(rectificationKey(r.org, r.id), {
        ...r,
        status: 'explained',
        closedAt: ctx.time,
        answer,
        closedBy: ctx.txId,
      });
      return 'OK';
    },
  },
};
