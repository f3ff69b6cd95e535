/**
 * The passkey ceremonies of the customer portal (ADR 0016, `passkeys/passkeys.ts`): sign up, sign
 * in, add a passkey or a second device, list and remove passkeys, set and use a recovery code.
 * Nothing here touches the ledger. Bodies are bounded by their schemas; each ceremony route has a
 * tighter rate budget than the node's default (a challenge costs the node memory until it expires),
 * and the recovery route the tightest.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { NodeError } from '../errors.js';
import type { PasskeyService } from '../passkeys/passkeys.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed } from './schema-atoms.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a passkey session (`Authorization: Bearer`): for the OpenAPI document. */
    passkeySession?: 'required' | 'optional';
  }
}

export interface PasskeyRouteOptions {
  passkeys: PasskeyService;
  /** Ceremonies per client per minute (default 20); the recovery route gets a quarter of it. */
  ceremoniesPerMinute?: number;
}

const B64URL = '^[A-Za-z0-9_-]+$';
const b64 = (max: number, min = 1) => Type.String({ pattern: B64URL, minLength: min, maxLength: max });
/** A credential id: at most 1,023 bytes (WebAuthn Level 3), so 1,364 base64url characters. */
const CREDENTIAL_ID = b64(1364);
const CEREMONY = b64(22, 22);
/** A wrapped wallet key: nonce, 32-byte key and tag, base64url; the node never opens it. */
const WRAPPED = b64(128, 40);
const LABEL = Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x20-\\x7e]+$' });

const EXTENSION_RESULTS = Type.Object({}, { additionalProperties: true, maxProperties: 8 });

const REGISTRATION_RESPONSE = Type.Object(
  {
    id: CREDENTIAL_ID,
    rawId: CREDENTIAL_ID,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: b64(4096),
        attestationObject: b64(16384),
        authenticatorData: Type.Optional(b64(8192)),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 16 }), { maxItems: 8 })),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(b64(1024)),
      },
      { additionalProperties: false },
    ),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 16 })),
    clientExtensionResults: EXTENSION_RESULTS,
  },
  { additionalProperties: false },
);

const AUTHENTICATION_RESPONSE = Type.Object(
  {
    id: CREDENTIAL_ID,
    rawId: CREDENTIAL_ID,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: b64(4096),
        authenticatorData: b64(8192),
        signature: b64(512),
        userHandle: Type.Optional(b64(86)),
      },
      { additionalProperties: false },
    ),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 16 })),
    clientExtensionResults: EXTENSION_RESULTS,
  },
  { additionalProperties: false },
);

/** The wallet export format of ADR 0003, sealed under the wallet key. */
const WALLET = closed({
  version: Type.Literal(1),
  kdf: closed({
    name: Type.Literal('scrypt'),
    N: Type.Integer({ minimum: 1024, maximum: 262144 }),
    r: Type.Literal(8),
    p: Type.Literal(1),
    salt: b64(22, 22),
  }),
  cipher: closed({ name: Type.Literal('aes-256-gcm'), nonce: b64(16, 16), ciphertext: b64(60_000) }),
});

const CEREMONY_PROBLEMS = ['UNAUTHENTICATED', 'NOT_READY'] as const;
const SESSION_PROBLEMS = ['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND'] as const;

const BEARER = /^Bearer ([A-Za-z0-9_-]{43})$/;

function bearerOf(request: FastifyRequest, required: true): string;
function bearerOf(request: FastifyRequest, required: false): string | undefined;
function bearerOf(request: FastifyRequest, required: boolean): string | undefined {
  const h = request.headers.authorization;
  if (h === undefined) {
    if (required) throw new NodeError('UNAUTHENTICATED', 'expected Authorization: Bearer with a passkey session');
    return undefined;
  }
  const m = BEARER.exec(h);
  if (m === null) throw new NodeError('UNAUTHENTICATED', 'expected Authorization: Bearer with a passkey session token');
  return m[1]!;
}

const doc = (summary: string, description: string) => ({ tags: ['passkeys'], summary, description });

export const passkeyRoutes: RoutePlugin<PasskeyRouteOptions> = async (app, opts) => {
  const pk = opts.passkeys;
  const perMinute = opts.ceremoniesPerMinute ?? 20;
  const ceremonyConfig = {
    problems: [...CEREMONY_PROBLEMS],
    rateLimit: { max: perMinute, timeWindow: 60_000 },
  };
  const sessionConfig = { problems: [...SESSION_PROBLEMS], passkeySession: 'required' as const };
  // The session is checked before the body is parsed or validated: no schema detail for strangers.
  const sessionFirst = {
    onRequest: (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) => {
      try {
        pk.session(bearerOf(request, true));
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  };
  const view = (s: { token: string; expiresAt: number; identity: string }) => ({
    token: s.token,
    expiresAt: s.expiresAt,
  });
  const walletOf = (w: string | null) => (w === null ? null : JSON.parse(w));

  app.post(
    '/v1/passkeys/register/options',
    {
      schema: {
        ...doc(
          'Start a passkey registration',
          'Options for `navigator.credentials.create` and the ceremony id to answer with. Without credentials it starts a sign-up (a new identity); with a passkey session (`Authorization: Bearer`) it adds a passkey to that identity; with `deviceLink` and `linkAuth` (derived from the secret in the link’s fragment; its SHA-256 is the link’s `verifier`) it adds a second device to the identity that made the link. The challenge is single use and expires in two minutes. A sign-up is refused with 429 SIGNUPS_FULL and `Retry-After` while the node holds its quota of unfinished sign-ups (a passkey without a wallet yet; they expire after an hour by default).',
        ),
        body: closed({ deviceLink: Type.Optional(b64(22, 22)), linkAuth: Type.Optional(b64(43, 43)) }),
      },
      config: { ...ceremonyConfig, problems: [...CEREMONY_PROBLEMS, 'SIGNUPS_FULL'], passkeySession: 'optional' },
    },
    async (request) => {
      const session = bearerOf(request, false);
      const { deviceLink, linkAuth } = request.body;
      return pk.registrationOptions({
        ...(session === undefined ? {} : { session }),
        ...(deviceLink === undefined ? {} : { deviceLink }),
        ...(linkAuth === undefined ? {} : { linkAuth }),
      });
    },
  );

  app.post(
    '/v1/passkeys/register',
    {
      schema: {
        ...doc(
          'Finish a passkey registration',
          'Verifies the attestation (type `webauthn.create`, the ceremony challenge, an allowed origin, the rpIdHash, user present and verified, ES256) and records the passkey. Answers a passkey session, the sealed wallet when the identity has one, and for a device link the wallet key wrapped under the link secret.',
        ),
        body: closed({ ceremony: CEREMONY, response: REGISTRATION_RESPONSE, label: LABEL }),
      },
      config: { ...ceremonyConfig, problems: [...CEREMONY_PROBLEMS, 'SIGNUPS_FULL'] },
    },
    async (request, reply) => {
      const { ceremony, response, label } = request.body;
      const r = await pk.verifyRegistration(ceremony, response as never, label);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({
          session: view(r.session),
          identity: r.session.identity,
          credential: r.credential,
          wallet: walletOf(r.wallet),
          deviceLinkWrapped: r.linkWrapped ?? null,
        });
    },
  );

  app.post(
    '/v1/passkeys/login/options',
    {
      schema: {
        ...doc(
          'Start a passkey sign-in',
          'Options for `navigator.credentials.get` with a discoverable credential (no user name asked) and the ceremony id. Single use, two minutes.',
        ),
        body: closed({}),
      },
      config: ceremonyConfig,
    },
    async () => pk.authenticationOptions(),
  );

  app.post(
    '/v1/passkeys/login',
    {
      schema: {
        ...doc(
          'Finish a passkey sign-in',
          'Verifies the assertion (type `webauthn.get`, the ceremony challenge, an allowed origin, the rpIdHash, user present and verified, the signature with the stored public key, a signature counter above the stored one unless both are zero) and answers a passkey session, the sealed wallet and this passkey’s wrapped wallet key.',
        ),
        body: closed({ ceremony: CEREMONY, response: AUTHENTICATION_RESPONSE }),
      },
      config: ceremonyConfig,
    },
    async (request, reply) => {
      const { ceremony, response } = request.body;
      const r = await pk.verifyAuthentication(ceremony, response as never);
      return reply.header('cache-control', 'no-store').send({
        session: view(r.session),
        identity: r.session.identity,
        credential: r.credential,
        wallet: walletOf(r.wallet),
        wrappedKey: r.wrappedKey,
      });
    },
  );

  app.post(
    '/v1/passkeys/recover',
    {
      schema: {
        ...doc(
          'Recover with the recovery code',
          'Takes the lookup and authenticator derived in the browser from the recovery code (never the code). On a match the code is used up and every passkey of the identity is removed; answers a recovery session (to register a new passkey and set a new code), the sealed wallet and the wallet key wrapped under the code.',
        ),
        body: closed({ lookup: b64(22, 22), auth: b64(43, 43) }),
      },
      config: {
        problems: ['UNAUTHENTICATED'],
        rateLimit: { max: Math.max(1, Math.floor(perMinute / 4)), timeWindow: 60_000 },
      },
    },
    async (request, reply) => {
      const { lookup, auth } = request.body;
      const r = pk.recover(lookup, Buffer.from(auth, 'base64url'));
      return reply.header('cache-control', 'no-store').send({
        session: view(r.session),
        identity: r.session.identity,
        wallet: walletOf(r.wallet),
        wrapped: r.wrapped,
      });
    },
  );

  app.get(
    '/v1/passkeys/me',
    {
      schema: {
        ...doc(
          'Your passkeys',
          'The identity of the session: its passkeys (label, added, last used), whether a recovery code and a wallet are set, and its log of passkey changes. Never a key or a wrapped key.',
        ),
      },
      config: sessionConfig,
      ...sessionFirst,
    },
    async (request, reply) => reply.header('cache-control', 'no-store').send(pk.me(bearerOf(request, true))),
  );

  app.put(
    '/v1/passkeys/me/wallet',
    {
      schema: {
        ...doc(
          'Store the sealed wallet',
          'The wallet export (ADR 0003) sealed under the wallet key, once per identity (right after sign-up).',
        ),
        body: closed({ wallet: WALLET }),
      },
      config: sessionConfig,
      ...sessionFirst,
    },
    async (request, reply) => {
      pk.setWallet(bearerOf(request, true), JSON.stringify(request.body.wallet));
      return reply.code(204).send();
    },
  );

  app.put(
    '/v1/passkeys/me/passkeys/:id/key',
    {
      schema: {
        ...doc(
          'Store a passkey’s wrapped wallet key',
          'The wallet key wrapped under a key derived from this passkey’s PRF output; only the passkey the session was opened with may set its own.',
        ),
        params: closed({ id: CREDENTIAL_ID }),
        body: closed({ wrapped: WRAPPED }),
      },
      config: sessionConfig,
      ...sessionFirst,
    },
    async (request, reply) => {
      pk.setWrappedKey(bearerOf(request, true), request.params.id, request.body.wrapped);
      return reply.code(204).send();
    },
  );

  app.delete(
    '/v1/passkeys/me/passkeys/:id',
    {
      schema: {
        ...doc(
          'Remove a passkey',
          'Removes one of your passkeys (never the last one) and ends its sessions; it can no longer sign in.',
        ),
        params: closed({ id: CREDENTIAL_ID }),
      },
      config: sessionConfig,
      ...sessionFirst,
    },
    async (request, reply) => {
      pk.removeCredential(bearerOf(request, true), request.params.id);
      return reply.code(204).send();
    },
  );

  app.put(
    '/v1/passkeys/me/recovery',
    {
      schema: {
        ...doc(
          'Set the recovery code',
          'Replaces the recovery code: its lookup, its authenticator (the node keeps a salted SHA-256 of it) and the wallet key wrapped under it, all derived in the browser from a code the node never sees.',
        ),
        body: closed({ lookup: b64(22, 22), auth: b64(43, 43), wrapped: WRAPPED }),
      },
      config: sessionConfig,
      ...sessionFirst,
    },
    async (request, reply) => {
      const { lookup, auth, wrapped } = request.body;
      pk.setRecovery(bearerOf(request, true), { lookup, auth: Buffer.from(auth, 'base64url'), wrapped });
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/passkeys/me/device-links',
    {
      schema: {
        ...doc(
          'Link a second device',
          'A single-use link (ten minutes) for another device to add its own passkey to your identity. It carries the wallet key wrapped under a secret that stays in the link’s fragment, which the node never receives, and the `verifier` (SHA-256 of an auth derived from that secret) that a joining device must answer: the link’s id alone joins nothing.',
        ),
        body: closed({ wrapped: WRAPPED, verifier: b64(43, 43) }),
      },
      config: sessionConfig,
      ...sessionFirst,
    },
    async (request, reply) =>
      reply
        .code(201)
        .header('cache-control', 'no-store')
        .send(pk.createDeviceLink(bearerOf(request, true), request.body.wrapped, request.body.verifier)),
  );
};
