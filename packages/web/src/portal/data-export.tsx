/**
 * The data itself (issue 19 item 4, ADR 0021): under a fulfilled access or export request, the
 * customer downloads what the company sealed to their wallet, opens it in this browser, checks every
 * value against its commitment in their verified history ("complete: N of N records"), and saves it
 * as JSON or CSV. The report also says which decisions are automated, where the data goes outside
 * the EEA, and how to complain. The company's node serves it once: the files are kept on this page.
 */
import { dataExportToCsv, downloadDataExport, exportProblemText, type OpenedExport, type Wallet } from '@custos/sdk';
import { lowerLabels } from '@custos/sdk/views';
import { useEffect, useState } from 'react';
import { client, errorText } from '../lib/api.js';
import { day } from '../lib/format.js';
import { Badge, Notice } from '../ui/ui.js';
import type { OrgView } from './model.js';

/** A file to save: its name and an object URL, revoked when the section goes. */
interface SavedFile {
  name: string;
  url: string;
}

function files(opened: OpenedExport, request: string): SavedFile[] {
  const base = `custos-export-${request.slice(0, 12)}`;
  const json = new Blob([`${JSON.stringify(opened.data, null, 2)}\n`], { type: 'application/json' });
  const csv = new Blob([dataExportToCsv(opened.data)], { type: 'text/csv' });
  return [
    { name: `${base}.json`, url: URL.createObjectURL(json) },
    { name: `${base}.csv`, url: URL.createObjectURL(csv) },
  ];
}

export function DataDownload({
  v,
  wallet,
  request,
}: {
  v: OrgView;
  wallet: Wallet;
  request: OrgView['requests'][number];
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [got, setGot] = useState<{ opened: OpenedExport; files: SavedFile[] }>();
  useEffect(
    () => () => {
      for (const f of got?.files ?? []) URL.revokeObjectURL(f.url);
    },
    [got],
  );
  if (request.status !== 'fulfilled' || request.export === undefined) return null;
  const headingId = `export-${request.id.slice(0, 12)}`;
  const download = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const opened = await downloadDataExport(client, wallet, v.history, v.org, request.id);
      setGot({ opened, files: files(opened, request.id) });
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const n = request.export.records;
  return (
    <section className="evidence" aria-labelledby={headingId}>
      <p className="fact-line row">
        <strong id={headingId}>
          {v.name} sent you your data: {n === 1 ? 'one record' : `${n} records`}, sealed to your wallet
        </strong>
      </p>
      {got === undefined ? (
        <div className="row">
          <button type="button" className="btn" disabled={busy} onClick={download}>
            {busy ? 'Downloading and checking…' : 'Download your data'}
          </button>
          <p className="fact-line small muted">
            Only your wallet can open it. {v.name}'s node hands it over once, then deletes it.
          </p>
        </div>
      ) : (
        <ExportResult name={v.name} got={got} />
      )}
      {error !== undefined && <Notice tone="danger">{error}</Notice>}
    </section>
  );
}

function ExportResult({ name, got }: { name: string; got: { opened: OpenedExport; files: SavedFile[] } }) {
  const { check, data } = got.opened;
  const s = data.statements;
  return (
    <>
      <p className="fact-line row" data-testid="export-check">
        {check.complete ? (
          <Badge tone="ok">{check.summary}</Badge>
        ) : (
          <Badge tone="danger">{`incomplete: ${check.verified} of ${check.total} records`}</Badge>
        )}
        <span className="small muted">each value checked against its fingerprint on the ledger</span>
      </p>
      {!check.complete && (
        <ul className="plain-list small">
          {!check.digestMatches && <li>This is not the file {name} recorded on the ledger.</li>}
          {check.failures.map((f) => (
            <li key={`${f.record}-${f.problem}`}>
              Record {f.record.slice(0, 12)}: {exportProblemText(f.problem)}.
            </li>
          ))}
        </ul>
      )}
      <p className="fact-line row">
        Save it:{' '}
        {got.files.map((f) => (
          <a key={f.name} className="btn" href={f.url} download={f.name}>
            {f.name.endsWith('.csv') ? 'CSV file' : 'JSON file'}
          </a>
        ))}
      </p>
      <ul className="plain-list small">
        {data.records.map((r) => (
          <li key={r.record}>
            <strong>{lowerLabels([r.category])}</strong>:{' '}
            {typeof r.value === 'string' ? r.value : JSON.stringify(r.value)}
          </li>
        ))}
      </ul>
      <h4>What else {name} must tell you</h4>
      <ul className="plain-list small">
        <li>
          Automated decisions:{' '}
          {s.automated.length === 0
            ? 'none recorded.'
            : `${s.automated.map((a) => `your ${lowerLabels([a.category])}, for ${lowerLabels(a.purposes)}`).join('; ')}. You may ask a person to review them.`}
        </li>
        <li>
          Transfers outside the EEA:{' '}
          {s.transfers.length === 0
            ? 'none recorded.'
            : `${s.transfers.map((t) => `${t.country}, under ${t.safeguard}`).join('; ')}.`}
        </li>
        {s.complaints.map((c) => (
          <li key={c}>{c}</li>
        ))}
        <li className="muted">Sealed on {day(data.createdAt)}.</li>
      </ul>
    </>
  );
}
