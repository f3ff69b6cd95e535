/**
 * `custos org ...`: what a member org's operator does through its own node's /v1/orgs routes:
 * the data inventory, registering a value (read from a file or stdin, never from argv: argv shows up
 * in process lists), using it under a lawful basis, sharing, rectifying, erasing, the requests queue
 * with legal deadlines, and retention. Values are printed only when asked (`--show-value`).
 */
import type { JsonValue } from '@custos/protocol/jcs';
import {
  ART9_CONDITIONS,
  type Art9Condition,
  type DataRecord,
  LAWFUL_BASES,
  type LawfulBasis,
} from '@custos/protocol/ledger';
import type { OrgRecordsPage, PageQuery } from '@custos/sdk';
import { type Command, Option } from 'commander';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import { loadOrgSigner, requirePassphrase, resolveHome } from '../home.js';
import { DPV_CODE } from '../modules/common.js';
import { MEMBER_ID } from '../modules/member-state.js';
import { TOKEN_SCOPES as TOKEN_SCOPE_NAMES } from '../orgs/tokens.js';
import { MAX_VALUE_BYTES } from '../vault/values.js';
import { parsePositiveInt, parseRecordId, parseSourceRecord } from './args.js';
import { type ClientAuth, type CommitResult, NodeClient } from './client.js';
import { registerDatamapCommands } from './commands-datamap.js';
import { registerCopyCommands } from './commands-org-copies.js';
import { registerGppCommands } from './commands-org-gpp.js';
import { registerIncidentCommands } from './commands-org-incidents.js';
import { registerLinkCommands } from './commands-org-links.js';
import { registerObligationCommands } from './commands-org-obligations.js';
import { registerRequestCommands } from './commands-org-requests.js';
import { registerRequestStepCommands } from './commands-org-steps.js';
import { nodeOption } from './options.js';
import { day, type Output, output, TX_FAILED_EXIT, table } from './output.js';

const ERASE_REASONS = ['request', 'retention', 'consent-withdrawn', 'other'] as const;
const SOURCES = ['subject', 'public', 'third-party', 'derived'] as const;

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

export function parseDpvCode(value: string, what: string): string {
  if (!DPV_CODE.test(value))
    throw bad(`expected ${what} as a DPV code like pd:EmailAddress or dpv:Marketing, got '${value.slice(0, 80)}'`);
  return value;
}

/** `dpv:Marketing=consent,dpv:ServiceProvision=contract` -> purpose -> lawful basis. */
export function parsePurposeBases(text: string): Record<string, LawfulBasis> {
  const out: Record<string, LawfulBasis> = {};
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0 || items.length > 16)
    throw bad('expected --purposes as 1-16 PURPOSE=BASIS pairs, e.g. dpv:Marketing=consent');
  for (const item of items) {
    const eq = item.lastIndexOf('=');
    const purpose = parseDpvCode(eq < 0 ? item : item.slice(0, eq), 'each purpose');
    const basis = eq < 0 ? '' : item.slice(eq + 1);
    if (!(LAWFUL_BASES as readonly string[]).includes(basis)) {
      throw bad(`expected ${purpose}=BASIS with BASIS one of ${LAWFUL_BASES.join(', ')}, got '${basis.slice(0, 40)}'`);
    }
    if (purpose in out) throw bad(`purpose ${purpose} appears twice in --purposes`);
    out[purpose] = basis as LawfulBasis;
  }
  return out;
}

/** A JSON value from a file, or from stdin with `-`; the error never quotes the content. */
export function readValueFile(file: string): JsonValue {
  const text = readBoundedFile(file, { what: 'a JSON value', maxBytes: MAX_VALUE_BYTES }).toString('utf8');
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw bad(`expected JSON in ${file === '-' ? 'stdin' : file}, e.g. {"email": "ada@example.org"}`);
  }
}

export interface OrgFlags {
  org: string;
  node: string;
  json?: boolean;
  token?: string;
  home?: string;
  passphraseFile?: string;
}

/**
 * The org's credentials: an API token (`--token` or $CUSTOS_ORG_TOKEN), or else the org's member key
 * from the home (decrypted with its passphrase), which signs each request.
 */
function orgAuth(flags: OrgFlags): ClientAuth {
  if (flags.token !== undefined && flags.token.length > 0) return { token: flags.token };
  const home = resolveHome(flags.home);
  const passphrase = requirePassphrase({
    home,
    ...(flags.passphraseFile === undefined ? {} : { passphraseFile: flags.passphraseFile }),
  });
  return { signer: loadOrgSigner(home, flags.org, passphrase) };
}

/** A client of the org's node; requests carry the org's token or its key's signature. */
export function orgClient(flags: OrgFlags): NodeClient {
  return new NodeClient(flags.node, orgAuth(flags));
}

export function orgCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .addOption(
      new Option('--org <id>', 'the org you act as (its key and vault are on the node)')
        .env('CUSTOS_ORG')
        .makeOptionMandatory(),
    )
    .addOption(nodeOption())
    .addOption(
      new Option('--token <token>', 'an org API token (else the org key in the home signs)').env('CUSTOS_ORG_TOKEN'),
    )
    .option('--home <dir>', 'home directory holding the org key (default $CUSTOS_HOME or ./.custos)')
    .option('--passphrase-file <file>', 'file holding the key passphrase (else $CUSTOS_PASSPHRASE)')
    .option('--json', 'print one JSON document');
}

function orgId(org: string): string {
  if (!MEMBER_ID.test(org)) throw bad(`expected --org as 1-32 characters [a-z0-9-], got '${org.slice(0, 40)}'`);
  return org;
}

/**
 * The org, once the node confirms it holds it: the read routes answer an empty list for any org
 * id, which would read as "holds nothing".
 */
export async function localOrg(client: NodeClient, org: string): Promise<string> {
  orgId(org);
  const { local } = await client.run((sdk) => sdk.localOrgs());
  if (!local.includes(org)) throw new NodeError('NOT_FOUND', `this node does not hold the keys of org '${org}'`);
  return org;
}

/** Prints a commit result; a refused transaction sets exit status 1. */
function commitResult(out: Output, r: CommitResult, what: string, doc: unknown = r): void {
  const where = `block ${r.height}, tx ${r.txId}`;
  const why = r.detail === undefined ? '' : `: ${r.detail}`;
  out.result(
    doc,
    r.code === 'OK' ? `${what}: OK (${where}).` : `${what}: refused, ${r.code}${why} (recorded in ${where}).`,
  );
  if (r.code !== 'OK') process.exitCode = TX_FAILED_EXIT;
}

type RecordRow = DataRecord & { pastRetention: boolean };

function recordStatus(r: DataRecord & { pastRetention?: boolean }): string {
  if (r.erasedAt !== null) return `erased ${day(r.erasedAt)}`;
  if (r.erasureRequestedAt !== null) return `ERASURE REQUESTED ${day(r.erasureRequestedAt)} (source erased)`;
  if (r.pastRetention === true) return 'PAST RETENTION';
  return r.restricted ? 'restricted' : 'live';
}

function recordLines(r: RecordRow): string[] {
  const purposes = Object.entries(r.purposes)
    .map(([p, b]) => `${p}=${b}`)
    .join(', ');
  return [
    `  ${r.id}  ${r.category}  ${recordStatus(r)}`,
    `      subject ${r.subject}`,
    `      purposes ${purposes}; source ${r.source}; retention until ${day(r.retentionUntil)}`,
  ];
}

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description("act as a member org through its node's /v1/orgs routes");
  registerDatamapCommands(org);

  orgCommand(org, 'records', 'list the records the org holds')
    .option('--past-retention', 'only records past their retention period and not erased')
    .option('--subject <did>', "only this subject's records")
    .action(async (flags: OrgFlags & { pastRetention?: boolean; subject?: string }) => {
      const out = output(flags.json === true);
      const client = orgClient(flags);
      let records: RecordRow[] = [];
      let height = 0;
      let after: string | null = null;
      await localOrg(client, flags.org);
      // Every page: an inventory that stops at 200 would hide what is past retention.
      for (let pages = 0; pages < 10_000; pages++) {
        const q: PageQuery = after === null ? {} : { after };
        const page: OrgRecordsPage = await client.run((sdk) => sdk.orgRecords(flags.org, q));
        height = page.height;
        records.push(...page.records);
        after = page.next;
        if (after === null) break;
      }
      if (flags.pastRetention === true) records = records.filter((r) => r.pastRetention);
      if (flags.subject !== undefined) records = records.filter((r) => r.subject === flags.subject);
      const what = flags.pastRetention === true ? 'record(s) past retention' : 'record(s)';
      out.result({ org: flags.org, height, records }, [
        `${flags.org} holds ${records.length} ${what} (height ${height}).`,
        ...records.flatMap(recordLines),
      ]);
    });

  orgCommand(org, 'register', 'register a value the org holds: the vault keeps it, the ledger a commitment')
    .option('--subject <did>', "the customer's pairwise did:key towards this org")
    .option(
      '--account <id>',
      "or the customer's account id here, linked by `org link challenge` and the customer's wallet",
    )
    .requiredOption('--category <code>', 'DPV personal-data category, e.g. pd:EmailAddress')
    .requiredOption('--purposes <list>', 'PURPOSE=BASIS,..., e.g. dpv:Marketing=consent,dpv:ServiceProvision=contract')
    .addOption(new Option('--source <source>', 'where the data came from').choices([...SOURCES]).default('subject'))
    .requiredOption('--retention-days <n>', 'days the org may keep it')
    .addOption(
      new Option(
        '--condition <code>',
        'for a special category on a basis other than consent: its GDPR Art. 9(2) condition',
      ).choices([...ART9_CONDITIONS]),
    )
    .option('--source-record <org:id>', 'a copy received through a share: the shared record, e.g. bank:<record id>')
    .option(
      '--automated <purposes>',
      'comma-separated purposes served by decisions taken solely by machine, with legal or similar effects (GDPR Art. 22)',
    )
    .requiredOption(
      '--value-file <file>',
      "the value as JSON, from a file or '-' for stdin (never on the command line)",
    )
    .action(
      async (
        flags: OrgFlags & {
          subject?: string;
          account?: string;
          category: string;
          purposes: string;
          source: string;
          retentionDays: string;
          valueFile: string;
          condition?: Art9Condition;
          automated?: string;
          sourceRecord?: string;
        },
      ) => {
        const out = output(flags.json === true);
        if ((flags.subject === undefined) === (flags.account === undefined)) {
          throw bad('expected exactly one of --subject DID or --account ID');
        }
        const who = flags.subject === undefined ? { account: flags.account! } : { subject: flags.subject };
        const body = {
          ...who,
          category: parseDpvCode(flags.category, '--category'),
          purposes: parsePurposeBases(flags.purposes),
          source: flags.source as (typeof SOURCES)[number],
          retentionDays: parsePositiveInt(flags.retentionDays, '--retention-days'),
          value: readValueFile(flags.valueFile),
          ...(flags.condition === undefined ? {} : { condition: flags.condition }),
          ...(flags.automated === undefined
            ? {}
            : { automated: flags.automated.split(',').map((p) => parseDpvCode(p.trim(), '--automated')) }),
          ...(flags.sourceRecord === undefined ? {} : { sourceRecord: parseSourceRecord(flags.sourceRecord) }),
        };
        const r = await orgClient(flags).run((sdk) => sdk.registerRecord(orgId(flags.org), body));
        commitResult(
          out,
          r,
          `Registered record ${r.recordId} (${body.category}) for ${flags.subject ?? `account ${flags.account}`}`,
        );
      },
    );

  orgCommand(
    org,
    'access',
    'use a record for a purpose under a lawful basis (logged; the vault decrypts only if valid)',
  )
    .argument('<record>', 'record id')
    .requiredOption('--purpose <code>', 'DPV purpose, e.g. dpv:Marketing')
    .addOption(new Option('--basis <basis>', 'lawful basis').choices([...LAWFUL_BASES]).makeOptionMandatory())
    .option('--show-value', 'print the decrypted value (off by default: terminals and logs keep what they print)')
    .action(async (record: string, flags: OrgFlags & { purpose: string; basis: string; showValue?: boolean }) => {
      const out = output(flags.json === true);
      const purpose = parseDpvCode(flags.purpose, '--purpose');
      const basis = flags.basis as LawfulBasis;
      const r = await orgClient(flags).run((sdk) =>
        sdk.accessRecord(orgId(flags.org), parseRecordId(record), purpose, basis),
      );
      const { value, ...result } = r;
      const show = flags.showValue === true && r.code === 'OK';
      const doc = show ? { ...result, value } : result;
      if (out.json || r.code !== 'OK') {
        commitResult(out, r, `Access to ${record} for ${flags.purpose} (${flags.basis})`, doc);
        return;
      }
      out.result(doc, [
        `Access to ${record} for ${flags.purpose} (${flags.basis}): OK (block ${r.height}, tx ${r.txId}).`,
        show ? JSON.stringify(value, null, 2) : 'The value is hidden; pass --show-value to print it.',
      ]);
    });

  orgCommand(org, 'share', 'share (or sell) a record with another member; needs consent and no opt-out')
    .argument('<record>', 'record id')
    .requiredOption('--to <org>', 'recipient member org')
    .requiredOption('--purpose <code>', 'DPV purpose of the share')
    .option('--sale', 'the share is a sale (needs consent to sale, and no opt-out of sale)')
    .action(async (record: string, flags: OrgFlags & { to: string; purpose: string; sale?: boolean }) => {
      const out = output(flags.json === true);
      const share = {
        recipient: flags.to,
        purpose: parseDpvCode(flags.purpose, '--purpose'),
        sale: flags.sale === true,
      };
      const r = await orgClient(flags).run((sdk) => sdk.shareRecord(orgId(flags.org), parseRecordId(record), share));
      commitResult(
        out,
        r,
        `${flags.sale === true ? 'Sale' : 'Share'} of ${record} to ${flags.to} for ${flags.purpose}`,
      );
    });

  orgCommand(org, 'rectify', 'replace the value of a record (the ledger gets the new commitment)')
    .argument('<record>', 'record id')
    .requiredOption('--value-file <file>', "the new value as JSON, from a file or '-' for stdin")
    .action(async (record: string, flags: OrgFlags & { valueFile: string }) => {
      const out = output(flags.json === true);
      const value = readValueFile(flags.valueFile);
      const r = await orgClient(flags).run((sdk) => sdk.rectifyRecord(orgId(flags.org), parseRecordId(record), value));
      commitResult(out, r, `Rectified ${record}`);
    });

  orgCommand(org, 'erase', "crypto-shred records (or all of a subject's) and record the erasure on the ledger")
    .argument('[records...]', 'record ids')
    .option('--subject <did>', 'erase everything the org holds on this subject')
    .addOption(new Option('--reason <reason>', 'why').choices([...ERASE_REASONS]).makeOptionMandatory())
    .action(async (records: string[], flags: OrgFlags & { subject?: string; reason: string }) => {
      const out = output(flags.json === true);
      if ((records.length === 0) === (flags.subject === undefined)) {
        throw bad('expected either record ids or --subject DID');
      }
      const reason = flags.reason as (typeof ERASE_REASONS)[number];
      const body =
        flags.subject === undefined
          ? { records: records.map(parseRecordId), reason }
          : { subject: flags.subject, reason };
      const { results } = await orgClient(flags).run((sdk) => sdk.erase(orgId(flags.org), body));
      const failed = results.filter((r) => r.code !== 'OK');
      if (failed.length > 0) process.exitCode = TX_FAILED_EXIT;
      out.result({ results }, [
        results.length === 0
          ? 'Nothing to erase: no live record matched.'
          : `Crypto-shredded and recorded the erasure in ${results.length} transaction(s)${failed.length > 0 ? `, ${failed.length} refused` : ''}.`,
        ...results.map((r) => `  block ${r.height}  tx ${r.txId}  ${r.code}`),
      ]);
    });

  const kit = { orgCommand, orgClient, orgId, bad, localOrg, commitResult };
  const request = registerRequestCommands<OrgFlags>(org, kit);
  registerIncidentCommands<OrgFlags>(org, kit);
  registerCopyCommands<OrgFlags>(org, kit);
  registerObligationCommands<OrgFlags>(org, kit);
  registerRequestStepCommands<OrgFlags>(request, { orgCommand, orgClient, orgId, bad });
  registerGppCommands<OrgFlags>(org, { orgCommand, orgClient, orgId, bad });
  registerLinkCommands<OrgFlags>(org, { orgCommand, orgClient, orgId, bad });

  const tokens = org.command('token').description("the org's API tokens, for consoles, scripts and relayers");
  orgCommand(tokens, 'create', 'issue an API token (signed with the org key; the token is shown once)')
    .option('--scopes <list>', `comma-separated scopes among ${TOKEN_SCOPE_NAMES.join(', ')}`, 'read')
    .option('--ttl-days <days>', 'days until it expires (1-365)', '90')
    .option('--label <text>', 'what it is for (at most 64 characters)')
    .action(async (flags: OrgFlags & { scopes: string; ttlDays: string; label?: string }) => {
      const out = output(flags.json === true);
      const scopes = flags.scopes.split(',').map((s) => s.trim());
      const unknown = scopes.filter((s) => !(TOKEN_SCOPE_NAMES as readonly string[]).includes(s));
      if (scopes.length === 0 || unknown.length > 0) {
        throw bad(`expected --scopes among ${TOKEN_SCOPE_NAMES.join(', ')}, got '${flags.scopes.slice(0, 80)}'`);
      }
      const ttlDays = parsePositiveInt(flags.ttlDays, '--ttl-days');
      const client = orgClient({ ...flags, token: '' });
      const t = await client.run((sdk) =>
        sdk.createToken(flags.org, {
          scopes: scopes as (typeof TOKEN_SCOPE_NAMES)[number][],
          ttlDays,
          ...(flags.label === undefined ? {} : { label: flags.label }),
        }),
      );
      out.result(t, [
        t.token,
        `Token ${t.id} of ${t.org} (${t.scopes.join(', ')}), expires ${day(t.expiresAt)}. It is shown this once.`,
      ]);
    });
  orgCommand(tokens, 'list', "list the org's API tokens (never their secrets)").action(async (flags: OrgFlags) => {
    const out = output(flags.json === true);
    const client = orgClient({ ...flags, token: '' });
    const page = await client.run((sdk) => sdk.orgTokens(flags.org));
    out.result(
      page,
      page.tokens.length === 0
        ? [`${flags.org} has no API tokens.`]
        : page.tokens.map(
            (t) =>
              `  ${t.id}  ${t.scopes.join(',')}  expires ${day(t.expiresAt)}${t.revokedAt === null ? '' : '  REVOKED'}  ${t.label ?? ''}`,
          ),
    );
  });
  orgCommand(tokens, 'revoke', 'revoke an API token at once')
    .argument('<id>', 'the token id (the part after custos_ and before the next _)')
    .action(async (id: string, flags: OrgFlags) => {
      const out = output(flags.json === true);
      const client = orgClient({ ...flags, token: '' });
      const t = await client.run((sdk) => sdk.revokeToken(flags.org, id));
      out.result(t, `Revoked token ${t.id} of ${t.org}.`);
    });

  orgCommand(org, 'retention', 'records past their retention period and not yet erased (non-compliant)').action(
    async (flags: OrgFlags) => {
      const out = output(flags.json === true);
      const client = orgClient(flags);
      const id = await localOrg(client, flags.org);
      const doc = await client.run((sdk) => sdk.orgRetention(id));
      const rows = doc.pastRetention.map((r) => ({ ...r, pastRetention: true }));
      out.result(
        doc,
        rows.length === 0
          ? `No record of ${flags.org} is past its retention period (ledger time ${new Date(doc.now).toISOString()}).`
          : [
              `${rows.length} record(s) of ${flags.org} past retention; the node erases them on its next retention run:`,
              ...table(rows.map((r) => [r.id, `${r.category}, retention ended ${day(r.retentionUntil)}`])),
            ],
      );
    },
  );
}
