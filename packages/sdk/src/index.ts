/**
 * @custos/sdk: what an application needs to act for a customer or an org. The typed HTTP client
 * (`CustosClient`, errors as `CustosApiError`), the wallet (pairwise pseudonyms per org,
 * passphrase-protected export), signing of the customer's transactions, and verification of a
 * customer's history against a pinned trust anchor.
 */

export {
  checkDataExport,
  type DataExport,
  dataExportToCsv,
  type ExportCheck,
  exportProblemText,
} from '@custos/protocol/data-export';
export {
  envelopeDigest,
  generateHpkeKeyPair,
  HPKE_SUITE,
  hpkeKeyId,
  openRectification,
  type RectifyContext,
  type RectifyEnvelope,
  sealRectification,
} from '@custos/protocol/hpke';
export {
  AGE_BANDS,
  AGE_EVIDENCE,
  type AgeBand,
  type AgeEvidence,
  ART8_AGES,
  ERASURE_EXCEPTIONS,
  type ErasureException,
  type ErasureExceptionEntry,
  EXPLAIN_REASONS,
  type ExplainReason,
  FLAG_REASONS,
  type FlagReason,
  type HpkeKeyEntry,
  isRectificationOverdue,
  memberSetOf,
  type ParentalConsent,
  type Rectification,
  signParentalConsent,
} from '@custos/protocol/ledger';
export {
  type ExportOptions,
  exportWallet,
  importWallet,
  type PairwiseIdentity,
  type Relationship,
  Wallet,
  type WalletExport,
  type WalletOptions,
} from '@custos/protocol/wallet';
export {
  type ContractCall,
  type ContractCodeEntry,
  type ContractCodeView,
  type ContractDetail,
  type ContractInfo,
  type ContractList,
  type ContractProposal,
  type ContractReceipt,
  type ContractRiskReport,
  type ContractRiskSummary,
  type ContractStatus,
  type ContractSummary,
  contractTx,
} from './actions/contracts.js';
export type { WaitingExport } from './actions/customers.js';
export type { GovAction, GovOverview, GovProposal } from './actions/gov.js';
export type { AffectedSubjects, IncidentInput, IncidentNotifications, OrgIncidents } from './actions/incidents.js';
export type {
  CredentialJson,
  PasskeyCeremony,
  PasskeyIdentity,
  PasskeyInfo,
  PasskeyRecovered,
  PasskeyRegistered,
  PasskeySession,
  PasskeySignedIn,
} from './actions/passkeys.js';
export type {
  CorrectionRun,
  CorrectionSteps,
  OrgHpkeKeys,
  RectificationsPage,
  RelayedCorrection,
} from './actions/rectify.js';
export type { ExecuteBody, RectificationInput } from './actions/request-steps.js';
export type { OrgRisk, RiskQuery } from './actions/requests.js';
export type { EmittedGpp, GpcEvidence, GppRecordResult } from './actions/signals.js';
export type { SubmitOptions, SubmitResult } from './actions/txs.js';
export {
  AGENT_REQUEST_KINDS,
  type AgentRequestKind,
  agentRequestTx,
  answerLinkChallenge,
  type Delegation,
  type DelegationCredential,
  DelegationError,
  delegationId,
  grantAgent,
  type LinkChallenge,
  linkMessage,
  revokeAgentTx,
  verifyDelegation,
} from './agents.js';
export type {
  AccessResult,
  BatchItem,
  BlockView,
  ChainInfo,
  CommitResult,
  CommittedTx,
  ConsentGrant,
  DataRecord,
  DataRequest,
  DemoWallet,
  DemoWallets,
  Genesis,
  GenesisMember,
  Health,
  Jurisdiction,
  LawfulBasis,
  LocalOrgs,
  OptOut,
  OrgRecordsPage,
  OrgRequests,
  OrgRetention,
  OrgRetentionSystems,
  OrgToken,
  OrgTokenInfo,
  OverdueRequests,
  PageQuery,
  Preferences,
  ReceiptFormat,
  Receipts,
  RegisterRecordInput,
  RequestExecution,
  RequestKind,
  RequestStepState,
  RequestSteps,
  RetentionRunState,
  StateEntry,
  StatePage,
  TxView,
} from './api-types.js';
export { CustosClient, type CustosClientOptions } from './client.js';
export { pseudonymsHeldBy } from './copies.js';
export { customerTx } from './customer-tx.js';
export { downloadDataExport, exportedRequest, type OpenedExport } from './data-export.js';
export {
  type ApiErrorCode,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
  CustosApiError,
  isApiError,
  type NodeProblemCode,
  type Problem,
} from './errors.js';
export { DEFAULT_GPP_CATEGORIES, emitGpp, gppChoices, gppRecordTx, TCF_PURPOSE_MAP, US_FIELD_MAP } from './gpp.js';
export {
  eventProof,
  factProof,
  fetchHistory,
  type TrustAnchor,
  trustedMembersOf,
  trustFromGenesis,
  type VerifiedHistory,
  verifyHistory,
} from './history.js';
export {
  addKeyArgs,
  admitAction,
  MEMBER_KEY_PROOF_DOMAIN,
  type MemberKeyAction,
  type ProvenEvmKey,
  type ProvenKey,
  proveMemberKey,
  removeEvmKeyAction,
  rotateKeyAction,
  setEvmKeyAction,
} from './member-keys.js';
export type {
  BlockCertificate,
  BlockTxsPage,
  Finality,
  GpcSupport,
  HistoryEvent,
  MemberEpochsPage,
  OpenApiDocument,
  Readiness,
  SnapshotStream,
  TxEvent,
} from './node-types.js';
export {
  approveParental,
  checkParentalApproval,
  checkParentalRequest,
  decodeParental,
  encodeParental,
  GUARDIAN_RELATIONSHIP,
  guardianWithdrawTx,
  MAX_PARENTAL_BYTES,
  type ParentalApproval,
  type ParentalRequest,
  parentalGrantTx,
} from './parental.js';
export {
  deviceLinkProof,
  newLinkSecret,
  newRecoveryCode,
  newWalletKey,
  openWallet,
  PRF_INPUT,
  parseRecoveryCode,
  RECOVERY_CODE_BYTES,
  recoveryKeys,
  sealWallet,
  unwrapWalletKey,
  wrapWalletKey,
} from './passkey-keys.js';
export {
  type CorrectionOutcome,
  type CorrectionTarget,
  correctionTargets,
  flagRecord,
  orgHpkeKeyEntry,
  sealCorrection,
  sendCorrections,
} from './rectify.js';
export { type ClientMethod, SDK_ROUTES, type SdkRoute } from './routes.js';
export { readEventStream, type ServerEvent } from './transport/event-stream.js';
export type { CallOptions } from './transport/http.js';
export { type OutgoingRequest, type RequestSigner, signedBy } from './transport/signing.js';
export {
  assembleXtx,
  buildXtx,
  customerXtxOp,
  type PlanOptions,
  type PreparedPlan,
  planXtx,
  signXtxOp,
  type XtxOp,
  type XtxOpSpec,
  xtxPrepareTx,
} from './xtx.js';
