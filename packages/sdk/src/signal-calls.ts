/**
 * The consent-signal routes as `CustosClient` methods (`CustosClient extends SignalCalls`, which
 * extends `PasskeyCalls`): kept
 * apart so the client stays one screenful per route group. See `actions/signals.ts`.
 */

import { emittedGpp, gpcEvidence, recordGpp, subjectGpcEvidence } from './actions/signals.js';
import { answerLink, linkChallenge, linkedAccount } from './agents.js';
import { PasskeyCalls } from './passkey-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class SignalCalls extends PasskeyCalls {
  /** Records a GPP string the org's banner collected for `subject` (org key or token): its opt-outs apply at once. */
  recordGpp(org: string, subject: string, gpp: string, opts?: CallOptions) {
    return recordGpp(this.transport(), org, subject, gpp, opts);
  }

  /** The GPP string for the org's ad stack from the customer's current choices. */
  emittedGpp(org: string, subject: string, opts?: CallOptions) {
    return emittedGpp(this.transport(), org, subject, opts);
  }

  /** One page of the org's evidence log of Global Privacy Control, newest first. */
  gpcEvidence(org: string, q: { after?: string; limit?: number } = {}, opts?: CallOptions) {
    return gpcEvidence(this.transport(), org, q, opts);
  }

  /** The evidence of a customer's GPC signals under one pseudonym (sign with its key). */
  subjectGpcEvidence(did: string, opts?: CallOptions) {
    return subjectGpcEvidence(this.transport(), did, opts);
  }

  /** A one-time challenge to link one of the org's accounts to the customer's pseudonym (org key or token). */
  linkChallenge(org: string, account: string, opts?: CallOptions) {
    return linkChallenge(this.transport(), org, account, opts);
  }

  /** Sends the wallet's answer to a link challenge (`answerLinkChallenge`); needs no credentials. */
  answerLink(org: string, answer: { challenge: string; subject: string; signature: string }, opts?: CallOptions) {
    return answerLink(this.transport(), org, answer, opts);
  }

  /** The pseudonym linked to one of the org's accounts (org key or token). */
  linkedAccount(org: string, account: string, opts?: CallOptions) {
    return linkedAccount(this.transport(), org, account, opts);
  }
}
