/** The wallet's page: backup, lock, remove; the private IDs; the ledger this browser trusts. */
import { useState } from 'react';
import { day, downloadJson, short } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { ConfirmDialog, Notice, PageHead } from '../ui/ui.js';
import type { PortalData } from './data.js';
import { PasskeysSection } from './passkey-pages.js';
import { useWallet } from './wallet.js';

export function SettingsPage({ data }: { data: PortalData }) {
  const { stored, lock, forget, passkey } = useWallet();
  const [confirm, setConfirm] = useState(false);
  const t = data.ctx.trust;
  return (
    <>
      <PageHead
        title="Your wallet"
        crumbs={
          <>
            <Link href="/portal">Your data</Link> › Your wallet
          </>
        }
      />
      <div className="stack-lg">
        {passkey !== undefined && <PasskeysSection login={passkey} />}
        {passkey === undefined && (
          <section className="card" aria-labelledby="backup-title">
            <h2 id="backup-title">Back it up</h2>
            <p>
              Your wallet lives in this browser only. Save a backup file somewhere safe: with it and your passphrase you
              can open your wallet on another device. The file is locked with your passphrase; without it, it is
              useless.
            </p>
            {stored?.demo !== undefined && (
              <Notice title="This is a demo customer">
                <p>
                  {stored.demo.name} is made up; the passphrase is <code>{stored.demo.passphrase}</code>.
                </p>
              </Notice>
            )}
            <div className="row mt-4">
              <button
                type="button"
                className="btn btn-primary"
                disabled={stored === undefined}
                onClick={() => stored !== undefined && downloadJson('custos-wallet-backup.json', stored.export)}
              >
                Download backup file
              </button>
              <button
                type="button"
                className="btn"
                onClick={() => {
                  lock();
                  navigate('/portal');
                }}
              >
                Lock now
              </button>
              <button type="button" className="btn btn-danger" onClick={() => setConfirm(true)}>
                Remove from this browser
              </button>
            </div>
          </section>
        )}

        <section className="card" aria-labelledby="ids-title">
          <h2 id="ids-title">Your private IDs</h2>
          <p className="muted">One per company. They cannot be linked to each other without your wallet.</p>
          <div className="table-wrap">
            <table className="responsive">
              <thead>
                <tr>
                  <th scope="col">Company</th>
                  <th scope="col">Your ID with them</th>
                </tr>
              </thead>
              <tbody>
                {data.orgs.map((o) => (
                  <tr key={o.org}>
                    <td data-label="Company">{o.name}</td>
                    <td data-label="Your ID">
                      <code title={o.did}>{short(o.did, 24)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>

        <section className="card" aria-labelledby="guardian-title">
          <h2 id="guardian-title">Consent for a child</h2>
          <p>
            As a parent or guardian, give your child your key and approve the consents they ask you for:{' '}
            <Link href="/portal/guardian">Consent as a parent or guardian</Link>.
          </p>
        </section>
        <section className="card" aria-labelledby="trust-title">
          <h2 id="trust-title">The ledger you trust</h2>
          <p>
            This browser checks every fact against the members of the ledger <code>{t.chainId}</code>, as they were when
            you first connected on {day(t.pinnedAt)}. A checkpoint counts only with the signatures of {t.threshold} of
            the {t.members.length} members.
          </p>
          <div className="table-wrap">
            <table className="responsive">
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Signing keys</th>
                </tr>
              </thead>
              <tbody>
                {t.members.map((m) => (
                  <tr key={m.id}>
                    <td data-label="Member">
                      {m.name} <span className="muted">({m.id})</span>
                    </td>
                    <td data-label="Keys">
                      {m.keys.map((k) => (
                        <code key={k} title={k}>
                          {short(k, 20)}{' '}
                        </code>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
      <ConfirmDialog
        open={confirm}
        title="Remove your wallet from this browser?"
        confirm="Remove it"
        danger
        onCancel={() => setConfirm(false)}
        onConfirm={() => {
          setConfirm(false);
          forget();
          navigate('/portal');
        }}
      >
        <p>Without a backup file you will lose your private IDs for good. The companies keep what they hold.</p>
      </ConfirmDialog>
    </>
  );
}
