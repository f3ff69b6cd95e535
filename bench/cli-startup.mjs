/**
 * Scenario cli-startup: how long a `custos` invocation takes before it does its work, for a few
 * representative commands run as separate processes, as a user or a test runs them: `--version`,
 * `--help`, and client commands that only talk HTTP to a node (`tx show`, `block`, `history`),
 * pointed at a port where nothing listens, so each one starts, fails to connect and exits. Ceiling,
 * measured in the same run: `node -e 0`, a process that loads nothing. Reports per command the
 * median and p90 of the wall time and of the process's CPU time (user + system, from the parent's
 * /proc/self/stat children counters, 10 ms ticks). Needs a build (`npm run build`). Prints one JSON
 * object last.
 *
 *   node bench/cli-startup.mjs [--quick]
 *
 * CUSTOS_CLI=<path of another build's bin/custos.js> measures that build instead, to compare two
 * commits on the same machine in the same conditions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencySummary, machine } from './_stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = process.env.CUSTOS_CLI ?? join(here, '..', 'packages', 'node', 'dist', 'bin', 'custos.js');
/** Nothing listens here: the client commands fail with NODE_UNREACHABLE once they try to connect. */
const NOWHERE = 'http://127.0.0.1:9';
const TXID = 'ab'.repeat(32);

/** CPU milliseconds (user + system) of this process's waited-for children so far (Linux), or null. */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return null;
  }
}

function once(args, env) {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const wall = performance.now() - t0;
  const cpu1 = childrenCpuMs();
  return { wall, cpu: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, status: r.status, stderr: r.stderr };
}

export async function run(options = {}) {
  const runs = options.quick ? 5 : 20;
  const home = mkdtempSync(join(tmpdir(), 'custos-bench-cli-'));
  const env = { ...process.env, CUSTOS_HOME: home, CUSTOS_NODE: NOWHERE };
  delete env.NODE_OPTIONS;
  const commands = [
    { name: 'node -e 0', args: ['-e', '0'], exit: 0 },
    { name: 'custos --version', args: [CLI, '--version'], exit: 0 },
    { name: 'custos --help', args: [CLI, '--help'], exit: 0 },
    { name: 'custos tx show TXID', args: [CLI, 'tx', 'show', TXID], exit: 'NODE_UNREACHABLE' },
    { name: 'custos block', args: [CLI, 'block'], exit: 'NODE_UNREACHABLE' },
    { name: 'custos history', args: [CLI, 'history'], exit: 'error' },
  ];
  const samples = new Map(commands.map((c) => [c.name, { wall: [], cpu: [] }]));
  try {
    for (let i = 0; i < runs + 1; i++) {
      for (const c of commands) {
        const r = once(c.args, env);
        const ok = c.exit === 0 ? r.status === 0 : r.status !== 0 && (c.exit === 'error' || r.stderr.includes(c.exit));
        if (!ok) throw new Error(`${c.name}: unexpected exit ${r.status}: ${r.stderr.slice(0, 300)}`);
        // The first round warms the page cache; it is not counted.
        if (i === 0) continue;
        samples.get(c.name).wall.push(r.wall);
        if (r.cpu !== null) samples.get(c.name).cpu.push(r.cpu);
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const summary = (xs) => {
    const s = latencySummary(xs);
    const sorted = [...xs].sort((a, b) => a - b);
    const p90 =
      sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))]);
    return { median: s.p50 === null ? null : Math.round(s.p50), p90 };
  };
  const results = Object.fromEntries(
    [...samples].map(([name, s]) => [name, { wall_ms: summary(s.wall), cpu_ms: summary(s.cpu) }]),
  );
  const ceiling = results['node -e 0'].wall_ms.median;
  const typical = results['custos tx show TXID'].wall_ms;
  const all = [...samples].filter(([n]) => n !== 'node -e 0').flatMap(([, s]) => s.wall);
  return {
    scenario: 'cli-startup',
    succeeded: all.length,
    failed: 0,
    send_rate: null,
    throughput: null,
    unit: 'ms per process (wall)',
    latency_ms: latencySummary(all),
    ceiling: { name: 'node -e 0 (median wall ms)', value: ceiling },
    ratio: typical.median === null || ceiling === null ? null : Math.round((ceiling / typical.median) * 100) / 100,
    machine: machine(),
    runs,
    commands: results,
  };
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(JSON.stringify(await run({ quick: process.argv.includes('--quick') })));
