/**
 * `custos network up|down|restart-peer`: a local consortium (etcd cluster and one peer process per
 * org) for trying Custos on one machine. See docs/operations.md, "Running a consortium".
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { defaultCli, networkDown, networkUp, restartPeer } from '../consortium/launcher.js';
import { output } from './output.js';

export function registerNetworkCommands(program: Command): void {
  const net = program.command('network').description('run a local consortium: etcd and one peer per org');
  net
    .command('up')
    .description('start a local etcd cluster and one peer process per org')
    .option('--orgs <n>', 'number of member orgs', '3')
    .option('--dir <dir>', 'directory for the homes, etcd data and network.json', 'custos-network')
    .option('--chain <id>', 'chain id', 'local')
    .option('--json', 'print one JSON document')
    .action(async (flags: { orgs: string; dir: string; chain: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const state = await networkUp({
        dir: flags.dir,
        orgs: Number(flags.orgs),
        chainId: flags.chain,
        log: out.json ? (l) => out.note(l) : () => {}, // the human result lists the addresses, once
      });
      out.result(state as never, [
        `Consortium ${state.chainId} is up (${join(flags.dir, 'network.json')}):`,
        `  etcd  ${state.etcd.endpoints.join(' ')}  (client certificates of ${state.etcd.ca})`,
        ...state.peers.map((p) => `  ${p.org.padEnd(9)} ${p.url}  (home ${p.home})`),
        `Stop with: custos network down --dir ${flags.dir} (start again with network up --dir ${flags.dir})`,
      ]);
    });
  net
    .command('down')
    .description('stop the peers (gracefully), then etcd; the data stays for `network up`')
    .option('--dir <dir>', 'directory given to `network up`', 'custos-network')
    .option('--json', 'print one JSON document')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const out = output(flags.json === true);
      await networkDown(flags.dir, (l) => out.note(l));
      out.result(
        { stopped: true, dir: flags.dir },
        `Consortium in ${flags.dir} stopped; every process it started is gone. Start it again with: custos network up --dir ${flags.dir}`,
      );
    });
  net
    .command('restart-peer <org>')
    .description("start one org's peer process again (after a crash or a restore); a running one is stopped first")
    .option('--dir <dir>', 'directory given to `network up`', 'custos-network')
    .option('--json', 'print one JSON document')
    .action(async (org: string, flags: { dir: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const p = await restartPeer(flags.dir, org, defaultCli(), (l) => out.note(l));
      out.result({ org, pid: p.pid, url: p.url }, `Peer ${org} is running again (pid ${p.pid}) on ${p.url}.`);
    });
}
