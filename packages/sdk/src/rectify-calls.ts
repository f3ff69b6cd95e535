/**
 * The routes of the customer's corrections (ADR 0018) as `CustosClient` methods (it extends this
 * class): kept apart so the client stays one screenful per route group. See `actions/rectify.ts`.
 */
import type { RectifyEnvelope } from '@custos/protocol/hpke';
import type { JsonValue } from '@custos/protocol/jcs';
import type { ExplainReason, ExtendReason } from '@custos/protocol/ledger';
import {
  correctFlagged,
  correctionSteps,
  deliverCorrection,
  explainRectification,
  extendRectification,
  orgHpkeKey,
  rectifications,
  relayedCorrection,
  rotateHpkeKey,
  runCorrection,
} from './actions/rectify.js';
import type { PageQuery } from './api-types.js';
import { SignalCalls } from './signal-calls.js';
import type { CallOptions } from './transport/http.js';

export abstract class RectifyCalls extends SignalCalls {
  /** The org's HPKE key in force on the ledger and the key ids its node holds (org credentials). */
  orgHpkeKey(org: string, opts?: CallOptions) {
    return orgHpkeKey(this.transport(), org, opts);
  }

  /** A new HPKE key for the org, published with `hpke.setKey` (a member key, not a token). */
  rotateHpkeKey(org: string, opts?: CallOptions) {
    return rotateHpkeKey(this.transport(), org, opts);
  }

  /** Delivers the envelope of the customer's pending `rectify.send` `id` to the org's inbox (no credentials). */
  deliverCorrection(org: string, id: string, envelope: RectifyEnvelope, opts?: CallOptions) {
    return deliverCorrection(this.transport(), org, id, envelope, opts);
  }

  /** One page of the corrections and flags sent to the org, with deadlines (org credentials). */
  rectifications(org: string, q: PageQuery = {}, opts?: CallOptions) {
    return rectifications(this.transport(), org, q, opts);
  }

  /** The org keeps the record as it is, for a reason code (`rectify.explain`). */
  explainRectification(org: string, id: string, reason: ExplainReason, opts?: CallOptions) {
    return explainRectification(this.transport(), org, id, reason, opts);
  }

  /** The org extends the item's deadline once, for a reason code (`rectify.extend`, Art. 12(3)). */
  extendRectification(org: string, id: string, reason: ExtendReason, opts?: CallOptions) {
    return extendRectification(this.transport(), org, id, reason, opts);
  }

  /** An applied correction in each of the org's systems: "corrected in N of M systems", with the deadline. */
  correctionSteps(org: string, id: string, opts?: CallOptions) {
    return correctionSteps(this.transport(), org, id, opts);
  }

  /** Runs the steps of an applied correction not yet done in the org's systems (failed, or cut by a crash). */
  runCorrection(org: string, id: string, body: { attempts?: number } = {}, opts?: CallOptions) {
    return runCorrection(this.transport(), org, id, body, opts);
  }

  /** A correction this peer relays for `org`, fetched by the org's own node (a member key of the org). */
  relayedCorrection(org: string, id: string, opts?: CallOptions) {
    return relayedCorrection(this.transport(), org, id, opts);
  }

  /** The org corrects a flagged record: the value to its vault, `rectify.apply` to the ledger. */
  correctFlagged(org: string, id: string, value: JsonValue, opts?: CallOptions) {
    return correctFlagged(this.transport(), org, id, value, opts);
  }
}
