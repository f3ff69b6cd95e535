/**
 * The member profiles of the demo orgs and of the test fixtures' orgs, in one place: a company's
 * facts (example.com-style names, a role address for the DPO, the regions where its peers run, the
 * digest of the demo's joint-controller arrangement). `custos demo` sets them with `profile.set`
 * before it records customer data; test fixtures put them in their genesis.
 */
import { createHash } from 'node:crypto';
import type { MemberProfileInput } from '@custos/protocol/ledger';
import { NodeError } from '../errors.js';
import { profileKey } from '../modules/profile.js';
import type { CustosNode } from '../node.js';
import type { OrgService } from '../orgs/org-service.js';

/** The demo consortium's joint-controller arrangement (GDPR Art. 26): its text, whose SHA-256 the profiles carry. */
export const DEMO_ARRANGEMENT =
  'Custos demo consortium: joint-controller arrangement under GDPR Art. 26, version 1. Each member answers ' +
  "the requests of customers it holds data of; the alliance's portal is the contact point for every customer.\n";

export const DEMO_ARRANGEMENT_DIGEST = createHash('sha256').update(DEMO_ARRANGEMENT).digest('hex');

/** Where each demo org's peers run (ISO 3166-1 alpha-2); the retailer also runs one outside the EEA. */
const DEMO_REGIONS: Record<string, string[]> = { bank: ['DE', 'IE'], insurer: ['FR'], retailer: ['IE', 'US'] };

/** An example profile for org `id`: the demo's, and every test fixture's. */
export function exampleProfile(id: string, name = id): MemberProfileInput {
  return {
    legalName: `${name.slice(0, 100)} Example Ltd`,
    registration: `LEI:EXAMPLE${id
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .slice(0, 20)}`,
    dpo: `mailto:dpo@${id}.example`,
    regions: DEMO_REGIONS[id] ?? ['DE'],
    arrangementDigest: DEMO_ARRANGEMENT_DIGEST,
  };
}

/** Sets the example profile of each of `ids` that has none yet (the demo load's first step). */
export async function setExampleProfiles(node: CustosNode, orgs: OrgService, ids: readonly string[]): Promise<number> {
  let set = 0;
  for (const id of ids) {
    if (node.store.getState(profileKey(id)) !== undefined) continue;
    const r = await orgs.submit(id, 'profile.set', { ...exampleProfile(id) });
    if (r.code !== 'OK') throw new NodeError('INTERNAL', `demo step 'profile.set' of ${id} ended with ${r.code}`);
    set++;
  }
  return set;
}
