/**
 * The customer as the source of their data (issue 17, ADR 0018), the org's side, under
 * `/v1/orgs/:org`: its HPKE key (published on the ledger, rotated by a member key), its inbox (a
 * customer's sealed correction, accepted only if the ledger holds its digest), and the corrections
 * and flags sent to it, with their deadlines, to correct or explain. These routes carry personal
 * data in: never log or echo a value or an envelope.
 */
import { MAX_ENVELOPE_BYTES } from '@custos/protocol/hpke';
import type { JsonValue } from '@custos/protocol/jcs';
import { EXPLAIN_REASONS, isRectificationOverdue } from '@custos/protocol/ledger';
import { Type } from '@sinclair/typebox';
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

const ENVELOPE = closed(
  {
    v: Type.Literal(1),
    kid: Type.String({ pattern: '^[0-9a-f]{16}$', description: "Id of the org's HPKE key it was sealed to." }),
    enc: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'The encapsulated key, base64url.' }),
    ct: Type.String({
      pattern: '^[A-Za-z0-9_-]+$',
      minLength: 22,
      maxLength: Math.floor((MAX_ENVELOPE_BYTES * 4) / 3),
      description: 'The ciphertext, base64url.',
    }),
  },
  { description: 'An HPKE envelope (RFC 9180), as `sealRectification` makes it.' },
);

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

  app.post(
    '/inbox/:id',
    {
      bodyLimit: MAX_ENVELOPE_BYTES + 1024,
      schema: {
        tags: ['organizations'],
        summary: "Deliver a sealed correction to the org's inbox",
        description: `The envelope of a pending \`rectify.send\` (its txId in the path) of at most ${MAX_ENVELOPE_BYTES} bytes. Accepted only if its SHA-256 is the digest the ledger holds; the org's node opens it, writes the value into its vault and commits \`rectify.apply\`. Needs no credentials: only the envelope the customer committed to is accepted, once.`,
        params: ORG_ID_PARAMS,
        body: ENVELOPE,
      },
      config: { problems: ['BAD_CIPHERTEXT', 'NOT_FOUND', 'CONFLICT', 'ERASED'] },
    },
    async (request) => {
      const { org, id } = request.params;
      return service.receive(org, id, request.body);
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
};
