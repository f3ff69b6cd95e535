/**
 * The org's register of personal data breaches (GDPR Arts. 33-34; docs/customer-data.md "Data
 * breaches"). An org opens an incident with when it became aware of it, what it touched and its
 * assessment of the risk; the ledger starts the 72-hour clock for the supervisory authority from the
 * detection, takes the notification to the authority as a digest (late only with a reason code),
 * and files a notice under each affected customer's pseudonym, one transaction each (a transaction
 * naming several pseudonyms would show them to one another in their histories). Closing needs the
 * authority told, unless the org judged a risk unlikely.
 *
 * State: `incident/<org>/<id>` -> Incident (the org's); `incident/<org>/<id>/n/<subject>` ->
 * IncidentNotice (the org's and that customer's, listed among the customer's items).
 */
import {
  INCIDENT_AUTHORITY_HOURS,
  INCIDENT_DELAY_REASONS,
  INCIDENT_NATURES,
  INCIDENT_RISKS,
  type Incident,
  type IncidentNotice,
} from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { addSubjectItem, codes, hash32, signerOrg, subjectArg, subjectItems } from './common.js';

export type { Incident, IncidentNotice };

const HOUR = 3_600_000;
/** How far back an org may date its awareness of a breach it registers now. */
export const MAX_INCIDENT_AGE_MS = 365 * 24 * HOUR;

export function incidentKey(org: string, id: string): string {
  return `incident/${org}/${id}`;
}

export function incidentNoticeKey(org: string, id: string, subject: string): string {
  return `incident/${org}/${id}/n/${subject}`;
}

/** Whether the authority's 72 hours ran out at `now` with the authority not told (a risk not unlikely). */
export function isAuthorityOverdue(i: Incident, now: number): boolean {
  return i.risk !== 'unlikely' && i.authorityNotifiedAt === null && i.closedAt === null && now > i.authorityDeadline;
}

function openIncident(ctx: ExecContext, args: Args): Incident {
  const org = signerOrg(ctx);
  const id = arg.str(args, 'incident', 64, /^[0-9a-f]{64}$/);
  const i = ctx.get(incidentKey(org, id)) as unknown as Incident | undefined;
  if (i === undefined) throw new ExecFailure('NOT_FOUND', `no incident ${id} of ${org}`);
  if (i.closedAt !== null) throw new ExecFailure('CONFLICT', 'the incident is closed');
  return i;
}

export const incidentModule: Module = {
  name: 'incident',
  actions: {
    /** The org registers a breach it became aware of at `detectedAt`. */
    open(ctx: ExecContext, args: Args) {
      arg.only(args, ['detectedAt', 'nature', 'categories', 'risk']);
      const org = signerOrg(ctx);
      const detectedAt = arg.int(args, 'detectedAt', 0, Number.MAX_SAFE_INTEGER);
      if (detectedAt > ctx.time)
        throw new ExecFailure('INVALID_ARGS', 'expected args.detectedAt at or before the block time');
      if (detectedAt < ctx.time - MAX_INCIDENT_AGE_MS) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.detectedAt within the last 365 days');
      }
      const nature = arg.strList(args, 'nature', INCIDENT_NATURES.length, 16);
      const known: readonly string[] = INCIDENT_NATURES;
      if (!nature.every((n) => known.includes(n)) || new Set(nature).size !== nature.length) {
        throw new ExecFailure('INVALID_ARGS', `expected args.nature as 1-3 of ${INCIDENT_NATURES.join(', ')}`);
      }
      const incident: Incident = {
        id: ctx.txId,
        org,
        detectedAt,
        openedAt: ctx.time,
        nature: nature as Incident['nature'],
        categories: codes(args, 'categories', 'category'),
        risk: arg.oneOf(args, 'risk', INCIDENT_RISKS),
        authorityDeadline: detectedAt + INCIDENT_AUTHORITY_HOURS * HOUR,
        authorityNotifiedAt: null,
        authorityDigest: null,
        delayReason: null,
        notified: 0,
        closedAt: null,
      };
      ctx.put(incidentKey(org, ctx.txId), incident);
      return 'OK';
    },
    /** The org told the supervisory authority (Art. 33): the digest of what it sent, a reason if late. */
    authority(ctx: ExecContext, args: Args) {
      arg.only(args, ['incident', 'digest', 'delayReason']);
      const i = openIncident(ctx, args);
      if (i.authorityNotifiedAt !== null) throw new ExecFailure('CONFLICT', 'the authority was already told');
      const digest = hash32(args, 'digest');
      const late = ctx.time > i.authorityDeadline;
      if (late !== (args.delayReason !== undefined)) {
        throw new ExecFailure(
          'INVALID_ARGS',
          late
            ? `expected args.delayReason, one of ${INCIDENT_DELAY_REASONS.join(', ')}: the 72 hours have passed (GDPR Art. 33(1))`
            : 'expected no args.delayReason within the 72 hours',
        );
      }
      const delayReason = late ? arg.oneOf(args, 'delayReason', INCIDENT_DELAY_REASONS) : null;
      ctx.put(incidentKey(i.org, i.id), { ...i, authorityNotifiedAt: ctx.time, authorityDigest: digest, delayReason });
      return 'OK';
    },
    /** A notice to one customer affected (Art. 34), filed under their pseudonym at this org. */
    notify(ctx: ExecContext, args: Args) {
      arg.only(args, ['incident', 'subject']);
      const i = openIncident(ctx, args);
      const subject = subjectArg(args, 'subject');
      if (subjectItems(ctx, subject, `record/${i.org}/`).length === 0) {
        throw new ExecFailure('NOT_FOUND', `the customer has no record at ${i.org}`);
      }
      const key = incidentNoticeKey(i.org, i.id, subject);
      if (ctx.get(key) !== undefined) throw new ExecFailure('CONFLICT', 'this customer was already notified');
      ctx.index(subject);
      const notice: IncidentNotice = {
        incident: i.id,
        org: i.org,
        subject,
        detectedAt: i.detectedAt,
        nature: i.nature,
        categories: i.categories,
        risk: i.risk,
        at: ctx.time,
        txId: ctx.txId,
      };
      ctx.put(key, notice);
      addSubjectItem(ctx, subject, key);
      ctx.put(incidentKey(i.org, i.id), { ...i, notified: i.notified + 1 });
      return 'OK';
    },
    /** The org closes the incident: the authority must have been told unless a risk was unlikely. */
    close(ctx: ExecContext, args: Args) {
      arg.only(args, ['incident']);
      const i = openIncident(ctx, args);
      if (i.risk !== 'unlikely' && i.authorityNotifiedAt === null) {
        throw new ExecFailure('CONFLICT', 'tell the supervisory authority first (incident.authority, GDPR Art. 33)');
      }
      ctx.put(incidentKey(i.org, i.id), { ...i, closedAt: ctx.time });
      return 'OK';
    },
  },
};
