/**
 * The built `custos` CLI end to end, as a user runs it: a temp CUSTOS_HOME, `init`, `node start`
 * on a free port, submit and read over HTTP, fetch a proof, verify it offline (and fail on a
 * tampered copy or a foreign genesis), then stop the node with SIGTERM. Needs `npm run build`.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliHarness, type Run } from './fixtures/cli.js';

let cli: CliHarness;
let tmp: CliHarness['tmp'];
let home: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcess | undefined;
let nodeUrl: string;

const custos = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> => cli.run(args, extraEnv);

/** Runs a command with --json and parses its one JSON document. */
async function custosJson(args: string[]): Promise<Record<string, unknown>> {
  const r = await custos([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Starts `custos node start --port 0` and resolves with the URL it prints. */
async function startNode(): Promise<string> {
  const { child, match } = await cli.serve(
    ['node', 'start', '--port', '0'],
    /^Custos node cli-test listening on (http:\/\/127\.0\.0\.1:\d+)$/m,
  );
  server = child;
  return match[1]!;
}

beforeAll(() => {
  cli = new CliHarness('custos-cli-');
  ({ tmp, home, env } = cli);
});

afterAll(async () => {
  await cli?.cleanup();
});

describe('custos CLI', () => {
  let txId: string;

  it('initializes a home with a demo passphrase, and refuses to do it twice', async () => {
    const r = await custos(['init', '--chain-id', 'cli-test', '--orgs', 'bank,insurer,retailer', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*passphrase .*demo/);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ chainId: 'cli-test', threshold: 2 });
    expect(doc.members).toHaveLength(3);
    for (const f of ['genesis.json', 'keys/bank.json', 'keys/insurer.json', 'keys/retailer.json']) {
      expect(existsSync(join(home, f))).toBe(true);
    }
    expect(statSync(join(home, 'passphrase')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'keys/bank.json')).mode & 0o777).toBe(0o600);

    const again = await custos(['init', '--chain-id', 'cli-test']);
    expect(again.code).toBe(73);
    expect(again.stderr).toMatch(/^error ALREADY_INITIALIZED: /);
  });

  it('starts a node and submits, shows and reads over HTTP', async () => {
    nodeUrl = await startNode();
    env.CUSTOS_NODE = nodeUrl;

    const put = await custosJson([
      'tx',
      '--type',
      'kv.put',
      '--args',
      '{"ns":"cli","key":"greeting","value":"hello"}',
      '--org',
      'bank',
    ]);
    expect(put).toMatchObject({ code: 'OK', height: 1, txId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    txId = put.txId as string;

    const human = await custos([
      'tx',
      '--type',
      'kv.put',
      '--args',
      '{"ns":"cli","key":"greeting","value":"x"}',
      '--org',
      'insurer',
    ]);
    expect(human.code).toBe(1); // committed, but the key belongs to bank
    expect(human.stdout).toMatch(/committed: height 2, index 0, result UNAUTHORIZED/);

    expect(await custosJson(['tx', 'show', txId])).toMatchObject({
      txId,
      height: 1,
      code: 'OK',
      tx: { body: { type: 'kv.put' } },
    });
    const block = await custos(['block', '1']);
    expect(block.code).toBe(0);
    expect(block.stdout).toMatch(/^Block 1 [0-9a-f]{64}/);
    expect(block.stdout).toContain(txId);
    expect(await custosJson(['block'])).toMatchObject({ height: 2 });
    expect(await custosJson(['state', 'kv/cli/greeting'])).toMatchObject({ value: { value: 'hello' } });

    const missing = await custos(['state', 'kv/cli/none']);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/^error NOT_FOUND: /);
    const badId = await custos(['tx', 'show', 'not-a-tx-id']);
    expect(badId.code).toBe(64);
    expect(badId.stderr).toMatch(/^error BAD_REQUEST: /);
    const unknown = await custos(['tx', '--bogus']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/^error BAD_REQUEST: unknown option/);
  });

  it('signs with a user keystore from `keys new`', async () => {
    const keyFile = join(tmp.dir, 'alice.json');
    const pass = { CUSTOS_PASSPHRASE: 'alice-passphrase' };
    const made = await custos(['keys', 'new', '--out', keyFile, '--json'], pass);
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout).did).toMatch(/^did:key:z6Mk/);
    const r = await custos(
      ['tx', '--type', 'kv.put', '--args', '{"ns":"alice","key":"k","value":1}', '--key', keyFile, '--json'],
      pass,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 'OK' });
    const wrong = await custos(['tx', '--type', 'kv.put', '--args', '{}', '--key', keyFile], {
      CUSTOS_PASSPHRASE: 'not-the-one',
    });
    expect(wrong.code).toBe(77);
    expect(wrong.stderr).toMatch(/^error WRONG_PASSPHRASE: /);
  });

  it("trust #4: `keys prove` signs a new key's proof of possession; addKey needs it", async () => {
    const keyFile = join(tmp.dir, 'bank-next.json');
    const pass = { CUSTOS_PASSPHRASE: 'next-key-passphrase' };
    expect((await custos(['keys', 'new', '--out', keyFile], pass)).code).toBe(0);
    const prove = async (member: string) => {
      const r = await custos(
        [
          'keys',
          'prove',
          '--key',
          keyFile,
          '--chain-id',
          'cli-test',
          '--member',
          member,
          '--action',
          'addKey',
          '--json',
        ],
        pass,
      );
      expect(r.code).toBe(0);
      const { key, proof } = JSON.parse(r.stdout) as { key: string; proof: string };
      return { key, proof };
    };
    const addKey = (p: { key: string; proof: string }) =>
      custos(['tx', '--type', 'member.addKey', '--args', JSON.stringify(p), '--org', 'bank', '--json']);
    // A proof made for another member does not let the bank add the key.
    const wrong = await addKey(await prove('insurer'));
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ code: 'KEY_NOT_PROVEN' });
    const ok = await addKey(await prove('bank'));
    expect(JSON.parse(ok.stdout)).toMatchObject({ code: 'OK' });
    const bad = await custos(
      ['keys', 'prove', '--key', keyFile, '--chain-id', 'cli-test', '--member', 'bank', '--action', 'steal'],
      pass,
    );
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^error BAD_REQUEST: expected --action as one of admit, rotateKey, addKey/);
  });

  it('fetches a proof and verifies it offline, and rejects a tampered one', async () => {
    const proofFile = join(tmp.dir, 'proof.json');
    const fetched = await custos(['proof', 'inclusion', txId, '--out', proofFile]);
    expect(fetched.code).toBe(0);
    expect(existsSync(proofFile)).toBe(true);

    const ok = await custosJson(['verify', proofFile, '--genesis', join(home, 'genesis.json')]);
    expect(ok).toMatchObject({ ok: true, kind: 'inclusion', chainId: 'cli-test', entry: { txId, code: 'OK' } });
    const viaHome = await custos(['verify', proofFile]);
    expect(viaHome.code).toBe(0);
    expect(viaHome.stdout).toMatch(/^OK: /);

    const bundle = JSON.parse(readFileSync(proofFile, 'utf8'));
    const tampered = join(tmp.dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify({ ...bundle, entry: { ...bundle.entry, code: 'UNAUTHORIZED' } }));
    const bad = await custos(['verify', tampered]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^error BAD_PROOF: /);

    writeFileSync(tampered, '{"type": "custos/inclusion/v1"');
    const garbage = await custos(['verify', tampered]);
    expect(garbage.code).not.toBe(0);
    expect(garbage.stderr).toMatch(/^error BAD_PROOF: /);

    const stateFile = join(tmp.dir, 'state.json');
    expect((await custos(['proof', 'state', 'kv/cli/greeting', '--out', stateFile])).code).toBe(0);
    expect(await custosJson(['verify', stateFile])).toMatchObject({ kind: 'state', value: { value: 'hello' } });
    const consFile = join(tmp.dir, 'cons.json');
    expect((await custos(['proof', 'consistency', '1', '2', '--out', consFile])).code).toBe(0);
    expect(await custosJson(['verify', consFile])).toMatchObject({ kind: 'consistency', fromHeight: 1, toHeight: 2 });
  });

  it('rejects a proof certified by members of another genesis', async () => {
    const other = join(tmp.dir, 'other');
    expect(
      (await custos(['init', '--home', other, '--chain-id', 'cli-test'], { CUSTOS_PASSPHRASE: 'other-passphrase' }))
        .code,
    ).toBe(0);
    const r = await custos(['verify', join(tmp.dir, 'proof.json'), '--home', other]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^error BAD_CERTIFICATE: /);
  });

  it('stops the node gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => server?.once('exit', (code) => r(code)));
    server?.kill('SIGTERM');
    expect(await exited).toBe(0);
    const down = await custos(['block']);
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(/^error NODE_UNREACHABLE: no node answers at /);
  });
});
