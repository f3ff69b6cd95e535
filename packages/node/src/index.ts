export { createServer, listen, type ServerOptions } from './api/server.js';
export { parseDataMap, publishArgs } from './connectors/datamap.js';
export { type ExecutionReport, executeRequest } from './connectors/execute.js';
export { PostgresConnector, type PostgresConnectorOptions } from './connectors/postgres.js';
export {
  findPostgresBinaries,
  POSTGRES_HINT,
  PostgresServer,
  type PostgresServerOptions,
  requirePostgresBinaries,
} from './connectors/postgres-server.js';
export { VaultConnector } from './connectors/vault-connector.js';
export { type ConsortiumNodeOptions, openConsortiumNode } from './consortium/peer-node.js';
export { installNativeCrypto, nativeSha256, nativeSigner, nativeVerifier } from './crypto/native.js';
export { type VerifyItem, VerifyPool, type VerifyPoolOptions } from './crypto/verify-pool.js';
export { demoPostgresPassword } from './demo/bank-systems.js';
export { DEMO_ARRANGEMENT, DEMO_ARRANGEMENT_DIGEST, exampleProfile, setExampleProfiles } from './demo/profiles.js';
export { ERROR_REGISTRY, type ErrorCode, errorCode, NODE_ERROR_CODES, NodeError } from './errors.js';
export { type Genesis, makeGenesis, memberSetOf, parseGenesis } from './genesis.js';
export {
  EVM_MEMBER_SET_KEY,
  type EvmMemberSetEntry,
  evmMemberSetAt,
} from './governance/evm-member-set.js';
export { initHome, loadHome } from './home.js';
export {
  assembleEvmDecision,
  assembleEvmMemberUpdate,
  signEvmDecision,
  signEvmMemberUpdate,
} from './interop/evm/certificates.js';
export { findHardhat, HardhatChain, type HardhatChainOptions } from './interop/evm/hardhat.js';
export {
  decryptEvmKey,
  decryptKey,
  type EvmKeystoreFile,
  encryptEvmKey,
  encryptKey,
  loadEvmKey,
  loadSigner,
  writeEvmKeystore,
  writeKeystore,
} from './keys/keystore.js';
export { type CommitResult, CustosNode, type NodeOptions, type Submission } from './node.js';
export type { DeliverFn, OrderedBatch, Orderer, PendingTx } from './ordering/orderer.js';
export { SoloOrderer } from './ordering/solo.js';
export { type LocalOrg, type OrgLog, OrgService } from './orgs/org-service.js';
export { RectifyRelay, type RectifyRelayOptions } from './orgs/rectify-relay.js';
export { type AuditReport, auditChain } from './peer/audit.js';
export { consistencyProof, inclusionProof, stateProof } from './proofs.js';
export { type Kms, LocalKms, type LocalKmsFile } from './vault/kms.js';
export {
  type AccessCheck,
  type AccessProof,
  type EraseRecordResult,
  type EraseSubjectResult,
  MAX_VALUE_BYTES,
  type PutResult,
  type RecordStatus,
  Vault,
  type VaultOptions,
  type VaultRecord,
  type VaultStats,
} from './vault/vault.js';
