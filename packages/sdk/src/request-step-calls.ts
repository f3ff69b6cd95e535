/**
 * The routes of a request's execution in the org's systems (issue 16) as `CustosClient` methods (it
 * extends this class, which extends the passkey calls): each step, running or re-running it, a
 * legal exception for one system. Each method names its route; see `actions/request-steps.ts`.
 */
import { type ExecuteBody, exceptRequestStep, executeRequest, requestSteps } from './actions/request-steps.js';
import { ConnectorCalls } from './connector-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class RequestStepCalls extends ConnectorCalls {
  /**
   * Each step of a request in the org's systems (`request.step`), or `pending`: "erased in 2 of 3
   * systems", with the legal deadline and the `overdue`, `paused` and `atRisk` flags.
   */
  requestSteps(org: string, request: string, opts?: CallOptions) {
    return requestSteps(this.transport(), org, request, opts);
  }

  /**
   * Runs a request across the org's systems with the node's connectors; pauses on a failed step, and
   * a second call re-runs from it. A rectification carries its corrected values by system.
   */
  executeRequest(org: string, request: string, body: ExecuteBody = {}, opts?: CallOptions) {
    return executeRequest(this.transport(), org, request, body, opts);
  }

  /** Records that `system` keeps the subject's data under a legal exception code (an erasure only). */
  exceptRequestStep(org: string, request: string, system: string, code: string, opts?: CallOptions) {
    return exceptRequestStep(this.transport(), org, request, system, code, opts);
  }
}
