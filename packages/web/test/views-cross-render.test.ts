/**
 * One wording for a customer's history: the demo customers' histories, rendered by the CLI
 * (`custos history`, the built binary) and by the web portal's model (`buildView`), read the same,
 * sentence for sentence. Both come from `@custos/sdk/views`; dates are in ISO on both sides here, so
 * only the words are compared. Starts `custos demo` on a fresh home. Needs `npm run build`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CustosClient,
  fetchHistory,
  importWallet,
  memberSetOf,
  signedBy,
  trustFromGenesis,
  verifyHistory,
} from '@custos/sdk';
import { ISO_FORMAT, placeCopies, recordSentence } from '@custos/sdk/views';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildView, type OrgView } from '../src/portal/model.js';

// The built CLI of the node package, found through its package name.
const CLI = join(createRequire(import.meta.url).resolve('@custos/node'), '../bin/custos.js');
const TIMEOUT = 300_000;

interface CliHistory {
  relationships: { org: string; did: string }[];
  orgs: { org: string; timeline: { txId: string; text: string; result: string }[] }[];
}

let dir: string;
let home: string;
let demo: ChildProcess;
let url: string;
let customers: string[];
const env = (): NodeJS.ProcessEnv => {
  const { CUSTOS_PASSPHRASE: _p, CUSTOS_NODE: _n, CUSTOS_ORG: _o, PORT: _port, HOST: _host, ...rest } = process.env;
  return { ...rest, CUSTOS_WALLET_PASSPHRASE: '' };
};

function custos(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env: env(), cwd: dir }, (err, stdout, stderr) =>
      err === null ? resolve(stdout) : reject(new Error(`custos ${args[0]} failed: ${stderr}`)),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custos-views-'));
  home = join(dir, 'demo');
  demo = spawn(process.execPath, [CLI, 'demo', '--home', home, '--port', '0', '--json'], { env: env(), cwd: dir });
  const doc = await new Promise<{ url: string; customers: { customers: { id: string }[] } }>((resolve, reject) => {
    let out = '';
    demo.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\{.*\})$/m.exec(out);
      if (m) resolve(JSON.parse(m[1]!));
    });
    demo.once('exit', (code) => reject(new Error(`custos demo exited with ${code}`)));
  });
  url = doc.url;
  customers = doc.customers.customers.map((c) => c.id);
}, TIMEOUT);

afterAll(async () => {
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGTERM');
    await exited;
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The web portal's model of one customer's companies, from the node over HTTP, as the browser builds it. */
async function portalViews(customer: string, orgs: readonly string[]): Promise<OrgView[]> {
  const client = new CustosClient({ baseUrl: url });
  const chain = await client.chain();
  const base = trustFromGenesis(chain.genesis);
  const epochs = await client.verifiedMemberSets(memberSetOf(base), { chainId: base.chainId });
  const trust = { ...base, epochs, pinnedAt: Date.now() };
  const demos = await client.demoWallets();
  const entry = demos.customers.find((c) => c.id === customer)!;
  const wallet = await importWallet(entry.export, demos.passphrase);
  const views: OrgView[] = [];
  for (const org of orgs) {
    const { did, signer } = wallet.relationship(trust.chainId, org);
    const pages = await fetchHistory(client, did, { sign: signedBy(signer) });
    const history = verifyHistory(pages, trust, did);
    views.push(buildView(org, did, pages, history, trust, Date.now(), ISO_FORMAT));
  }
  placeCopies(views);
  return views;
}

describe('the CLI and the web portal tell a history in the same words', () => {
  it(
    'for every demo customer, event by event and record by record',
    async () => {
      expect(customers).toEqual(['ada', 'grace', 'alan']);
      let events = 0;
      for (const customer of customers) {
        const flags = [
          '--home',
          home,
          '--node',
          url,
          '--wallet',
          join(home, 'demo-wallets', `${customer}.json`),
          '--wallet-passphrase-file',
          join(home, 'passphrase'),
        ];
        const cli = JSON.parse(await custos(['history', ...flags, '--json'])) as CliHistory;
        const text = await custos(['history', ...flags]);
        const web = await portalViews(
          customer,
          cli.relationships.map((r) => r.org),
        );
        for (const v of web) {
          const printed = cli.orgs.find((o) => o.org === v.org);
          expect(printed, `${customer}/${v.org}`).toBeDefined();
          // The portal lists the newest first, the CLI the oldest first.
          const portal = [...v.events].reverse();
          expect(printed!.timeline.map((e) => [e.txId, e.text, e.result])).toEqual(
            portal.map((e) => [e.txId, e.sentence, e.outcome.text]),
          );
          for (const e of portal) expect(text).toContain(`${e.sentence}: ${e.outcome.text}`);
          for (const r of v.records) expect(text).toContain(recordSentence(r, v.name, ISO_FORMAT));
          events += portal.length;
        }
      }
      expect(events).toBeGreaterThan(10);
    },
    TIMEOUT,
  );
});
