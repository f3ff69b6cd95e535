/**
 * `custos org link challenge | show`: a one-time challenge to link one of the org's accounts to the
 * customer's pseudonym (the customer's wallet signs it: `custos link`, the portal's "Link my
 * account"), and the pseudonym linked to an account. The account id stays on the org's node.
 */
import type { Command } from 'commander';
import type { OrgCommandKit } from './commands-org-steps.js';
import { output } from './output.js';

const ACCOUNT = /^[A-Za-z0-9._:@-]{1,128}$/;

export function registerLinkCommands<F extends { org: string; json?: boolean }>(
  org: Command,
  { orgCommand, orgClient, orgId, bad }: OrgCommandKit<F>,
): void {
  const accountOf = (s: string): string => {
    if (!ACCOUNT.test(s)) throw bad('expected --account as 1-128 letters, digits or ._:@-');
    return s;
  };
  const link = org.command('link').description("link customers' accounts to their pseudonyms with a signed challenge");

  orgCommand(link, 'challenge', 'a one-time challenge (10 minutes) for one account, to hand to the customer')
    .requiredOption('--account <id>', "the customer's account id in the org's systems (never on the ledger)")
    .action(async (flags: F & { account: string }) => {
      const c = await orgClient(flags).run((sdk) => sdk.linkChallenge(orgId(flags.org), accountOf(flags.account)));
      output(flags.json === true).result(c, [
        c.challenge,
        `Give this code to the customer (good until ${new Date(c.expiresAt).toISOString()}, once): in the portal, "Link my account", or \`custos link --org ${c.org} --challenge ${c.challenge}\`.`,
      ]);
    });

  orgCommand(link, 'show', 'the pseudonym linked to an account')
    .requiredOption('--account <id>', "the customer's account id")
    .action(async (flags: F & { account: string }) => {
      const l = await orgClient(flags).run((sdk) => sdk.linkedAccount(orgId(flags.org), accountOf(flags.account)));
      output(flags.json === true).result(
        l,
        `${l.account}: ${l.subject} (linked ${new Date(l.linkedAt).toISOString()})`,
      );
    });
}
