/**
 * `custos node start` (serve a home's chain over HTTP) and `custos demo` (what `npm start` runs:
 * a three-org chain, initialized and filled on first run with a little public data and three demo customers).
 */
import { join } from 'node:path';
import type { JsonValue } from '@custos/protocol/jcs';
import { signTx } from '@custos/protocol/ledger';
import { type Command, Option } from 'commander';
import type { DemoBankSystemsResult } from '../demo/bank-systems.js';
import type { DemoSummary } from '../demo/customers.js';
import { DB_FILE, GENESIS_FILE, isInitialized, requirePassphrase, resolveHome } from '../home.js';
import { cliCommand } from '../invocation.js';
import type { CustosNode } from '../node.js';
import { rectifyServiceOf } from '../orgs/rectify-service.js';
import { tokenStoreOf } from '../orgs/tokens.js';
import { parsePort } from './args.js';
import { DEFAULT_NODE_URL } from './client.js';
import { initWithPassphrase } from './init.js';
import { type Output, output } from './output.js';
import { closeOnSignals, type Peer, startPeer } from './peer.js';

interface ServeFlags {
  home?: string;
  host: string;
  port: string;
  passphraseFile?: string;
  log?: boolean;
  verbose?: boolean;
  json?: boolean;
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .addOption(new Option('--host <host>', 'address to listen on').env('HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('PORT').default('7070'))
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--log', 'JSON request logs on stdout (no bodies, queries or client addresses)')
    .option('--json', 'print one JSON document once listening');
}

async function serve(
  out: Output,
  flags: ServeFlags,
  home: string,
  passphrase: string,
  opts: { operatorLog: boolean },
): Promise<Peer> {
  const peer = await startPeer({
    home,
    passphrase,
    host: flags.host,
    port: parsePort(flags.port),
    logger: flags.log === true,
    operatorLog: opts.operatorLog,
  });
  peer.node.onFatal((e: unknown) => {
    const code = (e as { code?: unknown }).code === 'DIVERGED' ? 'DIVERGED' : 'INTERNAL';
    const why = code === 'DIVERGED' ? 'its state diverged from a quorum certificate' : 'a block failed to commit';
    out.note(`error ${code}: ${why}; the node stopped ordering (${(e as Error).message})`);
  });
  closeOnSignals(peer);
  return peer;
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('run a peer');
  serveOptions(node.command('start').description("serve the home's chain over HTTP")).action(
    async (flags: ServeFlags) => {
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      const passphrase = requirePassphrase({
        home,
        ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
      });
      const peer = await serve(out, flags, home, passphrase, { operatorLog: true });
      out.result(
        { chainId: peer.node.chainId, url: peer.url, height: peer.node.latest().height, home },
        `Custos node ${peer.node.chainId} listening on ${peer.url}`,
      );
    },
  );

  node
    .command('recover')
    .description(
      "acknowledge a divergence: rebuild the home's store from its quorum-certified blocks (re-executed), keeping the diverged store as evidence",
    )
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--force', 'rebuild even if the store holds no divergence evidence')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { home?: string; force?: boolean; json?: boolean }) => {
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      const { recoverDivergedStore } = await import('../consortium/recover.js');
      const r = await recoverDivergedStore(join(home, DB_FILE), {
        force: flags.force === true,
        log: (m) => out.note(m),
      });
      out.result({ home, ...r }, [
        `Rebuilt the store of ${home} up to certified block ${r.height}; ${r.discarded} later blocks discarded.`,
        `The diverged store is kept at ${r.archived}.`,
        'Start the peer again (custos node start): it catches up from the orderer or the other peers.',
      ]);
    });

  serveOptions(program.command('demo').description('run a demo chain (bank, insurer, retailer) with sample data'))
    .option('--verbose', "also print the org service's operator log (JSON lines on stderr)")
    .addOption(
      new Option('--no-evm', 'without the EVM part (a Hardhat chain, loyalty points for consent)').env(
        'CUSTOS_DEMO_NO_EVM',
      ),
    )
    .action(async (flags: ServeFlags & { evm?: boolean }) => {
      const out = output(flags.json === true);
      // The demo's own parts (its customers, the bank's PostgreSQL systems) load only for `custos demo`.
      const [{ demoCustomerLines, holdsDemoOrgs, loadDemoCustomers }, { demoBankSystemLines }] = await Promise.all([
        import('../demo/customers.js'),
        import('../demo/bank-systems.js'),
      ]);
      const home = resolveHome(flags.home);
      const passFile = flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile };
      let initialized = false;
      if (!isInitialized(home)) {
        initWithPassphrase(out, { home, chainId: 'demo', orgs: DEMO_ORGS, ...passFile });
        initialized = true;
      }
      const passphrase = requirePassphrase({ home, ...passFile });
      const peer = await serve(out, flags, home, passphrase, { operatorLog: flags.verbose === true });
      let demoTxs: string[] = [];
      let customers: DemoSummary | null = null;
      if (peer.node.latest().height === 0) {
        demoTxs = await submitDemoData(peer);
        if (holdsDemoOrgs(peer.node, peer.orgs)) {
          customers = await loadDemoCustomers(
            { node: peer.node, orgs: peer.orgs, home, passphrase },
            { contracts: true },
          );
        }
        // Each demo org publishes an HPKE key, so customers can send it corrections (ADR 0018).
        const rectify = rectifyServiceOf(peer.node, peer.orgs);
        for (const org of peer.orgs.localOrgs()) await rectify.rotateKey(org);
      }
      // The bank's own systems in PostgreSQL, where it is installed (demo/bank-systems.ts).
      const bank = await demoBankSystems(out, peer, home, passphrase, customers, flags.verbose === true);
      const evmOn = flags.evm !== false && holdsDemoOrgs(peer.node, peer.orgs);
      const sample = demoTxs[0] ?? lastTxId(peer.node);
      // Hints that work as printed from another terminal, whatever PORT and CUSTOS_HOME this one had.
      const nodeFlag = peer.url === DEFAULT_NODE_URL ? '' : ` --node ${peer.url}`;
      const homeFlag = home === resolveHome(undefined, {}) ? '' : ` --home ${home}`;
      const examples = [
        `curl -s ${peer.url}/v1/chain`,
        cliCommand(
          `tx --type kv.put --args '{"ns":"demo","key":"hello","value":"world"}' --org bank${homeFlag}${nodeFlag}`,
        ),
        sample === undefined
          ? cliCommand(`block latest${nodeFlag}`)
          : `${cliCommand(`proof inclusion ${sample} --out proof.json${nodeFlag}`)} && ${cliCommand(`verify proof.json --genesis ${join(home, GENESIS_FILE)}`)}`,
      ];
      // The company console signs in with an org API token: a fresh one per demo start, valid for a day.
      const tokens = tokenStoreOf(peer.node);
      const consoles = peer.orgs.localOrgs().map((org) => ({
        org,
        url: `${peer.url}/console/${org}#token=${tokens.create(org, { scopes: ['read', 'write', 'governance'], ttlDays: 1, label: 'demo console', createdBy: 'custos demo' }).token}`,
      }));
      out.result(
        {
          chainId: peer.node.chainId,
          url: peer.url,
          web: `${peer.url}/`,
          consoles,
          home,
          initialized,
          height: peer.node.latest().height,
          demoTxs,
          customers,
          postgres:
            bank.systems === undefined
              ? null
              : {
                  port: bank.systems.server.port,
                  databases: bank.systems.databases,
                  systems: bank.systems.systems,
                  dataMapDigest: bank.systems.dataMapDigest,
                  retentionIntervalMs: bank.systems.retention.intervalMs,
                },
          postgresNote: bank.note ?? null,
          examples,
        },
        [
          `Custos node ${peer.node.chainId} listening on ${peer.url}`,
          initialized ? `Initialized a new demo chain in ${home}.` : `Using the chain in ${home}.`,
          ...(demoTxs.length > 0
            ? [`Recorded ${demoTxs.length} demo transactions (height ${peer.node.latest().height}).`]
            : []),
          ...(customers === null ? [] : demoCustomerLines(customers, { home, nodeFlag: `${homeFlag}${nodeFlag}` })),
          ...(bank.systems === undefined ? [bank.note] : demoBankSystemLines(bank.systems, `${homeFlag}${nodeFlag}`)),
          `Open ${peer.url}/ in a browser: your data (try a demo customer), the company console and the explorer.`,
          'Company consoles (each link carries a one-day API token of that org):',
          ...consoles.map((c) => `  ${c.org.padEnd(9)} ${c.url}`),
          'Try:',
          ...examples.map((e) => `  ${e}`),
          ...(evmOn ? ['The EVM part (Hardhat, loyalty points for consent) is starting: see the lines below.'] : []),
          'Stop with Ctrl-C.',
        ],
      );
      // The EVM part starts once the node is up (Hardhat takes seconds): its lines follow the banner.
      if (evmOn) {
        const { startDemoEvmSide } = await import('./demo-evm.js');
        await startDemoEvmSide(out, peer, { home, passphrase, fresh: customers !== null });
      }
    });
}

const DEMO_ORGS = [
  { id: 'bank', name: 'Bank' },
  { id: 'insurer', name: 'Insurer' },
  { id: 'retailer', name: 'Retailer' },
];

/** Public facts each org publishes (no personal data): display name, privacy policy, DPO role mailbox. */
function demoTxs(org: { id: string; name: string }): { type: string; args: { [key: string]: JsonValue } }[] {
  const site = `https://${org.id}.example`;
  return [
    { type: 'member.update', args: { name: `Demo ${org.name}` } },
    {
      type: 'kv.put',
      args: { ns: 'privacy', key: `${org.id}.policy`, value: { url: `${site}/privacy`, version: '1.0' } },
    },
    {
      type: 'kv.put',
      args: {
        ns: 'privacy',
        key: `${org.id}.dpo`,
        value: { role: 'Data Protection Officer', contact: `mailto:dpo@${org.id}.example` },
      },
    },
    {
      // The controller profile consent receipts are exported with (ISO/IEC TS 27560, Kantara CR 1.1).
      type: 'kv.put',
      args: {
        ns: 'privacy',
        key: `${org.id}.profile`,
        value: {
          controller: {
            name: `Demo ${org.name}`,
            contact: 'Data Protection Officer',
            email: `dpo@${org.id}.example`,
            phone: '+44 20 7946 0000',
            address: { streetAddress: '1 Example Street', addressLocality: 'London', addressCountry: 'GB' },
            url: site,
          },
          policyUrl: `${site}/privacy`,
          consentUrl: 'http://127.0.0.1:7070/',
          language: 'en',
          storageLocations: ['loc:GB'],
          retention: 'P2Y',
        },
      },
    },
  ];
}

async function submitDemoData(peer: Peer): Promise<string[]> {
  const { node } = peer;
  const subs = [];
  for (const org of node.genesis.members) {
    const signer = peer.orgSigners.get(org.id);
    if (signer === undefined) continue;
    for (const t of demoTxs(org)) subs.push(node.submit(signTx({ chainId: node.chainId, ...t }, signer)));
  }
  await Promise.all(subs.map((s) => s.committed));
  return subs.map((s) => s.txId);
}

/**
 * Starts the bank's PostgreSQL systems for the demo, stopped after the peer when the demo stops.
 * A server that cannot start leaves the vault-only demo running, with the reason on the banner.
 */
async function demoBankSystems(
  out: Output,
  peer: Peer,
  home: string,
  passphrase: string,
  loaded: DemoSummary | null,
  verbose: boolean,
): Promise<DemoBankSystemsResult> {
  const [{ holdsDemoOrgs }, { startDemoBankSystems }] = await Promise.all([
    import('../demo/customers.js'),
    import('../demo/bank-systems.js'),
  ]);
  if (!holdsDemoOrgs(peer.node, peer.orgs)) return { note: 'This chain has no demo bank: no PostgreSQL systems.' };
  let r: DemoBankSystemsResult;
  try {
    r = await startDemoBankSystems({
      home,
      passphrase,
      orgs: peer.orgs,
      loaded,
      ...(verbose
        ? { log: (e) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`) }
        : {}),
    });
  } catch (e) {
    out.note(`PostgreSQL did not start (${(e as Error).message.slice(0, 300)}); the demo runs with the vault only.`);
    return { note: "The bank's PostgreSQL systems are not running: the demo runs with the vault only." };
  }
  const systems = r.systems;
  if (systems !== undefined) {
    const close = peer.close;
    peer.close = () => close().finally(() => systems.stop());
  }
  return r;
}

function lastTxId(node: CustosNode): string | undefined {
  const size = node.latest().logSize;
  return size === 0 ? undefined : node.store.getTxByLogIndex(size - 1)?.txId;
}
