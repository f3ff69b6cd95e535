/**
 * The shapes of what a Custos node's HTTP API returns (the node's `src/api/` routes and the
 * customer-data modules' state). They describe the wire format; nothing here is trusted until a
 * proof says so (see `history.ts`).
 */
import type { ConsentReceiptCredential } from '@custos/protocol/consent';
import type { JsonValue } from '@custos/protocol/jcs';
import type {
  BlockHeader,
  CommitResult,
  Genesis,
  QuorumCertificate,
  ResultCode,
  SignedTx,
} from '@custos/protocol/ledger';

// Genesis and CommitResult are wire types of the protocol package, re-exported here with the API shapes.
export type { CommitResult, Genesis, GenesisMember } from '@custos/protocol/ledger';

/** `GET /v1/chain`. */
export interface ChainInfo {
  chainId: string;
  height: number;
  latestHash: string;
  time: number;
  threshold: number;
  members: { id: string; keys: string[] }[];
  genesis: Genesis;
}

/** `GET /healthz`. */
export interface Health {
  status: string;
  chainId: string;
  height: number;
  pending: number;
}

/** `GET /v1/blocks/:height`. */
export interface BlockView {
  height: number;
  hash: string;
  header: BlockHeader;
  qc: QuorumCertificate | null;
  /** The transactions this reader may see (docs/api.md, "Read access"), in block order. */
  txIds: string[];
  results: ResultCode[];
  txs: SignedTx[];
  /** Their positions in the block, aligned with `txIds`. */
  indexes: number[];
  /** Other orgs' transactions as id, position and result code, when the consortium's read policy says `commitments`. */
  commitments: { index: number; txId: string; code: ResultCode }[];
  /** Transactions of the block this reader may not see (`header.txCount` counts them all). */
  withheld: number;
}

/** `GET /v1/txs/:txId`. */
export interface CommittedTx extends CommitResult {
  tx: SignedTx;
}

/**
 * `GET /v1/txs/:txId`: where a transaction is and its result code, for anyone who knows its id; its
 * signed body `tx` only for a reader allowed to see it (a member for its own org's, the subject for
 * its own; docs/api.md, "Read access").
 */
export interface TxView extends CommitResult {
  tx?: SignedTx;
  /** The body was pruned after the erasure of the subject it concerned: nobody can read it any more. */
  pruned?: true;
}

/** `POST /v1/txs/batch`: one item per transaction sent, in order. */
export type BatchItem = { txId: string } | CommitResult | { txId?: string; error: { code: string; detail: string } };

/** `GET /v1/state`. */
export interface StatePage {
  height: number;
  entries: { key: string; value: JsonValue }[];
  next: string | null;
}

/** `GET /v1/state/entry`. */
export interface StateEntry {
  height: number;
  key: string;
  value: JsonValue;
}

// ---------------------------------------------------------------------------------------------
// Customer data (values of the state keys the consent, data and request modules write)

import type { Art9Condition, DataRecord, DataRequest, LawfulBasis } from '@custos/protocol/ledger';

export type {
  ConsentGrant,
  DataRecord,
  DataRequest,
  Jurisdiction,
  LawfulBasis,
  OptOut,
  Preferences,
  RequestKind,
} from '@custos/protocol/ledger';

// ---------------------------------------------------------------------------------------------
// Org routes

/** `GET /v1/orgs`. */
export interface LocalOrgs {
  local: string[];
}

/** A page cursor (`next` of the previous page) and a page size. */
export interface PageQuery {
  after?: string;
  limit?: number;
}

/** An org API token as the node describes it (never its secret). */
export interface OrgTokenInfo {
  id: string;
  org: string;
  scopes: ('read' | 'write' | 'governance' | 'replica')[];
  label: string | null;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  createdBy: string;
}

/** `POST /v1/orgs/:org/tokens`: the token itself, shown this once. */
export interface OrgToken extends OrgTokenInfo {
  token: string;
}

/** `GET /v1/orgs/:org/records`. */
export interface OrgRecordsPage {
  height: number;
  records: (DataRecord & { pastRetention: boolean })[];
  next: string | null;
}

/** `GET /v1/orgs/:org/requests`. */
export interface OrgRequests {
  now: number;
  /** `ackOverdue`: the confirmation of receipt the CCPA asks within 10 business days is late. */
  requests: (DataRequest & { overdue: boolean; ackOverdue: boolean })[];
  next: string | null;
}

/** One system's step of a request (`request.step` on the ledger), or `pending`. */
export interface RequestStepState {
  request: string;
  system: string;
  outcome: 'done' | 'failed' | 'exception' | 'pending';
  step?: 'export' | 'erase' | 'rectify';
  rows?: number;
  /** SHA-256(salt || canonical rows) of what was exported or erased. */
  digest?: string | null;
  exception?: string | null;
  error?: string | null;
  /** Failed runs recorded. */
  failures?: number;
  /** Attempts of the connector's step over those failed runs (each run retries with backoff). */
  attempts?: number;
  time?: number;
  txId?: string;
  /** A run that stopped left this step's outcome in the node's step journal: the next run records it. */
  journalled?: boolean;
  /** A failed step's last error message, kept by the node that ran it (the ledger holds the code). */
  message?: string;
}

/**
 * `GET /v1/orgs/:org/requests/:id/steps`: "erased in `complete` of `systems` systems", with the legal
 * deadline: `overdue` (open past it), `paused` (a failed step keeps it open), `atRisk` (paused and the
 * deadline a week away or less, or past), all as of `now` (the latest block time).
 */
export interface RequestSteps {
  request: string;
  kind: string;
  jurisdiction: string;
  status: string;
  now: number;
  openedAt: number;
  deadline: number;
  originalDeadline: number | null;
  overdue: boolean;
  paused: boolean;
  atRisk: boolean;
  map: { version: number; digest: string } | null;
  complete: number;
  systems: number;
  steps: RequestStepState[];
}

/** `POST /v1/orgs/:org/requests/:id/execute`. */
export interface RequestExecution {
  request: string;
  status: 'fulfilled' | 'paused';
  steps: {
    system: string;
    step: string;
    outcome: string;
    rows: number;
    digest: string | null;
    txId: string | null;
    attempts: number;
    error?: string;
    /** The outcome came from the node's step journal: the system had committed before the node stopped. */
    recovered?: boolean;
  }[];
  fulfilTxId?: string;
  /** Access and export: each system's rows, with the salt that recomputes its recorded digest. */
  exports: { system: string; salt: string; digest: string; tables: { table: string; rows: JsonValue[] }[] }[];
}

/** `GET /v1/orgs/:org/retention`. */
export interface OrgRetention {
  now: number;
  pastRetention: DataRecord[];
  next: string | null;
}

/** The last `retention.run` of one of an org's systems, as the ledger holds it (`retention/<org>/<system>`). */
export interface RetentionRunState {
  org: string;
  system: string;
  outcome: 'done' | 'failed';
  asOf: number;
  rows: number;
  digest: string | null;
  error: string | null;
  runs: number;
  totalRows: number;
  time: number;
  txId: string;
}

/** `GET /v1/orgs/{org}/retention/systems`: the retention schedule of the org's own systems. */
export interface OrgRetentionSystems {
  org: string;
  /** Milliseconds between runs, or null when no schedule runs on this node. */
  intervalMs: number | null;
  lastRun: {
    ranAt: number;
    asOf: number;
    systems: {
      system: string;
      ranAt: number;
      asOf: number;
      outcome: 'done' | 'failed' | 'nothing-due';
      rows: number;
      digest: string | null;
      txId: string | null;
      error?: string;
    }[];
  } | null;
  recorded: { system: string; run: RetentionRunState | null }[];
}

/** `GET /v1/requests/overdue`. */
export interface OverdueRequests {
  now: number;
  overdue: DataRequest[];
  next: string | null;
}

export type RegisterRecordInput = RegisterRecordFields &
  (
    | { subject: string; account?: never }
    /** The org's account id, linked to the customer's pseudonym by a signed challenge (`linkChallenge`). */
    | { account: string; subject?: never }
  );

export interface RegisterRecordFields {
  category: string;
  purposes: Record<string, LawfulBasis>;
  source: 'subject' | 'public' | 'third-party' | 'derived';
  retentionDays: number;
  value: JsonValue;
  /** A special category on a basis other than consent: its GDPR Art. 9(2) condition (`ART9_CONDITIONS`). */
  condition?: Art9Condition;
  /** Purposes served by decisions taken solely by machine with legal or similar effects (GDPR Art. 22). */
  automated?: string[];
  /**
   * A copy received through a share (`data.share` to this org): the shared record. The copy serves
   * the share's purpose alone, and follows its source (GDPR Art. 19).
   */
  sourceRecord?: { org: string; id: string };
}

/** An access: its result code, and the value when the ledger accepted it. */
export interface AccessResult extends CommitResult {
  value?: JsonValue;
}

export type ReceiptFormat = 'vc' | 'iso27560' | 'kantara';

/** `GET /v1/receipts/:txId`: one receipt per consent event the transaction holds. */
export interface Receipts<F extends ReceiptFormat = ReceiptFormat> {
  format: F;
  receipts: F extends 'vc' ? ConsentReceiptCredential[] : JsonValue[];
}

// ---------------------------------------------------------------------------------------------
// Demo

/** `GET /v1/demo/wallets` (only on a node started with `custos demo`). */
export interface DemoWallets {
  /** The passphrase of every export below: demo wallets hold fake people. */
  passphrase: string;
  customers: DemoWallet[];
}

export interface DemoWallet {
  id: string;
  name: string;
  relationships: { org: string; label?: string }[];
  /** A passphrase-protected wallet export (`importWallet`). */
  export: JsonValue;
}
