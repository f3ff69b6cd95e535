/**
 * The customer's copy of their data (ADR 0021, docs/sdk.md "The data itself"): download the export
 * an org sealed when it fulfilled an access or export request, open it with the wallet's key towards
 * that org, and check it against the customer's verified history: the envelope is the one
 * `request.fulfil` committed to, and each value matches its salted commitment on the ledger.
 */
import {
  checkDataExport,
  type DataExport,
  type ExportCheck,
  exportDigest,
  openDataExport,
  parseExportEnvelope,
} from '@custos/protocol/data-export';
import { ProtocolError } from '@custos/protocol/errors';
import type { DataRecord, DataRequest } from '@custos/protocol/ledger';
import type { Wallet } from '@custos/protocol/wallet';
import type { CustosClient } from './client.js';
import type { VerifiedHistory } from './history.js';
import { signedBy } from './transport/signing.js';

/** An opened export and what the check found. */
export interface OpenedExport {
  data: DataExport;
  check: ExportCheck;
  /** When the node would have deleted it unread. */
  expiresAt: number;
  /**
   * Whether the org's node confirmed it deleted the export after this download. False when it had
   * already (served directly) or the confirmation did not get through: it is deleted at expiry then.
   */
  confirmed: boolean;
}

/** A fulfilled request with its export entry and closing time. */
export type ExportedRequest = DataRequest & { export: NonNullable<DataRequest['export']>; closedAt: number };

/** The fulfilled access or export request `request` at `org` in a verified history, with its export entry. */
export function exportedRequest(history: VerifiedHistory, org: string, request: string): ExportedRequest {
  const fact = history.facts.find((f) => f.key === `request/${org}/${request}`);
  const r = fact?.value as unknown as DataRequest | null | undefined;
  if (r === undefined || r === null) {
    throw new ProtocolError('BAD_PROOF', `no request ${request} of yours at ${org} in your verified history`);
  }
  if (r.status !== 'fulfilled' || r.export === undefined || r.closedAt === null) {
    throw new ProtocolError(
      'BAD_PROOF',
      `request ${request} was not fulfilled with an export of your data (status ${r.status})`,
    );
  }
  return r as ExportedRequest;
}

/**
 * Downloads, opens and checks the export of `request`
 * at `org`. `history` is the customer's verified history under the pseudonym towards `org`
 * (`verifyHistory`): the ledger's word on the request and the records. Once it opened, confirms the
 * download, so the org's node deletes it (a relayed export waits there until then; one served by
 * the org's node directly is deleted as it is served). Throws BAD_CIPHERTEXT when the envelope does
 * not open for this wallet, org, pseudonym and request.
 */
export async function downloadDataExport(
  client: CustosClient,
  wallet: Wallet,
  history: VerifiedHistory,
  org: string,
  request: string,
): Promise<OpenedExport> {
  const me = wallet.relationship(history.chainId, org);
  if (me.did !== history.subject) {
    throw new ProtocolError('BAD_PROOF', `the history is not of your pseudonym towards ${org}`);
  }
  const r = exportedRequest(history, org, request);
  // Naming the org lets any member's peer serve it: one without the org's vault fetches it from the org's node.
  const waiting = await client.subjectExport(me.did, request, { sign: signedBy(me.signer), org });
  const envelope = parseExportEnvelope(waiting.envelope);
  const ctx = { chainId: history.chainId, org, subject: me.did, request };
  const data = await openDataExport(wallet, envelope, ctx);
  // A request that named records covers those only; one that named none, everything held.
  const named = new Set(r.records);
  const records = history.facts
    .filter((f) => f.key.startsWith(`record/${org}/`) && f.value !== null)
    .map((f) => f.value as unknown as DataRecord)
    .filter((rec) => named.size === 0 || named.has(rec.id));
  const check = checkDataExport(data, records, { ...r.export, closedAt: r.closedAt }, exportDigest(envelope));
  // The customer has it now; a confirmation that fails leaves it to expire, the download stands.
  const confirmed = await client
    .confirmExport(me.did, request, { sign: signedBy(me.signer), org })
    .then((c) => c.confirmed)
    .catch(() => false);
  return { data, check, expiresAt: waiting.expiresAt, confirmed };
}
