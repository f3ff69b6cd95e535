/**
 * The portal's passkey screens (ADR 0016): the welcome card (create with a passkey, sign in,
 * recover with the code), the recovery code shown once, joining from a device link, and the
 * passkeys section of the wallet page (list, remove, link another device, new recovery code).
 */
import type { PasskeyIdentity } from '@custos/sdk';
import { type FormEvent, useCallback, useEffect, useId, useState } from 'react';
import { client, errorText } from '../lib/api.js';
import { day } from '../lib/format.js';
import { navigate } from '../lib/router.js';
import { ConfirmDialog, Notice, PageHead } from '../ui/ui.js';
import {
  joinWithDeviceLink,
  makeDeviceLink,
  type PasskeyLogin,
  parseDeviceLink,
  passkeysSupported,
  recoverWithCode,
  renewSession,
  replaceRecoveryCode,
  signInWithPasskey,
  signUpWithPasskey,
} from './passkey.js';
import { useWallet } from './wallet.js';

function LabelField({ id }: { id: string }) {
  return (
    <div className="field">
      <label htmlFor={`${id}-label`}>Name this passkey</label>
      <input
        id={`${id}-label`}
        name="label"
        type="text"
        defaultValue="This device"
        maxLength={64}
        required
        pattern="[\x20-\x7e]+"
        aria-describedby={`${id}-label-h`}
      />
      <span id={`${id}-label-h`} className="hint">
        For you, to tell your passkeys apart (for example “Phone” or “Laptop”). Plain letters and digits.
      </span>
    </div>
  );
}

function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (f: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await f();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}

function ErrorLine({ error }: { error: string | undefined }) {
  if (error === undefined) return null;
  return (
    <p role="alert" className="notice notice-danger">
      {error}
    </p>
  );
}

/** The welcome page's passkey card: create, sign in, or recover. */
export function PasskeyWelcome() {
  const { openWithPasskey } = useWallet();
  const id = useId();
  const { busy, error, run } = useAction();
  const [recovering, setRecovering] = useState(false);
  if (!passkeysSupported()) return null;
  // WebAuthn refuses an IP address as the relying party: point to the same node by name.
  if (/^(\d{1,3}\.){3}\d{1,3}$|^\[/.test(location.hostname)) {
    const named = `${location.protocol}//localhost${location.port === '' ? '' : `:${location.port}`}/portal`;
    return (
      <section className="card mb-5" aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Use a passkey</h2>
        <p>
          Passkeys need the portal at a name, not a number: open <a href={named}>{named}</a> to create or use one.
        </p>
      </section>
    );
  }
  const labelOf = (form: HTMLFormElement) => String(new FormData(form).get('label') ?? 'This device');
  const create = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const label = labelOf(e.currentTarget);
    return run(async () => openWithPasskey(await signUpWithPasskey(label)));
  };
  const recover = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    return run(async () =>
      openWithPasskey(await recoverWithCode(String(f.get('code') ?? ''), String(f.get('label') ?? 'This device'))),
    );
  };
  return (
    <section className="card mb-5" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Use a passkey</h2>
      <p className="muted">
        No passphrase and no file: your phone or computer unlocks your wallet with your fingerprint, face or screen
        lock. Companies never see your passkey.
      </p>
      <form onSubmit={create} className="form-narrow">
        <LabelField id={id} />
        <ErrorLine error={error} />
        <div className="row">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Waiting for your passkey…' : 'Create my wallet with a passkey'}
          </button>
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() => run(async () => openWithPasskey(await signInWithPasskey()))}
          >
            Sign in with a passkey
          </button>
        </div>
      </form>
      {!recovering ? (
        <button type="button" className="link-button mt-4" onClick={() => setRecovering(true)}>
          Lost every passkey? Use your recovery code
        </button>
      ) : (
        <form onSubmit={recover} className="form-narrow mt-4" aria-label="Recover with your recovery code">
          <div className="field">
            <label htmlFor={`${id}-code`}>Recovery code</label>
            <input
              id={`${id}-code`}
              name="code"
              type="text"
              autoComplete="off"
              spellCheck={false}
              required
              maxLength={200}
              aria-describedby={`${id}-code-h`}
            />
            <span id={`${id}-code-h`} className="hint">
              The 32 letters and digits you wrote down. Your old passkeys stop working; this device gets a new one.
            </span>
          </div>
          <div className="field">
            <label htmlFor={`${id}-rlabel`}>Name the new passkey</label>
            <input id={`${id}-rlabel`} name="label" type="text" defaultValue="This device" maxLength={64} required />
          </div>
          <button type="submit" className="btn" disabled={busy}>
            {busy ? 'Recovering…' : 'Recover my wallet'}
          </button>
        </form>
      )}
    </section>
  );
}

/** The recovery code, shown once after sign-up or recovery. */
export function RecoveryCodePage({ code }: { code: string }) {
  const { updatePasskey } = useWallet();
  return (
    <>
      <PageHead title="Write down your recovery code">
        <p>If you lose every device with your passkey, this code is the only way back to your wallet.</p>
      </PageHead>
      <div className="card form-narrow">
        <p>
          <code className="recovery-code" data-recovery-code={code}>
            {code}
          </code>
        </p>
        <Notice tone="warn" title="We show it only once">
          <p>
            Keep it on paper or in a password manager, not on this device. Custos keeps only a salted hash of it and
            cannot show it again. Anyone with it can take over your wallet: a new code replaces it in your wallet page.
          </p>
        </Notice>
        <button
          type="button"
          className="btn btn-primary mt-4"
          onClick={() => updatePasskey({ recoveryCode: undefined })}
        >
          I have written it down
        </button>
      </div>
    </>
  );
}

/** `/portal/link#...`: a second device adds its own passkey to the identity that made the link. */
export function JoinDevicePage() {
  const { openWithPasskey } = useWallet();
  const id = useId();
  const { busy, error, run } = useAction();
  const link = parseDeviceLink(location.hash);
  const join = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const label = String(new FormData(e.currentTarget).get('label') ?? 'This device');
    if (link === undefined) return;
    return run(async () => {
      openWithPasskey(await joinWithDeviceLink(link, label));
      history.replaceState(null, '', '/portal');
      navigate('/portal');
    });
  };
  return (
    <>
      <PageHead title="Add this device">
        <p>Your other device sent you here. This device gets its own passkey for your wallet.</p>
      </PageHead>
      <div className="card form-narrow">
        {link === undefined ? (
          <Notice tone="danger" title="This link is incomplete">
            <p>Open the whole link from your other device again; it works once, for ten minutes.</p>
          </Notice>
        ) : (
          <form onSubmit={join}>
            <LabelField id={id} />
            <ErrorLine error={error} />
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Waiting for your passkey…' : 'Add this device'}
            </button>
          </form>
        )}
      </div>
    </>
  );
}

/** The wallet page's passkeys: each with when it was added and last used; remove, link a device, new recovery code. */
export function PasskeysSection({ login }: { login: PasskeyLogin }) {
  const { updatePasskey, lock } = useWallet();
  const [me, setMe] = useState<PasskeyIdentity>();
  const [expired, setExpired] = useState(false);
  const [link, setLink] = useState<{ url: string; expiresAt: number }>();
  const [code, setCode] = useState<string>();
  const [removing, setRemoving] = useState<{ id: string; label: string }>();
  const { busy, error, run } = useAction();
  const token = login.session.token;

  const load = useCallback(async () => {
    try {
      setMe(await client.passkeyMe(token));
      setExpired(false);
    } catch {
      setExpired(true);
    }
  }, [token]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="card" aria-labelledby="passkeys-title">
      <h2 id="passkeys-title">Your passkeys</h2>
      <p className="muted">
        Any of them opens your wallet. They stay with you and this node, never on the ledger: companies cannot see them.
      </p>
      {expired && (
        <div className="row">
          <span>For your safety, managing passkeys needs a fresh sign-in.</span>
          <button
            type="button"
            className="btn btn-small"
            disabled={busy}
            onClick={() => run(async () => updatePasskey({ session: await renewSession(login.credential) }))}
          >
            Confirm with your passkey
          </button>
        </div>
      )}
      {me !== undefined && (
        <ul className="plain-list item-list" aria-label="Passkeys">
          {me.passkeys.map((p) => (
            <li key={p.id} className="row-between">
              <span>
                <strong>{p.label}</strong>
                {p.id === login.credential && <span className="muted"> (this device)</span>}
                <span className="muted small">
                  {' '}
                  — added {day(p.createdAt)}
                  {p.lastUsedAt !== null && `, last used ${day(p.lastUsedAt)}`}
                </span>
              </span>
              <button
                type="button"
                className="btn btn-small btn-danger"
                disabled={busy || p.id === login.credential}
                aria-label={`Remove passkey ${p.label}`}
                onClick={() => setRemoving({ id: p.id, label: p.label })}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorLine error={error} />
      <div className="row mt-4">
        <button
          type="button"
          className="btn"
          disabled={busy}
          onClick={() => run(async () => setLink(await makeDeviceLink(login)))}
        >
          Link another device
        </button>
        <button
          type="button"
          className="btn"
          disabled={busy}
          onClick={() => run(async () => setCode(await replaceRecoveryCode(login)))}
        >
          New recovery code
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => {
            lock();
            navigate('/portal');
          }}
        >
          Sign out
        </button>
      </div>
      {link !== undefined && (
        <Notice title="Open this link on your other device">
          <p>
            It works once, until {new Date(link.expiresAt).toLocaleTimeString()}. Anyone who opens it first can add a
            passkey to your wallet: send it only to yourself.
          </p>
          <p>
            <code className="break-all" data-device-link={link.url}>
              {link.url}
            </code>
          </p>
        </Notice>
      )}
      {code !== undefined && (
        <Notice tone="warn" title="Your new recovery code, shown once">
          <p>
            <code className="recovery-code" data-recovery-code={code}>
              {code}
            </code>
          </p>
          <p>The old code no longer works.</p>
        </Notice>
      )}
      {me !== undefined && me.events.length > 0 && (
        <details className="mt-4">
          <summary>History of your passkeys</summary>
          <ul className="plain-list small">
            {me.events
              .map((e, seq) => ({ ...e, seq }))
              .reverse()
              .map((e) => (
                <li key={e.seq}>
                  {day(e.at)}: {EVENT_TEXT[e.kind] ?? e.kind}
                  {e.detail !== null && ` (${e.detail})`}
                </li>
              ))}
          </ul>
        </details>
      )}
      <ConfirmDialog
        open={removing !== undefined}
        title={`Remove the passkey “${removing?.label ?? ''}”?`}
        confirm="Remove it"
        danger
        onCancel={() => setRemoving(undefined)}
        onConfirm={() => {
          const r = removing;
          setRemoving(undefined);
          if (r !== undefined) {
            void run(async () => {
              await client.passkeyRemove(token, r.id);
              await load();
            });
          }
        }}
      >
        <p>It will no longer open your wallet. Your other passkeys and your recovery code still do.</p>
      </ConfirmDialog>
    </section>
  );
}

const EVENT_TEXT: Record<string, string> = {
  'identity-created': 'wallet created',
  'passkey-added': 'passkey added',
  'passkey-removed': 'passkey removed',
  'recovery-set': 'new recovery code',
  recovered: 'recovered with the recovery code; older passkeys removed',
  'device-link-created': 'link for another device made',
};
