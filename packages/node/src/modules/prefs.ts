/** `pref/<org>/<subject>`: a customer's opt-outs, objections, limit on sensitive data, age band and GPP string at an org. */
import type { Preferences } from '@custos/protocol/ledger';
import type { ExecContext } from '../exec/module.js';

export function prefKey(org: string, subject: string): string {
  return `pref/${org}/${subject}`;
}

export function preferences(ctx: Pick<ExecContext, 'get'>, org: string, subject: string): Preferences {
  return (ctx.get(prefKey(org, subject)) as unknown as Preferences | undefined) ?? { sale: null, share: null };
}
