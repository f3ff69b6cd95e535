/**
 * The passkey routes as `CustosClient` methods (it extends this class): kept apart so the client
 * stays one screenful per route group. Each method names its route; see `actions/passkeys.ts`.
 */
import type { WalletExport } from '@custos/protocol/wallet';
import {
  type CredentialJson,
  passkeyDeviceLink,
  passkeyLogin,
  passkeyLoginOptions,
  passkeyMe,
  passkeyRecover,
  passkeyRegister,
  passkeyRegisterOptions,
  passkeyRemove,
  passkeySetKey,
  passkeySetRecovery,
  passkeySetWallet,
} from './actions/passkeys.js';
import type { CallOptions, Transport } from './transport/http.js';

export abstract class PasskeyCalls {
  protected abstract readonly transport: () => Transport;

  /** Starts a registration: a sign-up, a passkey added with `session`, or a device joining with `deviceLink`. */
  passkeyRegisterOptions(q: { session?: string; deviceLink?: string; linkAuth?: string } = {}, opts?: CallOptions) {
    return passkeyRegisterOptions(this.transport(), q, opts);
  }

  /** Finishes a registration with the browser's credential (`startRegistration`'s answer). */
  passkeyRegister(ceremony: string, response: CredentialJson, label: string, opts?: CallOptions) {
    return passkeyRegister(this.transport(), ceremony, response, label, opts);
  }

  /** Starts a sign-in with a discoverable passkey. */
  passkeyLoginOptions(opts?: CallOptions) {
    return passkeyLoginOptions(this.transport(), opts);
  }

  /** Finishes a sign-in with the browser's assertion (`startAuthentication`'s answer). */
  passkeyLogin(ceremony: string, response: CredentialJson, opts?: CallOptions) {
    return passkeyLogin(this.transport(), ceremony, response, opts);
  }

  /** Recovers with what `recoveryKeys` derives from the recovery code (the code never leaves the caller). */
  passkeyRecover(r: { lookup: string; auth: string }, opts?: CallOptions) {
    return passkeyRecover(this.transport(), r, opts);
  }

  /** The session's identity: passkeys, recovery and wallet set or not, its log. */
  passkeyMe(session: string, opts?: CallOptions) {
    return passkeyMe(this.transport(), session, opts);
  }

  /** Stores the sealed wallet (once). */
  passkeySetWallet(session: string, wallet: WalletExport, opts?: CallOptions) {
    return passkeySetWallet(this.transport(), session, wallet, opts);
  }

  /** Stores the session's passkey's wrapped wallet key. */
  passkeySetKey(session: string, credential: string, wrapped: string, opts?: CallOptions) {
    return passkeySetKey(this.transport(), session, credential, wrapped, opts);
  }

  /** Removes a passkey (never the last). */
  passkeyRemove(session: string, credential: string, opts?: CallOptions) {
    return passkeyRemove(this.transport(), session, credential, opts);
  }

  /** Sets a new recovery code (its lookup, authenticator and wrapped wallet key). */
  passkeySetRecovery(session: string, r: { lookup: string; auth: string; wrapped: string }, opts?: CallOptions) {
    return passkeySetRecovery(this.transport(), session, r, opts);
  }

  /** A single-use link for a second device, carrying the wallet key wrapped under the link's secret. */
  passkeyDeviceLink(session: string, wrapped: string, verifier: string, opts?: CallOptions) {
    return passkeyDeviceLink(this.transport(), session, wrapped, verifier, opts);
  }
}
