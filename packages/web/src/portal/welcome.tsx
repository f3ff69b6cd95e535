/** Getting a wallet: create one, restore a backup file, or try a demo customer; and unlocking it. */
import { MIN_PASSPHRASE_LENGTH } from '@custos/protocol/wallet';
import { type DemoWallet, isApiError } from '@custos/sdk';
import { type FormEvent, useId, useState } from 'react';
import { client, errorText } from '../lib/api.js';
import { useAsync } from '../lib/use-async.js';
import { Loading, Notice, PageHead } from '../ui/ui.js';
import { PasskeyWelcome } from './passkey-pages.js';
import { useWallet } from './wallet.js';

export function Welcome() {
  return (
    <>
      <PageHead title="Your data, in your hands">
        <p>
          See which companies hold data about you, why, and for how long. Decide what they may do with it, and ask them
          to hand it over or erase it. Your keys stay with you: unlocked by your passkey, or locked with a passphrase
          only you know.
        </p>
      </PageHead>
      <PasskeyWelcome />
      <div className="grid-2">
        <CreateWallet />
        <RestoreWallet />
      </div>
      <DemoCustomers />
    </>
  );
}

function PassphraseFields({ confirm }: { confirm: boolean }) {
  const id = useId();
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-p`}>Passphrase</label>
        <input
          id={`${id}-p`}
          name="passphrase"
          type="password"
          autoComplete={confirm ? 'new-password' : 'current-password'}
          minLength={MIN_PASSPHRASE_LENGTH}
          required
          aria-describedby={`${id}-h`}
        />
        <span id={`${id}-h`} className="hint">
          At least {MIN_PASSPHRASE_LENGTH} characters. A few unrelated words are easy to remember and hard to guess.
        </span>
      </div>
      {confirm && (
        <div className="field">
          <label htmlFor={`${id}-c`}>Type it again</label>
          <input id={`${id}-c`} name="confirm" type="password" autoComplete="new-password" required />
        </div>
      )}
    </>
  );
}

function CreateWallet() {
  const { create } = useWallet();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const pass = String(f.get('passphrase') ?? '');
    if (pass !== String(f.get('confirm') ?? '')) {
      setError('The two passphrases are not the same.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await create(pass);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="create-title">
      <h2 id="create-title">New here? Create your wallet</h2>
      <p className="muted">
        Your wallet gives you a different private ID with each company, so they cannot link your records to each other.
        Only you can.
      </p>
      <form onSubmit={submit} className="form-narrow">
        <PassphraseFields confirm />
        {error !== undefined && (
          <p role="alert" className="notice notice-danger">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Locking your keys…' : 'Create my wallet'}
        </button>
      </form>
    </section>
  );
}

function RestoreWallet() {
  const { restore } = useWallet();
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const file = f.get('backup');
    if (!(file instanceof File) || file.size === 0) {
      setError('Choose your backup file first.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await restore(await file.text(), String(f.get('passphrase') ?? ''));
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="restore-title">
      <h2 id="restore-title">Restore your wallet</h2>
      <p className="muted">Use the backup file you saved from Custos, and its passphrase.</p>
      <form onSubmit={submit} className="form-narrow">
        <div className="field">
          <label htmlFor={`${id}-file`}>Backup file</label>
          <input id={`${id}-file`} name="backup" type="file" accept="application/json,.json" required />
        </div>
        <PassphraseFields confirm={false} />
        {error !== undefined && (
          <p role="alert" className="notice notice-danger">
            {error}
          </p>
        )}
        <button type="submit" className="btn" disabled={busy}>
          {busy ? 'Unlocking…' : 'Restore'}
        </button>
      </form>
    </section>
  );
}

function DemoCustomers() {
  const { openDemo } = useWallet();
  const demos = useAsync((signal) => client.demoWallets({ signal }), []);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  if (demos.status === 'error' && isApiError(demos.error, 'NOT_FOUND')) return null;
  const pick = async (c: DemoWallet, passphrase: string) => {
    setBusy(c.id);
    setError(undefined);
    try {
      await openDemo(c, passphrase);
    } catch (err) {
      setError(errorText(err));
      setBusy(undefined);
    }
  };
  return (
    <section className="card mt-5" aria-labelledby="demo-title">
      <h2 id="demo-title">Just looking? Try a demo customer</h2>
      {demos.status === 'loading' && <Loading label="Looking for demo customers…" />}
      {demos.status === 'error' && <p className="muted">{errorText(demos.error)}</p>}
      {demos.data !== undefined && demos.data.customers.length === 0 && (
        <p className="muted">The demo customers are still being created. Reload in a few seconds.</p>
      )}
      {demos.data !== undefined && demos.data.customers.length > 0 && (
        <>
          <p className="muted">
            These people are made up. Their wallets are locked with the demo passphrase{' '}
            <code>{demos.data.passphrase}</code>, which we fill in for you.
          </p>
          <ul className="plain-list item-list">
            {demos.data.customers.map((c) => (
              <li key={c.id} className="row-between">
                <span>
                  <strong>{c.name}</strong>
                  <span className="muted">
                    {' '}
                    — {c.relationships.map((r) => (r.label === undefined ? r.org : `${r.label} (${r.org})`)).join(', ')}
                  </span>
                </span>
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={busy !== undefined}
                  onClick={() => pick(c, demos.data!.passphrase)}
                >
                  {busy === c.id ? 'Opening…' : `Be ${c.name}`}
                </button>
              </li>
            ))}
          </ul>
          {error !== undefined && <Notice tone="danger">{error}</Notice>}
        </>
      )}
    </section>
  );
}

export function Unlock() {
  const { stored, unlock, forget } = useWallet();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [confirmForget, setConfirmForget] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await unlock(String(new FormData(e.currentTarget).get('passphrase') ?? ''));
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <>
      <PageHead title="Unlock your wallet">
        <p>Your wallet is saved in this browser, locked. Type your passphrase to open it for this visit.</p>
      </PageHead>
      <div className="card form-narrow">
        {stored?.demo !== undefined && (
          <Notice title={`Demo customer: ${stored.demo.name}`}>
            <p>
              The passphrase of demo wallets is <code>{stored.demo.passphrase}</code>.
            </p>
          </Notice>
        )}
        <form onSubmit={submit} className="mt-4">
          <PassphraseFields confirm={false} />
          {error !== undefined && (
            <p role="alert" className="notice notice-danger">
              {error}
            </p>
          )}
          <div className="row">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Unlocking…' : 'Unlock'}
            </button>
            {!confirmForget ? (
              <button type="button" className="link-button" onClick={() => setConfirmForget(true)}>
                Use another wallet
              </button>
            ) : (
              <span className="row">
                <span className="small">Remove this wallet from this browser?</span>
                <button type="button" className="btn btn-small btn-danger" onClick={forget}>
                  Remove
                </button>
              </span>
            )}
          </div>
        </form>
      </div>
    </>
  );
}
