/**
 * The passkey service's bounds and the shapes it hands out (ADR 0016): how long ceremonies,
 * sessions and device links live, how many wait, the sign-up quota, the relying party's settings.
 */

export const CEREMONY_TTL_MS = 120_000;
export const SESSION_TTL_MS = 10 * 60_000;
export const DEVICE_LINK_TTL_MS = 10 * 60_000;
/** Open ceremonies, sessions and device links each: the oldest goes first when full. */
export const MAX_PENDING = 10_000;
/** Sign-ups not finished (a passkey, no wallet yet) the node holds at most, all customers together. */
export const DEFAULT_MAX_UNFINISHED = 1_000;
/** How long an unfinished sign-up is kept before it expires (the portal sets the wallet right after the passkey). */
export const DEFAULT_UNFINISHED_TTL_MS = 60 * 60_000;

/** The global quota of unfinished sign-ups (docs/operations.md, "Passkeys"). */
export interface PasskeyLimits {
  maxUnfinished: number;
  unfinishedTtlMs: number;
}

/** COSE algorithm -7: ECDSA with P-256 and SHA-256, the one every passkey provider supports. */
export const ES256 = -7;

export interface PasskeyConfig {
  /** The WebAuthn relying party id: the portal's host name (`localhost` for a loopback node). */
  rpId: string;
  /** Shown by the authenticator next to the passkey. */
  rpName: string;
  /** Origins the portal is served from (`https://portal.example.org`); any other is refused. */
  origins: string[];
}

export interface PasskeySummary {
  id: string;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface Session {
  identity: string;
  /** The credential the session was opened with, or null for a recovery session. */
  credential: string | null;
  expiresAt: number;
}

/** A session as handed to the client: the bearer token is shown once, the node keeps its hash. */
export interface OpenedSession extends Session {
  token: string;
}
