/**
 * Passkey ceremonies for the customer portal (ADR 0016): WebAuthn registration and authentication
 * verified with `@simplewebauthn/server` under the rules of WebAuthn Level 3 (client data type,
 * challenge, origin in the node's allow-list, rpIdHash, user present and user verified flags, a
 * signature counter that never goes back, ES256 only). A passkey here never signs a transaction: it
 * proves the customer holds it, and its PRF output (computed in the browser, never sent) unwraps
 * the wallet key that opens the customer's Ed25519 wallet. The ledger and the companies see nothing
 * of it: the customer's pairwise pseudonyms stay unlinkable.
 *
 * Challenges are single use (taken out of the table before verification, whatever its outcome),
 * expire after two minutes, and the tables of challenges, sessions and device links are bounded.
 * A session (after a verified assertion, or a recovery code) is a random bearer token valid ten
 * minutes; the node keeps only its SHA-256.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { NodeError } from '../errors.js';
import {
  CEREMONY_TTL_MS,
  DEFAULT_MAX_UNFINISHED,
  DEFAULT_UNFINISHED_TTL_MS,
  DEVICE_LINK_TTL_MS,
  ES256,
  MAX_PENDING,
  type OpenedSession,
  type PasskeyConfig,
  type PasskeyLimits,
  type PasskeySummary,
  SESSION_TTL_MS,
  type Session,
} from './limits.js';
import { Pending } from './pending.js';
import { type CredentialRow, MAX_CREDENTIALS, type PasskeyEvent, PasskeyStore } from './store.js';

interface Ceremony {
  kind: 'register' | 'login';
  challenge: string;
  expiresAt: number;
  /** For a registration: the identity the new passkey joins (a new one for a sign-up). */
  identity?: string;
  newIdentity?: boolean;
  deviceLink?: string;
}

interface DeviceLink {
  identity: string;
  wrapped: string;
  /** SHA-256 of the auth derived from the link's secret (`deviceLinkProof`): the id alone joins nothing. */
  verifier: string;
  expiresAt: number;
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

function unauthenticated(message: string, cause?: unknown): NodeError {
  return new NodeError('UNAUTHENTICATED', message, cause === undefined ? {} : { cause });
}

export class PasskeyService {
  readonly store: PasskeyStore;
  private readonly ceremonies = new Pending<Ceremony>(MAX_PENDING);
  private readonly sessions = new Pending<Session>(MAX_PENDING);
  private readonly links = new Pending<DeviceLink>(MAX_PENDING);

  private limits: PasskeyLimits = { maxUnfinished: DEFAULT_MAX_UNFINISHED, unfinishedTtlMs: DEFAULT_UNFINISHED_TTL_MS };

  constructor(
    store: PasskeyStore,
    private config: () => PasskeyConfig | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.store = store;
  }

  /** Sets the quota of unfinished sign-ups; what is not given keeps its default. */
  setLimits(limits: Partial<PasskeyLimits>): void {
    this.limits = {
      maxUnfinished: limits.maxUnfinished ?? DEFAULT_MAX_UNFINISHED,
      unfinishedTtlMs: limits.unfinishedTtlMs ?? DEFAULT_UNFINISHED_TTL_MS,
    };
  }

  /**
   * Expires the unfinished sign-ups past their time, then refuses a new one while the node holds its
   * quota of them, saying when the oldest expires (a global bound: the per-client rate alone lets many
   * clients fill the tables).
   */
  private checkSignUpQuota(now: number): void {
    const { maxUnfinished, unfinishedTtlMs } = this.limits;
    this.store.expireUnfinished(now - unfinishedTtlMs);
    const { count, oldest } = this.store.unfinished();
    if (count < maxUnfinished) return;
    const retryAfter = Math.max(1, Math.ceil(((oldest ?? now) + unfinishedTtlMs - now) / 1000));
    throw new NodeError(
      'SIGNUPS_FULL',
      `expected fewer than ${maxUnfinished} unfinished sign-ups on this node (a passkey without a wallet yet), got ${count}; retry in ${retryAfter} s, when the oldest expires`,
      { details: { retryAfter } },
    );
  }

  /** Replaces where the relying party's id and origins come from (a server built again for the same node). */
  configure(config: () => PasskeyConfig | undefined): void {
    this.config = config;
  }

  private cfg(): PasskeyConfig {
    const c = this.config();
    if (c === undefined) {
      throw new NodeError(
        'NOT_READY',
        'passkeys need the origin the portal is served from: listen first, or set the passkeys option (rpId, origins)',
      );
    }
    return c;
  }

  /**
   * Options for `navigator.credentials.create`: a sign-up (no session, no device link), a passkey
   * added by a signed-in customer (`session`), or a second device joining with a device link.
   */
  async registrationOptions(
    opts: { session?: string; deviceLink?: string; linkAuth?: string } = {},
  ): Promise<{ ceremony: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const cfg = this.cfg();
    const now = this.now();
    let identity: string;
    let newIdentity = false;
    if (opts.session !== undefined) {
      identity = this.session(opts.session).identity;
    } else if (opts.deviceLink !== undefined) {
      const link = this.links.peek(opts.deviceLink, now);
      if (link === undefined || !proves(opts.linkAuth, link.verifier))
        throw unauthenticated(
          'expected a live device link and the proof of its secret: this one is unknown, used, expired or unproven',
        );
      identity = link.identity;
    } else {
      this.checkSignUpQuota(now);
      identity = b64url(randomBytes(16));
      newIdentity = true;
    }
    const existing = newIdentity ? [] : this.store.credentials(identity);
    if (existing.length >= MAX_CREDENTIALS) {
      throw new NodeError('BAD_REQUEST', `expected at most ${MAX_CREDENTIALS} passkeys per identity: remove one first`);
    }
    const options = await generateRegistrationOptions({
      rpName: cfg.rpName,
      rpID: cfg.rpId,
      userID: Buffer.from(identity, 'base64url'),
      // What the authenticator shows in its account list: no name, no email, nothing personal.
      userName: `custos-${identity.slice(0, 8)}`,
      userDisplayName: 'Custos wallet',
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({
        id: c.id,
        transports: c.transports as AuthenticatorTransportFuture[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      supportedAlgorithmIDs: [ES256],
      timeout: CEREMONY_TTL_MS,
    });
    const ceremony = b64url(randomBytes(16));
    this.ceremonies.put(
      ceremony,
      {
        kind: 'register',
        challenge: options.challenge,
        expiresAt: now + CEREMONY_TTL_MS,
        identity,
        newIdentity,
        ...(opts.deviceLink === undefined ? {} : { deviceLink: opts.deviceLink }),
      },
      now,
    );
    return { ceremony, options };
  }

  /**
   * Verifies a registration and records the passkey: for a sign-up, with a new identity. Returns a
   * session for the new passkey and, for a device link, what the link carried (the wallet and the
   * wallet key wrapped under the link's secret, which only the new device holds).
   */
  async verifyRegistration(
    ceremonyId: string,
    response: RegistrationResponseJSON,
    label: string,
  ): Promise<{ session: OpenedSession; credential: string; wallet: string | null; linkWrapped?: string }> {
    const cfg = this.cfg();
    const now = this.now();
    const c = this.ceremonies.take(ceremonyId, now);
    if (c === undefined || c.kind !== 'register' || c.identity === undefined) {
      throw unauthenticated('expected a live registration ceremony: this one is unknown, used or expired');
    }
    let link: DeviceLink | undefined;
    if (c.deviceLink !== undefined) {
      link = this.links.take(c.deviceLink, now);
      if (link === undefined)
        throw unauthenticated('expected a live device link: this one is unknown, used or expired');
    }
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      info = await verifyRegistrationResponse({
        response,
        expectedChallenge: c.challenge,
        expectedOrigin: cfg.origins,
        expectedRPID: cfg.rpId,
        requireUserPresence: true,
        requireUserVerification: true,
        supportedAlgorithmIDs: [ES256],
      });
    } catch (cause) {
      throw unauthenticated(`the passkey registration was refused: ${messageOf(cause)}`, cause);
    }
    if (!info.verified) throw unauthenticated('the passkey registration was refused');
    const cred = info.registrationInfo.credential;
    if (this.store.credential(cred.id) !== undefined) {
      throw unauthenticated('the passkey registration was refused: this credential is already registered');
    }
    if (c.newIdentity === true) {
      // Checked again: ceremonies started while there was room may finish after it filled.
      this.checkSignUpQuota(now);
      this.store.createIdentity(c.identity, now);
    } else if (this.store.identity(c.identity) === undefined) throw unauthenticated('the identity no longer exists');
    this.store.addCredential({
      id: cred.id,
      identity: c.identity,
      publicKey: cred.publicKey,
      counter: cred.counter,
      transports: cred.transports ?? [],
      label,
      createdAt: now,
    });
    const session = this.openSession(c.identity, cred.id, now);
    const wallet = this.store.identity(c.identity)?.wallet ?? null;
    return { session, credential: cred.id, wallet, ...(link === undefined ? {} : { linkWrapped: link.wrapped }) };
  }

  /** Options for `navigator.credentials.get` with a discoverable credential (no user name asked). */
  async authenticationOptions(): Promise<{ ceremony: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const cfg = this.cfg();
    const now = this.now();
    const options = await generateAuthenticationOptions({
      rpID: cfg.rpId,
      userVerification: 'required',
      timeout: CEREMONY_TTL_MS,
    });
    const ceremony = b64url(randomBytes(16));
    this.ceremonies.put(
      ceremony,
      { kind: 'login', challenge: options.challenge, expiresAt: now + CEREMONY_TTL_MS },
      now,
    );
    return { ceremony, options };
  }

  /** Verifies an assertion; returns a session, the wallet and this passkey's wrapped wallet key. */
  async verifyAuthentication(
    ceremonyId: string,
    response: AuthenticationResponseJSON,
  ): Promise<{ session: OpenedSession; credential: string; wallet: string | null; wrappedKey: string | null }> {
    const cfg = this.cfg();
    const now = this.now();
    const c = this.ceremonies.take(ceremonyId, now);
    if (c === undefined || c.kind !== 'login') {
      throw unauthenticated('expected a live sign-in ceremony: this one is unknown, used or expired');
    }
    const cred = this.store.credential(response.id);
    if (cred === undefined)
      throw unauthenticated('the passkey is not registered with this node (removed, or never added)');
    if (response.response.userHandle !== undefined && response.response.userHandle !== cred.identity) {
      throw unauthenticated('the passkey assertion names another identity than its credential');
    }
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      info = await verifyAuthenticationResponse({
        response,
        expectedChallenge: c.challenge,
        expectedOrigin: cfg.origins,
        expectedRPID: cfg.rpId,
        credential: { id: cred.id, publicKey: cred.publicKey, counter: cred.counter },
        requireUserVerification: true,
      });
    } catch (cause) {
      throw unauthenticated(`the passkey assertion was refused: ${messageOf(cause)}`, cause);
    }
    if (!info.verified) throw unauthenticated('the passkey assertion was refused');
    this.store.used(cred.id, info.authenticationInfo.newCounter, now);
    const session = this.openSession(cred.identity, cred.id, now);
    return {
      session,
      credential: cred.id,
      wallet: this.store.identity(cred.identity)?.wallet ?? null,
      wrappedKey: cred.wrappedKey,
    };
  }

  /** A recovery code's lookup and authenticator: a recovery session, the wallet and the code's wrapped key. */
  recover(lookup: string, auth: Uint8Array): { session: OpenedSession; wallet: string | null; wrapped: string } {
    const now = this.now();
    const r = this.store.recover(lookup, auth, now);
    if (r === undefined) throw unauthenticated('expected a valid recovery code: this one is unknown or already used');
    this.sessions.deleteWhere((s) => s.identity === r.identity);
    return { session: this.openSession(r.identity, null, now), wallet: r.wallet, wrapped: r.wrapped };
  }

  /** The live session for a bearer token; UNAUTHENTICATED otherwise. */
  session(token: string): Session {
    const s = this.sessions.peek(tokenHash(token), this.now());
    if (s === undefined) throw unauthenticated('expected a live passkey session: sign in with your passkey again');
    return s;
  }

  me(token: string): {
    identity: string;
    passkeys: PasskeySummary[];
    hasRecovery: boolean;
    hasWallet: boolean;
    events: PasskeyEvent[];
  } {
    const s = this.session(token);
    const id = this.store.identity(s.identity);
    if (id === undefined) throw unauthenticated('the identity no longer exists');
    return {
      identity: s.identity,
      passkeys: this.store.credentials(s.identity).map(summary),
      hasRecovery: id.hasRecovery,
      hasWallet: id.wallet !== null,
      events: this.store.events(s.identity),
    };
  }

  /** Stores the sealed wallet, once: it is replaced only by a new sign-up, never overwritten by a session. */
  setWallet(token: string, wallet: string): void {
    const s = this.session(token);
    const id = this.store.identity(s.identity);
    if (id?.wallet !== null && id?.wallet !== undefined) {
      throw new NodeError('BAD_REQUEST', 'expected an identity without a wallet: this one has its wallet already');
    }
    this.store.setWallet(s.identity, wallet);
  }

  /** Stores the wallet key wrapped under the session's own passkey's PRF output. */
  setWrappedKey(token: string, credential: string, wrapped: string): void {
    const s = this.session(token);
    if (s.credential !== credential) {
      throw new NodeError(
        'FORBIDDEN',
        'expected the passkey this session was opened with: a passkey wraps its own key',
      );
    }
    this.store.setWrappedKey(credential, wrapped);
  }

  setRecovery(token: string, r: { lookup: string; auth: Uint8Array; wrapped: string }): void {
    const s = this.session(token);
    this.store.setRecovery(s.identity, r, this.now());
  }

  removeCredential(token: string, credential: string): void {
    const s = this.session(token);
    const all = this.store.credentials(s.identity);
    const c = all.find((x) => x.id === credential);
    if (c === undefined) throw new NodeError('NOT_FOUND', 'expected one of your passkeys: no such passkey');
    if (all.length === 1) {
      throw new NodeError('BAD_REQUEST', 'expected another passkey left: add one before removing your last');
    }
    this.store.removeCredential(c, this.now());
    this.sessions.deleteWhere((x) => x.credential === credential);
  }

  /** A single-use link for a second device, carrying the wallet key wrapped under a secret only the link holds. */
  createDeviceLink(token: string, wrapped: string, verifier: string): { link: string; expiresAt: number } {
    const s = this.session(token);
    const now = this.now();
    const link = b64url(randomBytes(16));
    const expiresAt = now + DEVICE_LINK_TTL_MS;
    this.links.put(link, { identity: s.identity, wrapped, verifier, expiresAt }, now);
    this.store.log(s.identity, now, 'device-link-created', null);
    return { link, expiresAt };
  }

  private openSession(identity: string, credential: string | null, now: number): OpenedSession {
    const token = b64url(randomBytes(32));
    const s: Session = { identity, credential, expiresAt: now + SESSION_TTL_MS };
    this.sessions.put(tokenHash(token), s, now);
    return { ...s, token };
  }
}

function summary(c: CredentialRow): PasskeySummary {
  return { id: c.id, label: c.label, createdAt: c.createdAt, lastUsedAt: c.lastUsedAt };
}

/** Whether `auth` (base64url) hashes to `verifier` (base64url of its SHA-256), in constant time. */
function proves(auth: string | undefined, verifier: string): boolean {
  if (auth === undefined) return false;
  const got = createHash('sha256').update(Buffer.from(auth, 'base64url')).digest();
  const want = Buffer.from(verifier, 'base64url');
  return got.length === want.length && timingSafeEqual(got, want);
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 300);
}

export { PasskeyStore };

const services = new WeakMap<object, PasskeyService>();

/** The node's passkey service (one per node, its tables in the node's SQLite file). */
export function passkeyServiceOf(
  node: { store: { db: ConstructorParameters<typeof PasskeyStore>[0] } },
  config: () => PasskeyConfig | undefined,
  limits: Partial<PasskeyLimits> = {},
): PasskeyService {
  let s = services.get(node);
  if (s === undefined) {
    s = new PasskeyService(new PasskeyStore(node.store.db), config);
    services.set(node, s);
  } else {
    s.configure(config);
  }
  s.setLimits(limits);
  return s;
}
