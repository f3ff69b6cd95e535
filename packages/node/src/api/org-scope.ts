/**
 * What the `/v1/orgs/:org/...` routes share: their path parameters, who may call them and how that
 * reads in the OpenAPI document, and the one check that the org in the path is one whose keys and
 * vaults this node holds (a `preHandler` of the plugin that holds them all, `routes-orgs.ts`).
 */

import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';
import { TOKEN_ID_PATTERN } from '../orgs/tokens.js';
import { guard, orgMember } from './auth/guard.js';
import { problem, sendProblem } from './problem.js';
import { closed, hex64, orgId } from './schema-atoms.js';

/** Options of every org-scoped route plugin. */
export interface OrgRouteOptions {
  orgs: OrgService;
}

export const ORG_PARAMS = closed({ org: orgId() });
export const ORG_ID_PARAMS = closed({ org: orgId(), id: hex64() });
export const TOKEN_PARAMS = closed({ org: orgId(), id: Type.String({ pattern: TOKEN_ID_PATTERN }) });

/** Problems every org-authenticated route can answer, for the OpenAPI document. */
export const ORG_AUTH_PROBLEMS = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SIGNATURE_EXPIRED',
  'REPLAYED_REQUEST',
  'NOT_FOUND',
] as const;

/** The route config of an org route: its problems, for the OpenAPI document. */
export const ORG_CONFIG = { problems: ORG_AUTH_PROBLEMS };

const ORG_KEY = 'a current member key of the org';

/**
 * The authentication hooks of the org routes: `member` (a member key, or a token with `read` for
 * GET and `write` otherwise), `governor` (proposing and voting change who runs the chain: a
 * `write` token is not enough, trust #11) and `keyHolder` (member keys only: a leaked token cannot
 * mint more).
 */
export function orgGuards(node: CustosNode) {
  return {
    member: guard(node, { tokens: true, authorize: orgMember(), signer: ORG_KEY }),
    governor: guard(node, { tokens: true, authorize: orgMember({ scope: 'governance' }), signer: ORG_KEY }),
    keyHolder: guard(node, { tokens: false, authorize: orgMember({ keysOnly: true }), signer: ORG_KEY }),
  };
}

/** Tags and words of a route open to member keys and API tokens of the org. */
export const orgDoc = (summary: string, description: string) => ({
  tags: ['organizations'],
  summary,
  description: `${description} Signed (RFC 9421) by a member key of the org, or \`Authorization: Bearer\` with an API token of the org (\`read\` for GET, \`write\` otherwise).`,
});

/** Tags and words of a route open to member keys only. */
export const keyHolderDoc = (summary: string, description: string) => ({
  tags: ['organizations'],
  summary,
  description: `${description} Signed (RFC 9421) by a current member key of the org; API tokens are not accepted here.`,
});

/** The preHandler of every org route: 404 unless this node holds the keys of the org in the path. */
export function localOrgCheck(orgs: OrgService) {
  return async (request: FastifyRequest<{ Params: { org: string } }>, reply: FastifyReply) => {
    const { org } = request.params;
    if (!orgs.localOrgs().includes(org)) {
      return sendProblem(reply, problem('NOT_FOUND', `this node does not hold the keys of org '${org}'`));
    }
    return undefined;
  };
}
