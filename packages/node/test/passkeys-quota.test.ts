/**
 * The global quota of unfinished passkey sign-ups (ADR 0016, docs/security.md): a sign-up holds a
 * row from its passkey until its wallet is stored; at most `maxUnfinished` such rows exist on a
 * node, whatever the clients, and each expires after `unfinishedTtlMs`. When full, a sign-up is
 * refused with 429 SIGNUPS_FULL and Retry-After; signing in and adding a passkey are not sign-ups.
 */
import { randomBytes } from 'node:crypto';
import { type ApiNode, startApiNode } from '@custos/test-utils/node';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passkeyLimitsFromEnv } from '../src/cli/peer.js';
import { DEFAULT_MAX_UNFINISHED } from '../src/passkeys/limits.js';
import { PasskeyService } from '../src/passkeys/passkeys.js';
import { PasskeyStore } from '../src/passkeys/store.js';
import { b64u, ORIGIN, RP_ID, SoftAuthenticator } from './passkey-authenticator.js';

const HOUR = 3_600_000;
let api: ApiNode;

async function call(method: 'POST' | 'PUT', url: string, body: unknown, session?: string) {
  const res = await api.app.inject({
    method,
    url,
    payload: body as Record<string, unknown>,
    headers: session === undefined ? {} : { authorization: `Bearer ${session}` },
  });
  return { status: res.statusCode, headers: res.headers, body: res.body === '' ? undefined : JSON.parse(res.body) };
}

async function signUp(a: SoftAuthenticator) {
  const o = await call('POST', '/v1/passkeys/register/options', {});
  expect(o.status).toBe(200);
  const r = await call('POST', '/v1/passkeys/register', {
    ceremony: o.body.ceremony,
    response: a.register(o.body.options),
    label: 'Phone',
  });
  expect(r.status).toBe(201);
  return r.body as { session: { token: string } };
}

const wallet = () => ({
  version: 1,
  kdf: { name: 'scrypt', N: 1024, r: 8, p: 1, salt: b64u(randomBytes(16)) },
  cipher: { name: 'aes-256-gcm', nonce: b64u(randomBytes(12)), ciphertext: b64u(randomBytes(64)) },
});

beforeAll(async () => {
  api = await startApiNode({
    server: { rateLimit: false, passkeys: { rpId: RP_ID, origins: [ORIGIN] }, passkeyLimits: { maxUnfinished: 2 } },
  });
});

afterAll(async () => {
  await api?.close();
});

describe('the quota of unfinished sign-ups', () => {
  it('refuses a sign-up with 429 and Retry-After when full; a finished sign-up frees its place', async () => {
    const first = await signUp(new SoftAuthenticator());
    // A ceremony started while there is room, answered once the quota is full, is refused too.
    const late = await call('POST', '/v1/passkeys/register/options', {});
    expect(late.status).toBe(200);
    await signUp(new SoftAuthenticator());

    const full = await call('POST', '/v1/passkeys/register/options', {});
    expect(full.status).toBe(429);
    expect(full.body).toMatchObject({
      code: 'SIGNUPS_FULL',
      detail: expect.stringMatching(
        /^expected fewer than 2 unfinished sign-ups on this node .*, got 2; retry in \d+ s/,
      ),
    });
    const retryAfter = Number(full.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(HOUR / 1000 - 60);
    expect(retryAfter).toBeLessThanOrEqual(HOUR / 1000);
    expect(full.body.detail).toContain(`retry in ${retryAfter} s`);
    const answered = await call('POST', '/v1/passkeys/register', {
      ceremony: late.body.ceremony,
      response: new SoftAuthenticator().register(late.body.options),
      label: 'Tablet',
    });
    expect(answered.status).toBe(429);
    expect(answered.body.code).toBe('SIGNUPS_FULL');

    // A signed-in customer adding a passkey is no sign-up: not refused.
    const more = await call('POST', '/v1/passkeys/register/options', {}, first.session.token);
    expect(more.status).toBe(200);

    // The first customer stores their wallet: finished, and a new sign-up fits again.
    expect((await call('PUT', '/v1/passkeys/me/wallet', { wallet: wallet() }, first.session.token)).status).toBe(204);
    await signUp(new SoftAuthenticator());
    expect((await call('POST', '/v1/passkeys/register/options', {})).status).toBe(429);
  });
});

describe('unfinished sign-ups expire', () => {
  it('after the bound: their passkey is gone and their place is free', async () => {
    let now = 1_000_000;
    const store = new PasskeyStore(new Database(':memory:'));
    const svc = new PasskeyService(
      store,
      () => ({ rpId: RP_ID, rpName: 'Custos', origins: [ORIGIN] }),
      () => now,
    );
    svc.setLimits({ maxUnfinished: 1, unfinishedTtlMs: HOUR });
    const a = new SoftAuthenticator();
    const o = await svc.registrationOptions();
    const r = await svc.verifyRegistration(o.ceremony, a.register(o.options) as never, 'Phone');
    now += HOUR - 1_000;
    await expect(svc.registrationOptions()).rejects.toMatchObject({ code: 'SIGNUPS_FULL', details: { retryAfter: 1 } });
    now += 1_001;
    await expect(svc.registrationOptions()).resolves.toMatchObject({ ceremony: expect.any(String) });
    expect(store.identity(r.session.identity)).toBeUndefined();
    expect(store.credential(r.credential)).toBeUndefined();
    expect(store.unfinished()).toEqual({ count: 0, oldest: null });
  });
});

describe('configuration', () => {
  it('reads the quota from the environment, with its defaults, and refuses a bad value in words', () => {
    expect(DEFAULT_MAX_UNFINISHED).toBe(1_000);
    expect(passkeyLimitsFromEnv({})).toEqual({});
    expect(
      passkeyLimitsFromEnv({ CUSTOS_PASSKEY_MAX_UNFINISHED: '50', CUSTOS_PASSKEY_UNFINISHED_MINUTES: '15' }),
    ).toEqual({ maxUnfinished: 50, unfinishedTtlMs: 15 * 60_000 });
    expect(() => passkeyLimitsFromEnv({ CUSTOS_PASSKEY_MAX_UNFINISHED: '-1' })).toThrow(
      /expected CUSTOS_PASSKEY_MAX_UNFINISHED as a positive whole number, got '-1'/,
    );
  });
});
