/**
 * The demo customers: three fake people ("Example" surnames, example.org addresses), each with the
 * orgs they deal with and the script of what happens to their data.
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '@custos/protocol/jcs';
import type { PairwiseIdentity } from '@custos/protocol/wallet';
import type { DemoRun } from './run.js';

const DAY = 86_400_000;

export interface Person {
  id: string;
  name: string;
  relationships: { org: string; label: string }[];
  script: (run: DemoRun, me: (org: string) => PairwiseIdentity) => Promise<void>;
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

export const PEOPLE: Person[] = [
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
        reason: 'complexity',
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
