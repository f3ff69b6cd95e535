/**
 * Linking a customer's pseudonym to their account at the org, under `/v1/orgs/:org/links`
 * (docs/customer-data.md, "Linking an account"): the org asks for a one-time challenge for one of
 * its accounts, hands it to the customer (its app, its website), the customer's wallet signs it
 * with the pairwise key, and the org's node checks the signature and keeps the binding, off the
 * ledger. No one pastes a pseudonym; no account id reaches the ledger, a log or an error.
 */
import { Type } from '@sinclair/typebox';
import { NodeError } from '../errors.js';
import { ACCOUNT_PATTERN, accountLinksOf, CHALLENGE_PATTERN } from '../orgs/account-links.js';
import { ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgDoc, orgGuards } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, did, orgId } from './schema-atoms.js';

export const ACCOUNT = Type.String({
  pattern: ACCOUNT_PATTERN,
  description: "The customer's account id in the org's own systems (1-128 characters); never on the ledger.",
});
const CHALLENGE = Type.String({
  pattern: CHALLENGE_PATTERN,
  description: 'A one-time challenge: 32 random bytes, base64url.',
});
const SIGNATURE = Type.String({
  pattern: '^[A-Za-z0-9_-]{86}$',
  description: 'Ed25519 signature (base64url) by the pseudonym over `linkMessage({chainId, org, subject, challenge})`.',
});

export const orgLinkRoutes: RoutePlugin<OrgRouteOptions> = async (app) => {
  const node = app.custos;
  const { member } = orgGuards(node);
  const links = accountLinksOf(node);

  app.post(
    '/links/challenge',
    {
      ...member,
      schema: {
        ...orgDoc(
          'A challenge to link a customer account',
          "A one-time challenge for one of the org's accounts, good for 10 minutes and once: hand it to the customer, whose wallet signs it with their pseudonym towards the org (`POST /v1/orgs/:org/links`).",
        ),
        params: ORG_PARAMS,
        body: closed({ account: ACCOUNT }),
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const { org } = request.params;
      const issued = links.issue(org, request.body.account, Date.now());
      return reply.code(201).send({ org, chainId: node.chainId, ...issued });
    },
  );

  app.post(
    '/links',
    {
      bodyLimit: 1024,
      schema: {
        tags: ['organizations'],
        summary: "Answer a link challenge with the customer's wallet",
        description:
          "The customer's wallet proves the pseudonym is theirs: its signature over the org's challenge (`linkMessage` of `@custos/protocol/consent`). Needs no credentials: the challenge is the org's, spent on the first answer, and the signature the pseudonym's. Refused: a challenge unknown at this org or already used (404), expired (409), a signature that does not verify (400). The answer never names the account.",
        params: closed({ org: orgId() }),
        body: closed({ challenge: CHALLENGE, subject: did(), signature: SIGNATURE }),
      },
      config: { problems: ['NOT_FOUND', 'CONFLICT', 'BAD_SIGNATURE'] },
    },
    async (request, reply) => {
      const { org } = request.params;
      const { challenge, subject, signature } = request.body;
      const link = links.answer(org, challenge, subject, signature, Date.now());
      return reply.code(201).send({ org, subject: link.subject, linkedAt: link.linkedAt });
    },
  );

  app.get(
    '/links/:account',
    {
      ...member,
      schema: {
        ...orgDoc(
          'The pseudonym linked to an account',
          "The customer's pseudonym towards the org, linked to this account by a signed challenge.",
        ),
        params: closed({ org: orgId(), account: ACCOUNT }),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const { org, account } = request.params;
      const link = links.byAccount(org, account);
      if (link === undefined) throw new NodeError('NOT_FOUND', 'no pseudonym is linked to this account yet');
      return link;
    },
  );
};
