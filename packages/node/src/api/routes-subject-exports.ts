/**
 * The customer's download of their data export (ADR 0021): `GET /v1/subjects/:did/exports/:request`,
 * signed (RFC 9421) by the pseudonym's own key, served by any member's peer. The node holding the
 * org's vault hands it over itself; another member's peer fetches it from that node
 * (`GET /v1/orgs/:org/exports/:request`, `orgs/export-relay.ts`) and passes it on without keeping
 * it. The envelope is sealed to that pseudonym, so a node only ever handles a ciphertext; it is
 * deleted as it is read at the org's node, or, when relayed, once the customer confirms their
 * download (`DELETE`, relayed the same way), or after 30 days. Never log an envelope.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NodeError } from '../errors.js';
import { ExportRelay } from '../orgs/export-relay.js';
import { exportServiceOf } from '../orgs/export-service.js';
import { checkForwardedSignature, forwardedSignatureOf } from './auth/forwarded-signature.js';
import { anyMember, guard, subjectOnly } from './auth/guard.js';
import type { OrgRouteOptions } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { SUBJECT_AUTH_PROBLEMS } from './routes-subject.js';
import { closed, did, hex64, orgId } from './schema-atoms.js';

export interface SubjectExportOptions extends OrgRouteOptions {
  /** The other peers' HTTP APIs, where the node of an org this node does not hold is found. */
  peers?: readonly string[];
}

export const subjectExportRoutes: RoutePlugin<SubjectExportOptions> = async (app, { orgs, peers = [] }) => {
  const node = app.custos;
  const relay = new ExportRelay(node, orgs, { peers });
  /** A call to the org's node through the relay: an unreachable node asks the customer to retry. */
  const relayed = async <T>(reply: FastifyReply, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      if ((e as { code?: string }).code === 'NODE_UNREACHABLE') reply.header('Retry-After', '30');
      throw e;
    }
  };
  /** On the org's node: the subject whose own signature of `method` on their export came forwarded. */
  const forwardedSubject = (
    request: FastifyRequest,
    org: string,
    id: string,
    method: 'GET' | 'DELETE' = 'GET',
  ): string => {
    if (!orgs.localOrgs().includes(org)) {
      throw new NodeError('NOT_FOUND', `this node does not hold the keys of org '${org}'`);
    }
    return checkForwardedSignature(node, request, org, id, method);
  };
  app.get(
    '/v1/subjects/:did/exports/:request',
    {
      ...guard(node, { tokens: false, authorize: subjectOnly('did'), signer: "the subject's key" }),
      schema: {
        tags: ['customers'],
        summary: 'Download the data export of a request',
        description:
          "The export an org's node sealed when it fulfilled the subject's access or export request: the values of its vault, HPKE-sealed to the customer's pairwise key (`envelope`), the SHA-256 `request.fulfil` committed to (`digest`) and the number of records. Signed by the subject's key (RFC 9421, keyid = the did in the path). Any member's peer serves it: with `org` naming an org whose node is another peer, this peer fetches it from that node over the peers' channel (signed by its member key, forwarding the subject's signature), checks it against the committed digest and passes it on without keeping it; `NODE_UNREACHABLE` (503, retryable, nothing consumed) when that node cannot be reached. The org's node deletes the export as it serves it to the subject directly; relayed, it keeps it until the subject confirms their download (`DELETE` on this path) or it expires 30 days after it was sealed (`NOT_FOUND` then), so a relay that failed can be retried through any peer. The wallet opens it and checks each value against its commitment on the ledger.",
        params: closed({ did: did(), request: hex64() }),
        querystring: closed({
          org: Type.Optional(
            orgId({ description: "The org that answered the request; needed on another member's peer." }),
          ),
        }),
      },
      config: { problems: [...SUBJECT_AUTH_PROBLEMS, 'NOT_FOUND', 'NODE_UNREACHABLE', 'BAD_CIPHERTEXT'] },
    },
    async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      const { did: subject, request: id } = request.params;
      const org = request.query.org;
      if (org === undefined || orgs.localOrgs().includes(org)) return exportServiceOf(orgs).download(subject, id);
      return relayed(reply, () => relay.fetch(org, subject, id, forwardedSignatureOf(request)));
    },
  );

  app.get(
    '/v1/orgs/:org/exports/:request',
    {
      ...guard(node, { tokens: false, authorize: anyMember(), signer: 'a current member key of the consortium' }),
      schema: {
        tags: ['organizations'],
        summary: "Fetch a customer's data export for them",
        description: `For another member's peer the customer asked: the export of the org's request, as \`GET /v1/subjects/{did}/exports/{request}\` serves it; the org's node keeps it until the customer confirms their download (\`DELETE\` on this path) or it expires. Signed (RFC 9421) by a current member key of any org of the consortium (API tokens are not accepted), and carrying the customer's own signature of their download, forwarded as it came: \`custos-subject-signature-input\`, \`custos-subject-signature\` and \`custos-subject-target\` (the URL they signed). That signature must verify within its window, be by the subject of the request, be for their download of this request, and not have been used here before. Served only by the node holding the org's keys (404 elsewhere).`,
        params: closed({ org: orgId(), request: hex64() }),
      },
      config: {
        problems: [
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'SIGNATURE_EXPIRED',
          'REPLAYED_REQUEST',
          'NOT_FOUND',
          'RATE_LIMITED',
        ],
      },
    },
    async (request, reply) => {
      const { org, request: id } = request.params;
      const subject = forwardedSubject(request, org, id);
      reply.header('Cache-Control', 'no-store');
      return exportServiceOf(orgs).handOver(subject, id);
    },
  );

  const CONFIRMED = Type.Object({ confirmed: Type.Boolean() });
  app.delete(
    '/v1/subjects/:did/exports/:request',
    {
      ...guard(node, { tokens: false, authorize: subjectOnly('did'), signer: "the subject's key" }),
      schema: {
        tags: ['customers'],
        summary: 'Confirm the download of a data export',
        description:
          "The subject has their export, opened and checked: the org's node deletes it. Signed by the subject's key (RFC 9421, keyid = the did in the path). With `org` naming an org whose node is another peer, this peer passes the confirmation on to that node as it relays downloads (signed by its member key, forwarding the subject's signature). `confirmed: false` when no export was waiting any more (served directly, expired or confirmed before).",
        params: closed({ did: did(), request: hex64() }),
        querystring: closed({
          org: Type.Optional(
            orgId({ description: "The org that answered the request; needed on another member's peer." }),
          ),
        }),
        response: { 200: CONFIRMED },
      },
      config: { problems: [...SUBJECT_AUTH_PROBLEMS, 'NOT_FOUND', 'NODE_UNREACHABLE'] },
    },
    async (request, reply) => {
      const { did: subject, request: id } = request.params;
      const org = request.query.org;
      if (org === undefined || orgs.localOrgs().includes(org)) {
        return { confirmed: exportServiceOf(orgs).confirm(subject, id) };
      }
      return { confirmed: await relayed(reply, () => relay.confirm(org, subject, id, forwardedSignatureOf(request))) };
    },
  );

  app.delete(
    '/v1/orgs/:org/exports/:request',
    {
      ...guard(node, { tokens: false, authorize: anyMember(), signer: 'a current member key of the consortium' }),
      schema: {
        tags: ['organizations'],
        summary: "Pass on a customer's confirmation of their export's download",
        description:
          "For another member's peer the customer asked: their confirmation that they have the export of the org's request (`DELETE /v1/subjects/{did}/exports/{request}`), after which the org's node deletes it. Signed (RFC 9421) by a current member key of any org of the consortium, and carrying the customer's own signature of that `DELETE`, forwarded as for a download: it must verify within its window, be by the subject of the request, and not have been used here before. Served only by the node holding the org's keys (404 elsewhere).",
        params: closed({ org: orgId(), request: hex64() }),
        response: { 200: CONFIRMED },
      },
      config: {
        problems: [
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'SIGNATURE_EXPIRED',
          'REPLAYED_REQUEST',
          'NOT_FOUND',
          'RATE_LIMITED',
        ],
      },
    },
    async (request) => {
      const { org, request: id } = request.params;
      const subject = forwardedSubject(request, org, id, 'DELETE');
      return { confirmed: exportServiceOf(orgs).confirm(subject, id) };
    },
  );
};
