/**
 * A passkey provider in software for the passkey tests: a real P-256 key (node:crypto) that builds
 * authenticator data and client data as a browser and an authenticator do, each field overridable
 * so that each WebAuthn rule can be broken one at a time.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

export const ORIGIN = 'http://localhost:7070';
export const RP_ID = 'localhost';
export const UP = 0x01;
export const UV = 0x04;
const AT = 0x40;

export const b64u = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
/** A device link's proof as the portal derives it from the secret in the link's fragment. */
export const LINK_AUTH = randomBytes(32);
export const LINK = {
  auth: b64u(LINK_AUTH),
  verifier: b64u(createHash('sha256').update(LINK_AUTH).digest()),
};
export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

export interface Options {
  challenge: string;
  user?: { id: string };
}

/** A passkey provider in software: one P-256 key, its counter, and what it was registered for. */
export class SoftAuthenticator {
  readonly id = randomBytes(16);
  readonly key: { publicKey: KeyObject; privateKey: KeyObject } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  counter = 0;
  userHandle = '';

  private cose(): Uint8Array {
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    return isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
  }

  register(
    options: Options,
    o: { origin?: string; flags?: number; rpId?: string; type?: string } = {},
  ): Record<string, unknown> {
    this.userHandle = options.user!.id;
    const clientData = Buffer.from(
      JSON.stringify({ type: o.type ?? 'webauthn.create', challenge: options.challenge, origin: o.origin ?? ORIGIN }),
    );
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(this.id.length);
    const authData = Buffer.concat([
      sha256(o.rpId ?? RP_ID),
      Buffer.from([(o.flags ?? UP | UV) | AT]),
      counter,
      Buffer.alloc(16),
      idLen,
      this.id,
      Buffer.from(this.cose()),
    ]);
    const attestation = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    return {
      id: b64u(this.id),
      rawId: b64u(this.id),
      type: 'public-key',
      response: { clientDataJSON: b64u(clientData), attestationObject: b64u(attestation), transports: ['internal'] },
      clientExtensionResults: {},
    };
  }

  assert(
    options: Options,
    o: { origin?: string; flags?: number; rpId?: string; counter?: number; type?: string; challenge?: string } = {},
  ): Record<string, unknown> {
    this.counter = o.counter ?? this.counter + 1;
    const clientData = Buffer.from(
      JSON.stringify({
        type: o.type ?? 'webauthn.get',
        challenge: o.challenge ?? options.challenge,
        origin: o.origin ?? ORIGIN,
      }),
    );
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const authData = Buffer.concat([sha256(o.rpId ?? RP_ID), Buffer.from([o.flags ?? UP | UV]), counter]);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.key.privateKey);
    return {
      id: b64u(this.id),
      rawId: b64u(this.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
    };
  }
}
