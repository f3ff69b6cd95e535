/**
 * The org's API tokens: issued, listed and revoked with a member key only (a leaked token cannot
 * mint more), registered under `/v1/orgs/:org`. A token's secret is shown once, when issued.
 */
import { Type } from '@sinclair/typebox';
import { cursorOf, MAX_TOKEN_TTL_DAYS, TOKEN_SCOPES, tokenStoreOf } from '../orgs/tokens.js';
import { principalOf } from './auth/guard.js';
import { limitOf, pageQuery } from './org-pages.js';
import { keyHolderDoc, ORG_CONFIG, ORG_PARAMS, type OrgRouteOptions, orgGuards, TOKEN_PARAMS } from './org-scope.js';
import { problem, sendProblem } from './problem.js';
import type { RoutePlugin } from './route-plugin.js';
import { closed, stringEnum } from './schema-atoms.js';

const TOKENS_CURSOR = '^[0-9]{1,15}\\.[0-9a-f]{16}$';

const ISSUE_BODY = closed({
  scopes: Type.Array(stringEnum(TOKEN_SCOPES), { minItems: 1, maxItems: TOKEN_SCOPES.length, uniqueItems: true }),
  ttlDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOKEN_TTL_DAYS })),
  label: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x20-\\x7e]+$' })),
});

export const orgTokenRoutes: RoutePlugin<OrgRouteOptions> = async (app) => {
  const node = app.custos;
  const { keyHolder } = orgGuards(node);

  app.post(
    '/tokens',
    {
      ...keyHolder,
      schema: {
        ...keyHolderDoc(
          'Issue an API token',
          'Creates a bearer token for the org with scopes `read` and/or `write`, valid `ttlDays` (default 90). The answer holds the token: the only time it is shown; the node keeps its SHA-256.',
        ),
        params: ORG_PARAMS,
        body: ISSUE_BODY,
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { scopes, ttlDays, label } = request.body;
      const { token, info } = tokenStoreOf(node).create(request.params.org, {
        scopes,
        createdBy: principal?.kind === 'signature' ? principal.did : 'unknown',
        ...(ttlDays === undefined ? {} : { ttlDays }),
        ...(label === undefined ? {} : { label }),
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ token, ...info });
    },
  );

  app.get(
    '/tokens',
    {
      ...keyHolder,
      schema: {
        ...keyHolderDoc(
          'API tokens of the org',
          'A page of the org tokens, oldest first, revoked and expired ones included; never their secrets.',
        ),
        params: ORG_PARAMS,
        querystring: pageQuery(TOKENS_CURSOR),
      },
      config: ORG_CONFIG,
    },
    async (request) => {
      const limit = limitOf(request.query.limit);
      const rows = tokenStoreOf(node).list(request.params.org, request.query.after, limit + 1);
      const tokens = rows.slice(0, limit);
      const last = tokens[tokens.length - 1];
      return { tokens, next: rows.length > limit && last !== undefined ? cursorOf(last) : null };
    },
  );

  app.delete(
    '/tokens/:id',
    {
      ...keyHolder,
      schema: {
        ...keyHolderDoc('Revoke an API token', 'Revokes the token at once; it stays listed with its `revokedAt`.'),
        params: TOKEN_PARAMS,
      },
      config: ORG_CONFIG,
    },
    async (request, reply) => {
      const { org, id } = request.params;
      const t = tokenStoreOf(node).revoke(org, id);
      if (t === undefined) return sendProblem(reply, problem('NOT_FOUND', `org '${org}' has no API token ${id}`));
      return t;
    },
  );
};
