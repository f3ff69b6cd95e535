/**
 * Receipts of a consent event, signed by the org it was given to: a W3C VC (eddsa-jcs-2022), or its
 * ISO/IEC TS 27560 or Kantara CR 1.1 export. Served by a node holding the org's key.
 */

import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { consentReceipts } from '../orgs/receipts.js';
import { memberOfKey } from './auth/authenticate.js';
import { type Authorize, guard } from './auth/guard.js';
import { ORG_CONFIG, type OrgRouteOptions } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, hex64, stringEnum } from './schema-atoms.js';

/**
 * Receipts are the customer's and the org's: the subject who signed the consent event, a member
 * key of the org it was given to, or that org's token with `read`.
 */
const receiptReader: Authorize = (principal, request, node) => {
  const { txId } = request.params as { txId?: string };
  const t = typeof txId === 'string' ? node.store.getTx(txId) : null;
  const type = t?.tx?.body.type;
  if (t === null || t.tx === null || (type !== 'consent.grant' && type !== 'consent.withdraw')) {
    throw new NodeError('NOT_FOUND', `no consent event ${String(txId).slice(0, 64)}`);
  }
  const org = String(t.tx.body.args.org);
  if (principal.kind === 'signature') {
    // A guardian's withdrawal is the child's too (`subject`).
    const subject = t.tx.body.args.subject;
    if (principal.did === t.tx.body.signer || principal.did === subject || memberOfKey(node, principal.did) === org)
      return;
  } else if (principal.org === org && principal.scopes.includes('read')) {
    return;
  }
  throw new NodeError('FORBIDDEN', 'only the subject of this consent event or its org may read its receipts');
};

export const receiptRoutes: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  const node = app.custos;
  app.get(
    '/v1/receipts/:txId',
    {
      ...guard(node, {
        tokens: true,
        authorize: receiptReader,
        signer: 'the subject of the consent event or a member key of its org',
      }),
      schema: {
        tags: ['organizations'],
        summary: 'Receipts of a consent event',
        description:
          'The consent receipts of a consent.grant or consent.withdraw, signed by the org: a VC 2.0 (eddsa-jcs-2022), or its ISO/IEC TS 27560 or Kantara CR 1.1 export. Signed (RFC 9421) by the subject of the event or a member key of its org, or with a `read` API token of the org.',
        params: closed({ txId: hex64() }),
        querystring: closed({ format: Type.Optional(stringEnum(['vc', 'iso27560', 'kantara'])) }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const format = request.query.format ?? 'vc';
      return { format, receipts: consentReceipts(node, request.params.txId, (org) => orgs.signerOf(org), format) };
    },
  );
};
