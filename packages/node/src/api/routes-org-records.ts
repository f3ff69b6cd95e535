/**
 * The org's records: the data inventory, registering a value (it goes to the vault; the ledger gets
 * a salted commitment), using it (the vault decrypts only after the ledger accepted the access),
 * sharing, rectifying and erasing. Registered under `/v1/orgs/:org` (`routes-orgs.ts`). These
 * routes carry personal data in and out: never log or echo a value.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { ART9_CONDITIONS } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { type DataRecord, LAWFUL_BASES, type LawfulBasis } from '../modules/data.js';
import { accountLinksOf } from '../orgs/account-links.js';
import { limitOf, pageQuery } from './org-pages.js';
import { ORG_CONFIG, ORG_ID_PARAMS, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { ACCOUNT } from './routes-org-links.js';
import { closed, did, dpvTerm, HEX64_PATTERN, hex64, orgId, stringEnum } from './schema-atoms.js';

/** Any JSON value: the vault stores it as is. */
const VALUE = Type.Unsafe<JsonValue>({});
const LAWFUL_BASIS = stringEnum(LAWFUL_BASES);

const REGISTER_BODY = closed({
  /** The customer's pseudonym towards the org; or `account`, linked to one by a signed challenge. */
  subject: Type.Optional(did()),
  account: Type.Optional(ACCOUNT),
  category: dpvTerm(),
  purposes: Type.Unsafe<Record<string, LawfulBasis>>({
    type: 'object',
    minProperties: 1,
    maxProperties: 16,
    propertyNames: dpvTerm(),
    additionalProperties: LAWFUL_BASIS,
  }),
  source: stringEnum(['subject', 'public', 'third-party', 'derived']),
  retentionDays: Type.Integer({ minimum: 1, maximum: 36500 }),
  value: VALUE,
  /** A special category on a basis other than consent: its GDPR Art. 9(2) condition. */
  condition: Type.Optional(stringEnum(ART9_CONDITIONS)),
  /** Purposes served by solely automated decisions with legal or similar effects (GDPR Art. 22). */
  automated: Type.Optional(Type.Array(dpvTerm(), { minItems: 1, maxItems: 16, uniqueItems: true })),
  /** A copy received through a share to this org: the shared record (its source then reads `shared:<org>`). */
  sourceRecord: Type.Optional(closed({ org: orgId(), id: hex64() })),
});

const ERASE_BODY = closed({
  records: Type.Optional(Type.Array(hex64(), { minItems: 1, maxItems: 10_000 })),
  subject: Type.Optional(did()),
  reason: stringEnum(['request', 'retention', 'consent-withdrawn', 'other']),
});

export const orgRecordRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member } = orgGuards(node);

  app.get(
    '/records',
    {
      ...member,
      schema: {
        ...orgDoc('Records the org holds', "A page of the org's data records (ledger state, no values), in id order."),
        params: ORG_PARAMS,
        querystring: pageQuery(HEX64_PATTERN),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org } = request.params;
      const limit = limitOf(request.query.limit);
      const head = node.latest();
      const rows = node.store.listState(
        `record/${org}/`,
        request.query.after && `record/${org}/${request.query.after}`,
        limit + 1,
      );
      const records = rows.slice(0, limit).map((r) => {
        const rec = JSON.parse(r.value) as DataRecord;
        return { ...rec, pastRetention: rec.erasedAt === null && rec.retentionUntil <= head.time };
      });
      return {
        height: head.height,
        records,
        next: rows.length > limit ? (records[records.length - 1]?.id ?? null) : null,
      };
    },
  );

  app.post(
    '/records',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Register a value',
          "Stores the value in the org vault and registers its salted commitment on the ledger. The customer is `subject` (their pseudonym towards the org) or `account` (the org's account id, which a signed challenge linked to the pseudonym: `/links`); exactly one.",
        ),
        params: ORG_PARAMS,
        body: REGISTER_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const { org } = request.params;
      const { account, subject, ...rest } = request.body;
      if ((account === undefined) === (subject === undefined)) {
        return sendProblem(reply, problem('BAD_REQUEST', 'expected exactly one of subject or account'));
      }
      const linked = account === undefined ? subject : accountLinksOf(node).byAccount(org, account)?.subject;
      if (linked === undefined) {
        return sendProblem(
          reply,
          problem('NOT_FOUND', 'no pseudonym is linked to this account: link it with a challenge first'),
        );
      }
      const r = await orgs.register(org, { ...rest, subject: linked });
      return reply.code(r.code === 'OK' ? 201 : 409).send({ ...r });
    },
  );

  app.post(
    '/records/:id/access',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Use a record',
          'Records the access on the ledger and returns the value only if the ledger accepted it.',
        ),
        params: ORG_ID_PARAMS,
        body: closed({ purpose: dpvTerm(), basis: LAWFUL_BASIS }),
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const { org, id } = request.params;
      const r = await orgs.access(org, id, request.body.purpose, request.body.basis);
      // A refused access is a recorded fact, not an error of the request: 200 with its result code.
      return reply.send(r);
    },
  );

  app.post(
    '/records/:id/share',
    {
      ...member,
      schema: {
        ...orgDoc('Share a record', 'Records a share with another member (needs share or sale permission).'),
        params: ORG_ID_PARAMS,
        body: closed({ recipient: orgId(), purpose: dpvTerm(), sale: Type.Boolean() }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return orgs.share(org, id, request.body.recipient, request.body.purpose, request.body.sale);
    },
  );

  app.post(
    '/records/:id/rectify',
    {
      ...member,
      schema: {
        ...orgDoc('Rectify a record', 'Replaces the value in the vault and its commitment on the ledger.'),
        params: ORG_ID_PARAMS,
        body: closed({ value: VALUE }),
      },
      config: ORG_CONFIG,
    },
    async (request) => orgs.rectify(request.params.org, request.params.id, request.body.value),
  );

  app.post(
    '/erase',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Erase records',
          'Crypto-shreds records (or everything on a subject) in the vault, then records the erasure.',
        ),
        params: ORG_PARAMS,
        body: ERASE_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const { org } = request.params;
      const { records, subject, reason } = request.body;
      if (subject !== undefined && records === undefined) {
        // An erasure of everything on a subject takes no 'retention' reason: it is recorded as 'other'.
        return { results: await orgs.eraseSubject(org, subject, reason === 'retention' ? 'other' : reason) };
      }
      if (records !== undefined && subject === undefined) return { results: await orgs.erase(org, records, reason) };
      return sendProblem(reply, problem('BAD_REQUEST', 'expected exactly one of records or subject'));
    },
  );
};
