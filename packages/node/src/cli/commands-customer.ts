/**
 * The customer's side of the CLI, one file per responsibility under `customer/`: `custos wallet`
 * (a passphrase-protected wallet file), `consent` and `optout` (also as a Global Privacy Control
 * signal), `request open`, and `history`, verified offline against the genesis members. Each
 * transaction is signed with the wallet's pairwise key for that org, so every org knows the
 * customer by another did.
 */
import type { Command } from 'commander';
import { registerAgeCommands } from './customer/age.js';
import { registerAgentCommands } from './customer/agents.js';
import { registerConsentCommands } from './customer/consent.js';
import { registerCorrectionCommands } from './customer/corrections.js';
import { registerGuardianCommands } from './customer/guardian.js';
import { registerHistoryCommands } from './customer/history.js';
import { registerRequestCommands } from './customer/requests.js';
import { registerWalletCommands } from './customer/wallet.js';

export function registerCustomerCommands(program: Command): void {
  registerWalletCommands(program);
  registerConsentCommands(program);
  registerAgeCommands(program);
  registerRequestCommands(program);
  registerCorrectionCommands(program);
  registerHistoryCommands(program);
  registerAgentCommands(program);
  registerGuardianCommands(program);
}
