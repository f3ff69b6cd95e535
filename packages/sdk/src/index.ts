/**
 * @custos/sdk: what an application needs to act for a customer. The wallet (pairwise pseudonyms
 * per org, passphrase-protected export) and signing of the customer's transactions; the typed HTTP
 * client arrives with the API issue.
 */
export {
  type ExportOptions,
  exportWallet,
  importWallet,
  type PairwiseIdentity,
  type Relationship,
  Wallet,
  type WalletExport,
  type WalletOptions,
} from '@custos/protocol';
export { customerTx } from './customer-tx.js';
