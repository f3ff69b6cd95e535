/**
 * A parent's consent for a child through the built `custos` CLI (GDPR Art. 8, CCPA 1798.120(c)):
 * the guardian prints their key from their own wallet, the child records the band with it, asks,
 * the guardian approves (signs) in their wallet, the child records the consent, and `custos
 * history` shows the band and the guardian's consent; the guardian withdraws it; a tampered
 * approval is refused by the ledger. Needs `npm run build`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

let cli: CliHarness;
let dir: string;
let guardianWallet: string[];

const custos = (args: string[]): Promise<Run> => cli.run(args);
async function json(args: string[], code = 0) {
  const r = await custos([...args, '--json']);
  expect(r.code, r.stderr).toBe(code);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  cli = new CliHarness('custos-cli-guardian-', { CUSTOS_WALLET_PASSPHRASE: 'correct horse wallet' });
  dir = cli.tmp.dir;
  expect((await custos(['init', '--chain-id', 'cli-kids'])).code).toBe(0);
  const { match } = await cli.serve(['node', 'start', '--port', '0'], /^Custos node cli-kids listening on (\S+)$/m);
  cli.env.CUSTOS_NODE = match[1]!;
  writeFileSync(join(dir, 'notice.txt'), 'Bank notice for young customers v1.\n');
  guardianWallet = ['--wallet', join(dir, 'guardian-wallet.json')];
  await json(['wallet', 'create', '--scrypt-cost', '10']);
  await json(['wallet', 'create', '--scrypt-cost', '10', ...guardianWallet]);
}, 120_000);

afterAll(async () => {
  await cli?.cleanup();
});

describe('custos guardian', { timeout: 90_000 }, () => {
  it("a parent approves a child's consent in their own wallet; history shows the band and the parent's consent", async () => {
    const guardian = (await json(['guardian', 'key', ...guardianWallet])).guardian as string;
    expect(guardian).toMatch(/^did:key:z6Mk/);
    const child = (await json(['wallet', 'add', 'bank'])).did as string;
    expect(guardian).not.toBe(child);
    expect((await json(['age', '--org', 'bank', '--band', 'under13', '--guardian', guardian])).code).toBe('OK');

    const requestFile = join(dir, 'request.json');
    const asked = await custos([
      'guardian',
      'ask',
      '--org',
      'bank',
      '--purposes',
      'dpv:Marketing',
      '--categories',
      'pd:EmailAddress',
      '--days',
      '30',
      '--share',
      '--jurisdiction',
      'CCPA',
      '--notice-file',
      join(dir, 'notice.txt'),
      '--out',
      requestFile,
    ]);
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout).toContain('custos guardian approve');
    expect(JSON.parse(readFileSync(requestFile, 'utf8'))).toMatchObject({ org: 'bank', subject: child, share: true });

    const approvalFile = join(dir, 'approval.json');
    const approved = await custos([
      'guardian',
      'approve',
      '--request',
      requestFile,
      '--out',
      approvalFile,
      ...guardianWallet,
    ]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(
      `You approved, as ${guardian}: bank may use the child's email address for marketing`,
    );

    // The same approval with other terms (a sale added) does not carry the parent's signature.
    const forged = JSON.parse(readFileSync(approvalFile, 'utf8'));
    forged.request.sale = true;
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
    const refused = await json(['guardian', 'grant', '--approval', join(dir, 'forged.json')], 1);
    expect(refused.code).toBe('UNAUTHORIZED');

    const granted = await json(['guardian', 'grant', '--approval', approvalFile]);
    expect(granted).toMatchObject({ code: 'OK', consent: { parental: { guardian } } });

    const h = await custos(['history', '--org', 'bank']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toContain('Age: ✓ band under13, as you said');
    expect(h.stdout).toContain(`your parent's or guardian's key ${guardian}`);
    expect(h.stdout).toContain("consent, sale and sharing need a parent's or guardian's consent");
    expect(h.stdout).toMatch(
      /may share it, no sale, with the consent of your parent or guardian did:key:\S+: live until/,
    );
    const doc = await json(['history', '--org', 'bank']);
    expect(doc.orgs[0]).toMatchObject({ age: { band: 'under13', guardian } });

    // The parent withdraws; the child's history says who did.
    const withdrawn = await json(['guardian', 'withdraw', '--org', 'bank', '--child', child, ...guardianWallet]);
    expect(withdrawn.code).toBe('OK');
    const after = await custos(['history', '--org', 'bank']);
    expect(after.stdout).toMatch(/with the consent of your parent or guardian did:key:\S+: withdrawn/);
    expect(after.stdout).toContain('Your parent or guardian withdrew every consent given to');
    // The JSON names who acted: the guardian, by their key, not the child.
    const timeline = (await json(['history', '--org', 'bank'])).orgs[0].timeline as { type: string; by: string }[];
    expect(timeline.filter((e) => e.type === 'consent.withdraw')).toEqual([
      expect.objectContaining({ by: 'guardian', guardian }),
    ]);
    expect(timeline.filter((e) => e.type === 'consent.grant')).toEqual([expect.objectContaining({ by: 'you' })]);
    // Nothing left of theirs to withdraw; a bad pseudonym is refused in words.
    expect((await json(['guardian', 'withdraw', '--org', 'bank', '--child', child, ...guardianWallet], 1)).code).toBe(
      'NOT_FOUND',
    );
    const bad = await custos(['guardian', 'withdraw', '--org', 'bank', '--child', 'kid', ...guardianWallet]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/expected --child as the child's did:key/);
  });

  it('refuses a request that is not one, saying what was expected', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ org: 'bank', purposes: 'all' }));
    const r = await custos(['guardian', 'approve', '--request', join(dir, 'bad.json'), '--out', join(dir, 'x.json')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/expected chainId in the parental consent request/);
  });
});
