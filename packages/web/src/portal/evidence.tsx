/**
 * What the company did for one request in each of its systems (issue 16, point 3): "Erased in 3 of 3
 * systems", then per system the outcome, the rows, the time, the ledger transaction and its
 * inclusion proof, verified in this browser against the pinned members (`EventProof`); for an
 * access or export, the digest of what was exported, and a check of the export file the company
 * handed over: the digest recomputed here must equal the one on the ledger.
 */

import { nobleVerifier } from '@custos/protocol/crypto';
import {
  exportDigest,
  MAX_EXPORT_FILE_BYTES,
  parseExportPackage,
  type RequestEvidence,
  requestEvidence,
  stepText,
} from '@custos/sdk/views';
import { useId, useState } from 'react';
import { client } from '../lib/api.js';
import { dateTime, short } from '../lib/format.js';
import { trustedMembers } from '../lib/trust.js';
import { useAsync } from '../lib/use-async.js';
import { Badge, Notice } from '../ui/ui.js';
import type { PortalData } from './data.js';
import { EventProof } from './facts.js';
import type { OrgView } from './model.js';

export function Evidence({ v, data, request }: { v: OrgView; data: PortalData; request: OrgView['requests'][number] }) {
  // An open request counts against the systems of the data map in force: read with a state proof
  // verified here (the map's digest and system ids are public), never taken on the node's word.
  const open = request.status === 'open' && requestEvidence(request, v.events) !== undefined;
  const map = useAsync(
    async (signal) => {
      if (!open) return undefined;
      const fact = await client.verifiedState(
        `datamap/${v.org}`,
        trustedMembers(data.ctx.trust),
        { verifier: nobleVerifier, chainId: data.ctx.trust.chainId },
        { signal },
      );
      const systems = fact.kind === 'state' ? (fact.value as { systems?: unknown } | null)?.systems : undefined;
      return Array.isArray(systems) ? systems.filter((x): x is string => typeof x === 'string') : undefined;
    },
    [open, v.org, v.history.height],
  );
  const e = requestEvidence(request, v.events, map.data);
  if (e === undefined) return null;
  const headingId = `evidence-${request.id.slice(0, 12)}`;
  return (
    <section className="evidence" aria-labelledby={headingId}>
      <p className="fact-line row">
        <strong id={headingId}>{e.summary}</strong>
        {request.status === 'fulfilled' && <Badge tone="ok">Proven on the ledger</Badge>}
      </p>
      <ul className="plain-list evidence-steps">
        {e.steps.map((s) => (
          <li key={s.system} data-system={s.system}>
            <p className="fact-line">
              <strong>{s.system}</strong>: {stepText(s)}, {dateTime(s.at)}
            </p>
            <p className="fact-line muted small">
              Transaction <code title={s.txId}>{short(s.txId, 16)}</code>
              {s.digest !== null && (
                <>
                  {' '}
                  · digest <code title={s.digest}>{short(s.digest, 16)}</code>
                </>
              )}
            </p>
            <p className="fact-line">
              <EventProof view={v} txId={s.txId} trust={data.ctx.trust} />
            </p>
          </li>
        ))}
      </ul>
      {e.step === 'export' && <ExportCheck evidence={e} />}
    </section>
  );
}

type CheckResult = { tone: 'ok' | 'danger'; text: string; systems: { system: string; ok: boolean; why: string }[] };

/**
 * The customer opens the export file the company sent; each system's digest is recomputed here
 * (SHA-256 of the salt and the canonical rows) and compared with the digest on the ledger.
 */
function ExportCheck({ evidence }: { evidence: RequestEvidence }) {
  const id = useId();
  const [result, setResult] = useState<CheckResult>();
  const check = async (file: File | undefined) => {
    if (file === undefined) return;
    try {
      if (file.size > MAX_EXPORT_FILE_BYTES) {
        throw new Error(`expected an export file of at most ${MAX_EXPORT_FILE_BYTES / 1024 / 1024} MiB`);
      }
      const pkg = parseExportPackage(await file.text());
      if (pkg.request !== evidence.request) throw new Error('this file is the export of another request');
      const systems = evidence.steps
        .filter((s) => s.outcome === 'done')
        .map((s) => {
          const got = pkg.systems.find((x) => x.system === s.system);
          if (got === undefined) return { system: s.system, ok: false, why: 'not in the file' };
          const ok = exportDigest(got) === s.digest;
          return { system: s.system, ok, why: ok ? 'matches the ledger' : 'does NOT match the ledger' };
        });
      const all = systems.every((x) => x.ok);
      setResult({
        tone: all ? 'ok' : 'danger',
        text: all
          ? `The file holds exactly what the company recorded, in ${systems.length} of ${systems.length} systems.`
          : 'The file differs from what the company recorded on the ledger.',
        systems,
      });
    } catch (err) {
      setResult({ tone: 'danger', text: `We could not check this file: ${(err as Error).message}.`, systems: [] });
    }
  };
  return (
    <div className="field">
      <label htmlFor={`${id}-file`}>Check the export the company sent you (JSON)</label>
      <input
        id={`${id}-file`}
        type="file"
        accept="application/json,.json"
        onChange={(ev) => check(ev.target.files?.[0])}
      />
      <div role="status" aria-live="polite">
        {result !== undefined && (
          <>
            <Notice tone={result.tone}>{result.text}</Notice>
            {result.systems.length > 0 && (
              <ul className="plain-list small">
                {result.systems.map((x) => (
                  <li key={x.system}>
                    {x.ok ? '✓' : '✗'} {x.system}: {x.why}
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
    </div>
  );
}
