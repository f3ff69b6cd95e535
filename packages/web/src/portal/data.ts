/** What every page of the portal is given: the trusted chain, each company's verified view, and GPC. */
import type { ChainContext } from '../lib/trust.js';
import type { OrgResult } from './model.js';

export interface PortalData {
  ctx: ChainContext;
  orgs: OrgResult[];
  loadedAt: number;
}

export interface GpcState {
  enabled: boolean;
  /** Companies an opt-out was just recorded for. */
  applied: string[];
  error: string | undefined;
}
