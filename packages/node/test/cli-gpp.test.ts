/**
 * `custos org gpp record | emit` and `custos org gpc-evidence` on the demo chain, end to end through
 * the CLI process and the node: the IAB reference string recorded by the retailer's banner comes
 * back equal from `emit`; a string that does not decode is refused with what was expected; a GPC
 * opt-out sent with `Sec-GPC: 1` is listed with its request id.
 */
import type { ChildProcess } from 'node:child_process';
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import { signTx } from '@custos/protocol/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeSigner } from '../src/crypto/native.js';
import { CliHarness } from './fixtures/cli.js';

const USNAT_OPTED_OUT = 'DBABLA~CVVVkkkkkpFY.YA';

let cli: CliHarness;
let demo: ChildProcess | undefined;
let url = '';
let token = '';

beforeAll(async () => {
  cli = new CliHarness('custos-gpp-');
  const { child, match } = await cli.serve(
    ['demo', '--no-evm', '--port', '0'],
    /listening on (http:\/\/\S+)[\s\S]*retailer\s+\S+#token=(\S+)/,
  );
  demo = child;
  url = match[1]!;
  token = match[2]!;
  cli.env.CUSTOS_NODE = url;
}, 120_000);

afterAll(async () => {
  demo?.kill('SIGTERM');
  await cli?.cleanup();
});

describe('custos org gpp', { timeout: 60_000 }, () => {
  it('records the banner string, emits it back equal, and refuses a bad one in words', async () => {
    const did = didFromPublicKey(nativeSigner(randomSecretKey()).publicKey);
    const org = ['--org', 'retailer', '--token', token];
    const rec = await cli.run(['org', 'gpp', 'record', ...org, '--subject', did, '--gpp', USNAT_OPTED_OUT, '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ code: 'OK', sections: ['usnat'], choices: { sale: 'out' } });
    const emit = await cli.run(['org', 'gpp', 'emit', ...org, '--subject', did]);
    expect(emit.stdout.trim()).toBe(USNAT_OPTED_OUT);
    const bad = await cli.run(['org', 'gpp', 'record', ...org, '--subject', did, '--gpp', 'DBABLA~zzz']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/expected a GPP string/);
    const noSubject = await cli.run(['org', 'gpp', 'emit', ...org, '--subject', 'bob']);
    expect(noSubject.stderr).toMatch(/pairwise did:key/);
  });

  it('lists a GPC opt-out with its request id', async () => {
    const signer = nativeSigner(randomSecretKey());
    const chainId = ((await (await fetch(`${url}/v1/chain`)).json()) as { chainId: string }).chainId;
    const tx = signTx(
      { chainId, type: 'optout.set', args: { org: 'retailer', kinds: ['sale'], source: 'gpc' } },
      signer,
    );
    const res = await fetch(`${url}/v1/txs?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-gpc': '1' },
      body: JSON.stringify(tx),
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    const out = await cli.run(['org', 'gpc-evidence', '--org', 'retailer', '--token', token]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`request ${requestId} on /v1/txs`);
    expect(out.stdout).toContain(didFromPublicKey(signer.publicKey));
  });
});
