/**
 * Issue 20, the first hour: an explicit flag beats its environment variable (point 4), and every
 * error says what to fix (point 5), as a user of the built `custos` CLI sees them. Needs
 * `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CliHarness, type Run } from './fixtures/cli.js';

const PASS = 'the right key passphrase';
const WALLET_PASS = 'the right wallet passphrase';

let cli: CliHarness;
let nodeUrl: string;
let passFile: string;
let wrongPassFile: string;
let walletPassFile: string;

const custos = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => cli.run(args, env);

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  cli = new CliHarness('custos-first-hour-');
  passFile = join(cli.tmp.dir, 'key.pass');
  wrongPassFile = join(cli.tmp.dir, 'wrong.pass');
  walletPassFile = join(cli.tmp.dir, 'wallet.pass');
  writeFileSync(passFile, `${PASS}\n`);
  writeFileSync(wrongPassFile, 'not the key passphrase\n');
  writeFileSync(walletPassFile, `${WALLET_PASS}\n`);
  const init = await custos(['init', '--chain-id', 'first-hour', '--orgs', 'bank,insurer'], {
    CUSTOS_PASSPHRASE: PASS,
  });
  expect(init.code, init.stderr).toBe(0);
  const served = await cli.serve(
    ['node', 'start', '--port', '0', '--passphrase-file', passFile],
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  nodeUrl = served.match[1]!;
  cli.env.CUSTOS_NODE = nodeUrl;
  await cli.setProfiles(['bank', 'insurer'], { CUSTOS_PASSPHRASE: PASS });
  const w = await custos(['wallet', 'create', '--wallet', join(cli.tmp.dir, 'w.json')], {
    CUSTOS_WALLET_PASSPHRASE: WALLET_PASS,
  });
  expect(w.code, w.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await cli?.cleanup();
});

describe('first hour #4: an explicit flag beats its environment variable', () => {
  const kvPut = ['tx', '--type', 'kv.put', '--args', '{"ns":"fh","key":"k","value":1}', '--org', 'bank'];
  // Each row: the variable set to something that would fail, and the flag that must win.
  const table: { name: string; args: () => string[]; env: () => NodeJS.ProcessEnv; expect: RegExp }[] = [
    {
      name: '--passphrase-file over CUSTOS_PASSPHRASE',
      args: () => [...kvPut, '--passphrase-file', passFile],
      env: () => ({ CUSTOS_PASSPHRASE: 'a wrong passphrase' }),
      expect: /result OK/,
    },
    {
      name: '--wallet-passphrase-file over CUSTOS_WALLET_PASSPHRASE',
      args: () => [
        'wallet',
        'show',
        '--wallet',
        join(cli.tmp.dir, 'w.json'),
        '--wallet-passphrase-file',
        walletPassFile,
      ],
      env: () => ({ CUSTOS_WALLET_PASSPHRASE: 'a wrong wallet passphrase' }),
      expect: /./,
    },
    {
      name: '--node over CUSTOS_NODE',
      args: () => ['block', 'latest', '--node', nodeUrl],
      env: () => ({ CUSTOS_NODE: 'http://127.0.0.1:1' }),
      expect: /^Block \d+ /,
    },
    {
      name: '--home over CUSTOS_HOME',
      args: () => [...kvPut, '--home', cli.home, '--passphrase-file', passFile],
      env: () => ({ CUSTOS_HOME: join(cli.tmp.dir, 'no-such-home') }),
      expect: /result OK/,
    },
    {
      name: '--org over CUSTOS_ORG',
      args: () => ['org', 'requests', '--org', 'bank', '--passphrase-file', passFile],
      env: () => ({ CUSTOS_ORG: 'no-such-org' }),
      expect: /bank/,
    },
  ];
  for (const row of table) {
    it(`first hour #4: ${row.name}`, async () => {
      const r = await custos(row.args(), row.env());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(row.expect);
    });
  }

  it('first hour #4: --port over PORT and --host over HOST', async () => {
    const other = join(cli.tmp.dir, 'other-home');
    mkdirSync(other);
    const init = await custos(['init', '--home', other, '--chain-id', 'other', '--orgs', 'bank'], {
      CUSTOS_PASSPHRASE: PASS,
    });
    expect(init.code, init.stderr).toBe(0);
    const busy = Number(new URL(nodeUrl).port);
    const prevEnv = { ...cli.env };
    // PORT names the port the first node holds and HOST an address nobody can bind: both would fail.
    Object.assign(cli.env, { PORT: String(busy), HOST: '192.0.2.1', CUSTOS_PASSPHRASE: PASS });
    try {
      const { child, match } = await cli.serve(
        ['node', 'start', '--home', other, '--port', '0', '--host', '127.0.0.1'],
        /listening on (http:\/\/127\.0\.0\.1:(\d+))/,
      );
      expect(Number(match[2])).not.toBe(busy);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    } finally {
      for (const k of Object.keys(cli.env)) delete cli.env[k];
      Object.assign(cli.env, prevEnv);
    }
  });
});

describe('first hour #5: errors that say what to fix', () => {
  it('first hour #5: INVALID_ARGS names the argument and what was expected, in the CLI, tx show and the API', async () => {
    const r = await custos(['tx', '--type', 'kv.put', '--args', '{"ns":"fh","key":"k"}', '--org', 'bank', '--json'], {
      CUSTOS_PASSPHRASE: PASS,
    });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { txId: string; code: string; detail: string };
    expect(doc.code).toBe('INVALID_ARGS');
    expect(doc.detail).toBe('expected args.value');
    const human = await custos(
      ['tx', '--type', 'kv.put', '--args', '{"ns":"fh","key":"k","nope":1}', '--org', 'bank'],
      {
        CUSTOS_PASSPHRASE: PASS,
      },
    );
    expect(human.stdout).toMatch(/result INVALID_ARGS: unexpected args\.nope; expected ns, key, value\./);
    const show = await custos(['tx', 'show', doc.txId]);
    expect(show.stdout).toMatch(/result\s+INVALID_ARGS: expected args\.value/);
    const api = (await (await fetch(`${nodeUrl}/v1/txs/${doc.txId}`)).json()) as { code: string; detail: string };
    expect(api).toMatchObject({ code: 'INVALID_ARGS', detail: 'expected args.value' });
  });

  it('first hour #5: UNKNOWN_TYPE lists the known types', async () => {
    const r = await custos(['tx', '--type', 'kv.putt', '--args', '{}', '--org', 'bank'], { CUSTOS_PASSPHRASE: PASS });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/result UNKNOWN_TYPE: unknown transaction type 'kv\.putt'; known types: .*kv\.put,/);
  });

  it('first hour #5: a missing file says no such file, not a size limit', async () => {
    const missing = join(cli.tmp.dir, 'missing.pass');
    for (const args of [
      ['wallet', 'show', '--wallet', join(cli.tmp.dir, 'w.json'), '--wallet-passphrase-file', missing],
      ['verify', missing],
      ['tx', '--type', 'kv.put', '--args', '{}', '--org', 'bank', '--passphrase-file', missing],
    ]) {
      const r = await custos(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toContain(`no such file: ${missing}`);
      expect(r.stderr).not.toMatch(/at most/);
    }
  });

  it('first hour #5: a value on stdin is read only up to its bound, and an over-long one says so', async () => {
    const big = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(
        process.execPath,
        [
          ...[CLI, 'org', 'register', '--org', 'bank', '--subject', 'did:key:z6Mk', '--category', 'pd:EmailAddress'],
          ...['--purposes', 'dpv:Marketing=consent', '--retention-days', '30', '--value-file', '-'],
        ],
        { env: cli.env, cwd: cli.tmp.dir },
      );
      c.stdin.on('error', () => {});
      c.stdin.end(`{"a":"${'x'.repeat(200_000)}"}`);
      let err = '';
      c.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      c.on('exit', (code) => resolve({ code, err }));
    });
    expect(big.code).toBe(64);
    expect(big.err).toMatch(
      /^error BAD_REQUEST: stdin holds more than \d+ bytes; expected a JSON value of at most that/,
    );
  });

  it('first hour #5: an unreachable node is NODE_UNREACHABLE, with how to fix it', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await custos(['block', 'latest', '--node', url]);
    expect(r.code).toBe(69);
    expect(r.stderr).toBe(
      `error NODE_UNREACHABLE: no node answers at ${url}: start one (\`custos node start\`), or point --node or CUSTOS_NODE at yours\n`,
    );
    // Run as the README runs it (`npm run custos -- ...`), the hint says so.
    const viaNpm = await custos(['block', 'latest', '--node', url], { npm_lifecycle_event: 'custos' });
    expect(viaNpm.stderr).toContain('start one (`npm run custos -- node start`)');
  });

  it('first hour #5: a wrong key passphrase names the org and the file', async () => {
    const r = await custos([
      'tx',
      '--type',
      'kv.put',
      '--args',
      '{}',
      '--org',
      'bank',
      '--passphrase-file',
      wrongPassFile,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `error WRONG_PASSPHRASE: cannot decrypt the key of org 'bank' in ${join(cli.home, 'keys', 'bank.json')}: wrong passphrase`,
    );
  });

  it('first hour #5: malformed --args JSON gives the position and what was expected there', async () => {
    const r = await custos(['tx', '--type', 'kv.put', '--args', '{"ns":"fh" "key":"k"}', '--org', 'bank']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(
      /^error BAD_REQUEST: --args is not valid JSON: at position 11 \(line 1, column 12\) expected ',' or '}'/,
    );
  });

  it('first hour #5: `custos tx --help` lists the transaction types and where their arguments are documented', async () => {
    const r = await custos(['tx', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Transaction types \(--type\):/);
    expect(r.stdout).toMatch(/consent\.\s+grant, withdraw/);
    expect(r.stdout).toMatch(/kv\.\s+delete, put/);
    expect(r.stdout).toContain('docs/customer-data.md');
  });
});

describe('first hour #6: cross-chain from the command line', () => {
  it('first hour #6: interop register co-signs with the home keys; xtx sign refuses an altered plan, prepare an unsigned one', async () => {
    const remoteHome = join(cli.tmp.dir, 'remote-home');
    const init = await custos(['init', '--home', remoteHome, '--chain-id', 'remote-x', '--orgs', 'lab'], {
      CUSTOS_PASSPHRASE: PASS,
    });
    expect(init.code, init.stderr).toBe(0);
    const reg = await custos([
      'interop',
      'register',
      '--remote-genesis',
      join(remoteHome, 'genesis.json'),
      '--passphrase-file',
      passFile,
    ]);
    expect(reg.stderr).toBe('');
    expect(reg.stdout).toMatch(/^Registered 'remote-x' on 'first-hour' with 2 co-signature\(s\)/);
    expect((await custos(['state', 'lc/remote-x'])).code).toBe(0);

    const plan = join(cli.tmp.dir, 'plan.json');
    const op = (key: string) =>
      JSON.stringify({ chainId: 'first-hour', org: 'bank', type: 'kv.put', args: { ns: 'x', key, value: 1 } });
    const made = await custos([
      ...['xtx', 'new', '--chain', nodeUrl, '--decision-chain', 'first-hour', '--deadline-blocks', '50'],
      ...['--op', op('a'), '--op', op('b'), '--out', plan],
    ]);
    expect(made.code, made.stderr).toBe(0);
    const unsigned = await custos(['xtx', 'prepare', plan]);
    expect(unsigned.code).toBe(64);
    expect(unsigned.stderr).toMatch(/operation 1 on 'first-hour' is not signed yet/);

    const doc = JSON.parse(readFileSync(plan, 'utf8')) as { plan: { ops: Record<string, { args: object }[]> } };
    doc.plan.ops['first-hour']![0]!.args = { ns: 'x', key: 'a', value: 2 };
    writeFileSync(plan, JSON.stringify(doc));
    const altered = await custos(['xtx', 'sign', plan, '--org', 'bank', '--passphrase-file', passFile]);
    expect(altered.code).toBe(64);
    expect(altered.stderr).toMatch(/does not hash to its planHash: it was altered/);
  });
});

/** Does a package's `engines.node` range accept Node `v` (the forms package-lock.json holds)? */
function acceptsNode(range: string, v: [number, number, number]): boolean {
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const nums = (t: string) =>
    t
      .split('.')
      .filter((p) => /^[0-9]+$/.test(p))
      .map(Number);
  return range.split('||').some((alt) =>
    alt
      .trim()
      .replace(/(>=|<=|>|<|\^)\s+/g, '$1')
      .split(/\s+/)
      .every((c) => {
        if (c === '*' || c === '') return true;
        if (c.startsWith('>=')) return cmp(v, nums(c.slice(2))) >= 0;
        if (c.startsWith('>')) return cmp(v, nums(c.slice(1))) > 0;
        if (c.startsWith('<')) return cmp(v, nums(c.slice(1))) < 0;
        const n = nums(c.replace(/^\^/, ''));
        if (n[0] !== v[0]) return false;
        return c.startsWith('^') ? cmp(v, n) >= 0 : n.every((x, i) => x === v[i]);
      }),
  );
}

describe('first hour #7: tidy', () => {
  it('first hour #7: every locked dependency runs on the Node the README names (20.19), so npm ci warns of no engine', () => {
    const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const refused = Object.entries(lock.packages)
      .map(([name, p]) => [name, Array.isArray(p.engines) ? undefined : p.engines?.node] as const)
      .filter(([, node]) => node !== undefined && !acceptsNode(node, [20, 19, 0]));
    expect(refused).toEqual([]);
    expect(acceptsNode('>=22', [20, 19, 0])).toBe(false);
    expect(acceptsNode('>=22.12.0', [20, 19, 0])).toBe(false);
    expect(acceptsNode('^20.19.0 || >=22.12.0', [20, 19, 0])).toBe(true);
  });

  /**
   * Runs `custos demo` on a fresh home until it is ready, runs `whileUp` with what it printed so
   * far, then stops it; resolves with all it printed.
   */
  async function demoOutput(
    extra: string[],
    whileUp: (printed: string, demo: CliHarness) => Promise<void> = async () => {},
  ): Promise<string> {
    const demo = new CliHarness('custos-first-hour-demo-');
    try {
      const child = spawn(process.execPath, [CLI, 'demo', '--no-evm', '--port', '0', ...extra], {
        env: demo.env,
        cwd: demo.tmp.dir,
      });
      let all = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          all += d.toString();
          if (/^Stop with Ctrl-C\.$/m.test(all)) resolve();
        });
        child.stderr.on('data', (d: Buffer) => {
          all += d.toString();
        });
        child.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${all}`)));
      });
      try {
        await whileUp(all, demo);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      return all;
    } finally {
      await demo.cleanup();
    }
  }

  it('first hour #1: the commands the demo prints run as printed, from a terminal without its PORT and CUSTOS_HOME', {
    timeout: 300_000,
  }, async () => {
    await demoOutput([], async (printed, demo) => {
      const hints = [
        ...printed.split('\n').filter((l) => /^ {2}(custos|curl) /.test(l)),
        ...printed.split('\n').flatMap((l) => /^See what .* sees: (custos .*)$/.exec(l)?.[1] ?? []),
      ].map((l) => l.trim());
      expect(hints.length).toBe(4);
      const other = join(demo.tmp.dir, 'other-terminal');
      mkdirSync(other);
      const { CUSTOS_HOME: _h, CUSTOS_NODE: _n, PORT: _p, HOST: _o, ...env } = demo.env;
      for (const hint of hints) {
        const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
          // The README's export comes first: the hint's --wallet-passphrase-file must still win.
          const c = spawn('bash', ['-c', `set -eo pipefail; custos() { node "${CLI}" "$@"; }; ${hint}`], {
            cwd: other,
            env: { ...env, CUSTOS_WALLET_PASSPHRASE: 'a long passphrase of your own', npm_lifecycle_event: '' },
          });
          let out = '';
          c.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          c.stderr.on('data', (d: Buffer) => {
            out += d.toString();
          });
          c.on('exit', (code) => resolve({ code, out }));
        });
        expect(r.code, `${hint}\n${r.out}`).toBe(0);
      }
    });
  });

  it('first hour #7: the demo keeps JSON log lines out of its human output unless --verbose', {
    timeout: 180_000,
  }, async () => {
    const quiet = await demoOutput([]);
    expect(quiet).toMatch(/Loaded 3 demo customers/);
    expect(quiet.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    const verbose = await demoOutput(['--verbose']);
    expect(verbose.split('\n').filter((l) => l.startsWith('{')).length).toBeGreaterThan(0);
  });
});
