/**
 * Demo customers for a fresh demo chain (bank, insurer, retailer): three people whose histories are
 * made the way real ones are. Values go to the orgs' vaults through the OrgService (the ledger gets
 * commitments); customer transactions are signed with the pairwise keys of wallets saved in
 * `<home>/demo-wallets/<id>.json`, encrypted with the home's passphrase, so the CLI and the web app
 * can open them later. Every value is fake: "Example" surnames and example.org addresses.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonValue } from '@custos/protocol/jcs';
import { type ResultCode, signTx } from '@custos/protocol/ledger';
import { type PairwiseIdentity, Wallet } from '@custos/protocol/wallet';
import { cliCommand } from '../cli/invocation.js';
import { readWalletFile, writeWalletFile } from '../cli/wallet-file.js';
import { nativeSigner } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { openVaults, PASSPHRASE_FILE } from '../home.js';
import type { LawfulBasis } from '../modules/data.js';
import type { CommitResult, CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import type { Vault } from '../vault/vault.js';

export const DEMO_WALLETS_DIR = 'demo-wallets';
export const DEMO_ORG_IDS = ['bank', 'insurer', 'retailer'] as const;
/**
 * scrypt cost of the demo wallets: 2^15 rather than the default 2^17. They hold fake people and are
 * encrypted with the demo home's passphrase (usually in a file beside them); at 2^17 the three
 * exports alone would take about two seconds of pure-JS scrypt.
 */
export const DEMO_WALLET_SCRYPT_N = 1 << 15;
const DAY = 86_400_000;

export interface DemoTarget {
  node: CustosNode;
  orgs: OrgService;
  /** The home whose `demo-wallets/` receives the wallets, and whose vaults hold the values. */
  home: string;
  /** The home's passphrase: it also encrypts the demo wallets. */
  passphrase: string;
  /**
   * An org's vault, where a recipient stores the copy it received through a share (OrgService has
   * no call for that yet). Default: a second handle on the home's vault, closed at the end.
   */
  vaultOf?: (org: string) => Vault;
}

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
}

interface Person {
  id: string;
  name: string;
  relationships: { org: string; label: string }[];
  script: (run: DemoRun, me: (org: string) => PairwiseIdentity) => Promise<void>;
}

/** One demo load: helpers that do each step as an org or a customer and check its result code. */
class DemoRun {
  readonly counts = { transactions: 0, records: 0, accesses: 0, refused: 0, shares: 0, requests: 0, erased: 0 };

  constructor(
    private readonly t: DemoTarget,
    private readonly vaultOf: (org: string) => Vault,
  ) {}

  private check(r: CommitResult, expected: ResultCode, step: string): CommitResult {
    this.counts.transactions++;
    if (r.code !== 'OK') this.counts.refused++;
    if (r.code !== expected) {
      throw new NodeError('INTERNAL', `demo step '${step}' ended with ${r.code}, expected ${expected}`);
    }
    return r;
  }

  /** A transaction signed by the customer's pairwise key for the org it names. */
  async customer(me: PairwiseIdentity, type: string, args: { [k: string]: JsonValue }, expected: ResultCode = 'OK') {
    const tx = signTx({ chainId: this.t.node.chainId, type, args }, me.signer);
    return this.check(await this.t.node.submitAndWait(tx), expected, type);
  }

  async register(
    org: string,
    subject: PairwiseIdentity,
    category: string,
    purposes: Record<string, LawfulBasis>,
    retentionDays: number,
    value: JsonValue,
  ): Promise<string> {
    const r = await this.t.orgs.register(org, {
      subject: subject.did,
      category,
      purposes,
      source: 'subject',
      retentionDays,
      value,
    });
    this.check(r, 'OK', `${org} registers ${category}`);
    this.counts.records++;
    return r.recordId;
  }

  async access(org: string, record: string, purpose: string, basis: LawfulBasis, expected: ResultCode = 'OK') {
    this.counts.accesses++;
    const { value: _value, ...r } = await this.t.orgs.access(org, record, purpose, basis);
    return this.check(r, expected, `${org} uses ${record.slice(0, 8)} for ${purpose}`);
  }

  async share(org: string, record: string, to: string, purpose: string, sale: boolean, expected: ResultCode = 'OK') {
    const r = this.check(await this.t.orgs.share(org, record, to, purpose, sale), expected, `${org} shares with ${to}`);
    if (r.code === 'OK') this.counts.shares++;
    return r;
  }

  /**
   * The recipient's side of a share: the holder reads the value (a logged use for the share's
   * purpose), the recipient stores it in its vault and registers its copy, linked to the source.
   */
  async receiveCopy(
    from: string,
    record: string,
    to: string,
    subject: string,
    share: { purpose: string; basis: LawfulBasis },
    purposes: Record<string, LawfulBasis>,
    retentionDays: number,
  ): Promise<string> {
    this.counts.accesses++;
    const read = await this.t.orgs.access(from, record, share.purpose, share.basis);
    this.check(read, 'OK', `${from} reads ${record.slice(0, 8)} to send it`);
    const source = this.t.orgs.record(from, record);
    if (source === undefined || read.value === undefined)
      throw new NodeError('INTERNAL', 'demo: the shared record vanished');
    const vault = this.vaultOf(to);
    const { vaultRef, commitment } = vault.put(subject, read.value);
    const r = await this.t.orgs.submit(to, 'data.register', {
      subject,
      category: source.category,
      purposes,
      sourceRecord: { org: from, id: record },
      commitment,
      vaultRef,
      retentionDays,
    });
    if (r.code !== 'OK') vault.eraseRecord(vaultRef);
    this.check(r, 'OK', `${to} registers its copy`);
    this.counts.records++;
    return r.txId;
  }

  async openRequest(me: PairwiseIdentity, org: string, kind: string, records: string[] = []): Promise<string> {
    const r = await this.customer(me, 'request.open', {
      org,
      kind,
      jurisdiction: 'GDPR',
      ...(records.length === 0 ? {} : { records }),
    });
    this.counts.requests++;
    return r.txId;
  }

  async asOrg(org: string, type: string, args: { [k: string]: JsonValue }, expected: ResultCode = 'OK') {
    return this.check(await this.t.orgs.submit(org, type, args), expected, `${org} ${type}`);
  }

  async rectify(org: string, record: string, value: JsonValue) {
    return this.check(await this.t.orgs.rectify(org, record, value), 'OK', `${org} rectifies ${record.slice(0, 8)}`);
  }

  async eraseSubject(org: string, subject: string) {
    const results = await this.t.orgs.eraseSubject(org, subject, 'request');
    for (const r of results) this.check(r, 'OK', `${org} erases a subject`);
    this.counts.erased += results.length;
  }
}

/** SHA-256 of the demo privacy notice an org shows before asking for consent. */
function notice(org: string): string {
  return createHash('sha256')
    .update(`Demo privacy notice of ${org}, version 1.0: https://${org}.example/privacy`)
    .digest('hex');
}

function grant(
  org: string,
  purposes: string[],
  categories: string[],
  days: number,
  opts: { share?: boolean; sale?: boolean; jurisdiction?: 'GDPR' | 'CCPA' } = {},
): { [k: string]: JsonValue } {
  return {
    org,
    purposes,
    categories,
    expiresAt: Date.now() + days * DAY,
    share: opts.share === true,
    sale: opts.sale === true,
    jurisdiction: opts.jurisdiction ?? 'GDPR',
    notice: notice(org),
  };
}

const PEOPLE: Person[] = [
  {
    // A bank customer who asked her bank to get her an insurance quote: a consented share.
    id: 'ada',
    name: 'Ada Example',
    relationships: [
      { org: 'bank', label: 'Current account' },
      { org: 'insurer', label: 'Home insurance quote' },
    ],
    async script(run, me) {
      const bank = me('bank');
      const name = await run.register(
        'bank',
        bank,
        'pd:Name',
        { 'dpv:AccountManagement': 'contract', 'dpv:CounterMoneyLaundering': 'legal-obligation' },
        3650,
        { name: 'Ada Example' },
      );
      const email = await run.register(
        'bank',
        bank,
        'pd:EmailAddress',
        { 'dpv:AccountManagement': 'contract', 'dpv:Marketing': 'consent' },
        730,
        { email: 'ada@example.org' },
      );
      const income = await run.register(
        'bank',
        bank,
        'pd:Income',
        { 'dpv:CreditChecking': 'contract', 'dpv:RequestedServiceProvision': 'consent' },
        1825,
        { annual: 48_000, currency: 'EUR' },
      );
      await run.customer(
        bank,
        'consent.grant',
        grant('bank', ['dpv:Marketing', 'dpv:RequestedServiceProvision'], ['pd:EmailAddress', 'pd:Income'], 365, {
          share: true,
        }),
      );
      await run.access('bank', name, 'dpv:AccountManagement', 'contract');
      await run.access('bank', email, 'dpv:Marketing', 'consent');
      await run.access('bank', income, 'dpv:CreditChecking', 'contract');
      await run.share('bank', income, 'insurer', 'dpv:RequestedServiceProvision', false);
      const copy = await run.receiveCopy(
        'bank',
        income,
        'insurer',
        bank.did,
        { purpose: 'dpv:RequestedServiceProvision', basis: 'consent' },
        { 'dpv:RequestedServiceProvision': 'contract' },
        365,
      );
      await run.access('insurer', copy, 'dpv:RequestedServiceProvision', 'contract');
      const insurer = me('insurer');
      // Expires in five days: the portal should say so.
      await run.customer(insurer, 'consent.grant', grant('insurer', ['dpv:Marketing'], ['pd:EmailAddress'], 5));
      const insEmail = await run.register(
        'insurer',
        insurer,
        'pd:EmailAddress',
        { 'dpv:ServiceProvision': 'contract', 'dpv:Marketing': 'consent' },
        365,
        { email: 'ada@example.org' },
      );
      await run.access('insurer', insEmail, 'dpv:Marketing', 'consent');
      // She told the bank her new address; the ledger gets the new commitment.
      await run.rectify('bank', email, { email: 'ada.example@example.org' });
      await run.openRequest(bank, 'bank', 'access');
    },
  },
  {
    // A shopper who turned on Global Privacy Control and later withdrew her marketing consent.
    id: 'grace',
    name: 'Grace Sample',
    relationships: [
      { org: 'retailer', label: 'Online shop' },
      { org: 'bank', label: 'Savings account' },
    ],
    async script(run, me) {
      const shop = me('retailer');
      const email = await run.register(
        'retailer',
        shop,
        'pd:EmailAddress',
        { 'dpv:DeliveryOfGoods': 'contract', 'dpv:Marketing': 'consent' },
        730,
        { email: 'grace@example.org' },
      );
      const purchases = await run.register(
        'retailer',
        shop,
        'pd:Purchase',
        { 'dpv:ServiceProvision': 'contract', 'dpv:Personalisation': 'consent', 'dpv:Marketing': 'consent' },
        730,
        {
          orders: [
            { sku: 'DEMO-1001', item: 'Walking boots', price: 89.9 },
            { sku: 'DEMO-2040', item: 'Rain jacket', price: 120 },
          ],
        },
      );
      const address = await run.register(
        'retailer',
        shop,
        'pd:PhysicalAddress',
        { 'dpv:DeliveryOfGoods': 'contract' },
        730,
        { street: '2 Sample Lane', city: 'Exampleton', postcode: 'EX1 0AA' },
      );
      await run.customer(
        shop,
        'consent.grant',
        grant('retailer', ['dpv:Marketing', 'dpv:Personalisation'], ['pd:EmailAddress', 'pd:Purchase'], 365, {
          share: true,
          sale: true,
          jurisdiction: 'CCPA',
        }),
      );
      await run.access('retailer', purchases, 'dpv:Personalisation', 'consent');
      await run.access('retailer', email, 'dpv:Marketing', 'consent');
      // Her browser sends Sec-GPC: 1; the portal records it as a GPC opt-out of sale and sharing.
      await run.customer(shop, 'optout.set', { org: 'retailer', kinds: ['sale', 'share'], source: 'gpc' });
      await run.share('retailer', purchases, 'bank', 'dpv:Marketing', true, 'OPTED_OUT');
      await run.customer(shop, 'consent.withdraw', { org: 'retailer' });
      await run.access('retailer', email, 'dpv:Marketing', 'consent', 'NO_LAWFUL_BASIS');
      await run.access('retailer', address, 'dpv:DeliveryOfGoods', 'contract');
      const bank = me('bank');
      await run.register('bank', bank, 'pd:Name', { 'dpv:AccountManagement': 'contract' }, 3650, {
        name: 'Grace Sample',
      });
      const account = await run.register(
        'bank',
        bank,
        'pd:BankAccount',
        { 'dpv:PaymentManagement': 'contract', 'dpv:CounterMoneyLaundering': 'legal-obligation' },
        3650,
        { accountNumber: '00000002', sortCode: '00-00-00' },
      );
      await run.access('bank', account, 'dpv:PaymentManagement', 'contract');
      const req = await run.openRequest(bank, 'bank', 'export');
      await run.asOrg('bank', 'request.extend', {
        request: req,
        reason: 'Your records span two archived systems; we need more time to gather them.',
      });
    },
  },
  {
    // A customer who asked the retailer to erase everything: crypto-shredded, then fulfilled.
    id: 'alan',
    name: 'Alan Placeholder',
    relationships: [
      { org: 'retailer', label: 'Online shop' },
      { org: 'insurer', label: 'Contents insurance' },
    ],
    async script(run, me) {
      const shop = me('retailer');
      const email = await run.register(
        'retailer',
        shop,
        'pd:EmailAddress',
        { 'dpv:DeliveryOfGoods': 'contract', 'dpv:Marketing': 'consent' },
        730,
        { email: 'alan@example.org' },
      );
      const purchases = await run.register(
        'retailer',
        shop,
        'pd:Purchase',
        { 'dpv:ServiceProvision': 'contract' },
        730,
        { orders: [{ sku: 'DEMO-3300', item: 'Desk lamp', price: 35 }] },
      );
      await run.customer(shop, 'consent.grant', grant('retailer', ['dpv:Marketing'], ['pd:EmailAddress'], 180));
      await run.access('retailer', email, 'dpv:Marketing', 'consent');
      const insurer = me('insurer');
      await run.register('insurer', insurer, 'pd:Name', { 'dpv:ServiceProvision': 'contract' }, 3650, {
        name: 'Alan Placeholder',
      });
      const policy = await run.register(
        'insurer',
        insurer,
        'pd:Insurance',
        { 'dpv:ServiceProvision': 'contract', 'dpv:FraudPreventionAndDetection': 'legitimate-interest' },
        3650,
        { policy: 'DEMO-HOME-0003', cover: 'home contents' },
      );
      await run.access('insurer', policy, 'dpv:ServiceProvision', 'contract');
      await run.access('insurer', policy, 'dpv:FraudPreventionAndDetection', 'legitimate-interest');
      const req = await run.openRequest(shop, 'retailer', 'erase', [email, purchases]);
      await run.eraseSubject('retailer', shop.did);
      await run.asOrg('retailer', 'request.fulfil', { request: req });
    },
  },
];

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
 */
export async function loadDemoCustomers(t: DemoTarget): Promise<DemoSummary> {
  if (hasCustomerData(t.node)) {
    throw new NodeError(
      'ALREADY_INITIALIZED',
      'the chain already holds customer data; demo customers load only on a fresh chain',
    );
  }
  if (!holdsDemoOrgs(t.node, t.orgs)) {
    throw new NodeError('BAD_REQUEST', `expected a node holding the keys of the demo orgs ${DEMO_ORG_IDS.join(', ')}`);
  }
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
  try {
    const customers = await Promise.all(
      PEOPLE.map(async (p): Promise<DemoCustomer> => {
        const path = join(dir, `${p.id}.json`);
        const wallet = existsSync(path)
          ? (await readWalletFile(path, t.passphrase)).wallet
          : Wallet.create({ signerFactory: nativeSigner });
        for (const r of p.relationships) wallet.addRelationship(t.node.chainId, r.org, r.label);
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
    return { customers, ...run.counts };
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
  ];
}
