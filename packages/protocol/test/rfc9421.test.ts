/**
 * RFC 9421 HTTP Message Signatures and RFC 9530 Content-Digest: the RFC's own examples (the
 * derived components of section 2.2, the B.2 test request and the Ed25519 signature of B.2.6 with
 * the B.1.4 test key), then Custos's policy (window, nonce, covered components) and tampering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes.js';
import { didFromPublicKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier, randomSecretKey } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { signatureBase, signatureParamsValue, targetParts } from '../src/http/rfc9421.js';
import { checkContentDigest, contentDigest } from '../src/http/rfc9530.js';
import { signRequest } from '../src/http/sign-request.js';
import { parseDictionary } from '../src/http/structured-fields.js';
import { type HttpSignatureFailure, verifyRequest } from '../src/http/verify-request.js';

/** RFC 9421 B.1.4 test-key-ed25519: the 32-byte seed and public key inside its PKCS#8 / SPKI PEMs. */
const TEST_KEY_PKCS8 = 'MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF';
const TEST_KEY_SPKI = 'MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=';
const seed = new Uint8Array(Buffer.from(TEST_KEY_PKCS8, 'base64').subarray(16));
const testKey = nobleSigner(seed);

/** RFC 9421 B.2: the test request. */
const BODY = '{"hello": "world"}';
const TEST_REQUEST = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest':
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  },
};

/** RFC 9421 B.2.6, with the RFC 8792 line wrapping undone. */
const B26_COMPONENTS = ['date', '@method', '@path', '@authority', 'content-type', 'content-length'];
const B26_BASE = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
].join('\n');
const B26_INPUT =
  'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
const B26_SIGNATURE =
  'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:';

describe('RFC 9421 B.1.4 / B.2.6: Ed25519', () => {
  it('the PKCS#8 seed gives the public key of the SPKI PEM', () => {
    expect(Buffer.from(testKey.publicKey).equals(Buffer.from(TEST_KEY_SPKI, 'base64').subarray(12))).toBe(true);
  });

  it('builds the signature base of B.2.6 byte for byte', () => {
    const base = signatureBase(B26_COMPONENTS, { created: 1618884473, keyid: 'test-key-ed25519' }, TEST_REQUEST);
    expect(base).toBe(B26_BASE);
    expect(`sig-b26=${signatureParamsValue(B26_COMPONENTS, { created: 1618884473, keyid: 'test-key-ed25519' })}`).toBe(
      B26_INPUT,
    );
  });

  it('signs it to the signature of B.2.6 (Ed25519 is deterministic)', () => {
    const sig = testKey.sign(utf8(B26_BASE));
    expect(`sig-b26=:${Buffer.from(sig).toString('base64')}:`).toBe(B26_SIGNATURE);
  });

  it('verifies the B.2.6 message with its Signature-Input and Signature fields', () => {
    const v = verifyRequest(
      { ...TEST_REQUEST, headers: { ...TEST_REQUEST.headers, 'signature-input': B26_INPUT, signature: B26_SIGNATURE } },
      {
        now: 1618884473_000 + 5_000,
        requiredComponents: [],
        requireExpiresAndNonce: false,
        publicKeyOf: (keyid) => {
          expect(keyid).toBe('test-key-ed25519');
          return testKey.publicKey;
        },
      },
    );
    expect(v.ok && v.value).toMatchObject({ label: 'sig-b26', keyid: 'test-key-ed25519', created: 1618884473 });
  });

  it('refuses the B.2.6 message once a covered field changes', () => {
    const v = verifyRequest(
      {
        ...TEST_REQUEST,
        headers: {
          ...TEST_REQUEST.headers,
          'content-length': '19',
          'signature-input': B26_INPUT,
          signature: B26_SIGNATURE,
        },
      },
      {
        now: 1618884473_000,
        requiredComponents: [],
        requireExpiresAndNonce: false,
        publicKeyOf: () => testKey.publicKey,
      },
    );
    expect(!v.ok && v.error.reason).toBe('bad-signature');
  });
});

describe('RFC 9421 section 2.2: derived components', () => {
  const base = (components: string[], url: string, method = 'GET') =>
    signatureBase(components, {}, { method, url, headers: {} }).split('\n').slice(0, -1);

  it('computes @method, @target-uri, @authority, @scheme, @request-target, @path and @query (2.2.1-2.2.7)', () => {
    expect(
      base(
        ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query'],
        'https://www.example.com/path?param=value',
        'POST',
      ),
    ).toEqual([
      '"@method": POST',
      '"@target-uri": https://www.example.com/path?param=value',
      '"@authority": www.example.com',
      '"@scheme": https',
      '"@request-target": /path?param=value',
      '"@path": /path',
      '"@query": ?param=value',
    ]);
  });

  it('keeps percent-encoding in @query, and an absent query is "?" alone (2.2.7)', () => {
    expect(base(['@query'], 'https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman')).toEqual([
      '"@query": ?param=value&foo=bar&baz=bat%2Dman',
    ]);
    expect(base(['@query'], 'https://www.example.com/path?queryString')).toEqual(['"@query": ?queryString']);
    expect(base(['@query', '@request-target'], 'https://www.example.com/path')).toEqual([
      '"@query": ?',
      '"@request-target": /path',
    ]);
  });

  it('normalizes the authority: lower case, no userinfo, no default port; an empty path is "/"', () => {
    expect(targetParts('HTTP://User@Example.COM:80')).toEqual({
      scheme: 'http',
      authority: 'example.com',
      path: '/',
      query: null,
    });
    expect(targetParts('https://example.com:443/a').authority).toBe('example.com');
    expect(targetParts('http://127.0.0.1:7070/a').authority).toBe('127.0.0.1:7070');
    expect(targetParts('https://example.com:80/a').authority).toBe('example.com:80');
  });

  it('joins several lines of one field with ", " and trims them (2.1)', () => {
    const b = signatureBase(
      ['x-list'],
      {},
      { method: 'GET', url: 'https://e.x/', headers: { 'X-List': [' a ', 'b\t'] } },
    );
    expect(b.split('\n')[0]).toBe('"x-list": a, b');
  });

  it('refuses absent fields, unsupported components, duplicates, @signature-params and newlines', () => {
    const msg = { method: 'GET', url: 'https://e.x/', headers: { evil: 'a\nb' } };
    for (const components of [
      ['absent'],
      ['@status'],
      ['@query-param'],
      ['@method', '@method'],
      ['@signature-params'],
      ['Upper'],
      ['evil'],
    ]) {
      expect(() => signatureBase(components, {}, msg), components.join()).toThrow(ProtocolError);
    }
    expect(() => signatureBase(['@path'], {}, { ...msg, url: '/relative' })).toThrow(/absolute/);
  });
});

describe('RFC 9530 Content-Digest', () => {
  it('gives the sha-256 and matches the sha-512 of the RFC 9421 B.2 body', () => {
    expect(contentDigest(BODY)).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
    const sha512 = parseDictionary(TEST_REQUEST.headers['content-digest']).get('sha-512') as { value: Uint8Array };
    expect(Buffer.from(sha512.value).toString('base64')).toBe(
      'WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==',
    );
  });

  it('checks sha-256 among other algorithms, and refuses a field without it', () => {
    const both = `${TEST_REQUEST.headers['content-digest']}, ${contentDigest(BODY)}`;
    expect(checkContentDigest(both, BODY)).toBe(true);
    expect(checkContentDigest(both, `${BODY} `)).toBe(false);
    expect(checkContentDigest(TEST_REQUEST.headers['content-digest'], BODY)).toBe(false);
    expect(checkContentDigest('sha-256=:AAAA:', BODY)).toBe(false);
    expect(checkContentDigest('garbage', BODY)).toBe(false);
  });
});

describe('RFC 9651 structured fields (the subset signatures use)', () => {
  it('parses dictionaries of inner lists, items and parameters', () => {
    const d = parseDictionary('a=("x" "y");p=1;q="s", b=:AQID:, c=?0, d;e=tok/en');
    expect([...d.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect(d.get('a')).toMatchObject({ items: [{ value: 'x' }, { value: 'y' }] });
    expect([...(d.get('a') as { params: Map<string, unknown> }).params]).toEqual([
      ['p', 1],
      ['q', 's'],
    ]);
    expect((d.get('b') as { value: Uint8Array }).value).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses what a verifier must not guess at', () => {
    for (const bad of [
      'a=1, a=2',
      'a=1;p=1;p=2',
      'a=1,',
      'A=1',
      'a=1.5',
      'a="\u00e9"',
      'a="x',
      'a=:!!:',
      'a=@1',
      'a=(1 2',
      'a=1 b=2',
    ]) {
      expect(() => parseDictionary(bad), bad).toThrow(ProtocolError);
    }
    expect(() => parseDictionary('a=1'.padEnd(9000, ' '))).toThrow(/at most/);
  });

  it('never throws anything but a ProtocolError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseDictionary(s);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});

describe('signRequest / verifyRequest: the Custos policy', () => {
  const alice = nobleSigner(randomSecretKey());
  const aliceDid = didFromPublicKey(alice.publicKey);
  const NOW = 1_800_000_000_000;
  const URL_ = 'http://127.0.0.1:7070/v1/subjects/x/report?limit=10';

  function signed(
    init: { method?: string; url?: string; body?: string } = {},
    opts: Parameters<typeof signRequest>[2] = {},
    signer = alice,
  ) {
    const method = init.method ?? 'GET';
    const url = init.url ?? URL_;
    const h = signRequest({ method, url, ...(init.body === undefined ? {} : { body: init.body }) }, signer, {
      now: NOW,
      ...opts,
    });
    const headers: { host: string; 'signature-input': string; signature: string; 'content-digest'?: string } = {
      host: '127.0.0.1:7070',
      'signature-input': h['Signature-Input'],
      signature: h.Signature,
    };
    if (h['Content-Digest'] !== undefined) headers['content-digest'] = h['Content-Digest'];
    return { method, url, headers, ...(init.body === undefined ? {} : { body: init.body }) };
  }

  function reason(
    req: Parameters<typeof verifyRequest>[0],
    opts: Parameters<typeof verifyRequest>[1] = {},
  ): HttpSignatureFailure | 'ok' {
    const v = verifyRequest(req, { now: NOW, ...opts });
    return v.ok ? 'ok' : v.error.reason;
  }

  it('covers method, authority, path, query and the digest of a body, with created/expires/nonce/alg/keyid', () => {
    const req = signed({ method: 'POST', body: '{"a":1}' });
    expect(req.headers['signature-input']).toMatch(
      /^sig=\("@method" "@authority" "@path" "@query" "content-digest"\);created=1800000000;expires=1800000030;nonce="[A-Za-z0-9_-]{22}";alg="ed25519";keyid="did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+"$/,
    );
    const v = verifyRequest(req, { now: NOW });
    expect(v.ok && v.value).toMatchObject({ keyid: aliceDid, created: 1_800_000_000, expires: 1_800_000_030 });
    expect(reason(signed())).toBe('ok');
  });

  it('uses a fresh nonce each time', () => {
    const nonces = new Set(
      Array.from({ length: 50 }, () => signed().headers['signature-input'].match(/nonce="([^"]+)"/)?.[1]),
    );
    expect(nonces.size).toBe(50);
  });

  it('enforces the window: expired, created in the future beyond 10 s, longer than 60 s', () => {
    expect(reason(signed(), { now: NOW + 30_000 })).toBe('expired');
    expect(reason(signed(), { now: NOW + 29_999 })).toBe('ok');
    expect(reason(signed(), { now: NOW - 10_000 })).toBe('ok');
    expect(reason(signed(), { now: NOW - 10_001 })).toBe('not-yet-valid');
    expect(() => signed({}, { validitySeconds: 61 })).toThrow(ProtocolError);
    expect(reason(signed({}, { validitySeconds: 60 }))).toBe('ok');
    expect(reason(signed({}, { validitySeconds: 60 }), { maxValiditySeconds: 30 })).toBe('window-too-long');
  });

  it('refuses a request without signature fields, or with an unparsable or ambiguous one', () => {
    const req = signed();
    expect(reason({ ...req, headers: { host: req.headers.host } })).toBe('missing');
    expect(reason({ ...req, headers: { ...req.headers, signature: 'sig=:!!:' } })).toBe('malformed');
    expect(reason({ ...req, headers: { ...req.headers, signature: 'sig=:AAAA:' } })).toBe('malformed');
    expect(reason({ ...req, headers: { ...req.headers, 'signature-input': 'sig="x"' } })).toBe('malformed');
    const two = { ...req.headers, 'signature-input': `a=${req.headers['signature-input'].slice(4)}, b=("@method")` };
    expect(reason({ ...req, headers: two })).toBe('malformed');
    expect(
      reason({ ...req, headers: { ...req.headers, signature: req.headers.signature.replace('sig=', 'other=') } }),
    ).toBe('missing');
  });

  const tamper = (req: ReturnType<typeof signed>, from: RegExp, to: string) => ({
    ...req,
    headers: { ...req.headers, 'signature-input': req.headers['signature-input'].replace(from, to) },
  });

  it('refuses tampered requests: method, path, query, authority, body, digest', () => {
    const get = signed();
    expect(reason({ ...get, method: 'DELETE' })).toBe('bad-signature');
    expect(reason({ ...get, url: get.url.replace('/x/', '/y/') })).toBe('bad-signature');
    expect(reason({ ...get, url: get.url.replace('limit=10', 'limit=11') })).toBe('bad-signature');
    expect(reason({ ...get, url: get.url.replace('?limit=10', '') })).toBe('bad-signature');
    expect(reason({ ...get, url: get.url.replace('127.0.0.1:7070', 'other-node:7070') })).toBe('bad-signature');
    const post = signed({ method: 'POST', body: '{"a":1}' });
    expect(reason({ ...post, body: '{"a":2}' })).toBe('digest-mismatch');
    const forgedDigest = {
      ...post,
      body: '{"a":2}',
      headers: { ...post.headers, 'content-digest': contentDigest('{"a":2}') },
    };
    expect(reason(forgedDigest)).toBe('bad-signature');
    const { 'content-digest': _d, ...noDigest } = post.headers;
    expect(reason({ ...post, headers: noDigest })).toBe('malformed');
  });

  it('refuses tampered parameters: a longer expiry, another keyid, another alg, a dropped component', () => {
    const req = signed();
    expect(reason(tamper(req, /expires=\d+/, 'expires=1800000031'))).toBe('bad-signature');
    expect(reason(tamper(req, /nonce="[^"]+"/, 'nonce="AAAAAAAAAAAAAAAAAAAAAA"'))).toBe('bad-signature');
    const mallory = didFromPublicKey(nobleSigner(randomSecretKey()).publicKey);
    expect(reason(tamper(req, /keyid="[^"]+"/, `keyid="${mallory}"`))).toBe('bad-signature');
    expect(reason(tamper(req, /keyid="[^"]+"/, 'keyid="not-a-did"'))).toBe('bad-key');
    expect(reason(tamper(req, /alg="ed25519"/, 'alg="hmac-sha256"'))).toBe('unsupported');
    expect(reason(tamper(req, / "@query"/, ''))).toBe('incomplete');
    expect(reason(tamper(req, /;nonce="[^"]+"/, ''))).toBe('incomplete');
    expect(reason(tamper(req, /;expires=\d+/, ''))).toBe('incomplete');
    expect(reason(tamper(req, /;created=\d+/, ''))).toBe('incomplete');
    expect(reason(tamper(req, /"@path"/, '"@path";req'))).toBe('unsupported');
    expect(reason(tamper(req, /created=\d+/, 'created="x"'))).toBe('malformed');
  });

  it('a body needs a covered digest, and a signature over no body does not cover one', () => {
    const get = signed();
    expect(reason({ ...get, body: 'smuggled' })).toBe('incomplete');
    const post = signed({ method: 'POST', body: '' });
    expect(reason(post)).toBe('ok');
  });

  it('refuses a flipped bit anywhere in the signature', () => {
    const req = signed();
    const sig = Buffer.from(req.headers.signature.slice(5, -1), 'base64');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 511 }), (bit) => {
        const bad = Buffer.from(sig);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(reason({ ...req, headers: { ...req.headers, signature: `sig=:${bad.toString('base64')}:` } })).toBe(
          'bad-signature',
        );
      }),
      { numRuns: 64 },
    );
  });

  it('verifies with any Verifier and reports errors as ProtocolErrors with a reason', () => {
    const v = verifyRequest({ ...signed(), method: 'PUT' }, { now: NOW, verifier: nobleVerifier });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.error).toBeInstanceOf(ProtocolError);
      expect(v.error.code).toBe('BAD_SIGNATURE');
      expect(v.error.details).toEqual({ reason: 'bad-signature' });
    }
  });

  it('signs a URL as fetch sends it', () => {
    const req = signed({ url: 'HTTP://127.0.0.1:7070/v1/a b?q=é' });
    expect(reason({ ...req, url: 'http://127.0.0.1:7070/v1/a%20b?q=%C3%A9' })).toBe('ok');
  });
});
