/**
 * Which connectors a peer runs for its orgs: `<home>/connectors.json` names, per org, its data-map
 * file and, per PostgreSQL system of the map, the environment variable holding the connection URL
 * (a URL holds a password: never in a file of the home, a command line or a log), and per HTTP system
 * its `endpoint` (requests are signed with the org's member key). The `vault` system needs nothing. Absent file: no connectors, and the execute route says so.
 *
 * ```json
 * { "orgs": { "bank": { "datamap": "datamap.json", "systems": { "crm": { "urlEnv": "CUSTOS_BANK_CRM_URL" } } } } }
 * ```
 *
 * `retentionIntervalMinutes` (per org, 1-10,080) runs the retention schedule of its systems
 * (connectors/retention.ts); absent, none runs.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { NodeError } from '../errors.js';
import { readBoundedFile } from '../files.js';
import type { OrgService } from '../orgs/org-service.js';
import type { Connector } from './connector.js';
import { DataMapError, dataMapDigest, MAX_DATAMAP_BYTES, parseDataMap } from './datamap.js';
import { HttpConnector } from './http.js';
import { PostgresConnector } from './postgres.js';
import { VaultConnector } from './vault-connector.js';

export const CONNECTORS_FILE = 'connectors.json';
const MAX_CONFIG_BYTES = 64 * 1024;

const ConnectorsConfig = Type.Object(
  {
    orgs: Type.Record(
      Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' }),
      Type.Object(
        {
          datamap: Type.String({ minLength: 1, maxLength: 1024 }),
          // The retention schedule of the org's systems (connectors/retention.ts): off when absent.
          retentionIntervalMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
          systems: Type.Optional(
            Type.Record(
              Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
              Type.Object(
                {
                  urlEnv: Type.Optional(Type.String({ pattern: '^[A-Z_][A-Z0-9_]{0,63}$' })),
                  endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
                },
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
type ConnectorsConfig = Static<typeof ConnectorsConfig>;

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', `${CONNECTORS_FILE}: ${message}`);
}

/**
 * Builds and registers on `orgs` the connectors `<home>/connectors.json` names; returns, by org, the
 * digest of the map file each runs with (the peer logs it; compare it with the map in force).
 */
export function loadConnectors(
  home: string,
  orgs: OrgService,
  env: NodeJS.ProcessEnv = process.env,
): Map<string, { digest: string; systems: string[]; retentionIntervalMinutes?: number }> {
  const out = new Map<string, { digest: string; systems: string[]; retentionIntervalMinutes?: number }>();
  const path = join(home, CONNECTORS_FILE);
  if (!existsSync(path)) return out;
  let doc: unknown;
  try {
    doc = JSON.parse(
      readBoundedFile(path, { what: 'the connectors configuration', maxBytes: MAX_CONFIG_BYTES }).toString('utf8'),
    );
  } catch (e) {
    if (e instanceof NodeError) throw e;
    throw bad('expected JSON');
  }
  const first = Value.Errors(ConnectorsConfig, doc).First();
  if (first !== undefined) throw bad(`${first.path || '(the document)'}: ${first.message.toLowerCase()}`);
  const config = doc as ConnectorsConfig;
  for (const [org, c] of Object.entries(config.orgs)) {
    if (!orgs.localOrgs().includes(org)) throw bad(`this peer does not hold the keys of org '${org}'`);
    const file = isAbsolute(c.datamap) ? c.datamap : join(home, c.datamap);
    let map: ReturnType<typeof parseDataMap>;
    try {
      map = parseDataMap(
        readBoundedFile(file, { what: 'a data map (JSON)', maxBytes: MAX_DATAMAP_BYTES }).toString('utf8'),
      );
    } catch (e) {
      if (e instanceof DataMapError) throw bad(`the data map of ${org} is not valid:\n${e.message}`);
      throw e;
    }
    if (map.org !== org) throw bad(`the data map ${c.datamap} is org '${map.org}''s, not '${org}''s`);
    const connectors: Connector[] = map.systems.map((s) => {
      if (s.kind === 'vault') return new VaultConnector(s.id, orgs, org);
      if (s.kind === 'http') {
        const endpoint = c.systems?.[s.id]?.endpoint;
        if (endpoint === undefined)
          throw bad(`expected orgs.${org}.systems.${s.id}.endpoint for the HTTP system '${s.id}'`);
        return new HttpConnector({
          system: s.id,
          endpoint,
          tables: s.tables ?? [],
          signer: orgs.signerOf(org)!,
          timeoutMs: 5_000,
        });
      }
      const urlEnv = c.systems?.[s.id]?.urlEnv;
      if (urlEnv === undefined)
        throw bad(`expected orgs.${org}.systems.${s.id}.urlEnv for the PostgreSQL system '${s.id}'`);
      const url = env[urlEnv];
      if (url === undefined || url.length === 0)
        throw bad(`the variable ${urlEnv} (system '${s.id}' of ${org}) is not set`);
      // Short enough that an API run with its retries answers within the request timeout (30 s).
      return new PostgresConnector({
        system: s.id,
        url,
        tables: s.tables ?? [],
        connectTimeoutMs: 5_000,
        statementTimeoutMs: 20_000,
      });
    });
    orgs.setConnectors(org, connectors);
    out.set(org, {
      digest: dataMapDigest(map),
      systems: map.systems.map((s) => s.id),
      ...(c.retentionIntervalMinutes === undefined ? {} : { retentionIntervalMinutes: c.retentionIntervalMinutes }),
    });
  }
  return out;
}
