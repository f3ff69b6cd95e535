/**
 * `custos backup --out F` and `custos restore F --home H`: a consistent copy of a peer's SQLite
 * store taken while the peer runs (SQLite's online backup API, read through a second connection, so
 * the running process needs no signal or route), and its restore into a fresh home, which then
 * catches up from the orderer or, past its window, from the other peers.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NodeError } from '../errors.js';
import { parseGenesis } from '../genesis.js';
import { DB_FILE, GENESIS_FILE, resolveHome } from '../home.js';
import { SqliteStore } from '../store/sqlite.js';
import { output } from './output.js';

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description("copy a peer's store consistently, while it runs")
    .requiredOption('--out <file>', 'backup file to write (must not exist)')
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--json', 'print one JSON document')
    .action(async (flags: { out: string; home?: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      const db = join(home, DB_FILE);
      if (!existsSync(db)) throw new NodeError('NOT_INITIALIZED', `no store in ${home}`);
      if (existsSync(flags.out))
        throw new NodeError('ALREADY_INITIALIZED', `${flags.out} exists; nothing was overwritten`);
      const store = new SqliteStore(db, { readonly: true });
      try {
        const tmp = `${flags.out}.partial`;
        await store.backup(tmp);
        renameSync(tmp, flags.out);
      } finally {
        store.close();
      }
      const copy = new SqliteStore(flags.out, { readonly: true });
      const height = copy.latestHeader()?.height ?? -1;
      const chainId = copy.getMeta('chainId');
      copy.close();
      out.result(
        { file: flags.out, chainId, height },
        `Backed up chain ${chainId} at height ${height} to ${flags.out}.`,
      );
    });

  program
    .command('restore <file>')
    .description(
      'restore a backup into a home that has no store yet (its keys and consortium.json copied by the operator)',
    )
    .requiredOption('--home <dir>', 'home directory to restore into')
    .option('--json', 'print one JSON document')
    .action(async (file: string, flags: { home: string; json?: boolean }) => {
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      if (!existsSync(file)) throw new NodeError('NOT_FOUND', `no backup file ${file}`);
      if (existsSync(join(home, DB_FILE))) {
        throw new NodeError('ALREADY_INITIALIZED', `${home} already has a store; restore into a fresh home`);
      }
      const src = new SqliteStore(file, { readonly: true });
      let genesisText: string | undefined;
      let height = -1;
      try {
        genesisText = src.getMeta('genesis');
        height = src.latestHeader()?.height ?? -1;
      } finally {
        src.close();
      }
      if (genesisText === undefined) throw new NodeError('BAD_GENESIS', `${file} holds no chain`);
      const genesis = parseGenesis(JSON.parse(genesisText));
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const gPath = join(home, GENESIS_FILE);
      if (existsSync(gPath)) {
        const { readGenesisFile } = await import('../home.js');
        const { genesisText: text } = await import('../genesis.js');
        if (text(readGenesisFile(gPath)) !== genesisText) {
          throw new NodeError('BAD_GENESIS', `${gPath} is another chain than the backup's`);
        }
      } else {
        writeFileSync(gPath, `${JSON.stringify(genesis, null, 2)}\n`, { flag: 'wx' });
      }
      copyFileSync(file, join(home, DB_FILE));
      out.result(
        { home, chainId: genesis.chainId, height },
        `Restored chain ${genesis.chainId} at height ${height} into ${home}; start the peer to catch up.`,
      );
    });
}
