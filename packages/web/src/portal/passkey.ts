/**
 * The customer's passkeys (ADR 0016): sign up, sign in, join from a device link, recover with the
 * recovery code. The passkey never signs a transaction: its PRF output (the WebAuthn `prf`
 * extension, computed by the authenticator and kept in this page) unwraps the wallet key, which
 * opens the wallet sealed on the node. The PRF output, the wallet key, the recovery code and a
 * link's secret never leave the browser; the node gets ciphertexts and the ceremonies' answers.
 */
import { fromBase64url, toBase64url } from '@custos/protocol/encoding';
import {
  type CredentialJson,
  deviceLinkProof,
  newLinkSecret,
  newRecoveryCode,
  newWalletKey,
  openWallet,
  type PasskeySession,
  PRF_INPUT,
  recoveryKeys,
  sealWallet,
  unwrapWalletKey,
  Wallet,
  type WalletExport,
  wrapWalletKey,
} from '@custos/sdk';
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { client } from '../lib/api.js';

/** A wallet opened with a passkey, and what this page needs to manage the identity's passkeys. */
export interface PasskeyLogin {
  wallet: Wallet;
  session: PasskeySession;
  credential: string;
  walletKey: string;
  /** Set right after sign-up or recovery: the new recovery code, shown once. */
  recoveryCode?: string | undefined;
}

export class PasskeyError extends Error {
  override readonly name = 'PasskeyError';
}

export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

const passkeyContext = (credential: string) => `passkey:${credential}`;

type Options = Record<string, unknown>;

/** The ceremony options with the PRF input added: the authenticator evaluates its PRF on it. */
function withPrf(options: Options): Options {
  return {
    ...options,
    extensions: { ...(options.extensions as Options | undefined), prf: { eval: { first: PRF_INPUT } } },
  };
}

/** The PRF output of a credential's answer, and the answer as sent to the node (no extension results). */
function split(credential: { clientExtensionResults: unknown }): {
  prf?: Uint8Array;
  enabled?: boolean;
  json: CredentialJson;
} {
  const ext = credential.clientExtensionResults as { prf?: { enabled?: boolean; results?: { first?: BufferSource } } };
  const first = ext.prf?.results?.first;
  const prf =
    first === undefined
      ? undefined
      : first instanceof ArrayBuffer
        ? new Uint8Array(first)
        : new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  // The PRF output is a secret: it must not travel with the credential (JSON would drop it, but say so).
  const json = { ...(credential as unknown as CredentialJson), clientExtensionResults: {} };
  return {
    ...(prf === undefined ? {} : { prf: new Uint8Array(prf) }),
    ...(ext.prf?.enabled === undefined ? {} : { enabled: ext.prf.enabled }),
    json,
  };
}

async function register(q: { session?: string; deviceLink?: string; linkAuth?: string }, label: string) {
  const { ceremony, options } = await client.passkeyRegisterOptions(q);
  const credential = await startRegistration({ optionsJSON: withPrf(options) as never });
  const { prf, enabled, json } = split(credential);
  if (prf === undefined && enabled === false) {
    throw new PasskeyError(
      'This passkey cannot unlock a wallet (its provider does not support the PRF extension). Use another passkey provider, or a wallet with a passphrase.',
    );
  }
  const registered = await client.passkeyRegister(ceremony, json, label);
  return { ...registered, prf };
}

/** One assertion: a session, the sealed wallet, this passkey's wrapped key and its PRF output. */
async function assert(credential?: string) {
  const { ceremony, options } = await client.passkeyLoginOptions();
  const opts = withPrf(options);
  if (credential !== undefined) opts.allowCredentials = [{ id: credential, type: 'public-key' }];
  const answer = await startAuthentication({ optionsJSON: opts as never });
  const { prf, json } = split(answer);
  const signedIn = await client.passkeyLogin(ceremony, json);
  if (prf === undefined) {
    throw new PasskeyError('This passkey gave no key to unlock your wallet (no PRF output). Try another passkey.');
  }
  return { ...signedIn, prf };
}

/** The PRF output of a just-registered passkey: from the registration when the authenticator gave it, else one assertion. */
async function prfAfterRegistration(r: { prf: Uint8Array | undefined; credential: string; session: PasskeySession }) {
  if (r.prf !== undefined) return { prf: r.prf, session: r.session };
  const a = await assert(r.credential);
  return { prf: a.prf, session: a.session };
}

/** A fresh recovery code for the identity, its wrapped wallet key stored on the node; the code is returned to show once. */
async function newRecovery(session: string, walletKey: string): Promise<string> {
  const code = newRecoveryCode();
  const keys = await recoveryKeys(code);
  await client.passkeySetRecovery(session, {
    lookup: keys.lookup,
    auth: keys.auth,
    wrapped: await wrapWalletKey(keys.secret, 'recovery', walletKey),
  });
  return code;
}

/** Sign-up: a passkey, a new wallet sealed under a new wallet key, the key wrapped for the passkey, a recovery code. */
export async function signUpWithPasskey(label: string): Promise<PasskeyLogin> {
  const reg = await register({}, label);
  const { prf, session } = await prfAfterRegistration(reg);
  const walletKey = newWalletKey();
  const wallet = Wallet.create();
  await client.passkeySetWallet(session.token, await sealWallet(wallet, walletKey));
  await client.passkeySetKey(
    session.token,
    reg.credential,
    await wrapWalletKey(prf, passkeyContext(reg.credential), walletKey),
  );
  const recoveryCode = await newRecovery(session.token, walletKey);
  return { wallet, session, credential: reg.credential, walletKey, recoveryCode };
}

/** Sign-in: the passkey's PRF output unwraps the wallet key, which opens the sealed wallet. */
export async function signInWithPasskey(): Promise<PasskeyLogin> {
  const a = await assert();
  if (a.wallet === null || a.wrappedKey === null) {
    throw new PasskeyError('This passkey was never set up to open a wallet. Sign in with another one, or recover.');
  }
  const walletKey = await unwrapWalletKey(a.prf, passkeyContext(a.credential), a.wrappedKey);
  return { wallet: await openWallet(a.wallet, walletKey), session: a.session, credential: a.credential, walletKey };
}

/** A fresh session for managing passkeys (sessions last ten minutes): one more assertion with the same passkey. */
export async function renewSession(credential: string): Promise<PasskeySession> {
  return (await assert(credential)).session;
}

/** A link for a second device: `/portal/link#<id>.<secret>`; the secret stays in the fragment, which browsers never send. */
export async function makeDeviceLink(login: PasskeyLogin): Promise<{ url: string; expiresAt: number }> {
  const secret = newLinkSecret();
  const wrapped = await wrapWalletKey(secret, 'device-link', login.walletKey);
  const { verifier } = await deviceLinkProof(secret);
  const { link, expiresAt } = await client.passkeyDeviceLink(login.session.token, wrapped, verifier);
  return { url: `${location.origin}/portal/link#${link}.${toBase64url(secret)}`, expiresAt };
}

/** The link id and secret of a device link's fragment, or undefined if it is not one. */
export function parseDeviceLink(hash: string): { link: string; secret: Uint8Array } | undefined {
  const m = /^#?([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(hash);
  if (m === null) return undefined;
  try {
    return { link: m[1]!, secret: fromBase64url(m[2]!, 32) };
  } catch {
    return undefined;
  }
}

/** The second device: registers its own passkey with the link, opens the wallet with the link's secret, wraps the key for itself. */
export async function joinWithDeviceLink(
  link: { link: string; secret: Uint8Array },
  label: string,
): Promise<PasskeyLogin> {
  const { auth } = await deviceLinkProof(link.secret);
  const reg = await register({ deviceLink: link.link, linkAuth: auth }, label);
  if (reg.deviceLinkWrapped === null || reg.wallet === null) throw new PasskeyError('The link carried no wallet.');
  const walletKey = await unwrapWalletKey(link.secret, 'device-link', reg.deviceLinkWrapped);
  const wallet = await openWallet(reg.wallet, walletKey);
  const { prf, session } = await prfAfterRegistration(reg);
  await client.passkeySetKey(
    session.token,
    reg.credential,
    await wrapWalletKey(prf, passkeyContext(reg.credential), walletKey),
  );
  return { wallet, session, credential: reg.credential, walletKey };
}

/**
 * Recovery when every passkey is lost: the code opens the wallet; the node has then removed the old
 * passkeys and used the code up, so this device registers a new passkey and gets a new code.
 */
export async function recoverWithCode(code: string, label: string): Promise<PasskeyLogin> {
  const keys = await recoveryKeys(code);
  const r = await client.passkeyRecover({ lookup: keys.lookup, auth: keys.auth });
  const walletKey = await unwrapWalletKey(keys.secret, 'recovery', r.wrapped);
  if (r.wallet === null) throw new PasskeyError('This identity has no wallet to recover.');
  const wallet = await openWallet(r.wallet as WalletExport, walletKey);
  const reg = await register({ session: r.session.token }, label);
  const { prf, session } = await prfAfterRegistration(reg);
  await client.passkeySetKey(
    session.token,
    reg.credential,
    await wrapWalletKey(prf, passkeyContext(reg.credential), walletKey),
  );
  const recoveryCode = await newRecovery(session.token, walletKey);
  return { wallet, session, credential: reg.credential, walletKey, recoveryCode };
}

/** Replaces the recovery code (the old one stops working); returns the new one to show once. */
export function replaceRecoveryCode(login: PasskeyLogin): Promise<string> {
  return newRecovery(login.session.token, login.walletKey);
}
