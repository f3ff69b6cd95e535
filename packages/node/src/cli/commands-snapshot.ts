/**
 * `custos snapshot import --from URL --home H`: starts a joining peer's store from another peer's
 * verified state snapshot (GET /v1/snapshot) instead of replaying from genesis. The home must hold
 * the genesis the joiner trusts (`genesis.json`) and no store yet; see docs/operations.md,
 * "Joining from a snapshot".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { fetchSnapshot, importSnapshot } from '../consortium/snapshot.js';
import { installNativeCrypto } from '../crypto/native.js';
import { NodeError } from '../errors.js';
import { DB_FILE, GENESIS_FILE, readGenesisFile, resolveHome } from '../home.js';
import { output } from './output.js';

export function registerSnapshotCommands(program: Command): void {
  const snapshot = program.command('snapshot').description('state sync: start a peer from a verified snapshot');
  snapshot
    .command('import')
    .description("verify a peer's snapshot against the genesis members and write a store that starts at its height")
    .requiredOption('--from <url>', "base URL of a peer's HTTP API")
    .option('--home <dir>', 'home directory (default $CUSTOS_HOME or ./.custos)')
    .option('--height <n>', 'expected height (the peer exports its head once final)')
    .addOption(
      new Option('--token <token>', "an API token with the 'replica' scope, from a member of the consortium").env(
        'CUSTOS_TOKEN',
      ),
    )
    .option('--json', 'print one JSON document')
    .action(async (flags: { from: string; home?: string; height?: string; token?: string; json?: boolean }) => {
      installNativeCrypto();
      const out = output(flags.json === true);
      const home = resolveHome(flags.home);
      const genesisPath = join(home, GENESIS_FILE);
      if (!existsSync(genesisPath)) throw new NodeError('NOT_INITIALIZED', `no ${GENESIS_FILE} in ${home}`);
      const dbPath = join(home, DB_FILE);
      if (existsSync(dbPath)) throw new NodeError('ALREADY_INITIALIZED', `${home} already has a store`);
      let height: number | undefined;
      if (flags.height !== undefined) {
        height = Number(flags.height);
        if (!Number.isSafeInteger(height) || height < 0) throw new NodeError('BAD_REQUEST', 'expected --height >= 0');
      }
      const genesis = readGenesisFile(genesisPath);
      if (flags.token === undefined) {
        throw new NodeError(
          'UNAUTHENTICATED',
          "expected --token (or $CUSTOS_TOKEN): a peer serves its snapshot only to the consortium's peers; ask a member for an API token with the 'replica' scope",
        );
      }
      const source = await fetchSnapshot(flags.from, {
        ...(height === undefined ? {} : { height }),
        headers: { authorization: `Bearer ${flags.token}` },
      });
      const r = await importSnapshot({ source, dbPath, genesis, sourceName: flags.from });
      out.result(
        { home, ...r },
        `Imported a snapshot of chain ${genesis.chainId} at height ${r.height} (${r.rows} state rows), verified against the genesis members.`,
      );
    });
}
