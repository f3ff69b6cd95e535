/**
 * The org's register of personal data breaches as `CustosClient` methods (it extends this class):
 * see `actions/incidents.ts` for each route.
 */
import type { IncidentDelayReason } from '@custos/protocol/ledger';
import {
  affectedSubjects,
  closeIncident,
  type IncidentInput,
  notifyAuthority,
  notifySubjects,
  openIncident,
  orgIncidents,
} from './actions/incidents.js';
import { RequestCalls } from './request-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class IncidentCalls extends RequestCalls {
  /** The org's incidents, open ones first by the authority's deadline (72 hours from detection). */
  orgIncidents(org: string, opts?: CallOptions) {
    return orgIncidents(this.transport(), org, opts);
  }
  /** Registers a data breach (GDPR Art. 33): codes only, the 72-hour clock from `detectedAt`. */
  openIncident(org: string, input: IncidentInput, opts?: CallOptions) {
    return openIncident(this.transport(), org, input, opts);
  }
  /** Records the notification to the supervisory authority (its SHA-256), with a reason if late. */
  notifyAuthority(
    org: string,
    incident: string,
    body: { digest: string; delayReason?: IncidentDelayReason },
    opts?: CallOptions,
  ) {
    return notifyAuthority(this.transport(), org, incident, body, opts);
  }
  /** The customers the breach may affect, from the org's records in its categories. */
  affectedSubjects(org: string, incident: string, opts?: CallOptions) {
    return affectedSubjects(this.transport(), org, incident, opts);
  }
  /** Notifies the customers affected (GDPR Art. 34): those given, or every one not yet notified. */
  notifySubjects(org: string, incident: string, subjects?: string[], opts?: CallOptions) {
    return notifySubjects(this.transport(), org, incident, subjects, opts);
  }
  /** Closes an incident (the authority told first, unless a risk was unlikely). */
  closeIncident(org: string, incident: string, opts?: CallOptions) {
    return closeIncident(this.transport(), org, incident, opts);
  }
}
