/**
 * The customer and org commands of the built `custos` CLI end to end, as people run them: a temp
 * CUSTOS_HOME, `node start --port 0`, a customer wallet (each org sees another did), consent ->
 * register -> access -> withdraw, a GPC opt-out against a share, a request through the org's queue
 * to a crypto-shredding erasure, a history verified offline and its export re-verified; then the
 * demo customers, through `custos demo` and directly on an in-process node. Needs `npm run build`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifySubjectReport } from '@custos/protocol/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReportPages } from '../src/cli/customer/history.js';
import { loadDemoCustomers } from '../src/demo/customers.js';
import { memberSetOf } from '../src/genesis.js';
import { initHome, loadHome, readGenesisFile } from '../src/home.js';
import { CustosNode } from '../src/node.js';
import { OrgService } from '../src/orgs/org-service.js';
import { subjectReport } from '../src/subject/report.js';
import { openVaults } from '../src/vault/home-vaults.js';
import { readWalletFile } from '../src/wallet/wallet-file.js';
import { CliHarness, type Run } from './fixtures/cli.js';

const WALLET_PASSPHRASE = 'correct horse wallet';
const EMAIL = 'ada@example.org';

let cli: CliHarness;
let tmp: CliHarness['tmp'];
let home: string;
let env: NodeJS.ProcessEnv;

const custos = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> => cli.run(args, extraEnv);
const serve = (args: string[], pattern: RegExp) => cli.serve(args, pattern);

/** Runs a command with --json, expects exit `code`, and parses its one JSON document (untyped, as JSON.parse). */
async function json(args: string[], code = 0, extraEnv: NodeJS.ProcessEnv = {}) {
  const r = await custos([...args, '--json'], extraEnv);
  expect(r.code, r.stderr).toBe(code);
  if (code === 0) expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  cli = new CliHarness('custos-cli-customer-', { CUSTOS_WALLET_PASSPHRASE: WALLET_PASSPHRASE });
  ({ tmp, home, env } = cli);
  expect((await custos(['init', '--chain-id', 'cli-cust'])).code).toBe(0);
  const { match } = await serve(['node', 'start', '--port', '0'], /^Custos node cli-cust listening on (\S+)$/m);
  env.CUSTOS_NODE = match[1]!;
  await cli.setProfiles(['bank', 'insurer', 'retailer']);
  writeFileSync(join(tmp.dir, 'notice.txt'), 'Bank privacy notice v1: we use your email for marketing if you agree.\n');
  writeFileSync(join(tmp.dir, 'value.json'), JSON.stringify({ email: EMAIL }));
});

afterAll(async () => {
  await cli?.cleanup();
});

describe('customer and org CLI', () => {
  let bankDid: string;
  let insurerDid: string;
  let record: string;

  it('creates, shows, exports and imports a wallet; each org sees a different did', async () => {
    const made = await json(['wallet', 'create', '--scrypt-cost', '10']);
    expect(made.file).toBe(join(home, 'wallet.json'));
    expect(statSync(made.file).mode & 0o777).toBe(0o600);
    const again = await custos(['wallet', 'create']);
    expect(again.code).toBe(64);
    expect(again.stderr).toMatch(/^error BAD_REQUEST: .*refusing to overwrite/);

    bankDid = (await json(['wallet', 'add', 'bank'])).did;
    insurerDid = (await json(['wallet', 'add', 'insurer', '--label', 'My insurer'])).did;
    expect(bankDid).toMatch(/^did:key:z6Mk/);
    expect(insurerDid).toMatch(/^did:key:z6Mk/);
    expect(insurerDid).not.toBe(bankDid);
    expect((await json(['wallet', 'add', 'bank'])).did).toBe(bankDid); // deterministic
    const unknown = await custos(['wallet', 'add', 'casino']);
    expect(unknown.code).toBe(66);

    const shown = await json(['wallet', 'show']);
    expect(shown.relationships).toMatchObject([
      { chainId: 'cli-cust', org: 'bank', did: bankDid },
      { chainId: 'cli-cust', org: 'insurer', did: insurerDid, label: 'My insurer' },
    ]);
    const human = await custos(['wallet', 'show']);
    expect(human.stdout).toContain(bankDid);
    expect(human.stdout).toMatch(/2 relationship\(s\)/);

    const backup = join(tmp.dir, 'backup.json');
    await json(['wallet', 'export', '--out', backup]);
    expect(readFileSync(backup, 'utf8')).not.toContain('bank'); // the relationship list is encrypted
    const restored = join(tmp.dir, 'restored.json');
    expect((await json(['wallet', 'import', backup, '--wallet', restored])).relationships).toBe(2);
    expect(
      (await json(['wallet', 'show', '--wallet', restored])).relationships.map((r: { did: string }) => r.did),
    ).toEqual([bankDid, insurerDid]);

    const wrong = await custos(['wallet', 'show'], { CUSTOS_WALLET_PASSPHRASE: 'not the passphrase' });
    expect(wrong.code).toBe(77);
    expect(wrong.stderr).toMatch(/^error WRONG_PASSPHRASE: /);
    const none = await custos(['wallet', 'show'], { CUSTOS_WALLET_PASSPHRASE: '' });
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/CUSTOS_WALLET_PASSPHRASE/);
  });

  it('consent, register, access with the value hidden, withdraw, access refused', async () => {
    const notice = createHash('sha256')
      .update(readFileSync(join(tmp.dir, 'notice.txt')))
      .digest('hex');
    const grant = await json([
      'consent',
      'grant',
      '--org',
      'bank',
      '--purposes',
      'dpv:Marketing',
      '--categories',
      'pd:EmailAddress',
      '--days',
      '30',
      '--share',
      '--notice-file',
      'notice.txt',
    ]);
    expect(grant).toMatchObject({
      code: 'OK',
      consent: { did: bankDid, notice, share: true, sale: false, jurisdiction: 'GDPR' },
    });
    const badCode = await custos([
      'consent',
      'grant',
      '--org',
      'bank',
      '--purposes',
      'dpv:Snooping',
      '--categories',
      'pd:EmailAddress',
      '--days',
      '30',
      '--notice-file',
      'notice.txt',
    ]);
    expect(badCode.code).toBe(64);
    expect(badCode.stderr).toMatch(/^error BAD_REQUEST: expected each of --purposes from the DPV vocabulary/);

    const reg = await json([
      'org',
      'register',
      '--org',
      'bank',
      '--subject',
      bankDid,
      '--category',
      'pd:EmailAddress',
      '--purposes',
      'dpv:Marketing=consent,dpv:ServiceProvision=contract',
      '--source',
      'subject',
      '--retention-days',
      '365',
      '--value-file',
      'value.json',
    ]);
    expect(reg.code).toBe('OK');
    record = reg.recordId;

    const access = ['org', 'access', record, '--org', 'bank', '--purpose', 'dpv:Marketing', '--basis', 'consent'];
    const hidden = await custos(access);
    expect(hidden.code).toBe(0);
    expect(hidden.stdout).toMatch(/: OK \(block \d+/);
    expect(hidden.stdout).not.toContain(EMAIL);
    expect(hidden.stdout).toContain('--show-value');
    const hiddenJson = await json(access);
    expect(hiddenJson.code).toBe('OK');
    expect(hiddenJson).not.toHaveProperty('value');
    expect((await custos([...access, '--show-value'])).stdout).toContain(EMAIL);
    expect((await json([...access, '--show-value'])).value).toEqual({ email: EMAIL });

    expect((await json(['consent', 'withdraw', '--org', 'bank'])).code).toBe('OK');
    const refused = await json(access, 1);
    expect(refused.code).toBe('NO_LAWFUL_BASIS');
    expect(refused).not.toHaveProperty('value');
    const refusedShown = await custos([...access, '--show-value']);
    expect(refusedShown.code).toBe(1);
    expect(refusedShown.stdout).toMatch(/refused, NO_LAWFUL_BASIS/);
    expect(refusedShown.stdout).not.toContain(EMAIL);

    // The bank knows only its own pseudonym; the insurer's never appears there.
    const records = await json(['org', 'records', '--org', 'bank']);
    expect(records.records.map((r: { subject: string }) => r.subject)).toEqual([bankDid]);
    expect(JSON.stringify(records)).not.toContain(insurerDid);
    // An org the home holds no key for cannot even sign its request.
    expect((await custos(['org', 'records', '--org', 'casino'])).stderr).toMatch(/^error NOT_FOUND: no org 'casino'/);
  });

  it('a GPC opt-out makes the org share refused', async () => {
    await json([
      'consent',
      'grant',
      '--org',
      'bank',
      '--purposes',
      'dpv:Marketing',
      '--categories',
      'pd:EmailAddress',
      '--days',
      '30',
      '--share',
      '--sale',
      '--notice-file',
      'notice.txt',
    ]);
    const opt = await json(['optout', '--org', 'bank', '--sale', '--share', '--gpc']);
    expect(opt.code).toBe('OK');
    // The body is the customer's and the bank's (trust #5): anonymous `tx show` withholds it, the bank's key reads it.
    expect((await json(['tx', 'show', opt.txId])).tx).toBeUndefined();
    const tx = await json(['tx', 'show', opt.txId, '--as', 'bank']);
    expect(tx.tx.body).toMatchObject({
      type: 'optout.set',
      signer: bankDid,
      args: { kinds: ['sale', 'share'], source: 'gpc' },
    });
    const share = await json(
      ['org', 'share', record, '--org', 'bank', '--to', 'insurer', '--purpose', 'dpv:Marketing'],
      1,
    );
    expect(share.code).toBe('OPTED_OUT');
  });

  it('an objection to direct marketing refuses its use at once, until withdrawn', async () => {
    const use = ['org', 'access', record, '--org', 'bank', '--purpose', 'dpv:Marketing', '--basis', 'consent'];
    const bad = await custos(['object', '--org', 'bank', '--purposes', 'dpv:ServiceProvision']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('expected --purposes among dpv:Marketing');
    expect((await json(['object', '--org', 'bank', '--purposes', 'dpv:Marketing'])).code).toBe('OK');
    expect((await json(use, 1)).code).toBe('OPTED_OUT');
    expect((await json(['object', '--org', 'bank', '--purposes', 'dpv:Marketing', '--withdraw'])).code).toBe('OK');
    // Back to the lawful basis, whichever way it answers now.
    const after = await custos([...use, '--json']);
    expect(JSON.parse(after.stdout).code).not.toBe('OPTED_OUT');
  });

  it('a pause covers every record the org holds on the customer until the customer lifts it', async () => {
    const opened = await json(['request', 'open', '--org', 'bank', '--kind', 'restrict']);
    expect(opened).toMatchObject({ code: 'OK', request: { kind: 'restrict', status: 'open', records: [] } });
    const id = opened.txId as string;
    expect((await json(['org', 'request', 'fulfil', id, '--org', 'bank'])).code).toBe('OK');
    const use = ['org', 'access', record, '--org', 'bank', '--purpose', 'dpv:ServiceProvision', '--basis', 'contract'];
    expect((await json(use, 1)).code).toBe('RESTRICTED');
    const h = await custos(['history', '--org', 'bank']);
    expect(h.stdout).toContain(`in force (to lift it: custos request lift --org bank --request ${id})`);
    const bad = await custos(['request', 'lift', '--org', 'bank', '--request', 'nope']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('expected a request id (--request) of 64 lower-case hex characters');
    expect((await json(['request', 'lift', '--org', 'bank', '--request', id])).code).toBe('OK');
    expect((await json(use)).code).toBe('OK');
    expect((await custos(['history', '--org', 'bank'])).stdout).toMatch(/; lifted \d{4}-\d{2}-\d{2}/);
    expect((await json(['request', 'lift', '--org', 'bank', '--request', id], 1)).code).toBe('CONFLICT');
  });

  it('a request reaches the org queue with its deadline; erase, then fulfil', async () => {
    const opened = await json([
      'request',
      'open',
      '--org',
      'bank',
      '--kind',
      'erase',
      '--jurisdiction',
      'GDPR',
      '--records',
      record,
    ]);
    expect(opened).toMatchObject({ code: 'OK', request: { kind: 'erase', status: 'open', records: [record] } });
    const id = opened.txId as string;
    expect(opened.request.deadline).toBeGreaterThan(Date.now() + 27 * 86_400_000);

    const queue = await json(['org', 'requests', '--org', 'bank']);
    expect(queue.requests[0]).toMatchObject({
      id,
      kind: 'erase',
      status: 'open',
      overdue: false,
      deadline: opened.request.deadline,
    });
    const human = await custos(['org', 'requests', '--org', 'bank']);
    expect(human.stdout).toContain(id);
    expect(human.stdout).toMatch(/erase \(GDPR\)\s+due \d{4}-\d{2}-\d{2}\s+open, \d+ days left/);

    // An erasure is fulfilled only once its records are erased.
    expect((await json(['org', 'request', 'fulfil', id, '--org', 'bank'], 1)).code).toBe('CONFLICT');
    const erased = await json(['org', 'erase', '--org', 'bank', '--subject', bankDid, '--reason', 'request']);
    expect(erased.results).toHaveLength(1);
    expect(erased.results[0].code).toBe('OK');
    expect((await json(['org', 'request', 'fulfil', id, '--org', 'bank'])).code).toBe('OK');
    const after = await json(
      ['org', 'access', record, '--org', 'bank', '--purpose', 'dpv:ServiceProvision', '--basis', 'contract'],
      1,
    );
    expect(after.code).toBe('ERASED');
    expect((await custos(['org', 'request', 'reject', id, '--org', 'bank'])).code).toBe(64); // --reason needed
  });

  it('a decision taken by machine is reviewed by a person; a CCPA request is confirmed received', async () => {
    const registered = await json([
      'org',
      'register',
      '--org',
      'insurer',
      '--subject',
      insurerDid,
      '--category',
      'pd:Income',
      '--purposes',
      'dpv:CreditChecking=contract',
      '--automated',
      'dpv:CreditChecking',
      '--retention-days',
      '365',
      '--value-file',
      join(tmp.dir, 'value.json'),
    ]);
    expect(registered.code).toBe('OK');
    const told = await custos(['history', '--org', 'insurer']);
    expect(told.stdout).toContain(
      'Decisions for credit checks are taken by machine: you can ask a person to review them',
    );
    const review = await json(['request', 'open', '--org', 'insurer', '--kind', 'review']);
    expect(review.request).toMatchObject({ kind: 'review', status: 'open' });
    const unanswered = await json(['org', 'request', 'fulfil', review.txId, '--org', 'insurer'], 1);
    expect(unanswered.code).toBe('INVALID_ARGS');
    const wrong = await custos(['org', 'request', 'fulfil', review.txId, '--org', 'insurer', '--outcome', 'ignored']);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toContain('expected --outcome only on fulfil, as one of upheld, changed');
    const changed = ['org', 'request', 'fulfil', review.txId, '--org', 'insurer', '--outcome', 'changed'];
    expect((await json(changed)).code).toBe('OK');

    const access = await json(['request', 'open', '--org', 'insurer', '--kind', 'access', '--jurisdiction', 'CCPA']);
    expect(access.request.ackDeadline).toBeGreaterThan(access.request.openedAt + 9 * 86_400_000);
    const queue = await custos(['org', 'requests', '--org', 'insurer']);
    expect(queue.stdout).toMatch(/; confirm receipt by \d{4}-\d{2}-\d{2}/);
    const ack = ['org', 'request', 'acknowledge', access.txId, '--org', 'insurer'];
    expect((await json(ack)).code).toBe('OK');
    expect((await json(ack, 1)).code).toBe('CONFLICT');
    const h = await custos(['history', '--org', 'insurer']);
    expect(h.stdout).toContain('a person reviewed the decision and changed it');
    expect(h.stdout).toMatch(/receipt confirmed \d{4}-\d{2}-\d{2}/);
  });

  it('an access request answered with the data itself: downloaded, checked against the ledger, written as CSV', async () => {
    const access = await json(['request', 'open', '--org', 'insurer', '--kind', 'access']);
    expect((await json(['org', 'request', 'fulfil', access.txId, '--org', 'insurer'])).code).toBe('OK');
    const file = join(tmp.dir, 'insurer.csv');
    const dl = await custos(['request', 'download', access.txId, '--format', 'csv', '--out', file]);
    expect(dl.code, dl.stderr).toBe(0);
    expect(dl.stdout).toMatch(/^complete: (\d+) of \1 records$/m);
    expect(dl.stdout).toContain('Automated decisions: ');
    expect(dl.stdout).toContain('Transfers outside the EEA: none recorded.');
    expect(readFileSync(file, 'utf8').split('\r\n')[0]).toBe('record,category,source,purposes,value,salt');
    // Served once: the node deleted it.
    const again = await custos(['request', 'download', access.txId, '--out', join(tmp.dir, 'again.json')]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('downloaded already, expired, or not answered with one');
  });

  it('a data breach: registered, the affected customer notified in their history, the authority told, closed', async () => {
    const detected = new Date(Date.now() - 3_600_000).toISOString();
    const opened = await json([
      'org',
      'incident',
      'open',
      '--org',
      'insurer',
      '--detected',
      detected,
      '--nature',
      'confidentiality',
      '--categories',
      'pd:Income',
      '--risk',
      'high',
    ]);
    expect(opened.code).toBe('OK');
    const id = opened.txId as string;
    const affected = await json(['org', 'incident', 'affected', id, '--org', 'insurer']);
    expect(affected.subjects).toEqual([{ subject: insurerDid, records: 1, notified: false }]);
    expect((await json(['org', 'incident', 'notify', id, '--org', 'insurer'])).results[0].code).toBe('OK');
    const h = await custos(['history', '--org', 'insurer']);
    expect(h.stdout).toMatch(/Data breach: .* told you on \d{4}-\d{2}-\d{2} of a breach it detected/);
    expect(h.stdout).toContain('of a personal data breach that may concern your data (GDPR Art. 34)');
    expect((await json(['org', 'incident', 'close', id, '--org', 'insurer'], 1)).code).toBe('CONFLICT');
    writeFileSync(join(tmp.dir, 'breach-report.txt'), 'Notification to the authority, reference 2026-0042.\n');
    const report = ['--report-file', join(tmp.dir, 'breach-report.txt')];
    expect((await json(['org', 'incident', 'authority', id, '--org', 'insurer', ...report])).code).toBe('OK');
    expect((await json(['org', 'incident', 'close', id, '--org', 'insurer'])).code).toBe('OK');
    const listed = await custos(['org', 'incidents', '--org', 'insurer']);
    expect(listed.stdout).toMatch(
      new RegExp(`${id}  confidentiality of pd:Income, risk high, .*: closed .*; 1 customer\\(s\\) notified`),
    );
  });

  it('history verifies and tells everything; its export re-verifies offline', async () => {
    const h = await custos(['history']);
    expect(h.code, h.stderr).toBe(0);
    for (const s of [
      'verified at height',
      `Bank (bank): knows you as ${bankDid}`,
      'Email address (pd:EmailAddress): Bank erased your email address for good on',
      'you gave it to them',
      'for Marketing (dpv:Marketing): because you agreed',
      'for Providing the service (dpv:ServiceProvision): because your contract needs it',
      'withdrawn',
      'sale: opted out',
      'by Global Privacy Control',
      'erasure of your data (erase, GDPR)',
      'fulfilled',
      'Bank used your email address for marketing, because you agreed: Allowed',
      'Bank tried to use your email address for marketing, because you agreed: Refused: no consent or other lawful reason',
      'Bank tried to share your email address to Insurer, for marketing: Refused: you opted out',
      'Bank erased your email address for good (as you asked)',
    ]) {
      expect(h.stdout).toContain(s);
    }
    const timeline = h.stdout.split('\n').filter((l) => /^\s+✓ \d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(l));
    expect(timeline.length).toBeGreaterThanOrEqual(10);

    const doc = await json(['history', '--org', 'bank']);
    expect(doc.verified).toBe(true);
    const rel = doc.relationships[0];
    expect(rel).toMatchObject({ org: 'bank', did: bankDid, complete: true });
    expect(rel.events).toHaveLength(rel.historyCount);
    const bank = doc.orgs.find((o: { org: string }) => o.org === 'bank');
    expect(bank.records[0]).toMatchObject({ id: record, erased: true, categoryLabel: 'Email address' });
    expect(bank.optouts.sale).toMatchObject({ source: 'gpc' });
    expect(bank.timeline.every((e: { verified: boolean }) => e.verified)).toBe(true);

    const file = join(tmp.dir, 'history.json');
    expect((await json(['history', 'export', '--out', file])).relationships).toBe(2);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const exported = JSON.parse(readFileSync(file, 'utf8'));
    const genesis = readGenesisFile(join(home, 'genesis.json'));
    for (const r of exported.relationships) {
      for (const page of r.reports) {
        const v = verifySubjectReport(page, memberSetOf(genesis), undefined, 'cli-cust');
        expect(v.subject).toBe(r.did);
      }
      expect(verifyReportPages(r.reports, genesis, r.did).historyCount).toBe(r.events.length);
    }
    const bankReport = exported.relationships.find((r: { org: string }) => r.org === 'bank').reports[0];
    const forged = structuredClone(bankReport);
    const refusal = forged.events.findIndex((e: { entry: { code: string } }) => e.entry.code === 'NO_LAWFUL_BASIS');
    forged.events[refusal].entry.code = 'OK';
    expect(() => verifySubjectReport(forged, memberSetOf(genesis))).toThrow(/./);
    expect(() => verifyReportPages([bankReport], genesis, insurerDid)).toThrow(/history of/);
  });

  it('history trusts only the genesis: another member set fails', async () => {
    const other = join(tmp.dir, 'other');
    expect(
      (await custos(['init', '--home', other, '--chain-id', 'cli-cust'], { CUSTOS_PASSPHRASE: 'other passphrase' }))
        .code,
    ).toBe(0);
    const r = await custos(['history', '--genesis', join(other, 'genesis.json')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^error BAD_CERTIFICATE: /);
  });
});

describe('demo customers', () => {
  it('`custos demo` loads them on a fresh chain; their wallets open and their histories verify', async () => {
    const demoHome = join(tmp.dir, 'demo');
    const { child, match } = await serve(
      ['demo', '--no-evm', '--home', demoHome, '--port', '0', '--json'],
      /^(\{.*\})$/m,
    );
    const doc = JSON.parse(match[1]!);
    expect(doc.customers.customers.map((c: { id: string }) => c.id)).toEqual(['ada', 'grace', 'alan']);
    expect(doc.customers).toMatchObject({ requests: 3, shares: 1 });
    const wallet = join(demoHome, 'demo-wallets', 'grace.json');
    // The demo wallets are encrypted with the demo home's passphrase (the environment would win over the file).
    const h = await json(
      [
        'history',
        '--home',
        demoHome,
        '--node',
        doc.url,
        '--wallet',
        wallet,
        '--wallet-passphrase-file',
        join(demoHome, 'passphrase'),
      ],
      0,
      { CUSTOS_WALLET_PASSPHRASE: '' },
    );
    const shop = h.orgs.find((o: { org: string }) => o.org === 'retailer');
    expect(shop.optouts.sale.source).toBe('gpc');
    expect(shop.timeline.map((e: { code: string }) => e.code)).toEqual(
      expect.arrayContaining(['OPTED_OUT', 'NO_LAWFUL_BASIS']),
    );
    expect(h.orgs.find((o: { org: string }) => o.org === 'bank').requests[0]).toMatchObject({
      kind: 'export',
      originalDeadline: expect.any(Number),
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });

  it('loads in-process with the promised histories, and only once', async () => {
    const demoHome = join(tmp.dir, 'demo-inproc');
    const passphrase = 'demo passphrase';
    const orgIds = ['bank', 'insurer', 'retailer'];
    initHome({ home: demoHome, chainId: 'demo', orgs: orgIds.map((id) => ({ id, name: id })), passphrase });
    const loaded = loadHome(demoHome, passphrase);
    const node = await CustosNode.open({
      dbPath: loaded.dbPath,
      genesis: loaded.genesis,
      signers: loaded.signers,
      verifyThreads: 1,
    });
    const vaults = openVaults(demoHome, orgIds, passphrase);
    const orgs = new OrgService(
      node,
      orgIds.map((id) => ({ id, signer: loaded.orgSigners.get(id)!, vault: vaults.get(id)! })),
    );
    try {
      const summary = await loadDemoCustomers({
        node,
        orgs,
        home: demoHome,
        passphrase,
        vaultOf: (o) => vaults.get(o)!,
      });
      expect(summary).toMatchObject({ records: 14, shares: 1, requests: 3, refused: 2 });

      const codes: string[] = [];
      const requests: { kind: string; status: string; originalDeadline: number | null }[] = [];
      let copies = 0;
      let erased = 0;
      for (const c of summary.customers) {
        const { wallet } = await readWalletFile(c.wallet, passphrase);
        expect(wallet.relationships().map((r) => r.did)).toEqual(c.relationships.map((r) => r.did));
        for (const r of c.relationships) {
          const report = subjectReport(node, r.did, { limit: 1000 });
          const v = verifyReportPages([report], loaded.genesis, r.did);
          codes.push(...v.events.map((e) => e.entry.code));
          for (const f of v.facts) {
            const val = f.value as Record<string, unknown> | null;
            if (val === null) continue;
            if (f.key.startsWith('request/')) requests.push(val as never);
            if (f.key.startsWith('record/') && val.sourceRecord !== null) copies++;
            if (f.key.startsWith('record/') && val.erasedAt !== null) erased++;
          }
        }
      }
      expect(codes.filter((c) => c === 'NO_LAWFUL_BASIS')).toHaveLength(1);
      expect(codes.filter((c) => c === 'OPTED_OUT')).toHaveLength(1);
      expect(copies).toBe(1);
      expect(erased).toBe(2);
      expect(requests.map((r) => [r.kind, r.status, r.originalDeadline !== null]).sort()).toEqual([
        ['access', 'open', false],
        ['erase', 'fulfilled', false],
        ['export', 'open', true],
      ]);
      expect(existsSync(join(demoHome, 'demo-wallets', 'ada.json'))).toBe(true);
      await expect(loadDemoCustomers({ node, orgs, home: demoHome, passphrase })).rejects.toMatchObject({
        code: 'ALREADY_INITIALIZED',
      });
    } finally {
      await node.close();
      for (const v of vaults.values()) v.close();
    }
  });
});
