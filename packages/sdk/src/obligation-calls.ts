/**
 * The org's own obligations as a controller as `CustosClient` methods (it extends this class): see
 * `actions/obligations.ts` for each route.
 */
import type { MemberProfileInput } from '@custos/protocol/ledger';
import { orgDpia, orgProfile, orgRopa, setOrgProfile } from './actions/obligations.js';
import { IncidentCalls } from './incident-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class ObligationCalls extends IncidentCalls {
  /** The org's member profile in force (GDPR Arts. 26, 27, 37). */
  orgProfile(org: string, opts?: CallOptions) {
    return orgProfile(this.transport(), org, opts);
  }
  /** Sets or changes the org's member profile: it records no customer data before it has one. */
  setOrgProfile(org: string, profile: MemberProfileInput, opts?: CallOptions) {
    return setOrgProfile(this.transport(), org, profile, opts);
  }
  /** The org's records of processing activities (GDPR Art. 30), from ledger facts. */
  orgRopa(org: string, opts?: CallOptions) {
    return orgRopa(this.transport(), org, opts);
  }
  /** The org's DPIA draft (GDPR Art. 35), for its DPO to complete. */
  orgDpia(org: string, opts?: CallOptions) {
    return orgDpia(this.transport(), org, opts);
  }
}
