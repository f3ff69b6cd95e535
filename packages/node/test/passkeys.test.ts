/**
 * The passkey ceremonies' verification rules (ADR 0016), against a node's HTTP API with a software
 * authenticator: a real P-256 key (node:crypto) that builds authenticator data and client data as a
 * browser and an authenticator do, so each rule can be broken one at a time. Bad origin, wrong
 * challenge, replayed challenge, user-present or user-verified flag missing, counter regression,
 * another relying party; then the sessions: wallet once, wrapped keys per passkey, removal, device
 * links and recovery codes, and the expiry of challenges.
 */
import { randomBytes } from 'node:crypto';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPasskeyOrigins, createServer } from '../src/api/server.js';
import { CEREMONY_TTL_MS } from '../src/passkeys/limits.js';
import { PasskeyService } from '../src/passkeys/passkeys.js';
import { PasskeyStore } from '../src/passkeys/store.js';
import { b64u, LINK, ORIGIN, RP_ID, SoftAuthenticator, UP, UV } from './passkey-authenticator.js';

let api: ApiNode;

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, session?: string) {
  const res = await api.app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    headers: session === undefined ? {} : { authorization: `Bearer ${session}` },
  });
  return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) };
}

const WRAPPED = b64u(randomBytes(60));

/** Signs up with `a`: a new identity with one passkey, its session. */
async function signUp(a: SoftAuthenticator, label = 'Laptop') {
  const o = await call('POST', '/v1/passkeys/register/options', {});
  expect(o.status).toBe(200);
  const r = await call('POST', '/v1/passkeys/register', {
    ceremony: o.body.ceremony,
    response: a.register(o.body.options),
    label,
  });
  expect(r.status).toBe(201);
  return r.body as { session: { token: string }; identity: string; credential: string };
}

async function login(a: SoftAuthenticator, o: Parameters<SoftAuthenticator['assert']>[1] = {}) {
  const opts = await call('POST', '/v1/passkeys/login/options', {});
  expect(opts.status).toBe(200);
  return call('POST', '/v1/passkeys/login', { ceremony: opts.body.ceremony, response: a.assert(opts.body.options, o) });
}

beforeAll(async () => {
  api = await startApiNode({ server: { rateLimit: false, passkeys: { rpId: RP_ID, origins: [ORIGIN] } } });
});

afterAll(async () => {
  await api?.close();
});

describe('registration', () => {
  it('asks for a discoverable, user-verified ES256 passkey with no personal data in the user entity', async () => {
    const o = await call('POST', '/v1/passkeys/register/options', {});
    expect(o.status).toBe(200);
    const opts = o.body.options;
    expect(opts.rp.id).toBe(RP_ID);
    expect(opts.pubKeyCredParams).toEqual([{ alg: -7, type: 'public-key' }]);
    expect(opts.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
    expect(opts.user.displayName).toBe('Custos wallet');
    expect(opts.user.name).toMatch(/^custos-[A-Za-z0-9_-]{8}$/);
    expect(opts.attestation).toBe('none');
  });

  it('records a passkey and answers a session', async () => {
    const a = new SoftAuthenticator();
    const s = await signUp(a);
    expect(s.credential).toBe(b64u(a.id));
    const me = await call('GET', '/v1/passkeys/me', undefined, s.session.token);
    expect(me.status).toBe(200);
    expect(me.body.passkeys.map((p: { label: string }) => p.label)).toEqual(['Laptop']);
    expect(me.body.events.map((e: { kind: string }) => e.kind)).toEqual(['identity-created', 'passkey-added']);
    expect(me.body.hasWallet).toBe(false);
  });

  it.each([
    ['an origin outside the allow-list', { origin: 'http://evil.example' }, /origin/],
    ['another relying party', { rpId: 'evil.example' }, /RP ID/i],
    ['a get instead of a create', { type: 'webauthn.get' }, /type/],
    ['no user verification', { flags: UP }, /verif/i],
    ['no user presence', { flags: UV }, /present/i],
  ])('refuses %s', async (_what, bad, message) => {
    const o = await call('POST', '/v1/passkeys/register/options', {});
    const r = await call('POST', '/v1/passkeys/register', {
      ceremony: o.body.ceremony,
      response: new SoftAuthenticator().register(o.body.options, bad),
      label: 'x',
    });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('UNAUTHENTICATED');
    expect(r.body.detail).toMatch(message);
  });

  it('refuses a response to another ceremony’s challenge, and a ceremony answered twice', async () => {
    const o1 = await call('POST', '/v1/passkeys/register/options', {});
    const o2 = await call('POST', '/v1/passkeys/register/options', {});
    const a = new SoftAuthenticator();
    const wrong = await call('POST', '/v1/passkeys/register', {
      ceremony: o1.body.ceremony,
      response: a.register(o2.body.options),
      label: 'x',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toMatch(/challenge/);
    // The failed answer used the ceremony up: the right response to it is refused now.
    const again = await call('POST', '/v1/passkeys/register', {
      ceremony: o1.body.ceremony,
      response: a.register(o1.body.options),
      label: 'x',
    });
    expect(again.status).toBe(401);
    expect(again.body.detail).toMatch(/unknown, used or expired/);
  });

  it('bounds the body: an oversized client data is a 400 before any check', async () => {
    const o = await call('POST', '/v1/passkeys/register/options', {});
    const response = new SoftAuthenticator().register(o.body.options) as { response: Record<string, string> };
    response.response.clientDataJSON = 'A'.repeat(5000);
    const r = await call('POST', '/v1/passkeys/register', { ceremony: o.body.ceremony, response, label: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('BAD_REQUEST');
  });
});

describe('sign-in', () => {
  let a: SoftAuthenticator;
  let token: string;

  beforeAll(async () => {
    a = new SoftAuthenticator();
    const s = await signUp(a);
    token = s.session.token;
  });

  it('verifies an assertion and answers the session with the wrapped key', async () => {
    const key = await call('PUT', `/v1/passkeys/me/passkeys/${b64u(a.id)}/key`, { wrapped: WRAPPED }, token);
    expect(key.status).toBe(204);
    const r = await login(a);
    expect(r.status).toBe(200);
    expect(r.body.wrappedKey).toBe(WRAPPED);
    expect(r.body.session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a bad origin', async () => {
    const r = await login(a, { origin: 'https://localhost.evil.example' });
    expect(r.status).toBe(401);
    expect(r.body.detail).toMatch(/origin/);
  });

  it('refuses a wrong challenge', async () => {
    const r = await login(a, { challenge: b64u(randomBytes(32)) });
    expect(r.status).toBe(401);
    expect(r.body.detail).toMatch(/challenge/);
  });

  it('refuses a replayed challenge: the same assertion, and the same ceremony, a second time', async () => {
    const opts = await call('POST', '/v1/passkeys/login/options', {});
    const response = a.assert(opts.body.options);
    const first = await call('POST', '/v1/passkeys/login', { ceremony: opts.body.ceremony, response });
    expect(first.status).toBe(200);
    const replay = await call('POST', '/v1/passkeys/login', { ceremony: opts.body.ceremony, response });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/unknown, used or expired/);
    // Replayed into a fresh ceremony, its challenge is not that ceremony's.
    const fresh = await call('POST', '/v1/passkeys/login/options', {});
    const moved = await call('POST', '/v1/passkeys/login', { ceremony: fresh.body.ceremony, response });
    expect(moved.status).toBe(401);
    expect(moved.body.detail).toMatch(/challenge/);
  });

  it('refuses an assertion without the user-present flag, and one without user verification', async () => {
    const noUp = await login(a, { flags: UV });
    expect(noUp.status).toBe(401);
    expect(noUp.body.detail).toMatch(/not present/);
    const noUv = await login(a, { flags: UP });
    expect(noUv.status).toBe(401);
    expect(noUv.body.detail).toMatch(/verif/i);
  });

  it('refuses a signature counter that goes back (a cloned authenticator)', async () => {
    const up = await login(a, { counter: 50 });
    expect(up.status).toBe(200);
    const back = await login(a, { counter: 49 });
    expect(back.status).toBe(401);
    expect(back.body.detail).toMatch(/counter/);
    const same = await login(a, { counter: 50 });
    expect(same.status).toBe(401);
    expect((await login(a, { counter: 51 })).status).toBe(200);
  });

  it('refuses another relying party, a signature by another key, and an unknown passkey', async () => {
    expect((await login(a, { rpId: 'evil.example' })).status).toBe(401);
    const opts = await call('POST', '/v1/passkeys/login/options', {});
    const forged = a.assert(opts.body.options) as { response: { signature: string } };
    const other = new SoftAuthenticator();
    other.userHandle = a.userHandle;
    forged.response.signature = (other.assert(opts.body.options) as typeof forged).response.signature;
    const bad = await call('POST', '/v1/passkeys/login', { ceremony: opts.body.ceremony, response: forged });
    expect(bad.status).toBe(401);
    const stranger = new SoftAuthenticator();
    stranger.userHandle = b64u(randomBytes(16));
    const unknown = await login(stranger);
    expect(unknown.status).toBe(401);
    expect(unknown.body.detail).toMatch(/not registered/);
  });
});

describe('sessions', () => {
  it('needs a live session; a passkey sets only its own wrapped key; the wallet is set once', async () => {
    const a = new SoftAuthenticator();
    const { session } = await signUp(a);
    const cred = b64u(a.id);
    for (const [method, url, body] of [
      ['GET', '/v1/passkeys/me', undefined],
      ['PUT', '/v1/passkeys/me/wallet', { wallet: {} }],
      ['PUT', `/v1/passkeys/me/passkeys/${cred}/key`, { wrapped: WRAPPED }],
      ['DELETE', `/v1/passkeys/me/passkeys/${cred}`, undefined],
      [
        'PUT',
        '/v1/passkeys/me/recovery',
        { lookup: b64u(randomBytes(16)), auth: b64u(randomBytes(32)), wrapped: WRAPPED },
      ],
      ['POST', '/v1/passkeys/me/device-links', { wrapped: WRAPPED, verifier: LINK.verifier }],
    ] as const) {
      const r = await call(method, url, body);
      expect([url, r.status, r.body?.code]).toEqual([url, 401, 'UNAUTHENTICATED']);
    }
    expect((await call('GET', '/v1/passkeys/me')).status).toBe(401);
    expect((await call('GET', '/v1/passkeys/me', undefined, b64u(randomBytes(32)))).status).toBe(401);
    const other = await call(
      'PUT',
      `/v1/passkeys/me/passkeys/${b64u(randomBytes(16))}/key`,
      { wrapped: WRAPPED },
      session.token,
    );
    expect(other.status).toBe(403);
    const wallet = {
      version: 1,
      kdf: { name: 'scrypt', N: 1024, r: 8, p: 1, salt: b64u(randomBytes(16)) },
      cipher: { name: 'aes-256-gcm', nonce: b64u(randomBytes(12)), ciphertext: b64u(randomBytes(4112)) },
    };
    expect((await call('PUT', '/v1/passkeys/me/wallet', { wallet }, session.token)).status).toBe(204);
    const twice = await call('PUT', '/v1/passkeys/me/wallet', { wallet }, session.token);
    expect(twice.status).toBe(400);
    const r = await login(a);
    expect(r.body.wallet).toEqual(wallet);
    const bad = await call('PUT', '/v1/passkeys/me/wallet', { wallet: { ...wallet, version: 2 } }, session.token);
    expect(bad.status).toBe(400);
  });

  it('adds a second passkey, removes the first (never the last), and the removed one no longer signs in', async () => {
    const first = new SoftAuthenticator();
    const s1 = await signUp(first, 'Phone');
    const o = await call('POST', '/v1/passkeys/register/options', {}, s1.session.token);
    expect(o.body.options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([b64u(first.id)]);
    const second = new SoftAuthenticator();
    const r = await call('POST', '/v1/passkeys/register', {
      ceremony: o.body.ceremony,
      response: second.register(o.body.options),
      label: 'Laptop',
    });
    expect(r.status).toBe(201);
    expect(r.body.identity).toBe(s1.identity);
    const token2 = r.body.session.token as string;
    expect((await call('DELETE', `/v1/passkeys/me/passkeys/${b64u(first.id)}`, undefined, token2)).status).toBe(204);
    // The removed passkey's session ended with it.
    expect((await call('GET', '/v1/passkeys/me', undefined, s1.session.token)).status).toBe(401);
    const last = await call('DELETE', `/v1/passkeys/me/passkeys/${b64u(second.id)}`, undefined, token2);
    expect(last.status).toBe(400);
    expect(last.body.detail).toMatch(/last/);
    expect((await login(first)).status).toBe(401);
    expect((await login(second)).status).toBe(200);
    const me = await call('GET', '/v1/passkeys/me', undefined, token2);
    expect(me.body.passkeys.map((p: { label: string }) => p.label)).toEqual(['Laptop']);
    expect(me.body.events.map((e: { kind: string }) => e.kind)).toContain('passkey-removed');
  });

  it('a device link adds a second device once, and carries the link-wrapped key', async () => {
    const first = new SoftAuthenticator();
    const s = await signUp(first);
    const link = await call(
      'POST',
      '/v1/passkeys/me/device-links',
      { wrapped: WRAPPED, verifier: LINK.verifier },
      s.session.token,
    );
    expect(link.status).toBe(201);
    // The link's id travels in the URL's path (logs, proxies, history): alone, or with a wrong
    // proof, it joins nothing; the proof derived from the fragment's secret does.
    const options = (linkAuth?: string) =>
      call('POST', '/v1/passkeys/register/options', {
        deviceLink: link.body.link,
        ...(linkAuth === undefined ? {} : { linkAuth }),
      });
    expect((await options()).status).toBe(401);
    expect((await options(b64u(randomBytes(32)))).status).toBe(401);
    const o = await options(LINK.auth);
    expect(o.status).toBe(200);
    const dev = new SoftAuthenticator();
    const r = await call('POST', '/v1/passkeys/register', {
      ceremony: o.body.ceremony,
      response: dev.register(o.body.options),
      label: 'Second device',
    });
    expect(r.status).toBe(201);
    expect(r.body.identity).toBe(s.identity);
    expect(r.body.deviceLinkWrapped).toBe(WRAPPED);
    const reuse = await options(LINK.auth);
    expect(reuse.status).toBe(401);
  });

  it('a recovery code is checked against its salted hash, used once, and removes every passkey', async () => {
    const a = new SoftAuthenticator();
    const s = await signUp(a);
    const lookup = b64u(randomBytes(16));
    const auth = b64u(randomBytes(32));
    expect(
      (await call('PUT', '/v1/passkeys/me/recovery', { lookup, auth, wrapped: WRAPPED }, s.session.token)).status,
    ).toBe(204);
    const stored = api.node.store.db
      .prepare('SELECT recovery_hash, recovery_salt FROM passkey_identities WHERE id = ?')
      .get(s.identity) as { recovery_hash: Buffer; recovery_salt: Buffer };
    expect(stored.recovery_hash.equals(Buffer.from(auth, 'base64url'))).toBe(false);
    expect(stored.recovery_salt.length).toBe(16);
    const wrong = await call('POST', '/v1/passkeys/recover', { lookup, auth: b64u(randomBytes(32)) });
    expect(wrong.status).toBe(401);
    const ok = await call('POST', '/v1/passkeys/recover', { lookup, auth });
    expect(ok.status).toBe(200);
    expect(ok.body.identity).toBe(s.identity);
    expect(ok.body.wrapped).toBe(WRAPPED);
    expect((await call('POST', '/v1/passkeys/recover', { lookup, auth })).status).toBe(401);
    expect((await login(a)).status).toBe(401);
    const me = await call('GET', '/v1/passkeys/me', undefined, ok.body.session.token);
    expect(me.body.passkeys).toEqual([]);
    expect(me.body.hasRecovery).toBe(false);
    // The recovery session registers the new device's passkey into the same identity.
    const o = await call('POST', '/v1/passkeys/register/options', {}, ok.body.session.token);
    const fresh = new SoftAuthenticator();
    const r = await call('POST', '/v1/passkeys/register', {
      ceremony: o.body.ceremony,
      response: fresh.register(o.body.options),
      label: 'New phone',
    });
    expect(r.body.identity).toBe(s.identity);
  });
});

describe('challenges expire', () => {
  it('a ceremony answered after two minutes is refused', async () => {
    let now = 1_000_000;
    const svc = new PasskeyService(
      new PasskeyStore(new Database(':memory:')),
      () => ({ rpId: RP_ID, rpName: 'Custos', origins: [ORIGIN] }),
      () => now,
    );
    const a = new SoftAuthenticator();
    const o = await svc.registrationOptions();
    now += CEREMONY_TTL_MS + 1;
    await expect(svc.verifyRegistration(o.ceremony, a.register(o.options) as never, 'x')).rejects.toThrow(
      /unknown, used or expired/,
    );
    const o2 = await svc.registrationOptions();
    now += CEREMONY_TTL_MS - 1;
    const r = await svc.verifyRegistration(o2.ceremony, a.register(o2.options) as never, 'x');
    expect(r.credential).toBe(b64u(a.id));
  });
});

describe('limits and configuration', () => {
  it('rate-limits the ceremonies per client, recovery the tightest', async () => {
    const app = createServer(api.node, { passkeys: { rpId: RP_ID, origins: [ORIGIN] }, passkeyCeremoniesPerMinute: 4 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        codes.push((await app.inject({ method: 'POST', url: '/v1/passkeys/login/options', payload: {} })).statusCode);
      }
      expect(codes).toEqual([200, 200, 200, 200, 429]);
      const recover = { lookup: b64u(randomBytes(16)), auth: b64u(randomBytes(32)) };
      const first = await app.inject({ method: 'POST', url: '/v1/passkeys/recover', payload: recover });
      expect(first.statusCode).toBe(401);
      const second = await app.inject({ method: 'POST', url: '/v1/passkeys/recover', payload: recover });
      expect(second.statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });

  it('answers NOT_READY, naming the setting, on a node that has neither listened nor been given its origins', async () => {
    const app = createServer(api.node, {});
    try {
      const r = await app.inject({ method: 'POST', url: '/v1/passkeys/login/options', payload: {} });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ code: 'NOT_READY', detail: expect.stringMatching(/passkeys option/) });
    } finally {
      await app.close();
    }
  });

  it('accepts only https origins on the relying party id (http only for localhost)', () => {
    expect(checkPasskeyOrigins('example.org', ['https://portal.example.org', 'https://example.org'])).toEqual([
      'https://portal.example.org',
      'https://example.org',
    ]);
    expect(checkPasskeyOrigins('localhost', ['http://localhost:7070'])).toEqual(['http://localhost:7070']);
    for (const bad of [
      'http://portal.example.org',
      'https://example.org.evil.test',
      'https://evilexample.org',
      'nope',
      'https://example.org/path',
    ]) {
      expect(() => checkPasskeyOrigins('example.org', [bad]), bad).toThrow(/passkeys: expected/);
    }
    expect(() => checkPasskeyOrigins('Example.org', ['https://example.org'])).toThrow(/relying party id/);
  });
});
