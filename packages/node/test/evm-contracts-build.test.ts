/**
 * The checked-in EVM bytecode (src/interop/evm/contracts/artifacts.generated.ts) is what solc from
 * npm makes of the .sol sources beside it: the compile script in --check mode compiles them again
 * and fails on any difference.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CustosParticipant, LoyaltyToken } from '../src/interop/evm/contracts/artifacts.generated.js';

const SCRIPT = fileURLToPath(new URL('../scripts/compile-contracts.mjs', import.meta.url));

describe('EVM contract artifacts', () => {
  it('are reproduced byte for byte by compiling the sources', () => {
    const run = spawnSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 150_000);

  it('hold deployable bytecode and the ABI the Custos side calls', () => {
    for (const c of [CustosParticipant, LoyaltyToken]) expect(c.bytecode).toMatch(/^0x(?:[0-9a-f]{2})+$/);
    const names = CustosParticipant.abi.map((x) => ('name' in x ? x.name : x.type));
    for (const n of ['prepare', 'decide', 'release', 'updateMembers', 'Voted', 'Decided', 'decisionDigest']) {
      expect(names).toContain(n);
    }
  });
});
