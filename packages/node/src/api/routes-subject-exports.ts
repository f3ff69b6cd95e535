/**
 * The customer's download of their data export (ADR 0021): `GET /v1/subjects/:did/exports/:request`,
 * signed (RFC 9421) by the pseudonym's own key, served by the node holding the org's vault. The
 * envelope is sealed to that pseudonym, so the node hands over a ciphertext only; it is deleted as
 * it is read, or after 30 days.
 */
import { exportServiceOf } from '../orgs/export-service.js';
import { guard, subjectOnly } from './auth/guard.js';
import type { OrgRouteOptions } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { SUBJECT_AUTH_PROBLEMS } from './routes-subject.js';
import { closed, did, hex64 } from './schema-atoms.js';

export const subjectExportRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  app.get(
    '/v1/subjects/:did/exports/:request',
    {
      ...guard(node, { tokens: false, authorize: subjectOnly('did'), signer: "the subject's key" }),
      schema: {
        tags: ['customers'],
        summary: 'Download the data export of a request',
        description:
          "The export an org's node sealed when it fulfilled the subject's access or export request: the values of its vault, HPKE-sealed to the customer's pairwise key (`envelope`), the SHA-256 `request.fulfil` committed to (`digest`) and the number of records. Signed by the subject's key (RFC 9421, keyid = the did in the path). Served once: the export is deleted as it is read, or 30 days after it was sealed (`NOT_FOUND` then). The wallet opens it and checks each value against its commitment on the ledger.",
        params: closed({ did: did(), request: hex64() }),
      },
      config: { problems: [...SUBJECT_AUTH_PROBLEMS, 'NOT_FOUND'] },
    },
    async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      return exportServiceOf(orgs).download(request.params.did, request.params.request);
    },
  );
};
