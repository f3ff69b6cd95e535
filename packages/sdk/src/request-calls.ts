/**
 * The org's answers to customer requests as `CustosClient` methods (it extends this class): the
 * queue, fulfilling, confirming receipt, extending, refusing, and the steps in the org's systems.
 * Kept apart so the client stays one screenful per route group; see `actions/requests.ts`.
 */
import type { ErasureExceptionEntry, ExtendReason, RejectReason, ReviewOutcome } from '@custos/protocol/ledger';
import {
  acknowledgeRequest,
  executeRequest,
  extendRequest,
  fulfilRequest,
  orgRequests,
  rejectRequest,
  requestSteps,
} from './actions/requests.js';
import type { PageQuery } from './api-types.js';
import { PasskeyCalls } from './passkey-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class RequestCalls extends PasskeyCalls {
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
  /** Each step of a request in the org's systems (`request.step`), or `pending`: "erased in 2 of 3 systems". */
  requestSteps(org: string, request: string, opts?: CallOptions) {
    return requestSteps(this.transport(), org, request, opts);
  }
  /** Runs a request across the org's systems with the node's connectors; pauses on a failed step, resumes from it. */
  executeRequest(org: string, request: string, body: { attempts?: number } = {}, opts?: CallOptions) {
    return executeRequest(this.transport(), org, request, body, opts);
  }
}
