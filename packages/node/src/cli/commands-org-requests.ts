/**
 * `custos org requests` (the org's queue of customer requests with their legal deadlines) and `custos
 * org request extend | fulfil | reject | acknowledge` (the org's answers).
 */
import {
  ERASURE_EXCEPTIONS,
  type ErasureException,
  EXTEND_REASONS,
  type ExtendReason,
  REJECT_REASONS,
  REVIEW_OUTCOMES,
  type RejectReason,
  type ReviewOutcome,
} from '@custos/protocol/ledger';
import type { Command } from 'commander';
import type { DataRequest } from '../modules/request.js';
import { parseRecordId } from './args.js';
import type { CommitResult, NodeClient } from './client.js';
import type { OrgCommandKit } from './commands-org-steps.js';
import { day, deadlineText, type Output, output } from './output.js';

/** What the requests commands need besides the kit: the org check and the commit printer. */
export interface OrgRequestKit<F extends { org: string; json?: boolean }> extends OrgCommandKit<F> {
  localOrg(client: NodeClient, org: string): Promise<string>;
  commitResult(out: Output, r: CommitResult, what: string): void;
}

/** The confirmation of receipt, where the law asks one (CCPA regulations 7021(a)). */
function ackText(r: DataRequest & { ackOverdue?: boolean }): string {
  if (r.acknowledgedAt !== undefined) return `; receipt confirmed ${day(r.acknowledgedAt)}`;
  if (r.ackDeadline === undefined || r.status !== 'open') return '';
  return r.ackOverdue === true
    ? `; RECEIPT NOT CONFIRMED (was due ${day(r.ackDeadline)})`
    : `; confirm receipt by ${day(r.ackDeadline)}`;
}

/** Registers the queue and the answers under `org`; returns the `request` command for more. */
export function registerRequestCommands<F extends { org: string; json?: boolean }>(
  org: Command,
  { orgCommand, orgClient, orgId, bad, localOrg, commitResult }: OrgRequestKit<F>,
): Command {
  type OrgFlags = F;
  orgCommand(org, 'requests', "the org's queue of customer requests, soonest deadline first")
    .option('--open', 'only open requests')
    .action(async (flags: OrgFlags & { open?: boolean }) => {
      const out = output(flags.json === true);
      const client = orgClient(flags);
      const id = await localOrg(client, flags.org);
      const doc = await client.run((sdk) => sdk.orgRequests(id));
      const requests = flags.open === true ? doc.requests.filter((r) => r.status === 'open') : doc.requests;
      const overdue = requests.filter((r) => r.overdue).length;
      const unconfirmed = requests.filter((r) => r.ackOverdue).length;
      out.result({ ...doc, requests }, [
        `${requests.length} request(s) to ${flags.org}${overdue > 0 ? `, ${overdue} OVERDUE` : ''}${unconfirmed > 0 ? `, ${unconfirmed} NOT CONFIRMED in time` : ''} (ledger time ${new Date(doc.now).toISOString()}).`,
        ...requests.flatMap((r) => [
          `  ${r.id}  ${r.kind} (${r.jurisdiction})  due ${day(r.deadline)}  ${deadlineText(r, doc.now)}${ackText(r)}`,
          `      subject ${r.subject}; opened ${day(r.openedAt)}${r.originalDeadline === null ? '' : `; extended from ${day(r.originalDeadline)}: ${r.extensionReason}`}${r.reason === null ? '' : `; reason: ${r.reason}`}${r.records.length > 0 ? `; records ${r.records.join(', ')}` : ''}`,
        ]),
      ]);
    });

  const request = org.command('request').description('answer a customer request');
  for (const [action, description] of [
    [
      'extend',
      `extend the deadline once, as the law allows (GDPR +2 months, CCPA +45 days); needs --reason, one of ${EXTEND_REASONS.join(', ')}`,
    ],
    [
      'fulfil',
      'mark the request done (an erasure needs every record of the subject erased first, or --exception RECORD=CODE)',
    ],
    ['reject', `refuse the request; needs --reason, which the customer sees, one of ${REJECT_REASONS.join(', ')}`],
  ] as const) {
    orgCommand(request, action, description)
      .argument('<id>', 'request id')
      .option('--reason <code>', 'why, as a code the customer sees in words (docs/customer-data.md, "Reasons")')
      .option(
        '--outcome <outcome>',
        `fulfil a review of an automated decision: ${REVIEW_OUTCOMES.join(' or ')} (GDPR Art. 22(3))`,
      )
      .option(
        '--exception <record=code>',
        `fulfil an erasure keeping RECORD under a legal exception (repeatable): ${[...ERASURE_EXCEPTIONS.GDPR, ...ERASURE_EXCEPTIONS.CCPA].join(', ')}`,
        (v: string, acc: string[]) => [...acc, v],
        [] as string[],
      )
      .action(async (id: string, flags: OrgFlags & { reason?: string; exception: string[]; outcome?: string }) => {
        const out = output(flags.json === true);
        if (
          flags.outcome !== undefined &&
          (action !== 'fulfil' || !(REVIEW_OUTCOMES as readonly string[]).includes(flags.outcome))
        ) {
          throw bad(`expected --outcome only on fulfil, as one of ${REVIEW_OUTCOMES.join(', ')}`);
        }
        if (action !== 'fulfil' && (flags.reason === undefined || flags.reason.length === 0)) {
          throw bad(`expected --reason for ${action}`);
        }
        if (action === 'fulfil' && flags.reason !== undefined) throw bad('expected no --reason for fulfil');
        const allowed: readonly string[] = action === 'extend' ? EXTEND_REASONS : REJECT_REASONS;
        if (action !== 'fulfil' && !allowed.includes(flags.reason!)) {
          throw bad(`expected --reason for ${action} as one of ${allowed.join(', ')}`);
        }
        if (action !== 'fulfil' && flags.exception.length > 0) throw bad(`expected no --exception for ${action}`);
        const codes: readonly string[] = [...ERASURE_EXCEPTIONS.GDPR, ...ERASURE_EXCEPTIONS.CCPA];
        const exceptions = flags.exception.map((e) => {
          const [record, code] = e.split('=');
          if (record === undefined || code === undefined || !codes.includes(code)) {
            throw bad(`expected --exception RECORD=CODE with CODE one of ${codes.join(', ')}`);
          }
          return { record: parseRecordId(record), code: code as ErasureException };
        });
        const reason = flags.reason ?? '';
        const by = orgId(flags.org);
        const requestId = parseRecordId(id);
        const r = await orgClient(flags).run((sdk) =>
          action === 'fulfil'
            ? sdk.fulfilRequest(by, requestId, {
                ...(exceptions.length === 0 ? {} : { exceptions }),
                ...(flags.outcome === undefined ? {} : { outcome: flags.outcome as ReviewOutcome }),
              })
            : action === 'extend'
              ? sdk.extendRequest(by, requestId, reason as ExtendReason)
              : sdk.rejectRequest(by, requestId, reason as RejectReason),
        );
        commitResult(out, r, `${action.charAt(0).toUpperCase()}${action.slice(1)} request ${id}`);
      });
  }

  orgCommand(
    request,
    'acknowledge',
    'confirm receipt of a request (CCPA: within 10 business days, shown as ackDeadline)',
  )
    .argument('<id>', 'request id')
    .action(async (id: string, flags: OrgFlags) => {
      const out = output(flags.json === true);
      const requestId = parseRecordId(id);
      const r = await orgClient(flags).run((sdk) => sdk.acknowledgeRequest(orgId(flags.org), requestId));
      commitResult(out, r, `Acknowledged request ${id}`);
    });

  return request;
}
