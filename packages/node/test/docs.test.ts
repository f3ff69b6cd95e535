/**
 * The docs are tests (issue 20 point 1): every shell block of README.md and docs/*.md is run, in
 * order, one shell per document, against a demo node this test starts the way `npm start` does,
 * with the variables the README tells users to set: a non-default PORT and a CUSTOS_HOME outside
 * the working directory. The working directory is a fresh view of the checkout (its package.json,
 * packages and node_modules linked in), so the files the docs write land in a temp dir.
 *
 * A block that is not meant to be run carries a visible marker: the line before it is
 * `<!-- not run: why -->`. A command line whose trailing comment starts with `# refused` must fail
 * (the doc shows a refusal), and a result code in that comment must be in its output.
 * `npm run custos -- ...` and `npx custos` run the built CLI directly (`node dist/bin/custos.js`):
 * same program, without npm's start-up time. Needs `npm run build`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from './fixtures/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHELL_INFO = /^(sh|bash|shell|console)(\s|$)/;
const NOT_RUN = /^<!--\s*not run:\s*(\S.*?)\s*-->$/;
/** Lines that are commands, in a block without an info string: it must say it is `sh`. */
const COMMAND_LINE = /^(\$ )?(npm|npx|custos|curl|node|export|cd) /;

interface Block {
  file: string;
  line: number;
  text: string;
  /** Why it is not run, or undefined when it runs. */
  notRun: string | undefined;
}

interface Doc {
  file: string;
  blocks: Block[];
  /** Problems found while reading (an untagged command block, a marker without a reason). */
  problems: string[];
}

export function readDoc(file: string): Doc {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const info = open[1]!.trim();
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    let prev = start - 1;
    while (prev >= 0 && lines[prev]!.trim() === '') prev--;
    const marker = prev >= 0 ? NOT_RUN.exec(lines[prev]!.trim()) : null;
    if (prev >= 0 && /<!--\s*not run/.test(lines[prev]!) && marker === null)
      problems.push(`${file}:${prev + 1}: a not-run marker needs a reason: <!-- not run: why -->`);
    if (SHELL_INFO.test(info)) {
      blocks.push({ file, line: start + 1, text: body.join('\n'), notRun: marker?.[1] });
    } else if (info === '' && body.some((l) => COMMAND_LINE.test(l))) {
      problems.push(
        `${file}:${start + 1}: a block of commands without \`\`\`sh (mark it, so it is run or says why not)`,
      );
    }
  }
  return { file, blocks, problems };
}

const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/**
 * One logical command per line (continuations joined); a command whose comment starts with
 * `# refused` becomes a check that it fails (and names the code the comment gives).
 */
export function scriptOf(block: Block): string {
  const out: string[] = [`echo '${block.file}:${block.line}' > "$DOCS_TEST_BLOCK"`];
  const lines = block.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const first = i;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line}\n${lines[++i]}`;
    const refused = /^(.*?)\s+#\s*refused\b(.*)$/s.exec(line);
    if (refused === null) {
      out.push(line);
      continue;
    }
    const code = /\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/.exec(refused[2]!)?.[1];
    const where = `${block.file}:${block.line + 1 + first}`;
    out.push(
      `if ( ${refused[1]} ) > "$DOCS_TEST_OUT" 2>&1; then cat "$DOCS_TEST_OUT"; echo "docs test: ${where} should have been refused" >&2; exit 1; fi`,
      `cat "$DOCS_TEST_OUT"`,
      ...(code === undefined
        ? []
        : [
            `grep -q '${code}' "$DOCS_TEST_OUT" || { echo "docs test: ${where} was refused, but not with ${code}" >&2; exit 1; }`,
          ]),
    );
  }
  return out.join('\n');
}

/** `npm run custos -- ...` and `npx custos ...` as the built CLI, without npm's start-up. */
const PRELUDE = `set -eo pipefail
custos() { node "$DOCS_TEST_CLI" "$@"; }
npm() {
  if [ "$1" = run ] && [ "$2" = custos ] && [ "$3" = -- ]; then shift 3; npm_lifecycle_event=custos custos "$@";
  elif [ "$1" = run ] && [ "$2" = -s ] && [ "$3" = custos ] && [ "$4" = -- ]; then shift 4; npm_lifecycle_event=custos custos "$@";
  elif [ "$1" = ci ] || [ "$1" = start ] || [ "$1" = test ]; then echo "docs test: 'npm $1' belongs in a not-run block" >&2; return 1;
  else command npm "$@"; fi
}
npx() { if [ "$1" = custos ]; then shift; custos "$@"; else echo "docs test: npx $1 is not run" >&2; return 1; fi; }
export -f custos npm npx
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The environment a user has: none of this machine's CUSTOS_* or PORT/HOST settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CUSTOS_') || k === 'PORT' || k === 'HOST' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  return env;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A view of the checkout in a temp dir, a CUSTOS_HOME beside it, and a demo node on a free port. */
async function workspace(): Promise<{ cwd: string; env: NodeJS.ProcessEnv; dir: string }> {
  const tmp = tempDir('custos-docs-');
  cleanups.push(tmp.cleanup);
  const cwd = join(tmp.dir, 'custos');
  mkdirSync(cwd);
  for (const f of ['package.json', 'package-lock.json', 'node_modules', 'packages'])
    symlinkSync(join(ROOT, f), join(cwd, f));
  const port = await freePort();
  const env = { ...cleanEnv(), PORT: String(port), CUSTOS_HOME: join(tmp.dir, 'custos-data') };
  const child: ChildProcess = spawn(process.execPath, [CLI, 'demo', '--no-evm'], {
    cwd,
    env: { ...env, npm_lifecycle_event: 'start' },
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^Stop with Ctrl-C\.$/m.test(out)) resolve();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`custos demo exited with ${code}: ${err}`)));
  });
  return { cwd, env, dir: tmp.dir };
}

function runScript(script: string, cwd: string, env: NodeJS.ProcessEnv, dir: string) {
  const path = join(dir, 'doc.sh');
  writeFileSync(path, script);
  const env2 = {
    ...env,
    DOCS_TEST_CLI: CLI,
    DOCS_TEST_BLOCK: join(dir, 'block'),
    DOCS_TEST_OUT: join(dir, 'out'),
  };
  return new Promise<{ code: number; stdout: string; stderr: string; block: string }>((resolve) => {
    // Its own process group: what a doc starts in the background (`... &`) is stopped with it.
    const child = spawn('bash', [path], { cwd, env: env2, detached: true });
    cleanups.push(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {}
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => {
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {}
      let block = '';
      try {
        block = readFileSync(env2.DOCS_TEST_BLOCK, 'utf8').trim();
      } catch {}
      resolve({ code: code ?? 1, stdout, stderr, block });
    });
  });
}

describe('first hour #1: the docs are tests', () => {
  it('first hour #1: every command block is a shell block that runs, or says why it is not run', () => {
    const problems = DOCS.flatMap((f) => readDoc(f).problems);
    expect(problems).toEqual([]);
    const notRun = DOCS.flatMap((f) => readDoc(f).blocks).filter((b) => b.notRun !== undefined);
    // The exceptions stay few: most of what the docs show is run below.
    const run = DOCS.flatMap((f) => readDoc(f).blocks).filter((b) => b.notRun === undefined);
    expect(run.length).toBeGreaterThan(notRun.length);
  });

  for (const file of DOCS) {
    const doc = readDoc(file);
    const blocks = doc.blocks.filter((b) => b.notRun === undefined);
    if (blocks.length === 0) continue;
    it(`first hour #1: ${file} runs as written, with PORT and CUSTOS_HOME set`, { timeout: 480_000 }, async () => {
      const { cwd, env, dir } = await workspace();
      const script = [PRELUDE, ...blocks.map(scriptOf)].join('\n');
      const r = await runScript(script, cwd, env, dir);
      if (r.code !== 0) {
        throw new Error(
          `the block at ${r.block} failed (exit ${r.code})\n--- stderr\n${r.stderr.slice(-4000)}\n--- stdout\n${r.stdout.slice(-3000)}`,
        );
      }
    });
  }
});
