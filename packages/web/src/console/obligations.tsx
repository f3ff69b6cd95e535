/**
 * The org's own obligations as a controller: its member profile (GDPR Arts. 26, 27, 37), its
 * records of processing (Art. 30) and the DPIA draft (Art. 35), read from the node (computed from
 * ledger facts at a stated height, with the data map digest in force).
 */
import { labelOf } from '@custos/protocol/consent';
import type { Dpia, Ropa } from '@custos/protocol/ledger';
import { useEffect, useState } from 'react';
import { errorText } from '../lib/api.js';
import { dateTime, list, short } from '../lib/format.js';
import { Badge, Empty, Notice } from '../ui/ui.js';
import type { OrgData } from './data.js';

function Controller({ r }: { r: Ropa }) {
  const c = r.controller;
  if (c === null) {
    return (
      <Notice tone="danger">
        No member profile yet: the org records no customer data before it sets one (custos org profile set).
      </Notice>
    );
  }
  return (
    <dl className="facts">
      <dt>Controller</dt>
      <dd>
        {c.legalName} ({c.registration})
      </dd>
      <dt>Data protection officer</dt>
      <dd>{c.dpo ?? 'none'}</dd>
      <dt>EU representative</dt>
      <dd>{c.euRepresentative ?? 'none'}</dd>
      <dt>Peers run in</dt>
      <dd>{list(c.regions)}</dd>
      <dt>Joint-controller arrangement (Art. 26)</dt>
      <dd>
        <code title={c.arrangementDigest}>sha256 {short(c.arrangementDigest, 16)}</code>, profile version {c.version}
      </dd>
      <dt>Data map in force</dt>
      <dd>
        {r.dataMap === null ? (
          'none published'
        ) : (
          <code title={r.dataMap.digest}>
            version {r.dataMap.version}, sha256 {short(r.dataMap.digest, 16)}
          </code>
        )}
      </dd>
    </dl>
  );
}

function RopaTable({ r }: { r: Ropa }) {
  if (r.activities.length === 0) return <Empty title="No processing recorded">The org holds no live records.</Empty>;
  return (
    <div className="table-wrap">
      <table className="responsive">
        <caption>Records of processing at height {r.height}</caption>
        <thead>
          <tr>
            <th scope="col">Purpose</th>
            <th scope="col">Data</th>
            <th scope="col">About</th>
            <th scope="col">Lawful bases</th>
            <th scope="col">Recipients</th>
            <th scope="col">Outside the EEA</th>
            <th scope="col">Kept (days)</th>
            <th scope="col">Records</th>
          </tr>
        </thead>
        <tbody>
          {r.activities.map((a) => (
            <tr key={a.purpose}>
              <td data-label="Purpose">{labelOf(a.purpose)}</td>
              <td data-label="Data">
                {list(a.categories.map(labelOf))}
                {a.specialCategories.length > 0 && <Badge tone="warn">special category</Badge>}
              </td>
              <td data-label="About">{list(a.subjectCategories)}</td>
              <td data-label="Lawful bases">{list(a.lawfulBases)}</td>
              <td data-label="Recipients">
                {a.recipients.length === 0 ? 'none' : list(a.recipients.map((x) => x.org))}
              </td>
              <td data-label="Outside the EEA">
                {a.transfers.length === 0
                  ? 'none'
                  : list(
                      a.transfers.map((t) => `${list(t.countries)} (${t.via === 'own-peers' ? 'own peers' : t.via})`),
                    )}
              </td>
              <td data-label="Kept (days)">
                {a.retentionDays.min === a.retentionDays.max
                  ? a.retentionDays.min
                  : `${a.retentionDays.min}–${a.retentionDays.max}`}
              </td>
              <td data-label="Records">{a.records}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DpiaDraft({ p }: { p: Dpia }) {
  return (
    <section aria-labelledby="dpia-h" className="card mt-4">
      <h2 id="dpia-h">
        Impact assessment (Art. 35) <Badge tone="warn">Draft for the DPO</Badge>
      </h2>
      <p>
        Filled from the ledger at height {p.height}. The DPO completes: {list(p.forTheDpo)}.
      </p>
      <ul>
        {p.risks.map((x) => (
          <li key={x.id} data-risk={x.id}>
            {x.text}: <strong>{x.count}</strong> {x.present && <Badge tone="danger">needs a measure</Badge>}
            <br />
            <span className="small muted">From {x.source}</span>
          </li>
        ))}
      </ul>
      <h3>Measures</h3>
      <ul>
        {p.measures.map((m) => (
          <li key={m}>{m}</li>
        ))}
      </ul>
    </section>
  );
}

export function ObligationsPage({ d }: { d: OrgData }) {
  const [doc, setDoc] = useState<{ ropa: Ropa; dpia: Dpia }>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    Promise.all([d.api.orgRopa(d.org), d.api.orgDpia(d.org)]).then(
      ([ropa, dpia]) => setDoc({ ropa, dpia }),
      (e: unknown) => setError(errorText(e)),
    );
  }, [d]);
  if (error !== undefined) return <Notice tone="danger">{error}</Notice>;
  if (doc === undefined) return <p aria-busy="true">Reading the records of processing…</p>;
  return (
    <>
      <section aria-labelledby="ropa-h" className="card">
        <h2 id="ropa-h">Records of processing (Art. 30)</h2>
        <p className="muted">
          From the ledger at height {doc.ropa.height}, {dateTime(doc.ropa.time)}. Also: custos org ropa --org {d.org}{' '}
          --csv.
        </p>
        <Controller r={doc.ropa} />
        <RopaTable r={doc.ropa} />
      </section>
      <DpiaDraft p={doc.dpia} />
    </>
  );
}
