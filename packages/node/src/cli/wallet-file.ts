// The wallet file moved to src/wallet/ (layer 3) so the demo can use it without importing the CLI.
export * from '../wallet/wallet-file.js';
