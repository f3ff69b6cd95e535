/**
 * The passkey routes of the customer portal (ADR 0016): the WebAuthn ceremonies' options and
 * answers pass through as JSON (`@simplewebauthn/browser` in a browser makes and reads them); the
 * session routes take the session token the ceremonies answer.
 */
import type { WalletExport } from '@custos/protocol/wallet';
import type { CallOptions, Transport } from '../transport/http.js';
import { seg } from '../transport/url.js';

/** A passkey session: `Authorization: Bearer <token>` for the `me` routes, valid ten minutes. */
export interface PasskeySession {
  token: string;
  expiresAt: number;
}

/** Options for `navigator.credentials.create` / `.get` as JSON, and the ceremony to answer with. */
export interface PasskeyCeremony<Options = Record<string, unknown>> {
  ceremony: string;
  options: Options;
}

export interface PasskeyRegistered {
  session: PasskeySession;
  identity: string;
  credential: string;
  wallet: WalletExport | null;
  /** For a device link: the wallet key wrapped under the link's secret. */
  deviceLinkWrapped: string | null;
}

export interface PasskeySignedIn {
  session: PasskeySession;
  identity: string;
  credential: string;
  wallet: WalletExport | null;
  /** This passkey's wallet key, wrapped under its PRF output; null until set. */
  wrappedKey: string | null;
}

export interface PasskeyRecovered {
  session: PasskeySession;
  identity: string;
  wallet: WalletExport | null;
  /** The wallet key wrapped under the recovery code. */
  wrapped: string;
}

export interface PasskeyInfo {
  id: string;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface PasskeyIdentity {
  identity: string;
  passkeys: PasskeyInfo[];
  hasRecovery: boolean;
  hasWallet: boolean;
  /** The customer's own log: identity created, passkey added or removed, recovery set or used, device link made. */
  events: { at: number; kind: string; detail: string | null }[];
}

/** What a registration or sign-in sends back: the browser's credential as JSON. */
export type CredentialJson = Record<string, unknown>;

const bearer = (session: string, opts: CallOptions = {}): CallOptions => ({
  ...opts,
  headers: { ...opts.headers, authorization: `Bearer ${session}` },
});

/** `POST /v1/passkeys/register/options`: a sign-up, a passkey added with `session`, or a device joining with `deviceLink`. */
export function passkeyRegisterOptions(
  t: Transport,
  q: { session?: string; deviceLink?: string; linkAuth?: string } = {},
  opts?: CallOptions,
): Promise<PasskeyCeremony> {
  const body = q.deviceLink === undefined ? {} : { deviceLink: q.deviceLink, linkAuth: q.linkAuth ?? '' };
  return t.json(
    'POST',
    '/v1/passkeys/register/options',
    body,
    q.session === undefined ? opts : bearer(q.session, opts),
  );
}

/** `POST /v1/passkeys/register`. */
export function passkeyRegister(
  t: Transport,
  ceremony: string,
  response: CredentialJson,
  label: string,
  opts?: CallOptions,
): Promise<PasskeyRegistered> {
  return t.json('POST', '/v1/passkeys/register', { ceremony, response, label }, opts);
}

/** `POST /v1/passkeys/login/options`. */
export function passkeyLoginOptions(t: Transport, opts?: CallOptions): Promise<PasskeyCeremony> {
  return t.json('POST', '/v1/passkeys/login/options', {}, opts);
}

/** `POST /v1/passkeys/login`. */
export function passkeyLogin(
  t: Transport,
  ceremony: string,
  response: CredentialJson,
  opts?: CallOptions,
): Promise<PasskeySignedIn> {
  return t.json('POST', '/v1/passkeys/login', { ceremony, response }, opts);
}

/** `POST /v1/passkeys/recover` with the lookup and authenticator of `recoveryKeys` (never the code). */
export function passkeyRecover(
  t: Transport,
  r: { lookup: string; auth: string },
  opts?: CallOptions,
): Promise<PasskeyRecovered> {
  return t.json('POST', '/v1/passkeys/recover', { lookup: r.lookup, auth: r.auth }, opts);
}

/** `GET /v1/passkeys/me`. */
export function passkeyMe(t: Transport, session: string, opts?: CallOptions): Promise<PasskeyIdentity> {
  return t.json('GET', '/v1/passkeys/me', undefined, bearer(session, opts));
}

/** `PUT /v1/passkeys/me/wallet`: once, right after sign-up. */
export async function passkeySetWallet(
  t: Transport,
  session: string,
  wallet: WalletExport,
  opts?: CallOptions,
): Promise<void> {
  await t.json('PUT', '/v1/passkeys/me/wallet', { wallet }, bearer(session, opts));
}

/** `PUT /v1/passkeys/me/passkeys/{id}/key`: the session's own passkey only. */
export async function passkeySetKey(
  t: Transport,
  session: string,
  credential: string,
  wrapped: string,
  opts?: CallOptions,
): Promise<void> {
  await t.json('PUT', `/v1/passkeys/me/passkeys/${seg(credential)}/key`, { wrapped }, bearer(session, opts));
}

/** `DELETE /v1/passkeys/me/passkeys/{id}`. */
export async function passkeyRemove(t: Transport, session: string, credential: string, opts?: CallOptions) {
  await t.json('DELETE', `/v1/passkeys/me/passkeys/${seg(credential)}`, undefined, bearer(session, opts));
}

/** `PUT /v1/passkeys/me/recovery`. */
export async function passkeySetRecovery(
  t: Transport,
  session: string,
  r: { lookup: string; auth: string; wrapped: string },
  opts?: CallOptions,
): Promise<void> {
  await t.json('PUT', '/v1/passkeys/me/recovery', r, bearer(session, opts));
}

/** `POST /v1/passkeys/me/device-links`. */
export function passkeyDeviceLink(
  t: Transport,
  session: string,
  wrapped: string,
  verifier: string,
  opts?: CallOptions,
): Promise<{ link: string; expiresAt: number }> {
  return t.json('POST', '/v1/passkeys/me/device-links', { wrapped, verifier }, bearer(session, opts));
}
