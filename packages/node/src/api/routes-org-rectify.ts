/**
 * The customer as the source of their data (issue 17, ADR 0018), the org's side, under
 * `/v1/orgs/:org`: its HPKE key (published on the ledger, rotated by a member key), and the corrections
 * and flags sent to it, with their deadlines, to correct or explain. The inbox is in
 * `routes-rectify-inbox.ts` (served by every peer, not only the org's). These routes carry personal
 * data in: never log or echo a value or an envelope.
 */
import type { JsonValue } from '@custos/protocol/jcs';
import { EXPLAIN_REASONS, EXTEND_REASONS, isRectificationOverdue } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
import { runCorrection } from '../connectors/correction-run.js';
import { correctionStepsView } from '../connectors/correction-steps-view.js';
import { rectifyServiceOf } from '../orgs/rectify-service.js';
import { limitOf, pageQuery } from './org-pages.js';
import {
  keyHolderDoc,
  ORG_CONFIG,
  ORG_ID_PARAMS,
  ORG_PARAMS,
  type OrgRouteOptions,
  orgDoc,
  orgGuards,
} from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, HEX64_PATTERN, stringEnum } from './schema-atoms.js';

export const orgRectifyRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { member, keyHolder } = orgGuards(node);
  const service = rectifyServiceOf(node, orgs);

  app.get(
    '/hpke',
    {
      ...member,
      schema: {
        ...orgDoc('HPKE key', "The org's HPKE key in force on the ledger and the key ids this node holds."),
        params: ORG_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org } = request.params;
      return { published: service.publishedKey(org) ?? null, held: service.heldKeys(org) };
    },
  );

  app.post(
    '/hpke/rotate',
    {
      ...keyHolder,
      schema: {
        ...keyHolderDoc(
          'Rotate the HPKE key',
          'Makes a new X25519 key pair, keeps the private key wrapped by the org KMS and publishes the public key (`hpke.setKey`). Older keys stay, so corrections sealed to them still open.',
        ),
        params: ORG_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const r = await service.rotateKey(request.params.org);
      return reply.code(r.result.code === 'OK' ? 201 : 409).send({ kid: r.kid, key: r.key, ...r.result });
    },
  );

  app.get(
    '/rectifications',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Corrections and flags',
          "The customers' corrections and flags sent to the org (ledger state, no values), in id order, each with its deadline and whether it is overdue.",
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(HEX64_PATTERN),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org } = request.params;
      const limit = limitOf(request.query.limit);
      const head = node.latest();
      const rows = service.list(org, request.query.after, limit + 1);
      const items = rows.slice(0, limit).map((r) => ({ ...r, overdue: isRectificationOverdue(r, head.time) }));
      return { height: head.height, items, next: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null };
    },
  );

  app.post(
    '/rectifications/:id/explain',
    {
      ...member,
      schema: {
        ...orgDoc('Explain', 'Keeps the record as it is, for a reason code (`rectify.explain`).'),
        params: ORG_ID_PARAMS,
        body: closed({ reason: stringEnum(EXPLAIN_REASONS) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return service.explain(org, id, request.body.reason);
    },
  );

  app.post(
    '/rectifications/:id/extend',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Extend the deadline',
          "Extends the item's deadline once, before it passes, for a reason code (`rectify.extend`; GDPR Art. 12(3): to three months from receipt; CCPA 1798.130: to 90 days). The customer sees the reason.",
        ),
        params: ORG_ID_PARAMS,
        body: closed({ reason: stringEnum(EXTEND_REASONS) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return service.extend(org, id, request.body.reason);
    },
  );

  app.post(
    '/rectifications/:id/correct',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Correct a flagged record',
          'Writes the corrected value into the vault and commits `rectify.apply` with the new commitment.',
        ),
        params: ORG_ID_PARAMS,
        body: closed({ value: Type.Unsafe<JsonValue>({}) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return service.correct(org, id, request.body.value);
    },
  );

  app.get(
    '/rectifications/:id/steps',
    {
      ...member,
      schema: {
        ...orgDoc(
          "A correction's steps in the org's systems",
          "For each system `rectify.apply` named (the systems of the data map in force that hold the record's category), the recorded step (`rectify.step`: outcome `done` or `failed`, rows, salted digest of the rows as they were, error code, failures, time, txId) or `pending`, with a failed step's message as this node kept it (systems, tables, SQLSTATEs: never a value); how many are complete (`complete` of `systems`); and the item's legal deadline with `overdue` (pending past it), `late` (applied, not yet done everywhere, past it) and `paused` (a failed step waits for a re-run). `now` is the latest block time.",
        ),
        params: ORG_ID_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      return correctionStepsView(orgs, org, id, node.latest().time);
    },
  );

  app.post(
    '/rectifications/:id/run',
    {
      ...member,
      schema: {
        ...orgDoc(
          'Run a correction in the org systems again',
          "Runs the steps of an applied correction not yet done (failed, or never recorded after a crash) in the org's systems, through this node's connectors: the value from the vault into each mapped field of the record's category, each step retried with backoff (`attempts`, default 3) and recorded with `rectify.step`. A step already done is skipped. An item not applied, or applied without systems, is `BAD_REQUEST`.",
        ),
        params: ORG_ID_PARAMS,
        body: closed({ attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const { attempts } = request.body;
      return runCorrection(orgs, org, id, attempts === undefined ? {} : { attempts });
    },
  );
};
