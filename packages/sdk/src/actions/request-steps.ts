/** A request's execution in the org's systems (issue 16): its steps, running it, a legal exception for one system. */
import type { CommitResult, RequestExecution, RequestSteps } from '../api-types.js';
import type { CallOptions, Transport } from '../transport/http.js';
import { requestPath } from './requests.js';

/** A rectification's corrected value for one mapped field (a JSON scalar). */
export interface RectificationInput {
  table: string;
  field: string;
  value: string | number | boolean | null;
}

/** The body of `POST .../execute`: attempts per step, and a rectification's values by system id. */
export interface ExecuteBody {
  attempts?: number;
  rectifications?: Record<string, RectificationInput[]>;
}

/** `GET /v1/orgs/{org}/requests/{id}/steps`. */
export async function requestSteps(
  t: Transport,
  org: string,
  request: string,
  opts?: CallOptions,
): Promise<RequestSteps> {
  return t.json('GET', `${requestPath(org, request)}/steps`, undefined, opts);
}

/** `POST /v1/orgs/{org}/requests/{id}/execute`. */
export async function executeRequest(
  t: Transport,
  org: string,
  request: string,
  body: ExecuteBody = {},
  opts?: CallOptions,
): Promise<RequestExecution> {
  return t.json('POST', `${requestPath(org, request)}/execute`, body, opts, true);
}

/** `POST /v1/orgs/{org}/requests/{id}/except`. */
export async function exceptRequestStep(
  t: Transport,
  org: string,
  request: string,
  system: string,
  code: string,
  opts?: CallOptions,
): Promise<CommitResult> {
  return t.json('POST', `${requestPath(org, request)}/except`, { system, code }, opts, true);
}
