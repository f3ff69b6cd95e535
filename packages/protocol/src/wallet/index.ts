/** @custos/protocol/wallet: The customer's wallet: pairwise identities per org and its passphrase-protected export. */
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
} from './export.js';
export {
  derivePairwiseSeed,
  MASTER_SECRET_LENGTH,
  MAX_ORG_ID_LENGTH,
  PAIRWISE_SALT,
  pairwiseInfo,
} from './pairwise.js';
export {
  MAX_LABEL_LENGTH,
  MAX_RELATIONSHIPS,
  type PairwiseIdentity,
  type Relationship,
  type SignerFactory,
  Wallet,
  type WalletOptions,
} from './wallet.js';
