/**
 * The data map (issue 16, point 1): one versioned JSON file per org saying where its customer data
 * lives outside the vault. Systems (a PostgreSQL database, the vault itself), their tables, the
 * identity column that links a row to the customer's pairwise pseudonym (or to a value the vault
 * holds), and each personal field with its DPV category, purposes and retention. The file is checked
 * here (shape by its JSON Schema, then the rules a schema cannot say), summarised as coverage, and
 * reduced to a digest that `datamap.publish` records on the ledger. The map holds no personal data:
 * names of systems, tables and columns only.
 */
import { createHash } from 'node:crypto';
import { isDpvCategory, isDpvPurpose } from '@custos/protocol/consent';
import { canonicalize, type JsonValue } from '@custos/protocol/jcs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Largest data-map file accepted, in bytes. */
export const MAX_DATAMAP_BYTES = 1024 * 1024;
export const MAX_SYSTEMS = 64;
export const MAX_TABLES = 256;
export const MAX_FIELDS = 256;
/** Fields over the whole map. */
export const MAX_TOTAL_FIELDS = 10_000;
export const MAX_RETENTION_DAYS = 36_500;

export const SYSTEM_ID = /^[a-z][a-z0-9-]{0,31}$/;
export const SYSTEM_KINDS = ['postgres', 'http', 'vault'] as const;
export type SystemKind = (typeof SYSTEM_KINDS)[number];

/** A table or column name: 1-63 characters (PostgreSQL's limit), no control characters. Quoted when used. */
const NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f"]{1,63}$';
const DPV_PATTERN = '^[a-z][a-z0-9-]{0,15}:[A-Za-z][A-Za-z0-9-]{0,63}$';

const Name = Type.String({ pattern: NAME_PATTERN, description: 'a table or column name (1-63 characters)' });
const Dpv = Type.String({ pattern: DPV_PATTERN, maxLength: 80 });
const Text = Type.String({ maxLength: 500 });

const Identity = Type.Object(
  {
    field: Name,
    kind: Type.Union([Type.Literal('pseudonym'), Type.Literal('vault')]),
    category: Type.Optional(Dpv),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

const Field = Type.Object(
  {
    name: Name,
    category: Dpv,
    purposes: Type.Array(Dpv, { minItems: 1, maxItems: 16 }),
    retentionDays: Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS }),
    description: Type.Optional(Text),
    json: Type.Optional(
      Type.Literal(true, {
        description: "a JSON or JSONB column: a correction writes the whole value into it, as JSON (an object's too)",
      }),
    ),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "the key of the category's JSON-object value this column holds (e.g. street of a pd:PostalAddress)",
      }),
    ),
  },
  { additionalProperties: false },
);

const Table = Type.Object(
  {
    schema: Type.Optional(Name),
    name: Name,
    identity: Identity,
    erasure: Type.Union([Type.Literal('delete'), Type.Literal('mask')]),
    timestampField: Type.Optional(Name),
    fields: Type.Array(Field, { minItems: 1, maxItems: MAX_FIELDS }),
    description: Type.Optional(Text),
  },
  { additionalProperties: false },
);

const System = Type.Object(
  {
    id: Type.String({ pattern: SYSTEM_ID.source }),
    kind: Type.Union(SYSTEM_KINDS.map((k) => Type.Literal(k))),
    description: Type.Optional(Text),
    tables: Type.Optional(Type.Array(Table, { maxItems: MAX_TABLES })),
  },
  { additionalProperties: false },
);

/** The JSON Schema of a data-map file (TypeBox builds plain JSON Schema: `custos org datamap schema` prints it). */
export const DataMapSchema = Type.Object(
  {
    custosDataMap: Type.Literal(1),
    org: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' }),
    version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    description: Type.Optional(Text),
    systems: Type.Array(System, { minItems: 1, maxItems: MAX_SYSTEMS }),
  },
  { additionalProperties: false, $id: 'https://custos.dev/schemas/datamap-1.json' },
);

export type DataMap = Static<typeof DataMapSchema>;
export type DataMapSystem = Static<typeof System>;
export type DataMapTable = Static<typeof Table>;
export type DataMapField = Static<typeof Field>;

/** One problem in a data map: where (`systems[0].tables[1].fields[2].category`) and what was expected. */
export interface DataMapProblem {
  path: string;
  message: string;
}

export class DataMapError extends Error {
  constructor(readonly problems: DataMapProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  }
}

/** `/systems/0/tables/1/name` -> `systems[0].tables[1].name`. */
function pathOf(pointer: string): string {
  if (pointer === '') return '(the document)';
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
}

/** What a schema keyword expected, in words (TypeBox's own messages say what was found wrong). */
function expected(pointer: string, message: string, schema: { pattern?: string; description?: string }): string {
  if (schema.pattern === NAME_PATTERN) return 'expected a name of 1-63 characters without control characters or "';
  if (schema.pattern === DPV_PATTERN) return 'expected a DPV code like pd:EmailAddress or dpv:Marketing';
  if (schema.pattern === SYSTEM_ID.source)
    return 'expected a system id of 1-32 characters a-z 0-9 -, starting with a letter';
  if (pointer === '/org') return 'expected the org id (1-32 characters a-z 0-9 -)';
  return `expected ${message.charAt(0).toLowerCase()}${message.slice(1)}`;
}

/** The first problems the schema finds (at most `max`), deepest path first per location. */
function schemaProblems(doc: unknown, max: number): DataMapProblem[] {
  const out: DataMapProblem[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(DataMapSchema, doc)) {
    const path = pathOf(e.path);
    if (seen.has(path)) continue;
    seen.add(path);
    // A union's own message ("Expected union value") says less than the allowed literals.
    const literals = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf?.map((s) => s.const);
    const message = literals?.every((l) => typeof l === 'string')
      ? `expected one of ${literals.join(', ')}`
      : expected(e.path, e.message, e.schema as { pattern?: string });
    out.push({ path, message });
    if (out.length >= max) break;
  }
  return out;
}

/** The rules a JSON Schema cannot state: DPV vocabulary, unique names, identity rules, the vault. */
function ruleProblems(map: DataMap): DataMapProblem[] {
  const out: DataMapProblem[] = [];
  const ids = new Set<string>();
  let vaults = 0;
  let total = 0;
  map.systems.forEach((s, si) => {
    const at = `systems[${si}]`;
    if (ids.has(s.id)) out.push({ path: `${at}.id`, message: `expected a unique system id; '${s.id}' appears twice` });
    ids.add(s.id);
    const tables = s.tables ?? [];
    if (s.kind === 'vault') {
      vaults++;
      if (vaults > 1) out.push({ path: `${at}.kind`, message: 'expected at most one vault system' });
      if (tables.length > 0) {
        out.push({ path: `${at}.tables`, message: 'expected no tables on the vault: it holds the registered records' });
      }
      return;
    }
    if (tables.length === 0) out.push({ path: `${at}.tables`, message: `expected 1-${MAX_TABLES} tables` });
    const tableNames = new Set<string>();
    tables.forEach((t, ti) => {
      const tat = `${at}.tables[${ti}]`;
      const qualified = `${t.schema ?? 'public'}.${t.name}`;
      if (tableNames.has(qualified))
        out.push({ path: `${tat}.name`, message: `expected each table once; ${qualified} appears twice` });
      tableNames.add(qualified);
      const id = t.identity;
      if (id.kind === 'vault') {
        if (id.category === undefined || !isDpvCategory(id.category)) {
          out.push({
            path: `${tat}.identity.category`,
            message: 'expected the DPV category of the vault records holding the identity value, e.g. pd:EmailAddress',
          });
        }
      } else if (id.category !== undefined || id.key !== undefined) {
        out.push({ path: `${tat}.identity`, message: 'expected category and key only with kind "vault"' });
      }
      const fieldNames = new Set<string>([id.field]);
      if (t.timestampField !== undefined) fieldNames.add(t.timestampField);
      t.fields.forEach((f, fi) => {
        const fat = `${tat}.fields[${fi}]`;
        total++;
        if (f.name === id.field) {
          out.push({ path: `${fat}.name`, message: `expected a field other than the identity field '${id.field}'` });
        } else if (f.name === t.timestampField) {
          out.push({ path: `${fat}.name`, message: `expected a field other than the timestamp field '${f.name}'` });
        } else if (fieldNames.has(f.name)) {
          out.push({ path: `${fat}.name`, message: `expected each field once; '${f.name}' appears twice` });
        }
        fieldNames.add(f.name);
        if (!isDpvCategory(f.category)) {
          out.push({
            path: `${fat}.category`,
            message: `expected a DPV personal-data category Custos knows, like pd:EmailAddress`,
          });
        }
        f.purposes.forEach((p, pi) => {
          if (!isDpvPurpose(p)) {
            out.push({
              path: `${fat}.purposes[${pi}]`,
              message: 'expected a DPV purpose Custos knows, like dpv:Marketing',
            });
          }
        });
        if (f.json === true && f.key !== undefined) {
          out.push({
            path: `${fat}.key`,
            message: 'expected json or key, not both: a JSON column takes the whole value',
          });
        }
        if (new Set(f.purposes).size !== f.purposes.length) {
          out.push({ path: `${fat}.purposes`, message: 'expected each purpose once' });
        }
      });
    });
  });
  if (total > MAX_TOTAL_FIELDS) {
    out.push({
      path: 'systems',
      message: `expected at most ${MAX_TOTAL_FIELDS} fields in the whole map, found ${total}`,
    });
  }
  return out;
}

/**
 * Parses and checks a data-map file's text. Throws DataMapError listing up to 20 problems, each with
 * its path and what was expected; never quotes the file's content beyond names from its own structure.
 */
export function parseDataMap(text: string): DataMap {
  if (Buffer.byteLength(text, 'utf8') > MAX_DATAMAP_BYTES) {
    throw new DataMapError([{ path: '(the document)', message: `expected at most ${MAX_DATAMAP_BYTES} bytes` }]);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const where = /position \d+/.exec(String((e as Error).message))?.[0];
    throw new DataMapError([
      { path: '(the document)', message: `expected JSON${where === undefined ? '' : ` (invalid at ${where})`}` },
    ]);
  }
  const shape = schemaProblems(doc, 20);
  if (shape.length > 0) throw new DataMapError(shape);
  const map = doc as DataMap;
  const rules = ruleProblems(map);
  if (rules.length > 0) throw new DataMapError(rules.slice(0, 20));
  return map;
}

/** SHA-256 of the map's RFC 8785 canonical JSON: formatting and key order do not change it. */
export function dataMapDigest(map: DataMap): string {
  return createHash('sha256')
    .update(canonicalize(map as unknown as JsonValue))
    .digest('hex');
}

export interface DataMapCoverage {
  org: string;
  version: number;
  digest: string;
  systems: { id: string; kind: SystemKind; tables: number; fields: number; retentionByTime: number }[];
  tables: number;
  fields: number;
  /** DPV category -> how many fields hold it. */
  categories: Record<string, number>;
  /** DPV purpose -> how many fields serve it. */
  purposes: Record<string, number>;
  /** Tables without a timestamp field: retention cannot erase their rows by age. */
  withoutTimestamp: string[];
  /** Tables linked through a vault value rather than the pseudonym. */
  linkedThroughVault: string[];
}

/** What the map covers, for `custos org datamap check` and the publication's counts. */
export function dataMapCoverage(map: DataMap): DataMapCoverage {
  const categories: Record<string, number> = {};
  const purposes: Record<string, number> = {};
  const withoutTimestamp: string[] = [];
  const linkedThroughVault: string[] = [];
  let tables = 0;
  let fields = 0;
  const systems = map.systems.map((s) => {
    const ts = s.tables ?? [];
    let sf = 0;
    let byTime = 0;
    for (const t of ts) {
      const where = `${s.id}:${t.schema ?? 'public'}.${t.name}`;
      if (t.timestampField === undefined) withoutTimestamp.push(where);
      else byTime++;
      if (t.identity.kind === 'vault') linkedThroughVault.push(where);
      for (const f of t.fields) {
        sf++;
        categories[f.category] = (categories[f.category] ?? 0) + 1;
        for (const p of f.purposes) purposes[p] = (purposes[p] ?? 0) + 1;
      }
    }
    tables += ts.length;
    fields += sf;
    return { id: s.id, kind: s.kind, tables: ts.length, fields: sf, retentionByTime: byTime };
  });
  return {
    org: map.org,
    version: map.version,
    digest: dataMapDigest(map),
    systems,
    tables,
    fields,
    categories,
    purposes,
    withoutTimestamp,
    linkedThroughVault,
  };
}

/** The arguments of the `datamap.publish` transaction for a checked map: digest and counts, no names of columns. */
export function publishArgs(map: DataMap): { [k: string]: JsonValue } {
  const c = dataMapCoverage(map);
  return {
    version: map.version,
    digest: c.digest,
    systems: map.systems.map((s) => s.id),
    tables: c.tables,
    fields: c.fields,
  };
}
