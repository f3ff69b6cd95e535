/**
 * The demo contracts (docs/contracts.md, "The demo contracts"): a bank-insurer data-sharing
 * agreement and an alliance loyalty programme, deployed through the whole lifecycle (proposal with
 * the risk check recorded, a member's vote, activation) and called the way the orgs would. Their
 * sources are real files in `src/demo/contracts/` (shipped with the package, read from there both
 * by the sources and by the build in `dist/`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JsonValue } from '@custos/protocol/jcs';
import type { ResultCode } from '@custos/protocol/ledger';
import type { PairwiseIdentity } from '@custos/protocol/wallet';
import { NodeError } from '../errors.js';
import { type ContractRecord, codeKey, infoKey, receiptKey, type StoredCode } from '../modules/contract-state.js';
import type { CustosNode } from '../node.js';
import type { DemoRun } from './run.js';

/** `src/demo/contracts/`: from `src/demo/` and from `dist/demo/` alike, two levels up is the package. */
const CONTRACTS_DIR = new URL('../../src/demo/contracts/', import.meta.url);

export const DEMO_CONTRACT_IDS = ['income-check', 'alliance-loyalty'] as const;
export type DemoContractId = (typeof DEMO_CONTRACT_IDS)[number];

export interface DemoContractSource {
  code: string;
  manifest: { [k: string]: JsonValue };
  tests: JsonValue[];
}

/** The source, manifest and declared test calls of a demo contract, as shipped. */
export function demoContractSource(id: DemoContractId): DemoContractSource {
  const read = (suffix: string) => readFileSync(new URL(`${id}${suffix}`, CONTRACTS_DIR), 'utf8');
  return {
    code: read('.js'),
    manifest: JSON.parse(read('.manifest.json')) as { [k: string]: JsonValue },
    tests: JSON.parse(read('.tests.json')) as JsonValue[],
  };
}

/** A loyalty member: the SHA-256 of a demo loyalty card number (a commitment, never a name). */
export function loyaltyMember(card: string): string {
  return createHash('sha256').update(`custos demo loyalty card ${card}`).digest('hex');
}

export interface DemoContractsSummary {
  contracts: { id: string; status: string; digest: string; riskPassed: boolean; proposal: string }[];
  /** The agreement: the uses that went through and their fees, and the use refused after withdrawal. */
  agreement: { uses: number; feeCents: number; refused: { txId: string; code: string } };
  /** The loyalty programme: members left, members dropped. */
  loyalty: { members: number; dropped: number };
  transactions: number;
}

/** The demo customers the contracts need: who pays with their data, and how they sign. */
export interface DemoContractCustomers {
  /** The bank customer with an income record and a consent covering the quote she asked for. */
  incomeHolder: (org: string) => PairwiseIdentity;
  /** Card numbers of the loyalty members: the first is the one who withdraws consent at the bank. */
  cards: { leaver: string; stayer: string };
}

const AGREEMENT_FEE_CENTS = 250;

function stateValue<T>(node: CustosNode, key: string): T | undefined {
  const v = node.store.getState(key);
  return v === undefined ? undefined : (JSON.parse(v) as T);
}

/** The bank's income record of a subject (its id on the ledger), found by subject and category. */
function incomeRecord(node: CustosNode, subject: string): string {
  let after: string | undefined;
  for (;;) {
    const page = node.store.listState('record/bank/', after, 500);
    for (const { key, value } of page) {
      const rec = JSON.parse(value) as { subject?: string; category?: string; erasedAt?: number | null };
      if (rec.subject === subject && rec.category === 'pd:Income' && rec.erasedAt == null) {
        return key.slice('record/bank/'.length);
      }
    }
    if (page.length < 500) break;
    after = page[page.length - 1]!.key;
  }
  throw new NodeError('INTERNAL', 'demo: the bank holds no income record of the demo customer');
}

/** Proposes a demo contract as `proposer` with its risk report, and has `voter` approve it. */
async function deploy(
  run: DemoRun,
  node: CustosNode,
  id: DemoContractId,
  proposer: string,
  voter: string,
  reason: string,
) {
  const src = demoContractSource(id);
  const p = await run.asOrg(proposer, 'contract.propose', { ...src, reason });
  await run.asOrg(voter, 'gov.vote', { proposal: p.txId, vote: 'yes' });
  const info = stateValue<ContractRecord>(node, infoKey(id));
  const code = info?.digest == null ? undefined : stateValue<StoredCode>(node, codeKey(info.digest));
  if (info?.status !== 'active' || code === undefined) {
    throw new NodeError('INTERNAL', `demo: contract ${id} did not activate`);
  }
  const riskPassed = (code.risk as { passed?: boolean }).passed === true;
  return { id, status: info.status, digest: code.digest, riskPassed, proposal: p.txId };
}

/**
 * Deploys and exercises the two demo contracts on a chain where the demo customers are loaded.
 * Every step's result code is checked (`run` throws on an unexpected one).
 */
export async function loadDemoContracts(
  run: DemoRun,
  node: CustosNode,
  who: DemoContractCustomers,
): Promise<DemoContractsSummary> {
  const before = run.counts.transactions;
  // Both proposals go in together: the bank proposes the agreement, the retailer the programme.
  const contracts = await Promise.all([
    deploy(run, node, 'income-check', 'bank', 'insurer', 'Income checks for insurance quotes customers ask for'),
    deploy(
      run,
      node,
      'alliance-loyalty',
      'retailer',
      'bank',
      'Alliance loyalty programme of the retailer and the bank',
    ),
  ]);

  const holder = who.incomeHolder('bank');
  const record = incomeRecord(node, holder.did);
  const call = (
    org: string,
    contract: DemoContractId,
    method: string,
    args: { [k: string]: JsonValue },
    expected: ResultCode = 'OK',
  ) => run.asOrg(org, 'contract.call', { contract, method, args }, expected);

  // The agreement: one use while the customer consents, booked; she withdraws; the next is refused.
  await call('bank', 'income-check', 'use', { quote: 'Q-2026-0001', record });

  const leaver = loyaltyMember(who.cards.leaver);
  const stayer = loyaltyMember(who.cards.stayer);
  await call('bank', 'alliance-loyalty', 'enrol', { member: leaver });
  await call('retailer', 'alliance-loyalty', 'enrol', { member: stayer });
  await call('bank', 'alliance-loyalty', 'accountEvent', { member: leaver, event: 'salary-paid' });
  await call('retailer', 'alliance-loyalty', 'purchase', { member: stayer, amountCents: 8990 });
  await call('bank', 'alliance-loyalty', 'accountEvent', { member: stayer, event: 'account-opened' });
  await call('retailer', 'alliance-loyalty', 'purchase', { member: stayer, amountCents: 12000 });

  await run.customer(holder, 'consent.withdraw', { org: 'bank' });
  const refused = await call('bank', 'income-check', 'use', { quote: 'Q-2026-0002', record }, 'NO_LAWFUL_BASIS');
  // The bank drops her from the programme too; the next accrual is refused by the contract.
  await call('bank', 'alliance-loyalty', 'drop', { member: leaver, reason: 'consent-withdrawn' });
  await call('bank', 'alliance-loyalty', 'accountEvent', { member: leaver, event: 'card-payment' }, 'CONTRACT_ERROR');

  const fees = stateValue<{ uses: number; cents: number }>(node, 'contract/income-check/fees/total');
  const receipt = stateValue<{ code: string }>(node, receiptKey(refused.txId));
  const members = node.store.listState('contract/alliance-loyalty/points/', undefined, 100).length;
  const dropped = node.store.listState('contract/alliance-loyalty/left/', undefined, 100).length;
  if (fees === undefined || fees.cents !== fees.uses * AGREEMENT_FEE_CENTS || receipt === undefined) {
    throw new NodeError('INTERNAL', 'demo: the agreement did not book its fees as expected');
  }
  return {
    contracts: contracts.map((c) => ({ ...c, status: stateValue<ContractRecord>(node, infoKey(c.id))!.status })),
    agreement: { uses: fees.uses, feeCents: fees.cents, refused: { txId: refused.txId, code: receipt.code } },
    loyalty: { members, dropped },
    transactions: run.counts.transactions - before,
  };
}

/** Lines for the `custos demo` banner. */
export function demoContractLines(s: DemoContractsSummary): string[] {
  const [agreement, loyalty] = s.contracts;
  return [
    `Deployed ${s.contracts.length} demo contracts (proposed, risk check ${s.contracts.every((c) => c.riskPassed) ? 'passed' : 'FAILED'}, voted, ${s.contracts.map((c) => c.status).join('/')}), ${s.transactions} transactions:`,
    `  ${(agreement?.id ?? '').padEnd(17)} bank-insurer income checks: ${s.agreement.uses} use booked ${(s.agreement.feeCents / 100).toFixed(2)} EUR; after the customer withdrew consent a use was refused (${s.agreement.refused.code})`,
    `  ${(loyalty?.id ?? '').padEnd(17)} retailer-bank loyalty: ${s.loyalty.members} member(s) earning points, ${s.loyalty.dropped} dropped after withdrawing consent`,
  ];
}
