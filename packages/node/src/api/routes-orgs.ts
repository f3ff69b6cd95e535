/**
 * Company routes for the orgs whose keys and vaults this node holds: which orgs those are, consent
 * receipts, and everything under `/v1/orgs/:org` (records, requests, retention, risk, tokens, governance),
 * registered here as one plugin with that prefix and one check that the org in the path is local.
 * Every /v1/orgs/:org route needs a request signed (RFC 9421) by a current member key of that org,
 * or an API token of that org (`read` for GET, `write` otherwise); tokens themselves are managed
 * with member keys only. These routes carry personal data in and out: never log or echo a value.
 */
import { localOrgCheck, type OrgRouteOptions } from './org-scope.js';
import type { RoutePlugin } from './route-plugin.js';
import { orgGovernanceRoutes } from './routes-governance.js';
import { orgCopyRoutes } from './routes-org-copies.js';
import { orgGppRoutes } from './routes-org-gpp.js';
import { orgIncidentRoutes } from './routes-org-incidents.js';
import { orgLinkRoutes } from './routes-org-links.js';
import { orgRecordRoutes } from './routes-org-records.js';
import { orgRectifyRoutes } from './routes-org-rectify.js';
import { orgRequestRoutes } from './routes-org-requests.js';
import { orgRetentionRoutes } from './routes-org-retention.js';
import { orgRiskRoutes } from './routes-org-risk.js';
import { orgRopaRoutes } from './routes-org-ropa.js';
import { orgTokenRoutes } from './routes-org-tokens.js';
import { receiptRoutes } from './routes-receipts.js';
import { rectifyInboxRoutes } from './routes-rectify-inbox.js';
import { type SubjectExportOptions, subjectExportRoutes } from './routes-subject-exports.js';

/** The routes of one org, under `/v1/orgs/:org`: refused with 404 for an org whose keys this node does not hold. */
const orgScope: RoutePlugin<OrgRouteOptions> = async (app, { orgs }) => {
  app.addHook('preHandler', localOrgCheck(orgs));
  // Options carry only `orgs`: the prefix is this plugin's, and a child given it would add it again.
  await app.register(orgRecordRoutes, { orgs });
  await app.register(orgRequestRoutes, { orgs });
  await app.register(orgIncidentRoutes, { orgs });
  await app.register(orgCopyRoutes, { orgs });
  await app.register(orgRetentionRoutes, { orgs });
  await app.register(orgRiskRoutes, { orgs });
  await app.register(orgRopaRoutes, { orgs });
  await app.register(orgGovernanceRoutes, { orgs });
  await app.register(orgTokenRoutes, { orgs });
  await app.register(orgRectifyRoutes, { orgs });
  await app.register(orgGppRoutes, { orgs });
  await app.register(orgLinkRoutes, { orgs });
};

/** Registered only on a node started with org keys (`ServerOptions.orgs`). */
export const orgRoutes: RoutePlugin<SubjectExportOptions> = async (app, { orgs, peers = [] }) => {
  app.get(
    '/v1/orgs',
    {
      schema: {
        tags: ['organizations'],
        summary: 'Orgs served by this node',
        description: 'The member orgs whose keys and vaults this node holds. Public.',
      },
    },
    async () => ({ local: orgs.localOrgs() }),
  );
  await app.register(receiptRoutes, { orgs });
  // A customer's export: from this node's vault, or fetched from the org's node among the peers.
  await app.register(subjectExportRoutes, { orgs, peers });
  // The inbox of corrections: on every peer, for any org (another member's peer relays).
  await app.register(rectifyInboxRoutes, { orgs, prefix: '/v1/orgs/:org' });
  await app.register(orgScope, { orgs, prefix: '/v1/orgs/:org' });
};
