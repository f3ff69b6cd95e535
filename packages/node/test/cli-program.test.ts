/**
 * `custos` loads its command tree a group at a time (docs/performance.md, "CLI start-up"): a command
 * line loads only the groups of the command it names, none for `--version`. What the user sees must
 * not depend on it: every command's `--help`, run as a user runs it, is the help of the same command
 * in the whole tree, and the groups list exactly the top-level commands the tree has.
 */
import type { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, COMMAND_GROUPS, groupsFor, runCli, VERSION } from '../src/cli/program.js';

/** What `write` puts on stdout while `f` runs. */
async function stdoutOf(f: () => unknown): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    chunks.push(String(s));
    return true;
  });
  try {
    await f();
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

/** Every command of the tree with its path of names, parents first. */
function commandsOf(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return [{ path, cmd }, ...cmd.commands.flatMap((c) => commandsOf(c, [...path, c.name()]))];
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('custos command groups', () => {
  it('list the top-level commands of the whole tree, in the order of the help', async () => {
    const whole = await buildProgram();
    const listed = [...new Set(COMMAND_GROUPS.flatMap((g) => g.commands))];
    expect(whole.commands.map((c) => c.name())).toEqual(listed);
    expect(listed).toContain('tx');
    expect(listed).toContain('history');
  });

  it('are loaded only for the command named, none for --version, all for the overall help', () => {
    expect(groupsFor(['--version'])).toEqual([]);
    expect(groupsFor(['-V'])).toEqual([]);
    expect(groupsFor(['tx', 'show', 'ab'])).toHaveLength(1);
    expect(groupsFor(['org', 'risk'])).toHaveLength(3);
    expect(groupsFor(['--help'])).toBe(COMMAND_GROUPS);
    expect(groupsFor(['help', 'tx'])).toBe(COMMAND_GROUPS);
    expect(groupsFor(['hisotry'])).toBe(COMMAND_GROUPS);
    expect(groupsFor([])).toBe(COMMAND_GROUPS);
  });

  it('--version prints the version without loading a command', async () => {
    const program = await buildProgram(['--version']);
    expect(program.commands).toEqual([]);
    let code: number | undefined;
    const out = await stdoutOf(async () => {
      code = await runCli(['node', 'custos', '--version']);
    });
    expect(out).toBe(`${VERSION}\n`);
    expect(code).toBe(0);
  });

  it("every command's --help is its help in the whole tree", async () => {
    const whole = await buildProgram();
    const all = commandsOf(whole);
    expect(all.length).toBeGreaterThan(100);
    for (const { path, cmd } of all) {
      const expected = await stdoutOf(() => cmd.outputHelp());
      let code: number | undefined;
      const got = await stdoutOf(async () => {
        code = await runCli(['node', 'custos', ...path, '--help']);
      });
      expect(got, `custos ${path.join(' ')} --help`).toBe(expected);
      expect(code).toBe(0);
    }
  });

  it('`custos tx --help` lists the transaction types of every system module', async () => {
    const out = await stdoutOf(() => runCli(['node', 'custos', 'tx', '--help']));
    expect(out).toContain('Transaction types (--type):');
    expect(out).toMatch(/ {2}kv\. +delete, put/);
    expect(out).toMatch(/ {2}consent\. +/);
  });
});
