/**
 * The org's own obligations as a controller as `CustosClient` methods (it extends this class): see
 * `actions/obligations.ts` for each route.
 */
import type { MemberProfileInput } from '@custos/protocol/ledger';
import { orgCopies, restrictCopies } from './actions/copies.js';
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
  /** What the sources' erasures, rectifications and restrictions ask of the org's copies, and its recipients' compliance (GDPR Art. 19). */
  orgCopies(org: string, query: { overdue?: boolean } = {}, opts?: CallOptions) {
    return orgCopies(this.transport(), org, query, opts);
  }
  /** Records that the org restricted these copies, as their sources' restrictions ask. */
  restrictCopies(org: string, records: string[], opts?: CallOptions) {
    return restrictCopies(this.transport(), org, records, opts);
  }
}
