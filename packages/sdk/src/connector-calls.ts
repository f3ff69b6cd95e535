/**
 * The routes of an org's own systems as `CustosClient` methods (it extends this class, which extends
 * the passkey calls): kept apart so the client stays within its size. Each method names its route.
 */
import { orgRetentionSystems } from './actions/requests.js';
import { PasskeyCalls } from './passkey-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class ConnectorCalls extends PasskeyCalls {
  /**
   * `GET /v1/orgs/{org}/retention/systems`: the retention schedule of the org's own systems on this
   * node (interval, last run), and the last `retention.run` the ledger holds per system.
   */
  orgRetentionSystems(org: string, opts?: CallOptions) {
    return orgRetentionSystems(this.transport(), org, opts);
  }
}
