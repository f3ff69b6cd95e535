/**
 * Company routes for the orgs whose keys and vaults this node holds: the data inventory, registering
 * a value (it goes to the vault; the ledger gets a commitment), using it (the vault decrypts only
 * after the ledger accepted the access), sharing, rectifying, erasing, the requests queue with legal
 * deadlines, and retention. These routes carry personal data in and out: they are served only to
 * the node's operator (loopback by default); never log or echo a value.
 */
import type { FastifyInstance } from 'fastify';
import { LAWFUL_BASES } from '../modules/data.js';
import { type DataRequest, isOverdue } from '../modules/request.js';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import { consentReceipts, type ReceiptFormat } from '../orgs/receipts.js';
import { problem, sendProblem } from './problem.js';

const ID = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const DID = { type: 'string', pattern: '^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$' };
const DPV = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,15}:[A-Za-z][A-Za-z0-9-]{0,63}$' };
const ORG_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['org'],
  properties: { org: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' } },
};
const ORG_ID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['org', 'id'],
  properties: { ...ORG_PARAMS.properties, id: ID },
};
const closed = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});

export function registerOrgRoutes(app: FastifyInstance, node: CustosNode, orgs: OrgService): void {
  const local = (org: string) => orgs.localOrgs().includes(org);
  const notLocal = (org: string) => problem('NOT_FOUND', `this node does not hold the keys of org '${org}'`);

  app.get('/v1/orgs', async () => ({ local: orgs.localOrgs() }));

  // Receipts of a consent event, signed by the org: a W3C VC (eddsa-jcs-2022), or its ISO/IEC TS 27560
  // or Kantara CR 1.1 export. Served by a node holding the org's key.
  app.get<{ Params: { txId: string }; Querystring: { format?: ReceiptFormat } }>(
    '/v1/receipts/:txId',
    {
      schema: {
        params: closed({ txId: ID }, ['txId']),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['vc', 'iso27560', 'kantara'] } },
        },
      },
    },
    async (request) => ({
      format: request.query.format ?? 'vc',
      receipts: consentReceipts(node, request.params.txId, (org) => orgs.signerOf(org), request.query.format ?? 'vc'),
    }),
  );

  app.get<{ Params: { org: string }; Querystring: { after?: string } }>(
    '/v1/orgs/:org/records',
    {
      schema: {
        params: ORG_PARAMS,
        querystring: { type: 'object', additionalProperties: false, properties: { after: ID } },
      },
    },
    async (request) => {
      const rows = node.store.listState(
        `record/${request.params.org}/`,
        request.query.after && `record/${request.params.org}/${request.query.after}`,
        200,
      );
      const now = node.latest().time;
      return {
        height: node.latest().height,
        records: rows.map((r) => {
          const rec = JSON.parse(r.value) as { retentionUntil: number; erasedAt: number | null };
          return { ...rec, pastRetention: rec.erasedAt === null && rec.retentionUntil <= now };
        }),
        next: rows.length === 200 ? (rows[rows.length - 1]!.key.split('/')[2] ?? null) : null,
      };
    },
  );

  app.post<{
    Params: { org: string };
    Body: {
      subject: string;
      category: string;
      purposes: Record<string, string>;
      source: string;
      retentionDays: number;
      value: unknown;
    };
  }>(
    '/v1/orgs/:org/records',
    {
      schema: {
        params: ORG_PARAMS,
        body: closed(
          {
            subject: DID,
            category: DPV,
            purposes: {
              type: 'object',
              minProperties: 1,
              maxProperties: 16,
              propertyNames: DPV,
              additionalProperties: { type: 'string', enum: [...LAWFUL_BASES] },
            },
            source: { type: 'string', enum: ['subject', 'public', 'third-party', 'derived'] },
            retentionDays: { type: 'integer', minimum: 1, maximum: 36500 },
            value: {},
          },
          ['subject', 'category', 'purposes', 'source', 'retentionDays', 'value'],
        ),
      },
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const b = request.body;
      const r = await orgs.register(org, {
        subject: b.subject,
        category: b.category,
        purposes: b.purposes as never,
        source: b.source as never,
        retentionDays: b.retentionDays,
        value: b.value as never,
      });
      return reply.code(r.code === 'OK' ? 201 : 409).send({ ...r });
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { purpose: string; basis: string } }>(
    '/v1/orgs/:org/records/:id/access',
    {
      schema: {
        params: ORG_ID_PARAMS,
        body: closed({ purpose: DPV, basis: { type: 'string', enum: [...LAWFUL_BASES] } }, ['purpose', 'basis']),
      },
    },
    async (request, reply) => {
      const { org, id } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const r = await orgs.access(org, id, request.body.purpose, request.body.basis as never);
      // A refused access is a recorded fact, not an error of the request: 200 with its result code.
      return reply.send(r);
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { recipient: string; purpose: string; sale: boolean } }>(
    '/v1/orgs/:org/records/:id/share',
    {
      schema: {
        params: ORG_ID_PARAMS,
        body: closed({ recipient: ORG_PARAMS.properties.org, purpose: DPV, sale: { type: 'boolean' } }, [
          'recipient',
          'purpose',
          'sale',
        ]),
      },
    },
    async (request, reply) => {
      const { org, id } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      return orgs.share(org, id, request.body.recipient, request.body.purpose, request.body.sale);
    },
  );

  app.post<{ Params: { org: string; id: string }; Body: { value: unknown } }>(
    '/v1/orgs/:org/records/:id/rectify',
    { schema: { params: ORG_ID_PARAMS, body: closed({ value: {} }, ['value']) } },
    async (request, reply) => {
      const { org, id } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      return orgs.rectify(org, id, request.body.value as never);
    },
  );

  app.post<{ Params: { org: string }; Body: { records?: string[]; subject?: string; reason: string } }>(
    '/v1/orgs/:org/erase',
    {
      schema: {
        params: ORG_PARAMS,
        body: closed(
          {
            records: { type: 'array', items: ID, minItems: 1, maxItems: 10_000 },
            subject: DID,
            reason: { type: 'string', enum: ['request', 'retention', 'consent-withdrawn', 'other'] },
          },
          ['reason'],
        ),
      },
    },
    async (request, reply) => {
      const { org } = request.params;
      if (!local(org)) return sendProblem(reply, notLocal(org));
      const { records, subject, reason } = request.body;
      if ((records === undefined) === (subject === undefined)) {
        return sendProblem(reply, problem('BAD_REQUEST', 'expected exactly one of records or subject'));
      }
      const results =
        subject !== undefined
          ? await orgs.eraseSubject(org, subject, reason === 'retention' ? 'other' : (reason as never))
          : await orgs.erase(org, records!, reason as never);
      return { results };
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/requests',
    { schema: { params: ORG_PARAMS } },
    async (request) => ({ now: node.latest().time, requests: orgs.requests(request.params.org) }),
  );

  for (const action of ['extend', 'fulfil', 'reject'] as const) {
    app.post<{ Params: { org: string; id: string }; Body: { reason?: string } }>(
      `/v1/orgs/:org/requests/:id/${action}`,
      {
        schema: {
          params: ORG_ID_PARAMS,
          body: closed(
            { reason: { type: 'string', minLength: 1, maxLength: 500 } },
            action === 'fulfil' ? [] : ['reason'],
          ),
        },
      },
      async (request, reply) => {
        const { org, id } = request.params;
        if (!local(org)) return sendProblem(reply, notLocal(org));
        return orgs.submit(org, `request.${action}`, {
          request: id,
          ...(request.body.reason === undefined ? {} : { reason: request.body.reason }),
        });
      },
    );
  }

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/retention',
    { schema: { params: ORG_PARAMS } },
    async (request) => ({
      now: node.latest().time,
      pastRetention: orgs.pastRetention(request.params.org),
    }),
  );

  // Overdue requests are visible to everyone who may see them; by default: all of them, as of the latest block.
  app.get('/v1/requests/overdue', async () => {
    const now = node.latest().time;
    const overdue: DataRequest[] = [];
    let after: string | undefined;
    for (;;) {
      const page = node.store.listState('request/', after, 500);
      for (const row of page) {
        const r = JSON.parse(row.value) as DataRequest;
        if (isOverdue(r, now)) overdue.push(r);
      }
      if (page.length < 500) break;
      after = page[page.length - 1]!.key;
    }
    return { now, overdue: overdue.sort((a, b) => a.deadline - b.deadline) };
  });
}
