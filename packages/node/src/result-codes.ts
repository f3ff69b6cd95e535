/**
 * What each transaction result code means (the code every committed transaction carries in its
 * block, `RESULT_CODES` of @custos/protocol), rendered into docs/errors.md. A refused transaction
 * is not an error of the API: it is committed, with its code, and changed nothing.
 */
import type { ResultCode } from '@custos/protocol/ledger';

export const RESULT_CODE_MEANING: Record<ResultCode, string> = {
  OK: 'The transaction ran and its changes are in the state.',
  BAD_SIGNATURE: 'The signature does not verify over the canonical body; re-sign the exact body.',
  WRONG_CHAIN: "The body names another chain than the block's; sign it for this chain.",
  EXPIRED: "The block time was past the transaction's expiresAt; sign a fresh one.",
  NOT_YET_VALID: "The transaction's createdAt was ahead of the block time by more than the allowed skew.",
  REPLAYED: 'The same transaction was already committed; it never runs twice.',
  UNKNOWN_TYPE: 'No module executes this type; the detail lists the known types (`custos tx --help` lists them too).',
  INVALID_ARGS:
    'The arguments do not fit the type; the detail names the argument and what was expected (docs/customer-data.md, docs/operations.md and docs/architecture.md document them).',
  UNAUTHORIZED: 'The signer may not do this: not a member key, not the subject, not the owner.',
  NOT_FOUND: 'A member, record, consent, proposal or key the transaction names does not exist.',
  CONFLICT: 'The state forbids it now: taken, already done, locked by a cross-chain transaction, or out of order.',
  LIMIT_EXCEEDED: 'A bound would be exceeded (members, keys, consents, items).',
  NO_LAWFUL_BASIS:
    'No lawful basis holds at this height: no live consent covering org, purpose and category, or an undeclared basis.',
  OPTED_OUT: 'The subject opted out of sale or sharing (directly or with Global Privacy Control).',
  ERASED: 'The record was erased.',
  RESTRICTED: 'Processing of the record is restricted (GDPR Art. 18) or the subject objected (Art. 21).',
  PROPOSAL_CLOSED: 'A vote on a governance proposal that is no longer open: executed, rejected or expired.',
  KEY_NOT_PROVEN:
    'A new member key came without a valid proof of possession: the holder of the new key signs it (`custos keys prove`) for exactly this chain, member and action.',
  KEY_HAS_HISTORY:
    'The key has history on the ledger as a data subject (a customer pseudonym): it can never become a member key.',
  RESERVED_NAMESPACE:
    "The kv key is in an org-owned namespace (`privacy/<org>.*`): only that org's member keys may write it.",
  OUT_OF_GAS:
    "The contract call reached its gas limit (the smallest of the caller's, the manifest's and 20,000,000): its writes were rolled back, its gas is recorded (docs/contracts.md#gas).",
  CONTRACT_ERROR:
    'The contract threw, did not parse, has no such method, returned no JSON or misused the host API; the detail says which. Nothing it wrote was kept.',
  CONTRACT_FORBIDDEN:
    'The contract used a capability it does not have: a removed global, a key outside its namespaces, a system action its manifest does not grant.',
  CONTRACT_PAUSED:
    'The contract is paused by its members (emergency pause); calls are refused until a resume proposal is executed.',
  CONTRACT_NOT_ACTIVE:
    'No contract with this id is active at this height: it is only proposed, removed, activates at a later height, or does not exist (`custos contract list`).',
  PARENTAL_CONSENT_REQUIRED:
    "The customer is a child: a use on consent below the member state's GDPR Art. 8 age, or a sale or share under 13 (CCPA 1798.120(c)), needs a consent given by a parent or guardian (`parental` on `consent.grant`: the registered guardian key's signature, or the org's verification code and evidence).",
  NO_PROFILE:
    'The org has no member profile (legal name, registration, DPO or EU representative, regions, the Art. 26 arrangement digest): it records no customer data before it sets one (`custos org profile set`).',
};
