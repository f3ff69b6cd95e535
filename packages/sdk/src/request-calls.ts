/**
 * The org's answers to customer requests as `CustosClient` methods (it extends this class): the
 * queue, fulfilling, confirming receipt, extending, refusing; the steps in the org's systems are
 * `RequestStepCalls` (which this extends).
 * Kept apart so the client stays one screenful per route group; see `actions/requests.ts`.
 */
import type { ErasureExceptionEntry, ExtendReason, RejectReason, ReviewOutcome } from '@custos/protocol/ledger';
import { confirmExport, relayedExport, relayedExportConfirm, subjectExport } from './actions/customers.js';
import { acknowledgeRequest, extendRequest, fulfilRequest, orgRequests, rejectRequest } from './actions/requests.js';
import type { PageQuery } from './api-types.js';
import { RequestStepCalls } from './request-step-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class RequestCalls extends RequestStepCalls {
  /** One page of the org's requests queue, open ones first by deadline, overdue ones flagged. */
  orgRequests(org: string, q: PageQuery = {}, opts?: CallOptions) {
    return orgRequests(this.transport(), org, q, opts);
  }
  /**
   * Fulfils a request: an erasure needs every record erased or excepted (`ERASURE_EXCEPTIONS`); with a
   * data map, every system's step done; else `CONFLICT`. A review of an automated decision names its
   * `outcome` (`REVIEW_OUTCOMES`).
   */
  fulfilRequest(
    org: string,
    request: string,
    answer: { exceptions?: ErasureExceptionEntry[]; outcome?: ReviewOutcome } = {},
    opts?: CallOptions,
  ) {
    return fulfilRequest(this.transport(), org, request, answer, opts);
  }
  /** Confirms receipt of a request (CCPA regulations 7021(a): within 10 business days, `ackDeadline`). */
  acknowledgeRequest(org: string, request: string, opts?: CallOptions) {
    return acknowledgeRequest(this.transport(), org, request, opts);
  }
  /** Extends a request's deadline once, within the legal maximum, with the reason the customer sees. */
  extendRequest(org: string, request: string, reason: ExtendReason, opts?: CallOptions) {
    return extendRequest(this.transport(), org, request, reason, opts);
  }
  /** Rejects a request with the reason the customer sees (a code: `REJECT_REASONS`). */
  rejectRequest(org: string, request: string, reason: RejectReason, opts?: CallOptions) {
    return rejectRequest(this.transport(), org, request, reason, opts);
  }
  /**
   * The data export of the subject's fulfilled access or export request (sign with the subject's
   * key); with `org`, through any member's peer. Relayed, it waits at the org's node until `confirmExport`.
   */
  subjectExport(did: string, request: string, opts?: CallOptions & { org?: string }) {
    return subjectExport(this.transport(), did, request, opts);
  }
  /** A customer's export, fetched for them by another member's peer (member key, the customer's signature forwarded). */
  relayedExport(org: string, request: string, opts?: CallOptions) {
    return relayedExport(this.transport(), org, request, opts);
  }
  /** The subject confirms they have their export: the org's node deletes it (`confirmed: false`: none was waiting). */
  confirmExport(did: string, request: string, opts?: CallOptions & { org?: string }) {
    return confirmExport(this.transport(), did, request, opts);
  }
  /** A customer's confirmation of their download, passed on by another member's peer. */
  relayedExportConfirm(org: string, request: string, opts?: CallOptions) {
    return relayedExportConfirm(this.transport(), org, request, opts);
  }
}
