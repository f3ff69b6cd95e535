/**
 * The inbox of an org's corrections (issue 17, ADR 0018), under `/v1/orgs/:org/inbox`, served by
 * every peer and not only by the org's own: a customer delivers the sealed envelope of their pending
 * `rectify.send` to the peer they talk to. The org's node applies it at once; another member's peer
 * checks it against the digest the ledger holds, keeps it and answers `RELAYED`, and the org's node
 * fetches it from there with a request signed by one of its member keys (`RectifyRelay`). These
 * routes carry sealed personal data: never log or echo an envelope.
 */
import { MAX_ENVELOPE_BYTES } from '@custos/protocol/hpke';
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { rectifyServiceOf } from '../orgs/rectify-service.js';
import { keyHolderDoc, ORG_CONFIG, ORG_ID_PARAMS, type OrgRouteOptions, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed } from './schema-atoms.js';

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

export const rectifyInboxRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  const { keyHolder } = orgGuards(node);
  const service = rectifyServiceOf(node, orgs);

  app.post(
    '/inbox/:id',
    {
      bodyLimit: MAX_ENVELOPE_BYTES + 1024,
      schema: {
        tags: ['organizations'],
        summary: "Deliver a sealed correction to the org's inbox",
        description: `The envelope of a pending \`rectify.send\` (its txId in the path) of at most ${MAX_ENVELOPE_BYTES} bytes. Accepted only if its SHA-256 is the digest the ledger holds. On the org's own node it is opened, written into the vault and acknowledged with \`rectify.apply\` (the commit is the answer); on another member's peer it is kept for the org's node to fetch (202, \`{code: "RELAYED", txId}\`). Needs no credentials: only the envelope the customer committed to is accepted, once.`,
        params: ORG_ID_PARAMS,
        body: ENVELOPE,
      },
      config: { problems: ['BAD_CIPHERTEXT', 'NOT_FOUND', 'CONFLICT', 'ERASED'] },
    },
    async (request, reply) => {
      const { org, id } = request.params;
      const r = await service.receive(org, id, request.body);
      return reply.code(r.code === 'RELAYED' ? 202 : 200).send(r);
    },
  );

  app.get(
    '/inbox/:id',
    {
      ...keyHolder,
      schema: {
        ...keyHolderDoc(
          'Fetch a relayed correction',
          "The sealed envelope of the org's pending correction `id` that a customer delivered to this peer, for the org's own node to open (it alone holds the HPKE key). 404 once the ledger closed the item or if it was not delivered here.",
        ),
        params: ORG_ID_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, id } = request.params;
      const envelope = service.relayed(org, id);
      if (envelope === undefined) throw new NodeError('NOT_FOUND', `no envelope of a pending correction ${id} here`);
      return { envelope };
    },
  );
};
