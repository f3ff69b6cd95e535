/** @custos/protocol: everything a Custos peer and a browser agree on. Named exports only. */

export { fromBase64url, toBase64url } from './b64.js';
export { concatBytes, equalBytes, fromHex, fromUtf8, isHex, toHex, utf8 } from './bytes.js';
export { didFromPublicKey, isDidKey, publicKeyFromDid } from './crypto/didkey.js';
export {
  nobleSigner,
  nobleVerifier,
  PUBLIC_KEY_LENGTH,
  publicKeyOf,
  randomSecretKey,
  SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
  type Signer,
  type Verifier,
} from './crypto/ed25519.js';
export { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from './errors.js';
export { type Sha256, setSha256, sha256 } from './hash.js';
export { canonicalBytes, canonicalize, type JsonValue } from './jcs.js';
export {
  type Block,
  type BlockHeader,
  checkHeaderLink,
  checkHeaderShape,
  headerHash,
  type LogEntry,
  logEntryBytes,
  RESULT_CODES,
  type ResultCode,
  ZERO_HASH,
} from './ledger/block.js';
export {
  CHECKPOINT_DOMAIN,
  type Checkpoint,
  type CheckpointSignature,
  checkCheckpointShape,
  checkpointOf,
  checkpointSigningBytes,
  type MemberSet,
  majority,
  type QuorumCertificate,
  signCheckpoint,
  verifyQuorumCertificate,
} from './ledger/checkpoint.js';
export {
  type BuildTxOptions,
  checkChain,
  checkTxWindow,
  isTxId,
  MAX_ARGS_DEPTH,
  MAX_CLOCK_SKEW_MS,
  MAX_TTL_MS,
  MAX_TX_BYTES,
  type ParsedTx,
  parseTx,
  type SignedTx,
  signTx,
  type TxBody,
  txIdOf,
  verifyTxSignature,
} from './ledger/tx.js';
export {
  CONSISTENCY_BUNDLE,
  type ConsistencyBundle,
  INCLUSION_BUNDLE,
  type InclusionBundle,
  type ProofBundle,
  STATE_BUNDLE,
  type StateBundle,
  type VerifiedFact,
  verifyProofBundle,
} from './ledger/proof-bundle.js';
export { MemoryLogStore } from './merkle/memory-log-store.js';
export {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  isValidConsistency,
  isValidInclusion,
  type LogStore,
  leafHash,
  MAX_PROOF_LENGTH,
  MAX_TREE_SIZE,
  MerkleLog,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './merkle/rfc9162.js';
export { MemoryStateNodeStore } from './state/memory-node-store.js';
export {
  decodeStateNode,
  emptyStateRoot,
  encodeStateNode,
  type NodePath,
  nodePath,
  pathDepth,
  STATE_MAX_DEPTH,
  type StateInternalNode,
  type StateLeafNode,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
  stateInternalHash,
  stateLeafHash,
} from './state/node.js';
export {
  encodeStateProof,
  isValidStateProof,
  parseStateProof,
  type StateProof,
  type StateProofJson,
  type StateProofLeaf,
  verifyStateProof,
  verifyStateProofHashed,
} from './state/proof.js';
export { type StateChange, StateTree, type StateUpdate } from './state/smt.js';
export {
  type EventFact,
  MAX_REPORT_EVENTS,
  SUBJECT_REPORT,
  type StateFact,
  type SubjectReport,
  type VerifiedSubjectReport,
  verifySubjectReport,
} from './ledger/subject-report.js';
export {
  DEFAULT_SCRYPT_N,
  type ExportOptions,
  exportWallet,
  importWallet,
  MAX_PASSPHRASE_LENGTH,
  MAX_SCRYPT_N,
  MAX_WALLET_EXPORT_BYTES,
  MIN_PASSPHRASE_LENGTH,
  MIN_SCRYPT_N,
  WALLET_EXPORT_VERSION,
  WALLET_PADDING_BLOCK,
  type WalletExport,
} from './wallet/export.js';
export {
  derivePairwiseSeed,
  MASTER_SECRET_LENGTH,
  MAX_ORG_ID_LENGTH,
  PAIRWISE_SALT,
  pairwiseInfo,
} from './wallet/pairwise.js';
export {
  MAX_LABEL_LENGTH,
  MAX_RELATIONSHIPS,
  type PairwiseIdentity,
  type Relationship,
  type SignerFactory,
  Wallet,
  type WalletOptions,
} from './wallet/wallet.js';
