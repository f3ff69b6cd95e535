/**
 * Demo customers for a fresh demo chain (bank, insurer, retailer): three people whose histories are
 * made the way real ones are. Values go to the orgs' vaults through the OrgService (the ledger gets
 * commitments); customer transactions are signed with the pairwise keys of wallets saved in
 * `<home>/demo-wallets/<id>.json`, encrypted with the home's passphrase, so the CLI and the web app
 * can open them later. Every value is fake: "Example" surnames and example.org addresses.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from '@custos/protocol/wallet';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { PASSPHRASE_FILE } from '../home.js';
import { cliCommand } from '../invocation.js';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import { openVaults } from '../vault/home-vaults.js';
import type { Vault } from '../vault/vault.js';
import { readWalletFile, writeWalletFile } from '../wallet/wallet-file.js';
import { type DemoContractsSummary, demoContractLines, loadDemoContracts } from './contracts.js';
import { PEOPLE } from './people.js';
import { setExampleProfiles } from './profiles.js';
import { DemoRun, type DemoTarget } from './run.js';

export type { DemoTarget };

export const DEMO_WALLETS_DIR = 'demo-wallets';
export const DEMO_ORG_IDS = ['bank', 'insurer', 'retailer'] as const;
/**
 * scrypt cost of the demo wallets: 2^15 rather than the default 2^17. They hold fake people and are
 * encrypted with the demo home's passphrase (usually in a file beside them); at 2^17 the three
 * exports alone would take about two seconds of pure-JS scrypt.
 */
export const DEMO_WALLET_SCRYPT_N = 1 << 15;

export interface DemoCustomer {
  id: string;
  name: string;
  wallet: string;
  relationships: { org: string; did: string; label?: string }[];
}

export interface DemoSummary {
  customers: DemoCustomer[];
  transactions: number;
  records: number;
  accesses: number;
  refused: number;
  shares: number;
  requests: number;
  erased: number;
  /** The demo contracts, when loaded with them (`custos demo`); their steps are not in the counts above. */
  contracts?: DemoContractsSummary;
}

/** True if the chain already holds customer data (records, consents or requests). */
export function hasCustomerData(node: CustosNode): boolean {
  return ['record/', 'consent/', 'request/', 'pref/'].some((p) => node.store.listState(p, undefined, 1).length > 0);
}

/** True if the chain has the demo orgs as members and this node holds their keys and vaults. */
export function holdsDemoOrgs(node: CustosNode, orgs: OrgService): boolean {
  const local = orgs.localOrgs();
  return DEMO_ORG_IDS.every((o) => local.includes(o) && node.genesis.members.some((m) => m.id === o));
}

/**
 * Loads the demo customers. Runs only on a chain without customer data (`ALREADY_INITIALIZED`
 * otherwise); a wallet file left from an earlier run of the same home is reused, not replaced.
 * With `contracts`, then deploys and runs the demo contracts (demo/contracts.ts) with them.
 */
export async function loadDemoCustomers(t: DemoTarget, opts: { contracts?: boolean } = {}): Promise<DemoSummary> {
  if (hasCustomerData(t.node)) {
    throw new NodeError(
      'ALREADY_INITIALIZED',
      'the chain already holds customer data; demo customers load only on a fresh chain',
    );
  }
  if (!holdsDemoOrgs(t.node, t.orgs)) {
    throw new NodeError('BAD_REQUEST', `expected a node holding the keys of the demo orgs ${DEMO_ORG_IDS.join(', ')}`);
  }
  // The orgs' profiles as controllers come first: no org records customer data without one.
  await setExampleProfiles(t.node, t.orgs, DEMO_ORG_IDS);
  const opened = new Map<string, Vault>();
  const vaultOf =
    t.vaultOf ??
    ((org: string) => {
      let v = opened.get(org);
      if (v === undefined) {
        v = openVaults(t.home, [org], t.passphrase).get(org)!;
        opened.set(org, v);
      }
      return v;
    });
  const run = new DemoRun(t, vaultOf);
  const dir = join(t.home, DEMO_WALLETS_DIR);
  const wallets = new Map<string, Wallet>();
  try {
    const customers = await Promise.all(
      PEOPLE.map(async (p): Promise<DemoCustomer> => {
        const path = join(dir, `${p.id}.json`);
        const wallet = existsSync(path)
          ? (await readWalletFile(path, t.passphrase)).wallet
          : Wallet.create({ signerFactory: nativeSigner });
        for (const r of p.relationships) wallet.addRelationship(t.node.chainId, r.org, r.label);
        wallets.set(p.id, wallet);
        // The export (scrypt) runs while the ledger works through the script.
        const saved = existsSync(path)
          ? Promise.resolve()
          : writeWalletFile(path, wallet, t.passphrase, { scryptN: DEMO_WALLET_SCRYPT_N });
        await p.script(run, (org) => wallet.relationship(t.node.chainId, org));
        await saved;
        return {
          id: p.id,
          name: p.name,
          wallet: path,
          relationships: wallet
            .relationships()
            .filter((r) => r.chainId === t.node.chainId)
            .map((r) => ({ org: r.orgId, did: r.did, ...(r.label === undefined ? {} : { label: r.label }) })),
        };
      }),
    );
    if (opts.contracts !== true) return { customers, ...run.counts };
    // Ada's bank income record and consent make the agreement's use; she and Grace join the loyalty
    // programme (Grace holds accounts at both partners), and Ada's withdrawal drops her.
    const ada = wallets.get('ada')!;
    const contracts = await loadDemoContracts(new DemoRun(t, vaultOf), t.node, {
      incomeHolder: (org) => ada.relationship(t.node.chainId, org),
      cards: { leaver: 'DEMO-CARD-0001', stayer: 'DEMO-CARD-0002' },
    });
    return { customers, ...run.counts, contracts };
  } finally {
    for (const v of opened.values()) v.close();
  }
}

/** Lines for the `custos demo` banner: who the demo customers are and how to see their history. */
export function demoCustomerLines(s: DemoSummary, opts: { home: string; nodeFlag: string }): string[] {
  const passFile = join(opts.home, PASSPHRASE_FILE);
  const pass = existsSync(passFile)
    ? `--wallet-passphrase-file ${passFile}`
    : '(with CUSTOS_WALLET_PASSPHRASE set to the home passphrase)';
  const first = s.customers[0];
  return [
    `Loaded ${s.customers.length} demo customers: ${s.records} records, ${s.accesses} uses, ${s.shares} share, ${s.requests} requests, ${s.refused} refused attempts (${s.transactions} transactions).`,
    ...s.customers.map(
      (c) =>
        `  ${c.name.padEnd(17)} ${c.relationships
          .map((r) => r.org)
          .join(', ')
          .padEnd(18)} ${c.wallet}`,
    ),
    ...(first === undefined
      ? []
      : [`See what ${first.name} sees: ${cliCommand(`history --wallet ${first.wallet} ${pass}${opts.nodeFlag}`)}`]),
    ...(s.contracts === undefined
      ? []
      : [
          ...demoContractLines(s.contracts),
          `See the agreement: ${cliCommand(`contract state income-check --as bank${opts.nodeFlag}`)}`,
        ]),
  ];
}
