/**
 * The EVM flags of `custos relay` and the EVM lines of `custos xtx status` (docs/operations.md,
 * "EVM chains"): endpoints and the paying account checked before anything runs, a secret key only
 * from a bounded file (an encrypted keystore, or a plain key with a warning), and a leg's status in
 * words, with the AT RISK flag.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { evmLegRows, evmRelayChains } from '../src/cli/relay-evm-flags.js';
import type { NodeError } from '../src/errors.js';
import { writeEvmKeystore } from '../src/keys/keystore.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const RPC = 'http://127.0.0.1:8545';
const ACCOUNT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('custos relay --evm-*', () => {
  it('takes endpoints with an unlocked account or a key file', () => {
    expect(evmRelayChains({ evmRpc: [] })).toEqual([]);
    expect(evmRelayChains({ evmRpc: [RPC], evmAccount: ACCOUNT })).toEqual([
      { rpcUrl: RPC, account: { address: ACCOUNT } },
    ]);
    const file = join(tmp.dir, 'key');
    writeFileSync(file, `0x${'ab'.repeat(32)}\n`);
    const warnings: string[] = [];
    expect(evmRelayChains({ evmRpc: [RPC, RPC], evmKeyFile: file }, (l) => warnings.push(l))[1]).toEqual({
      rpcUrl: RPC,
      account: { secretKey: `0x${'ab'.repeat(32)}` },
    });
    expect(warnings).toEqual([
      `warning: ${file} holds an EVM secret key unencrypted; encrypt it with \`custos keys evm new --import ${file} --out KEYSTORE\`, pass --evm-key-file KEYSTORE and delete ${file}`,
    ]);
  });

  it('takes an encrypted EVM keystore with the passphrase of --passphrase-file, and refuses a wrong one', () => {
    const keystore = join(tmp.dir, 'relayer.json');
    writeEvmKeystore(keystore, new Uint8Array(32).fill(0xcd), 'relayer passphrase');
    const right = join(tmp.dir, 'right.txt');
    writeFileSync(right, 'relayer passphrase\n');
    const warnings: string[] = [];
    expect(
      evmRelayChains({ evmRpc: [RPC], evmKeyFile: keystore, passphraseFile: right }, (l) => warnings.push(l)),
    ).toEqual([{ rpcUrl: RPC, account: { secretKey: `0x${'cd'.repeat(32)}` } }]);
    expect(warnings).toEqual([]);
    const wrong = join(tmp.dir, 'wrong.txt');
    writeFileSync(wrong, 'another passphrase\n');
    let error: NodeError | undefined;
    try {
      evmRelayChains({ evmRpc: [RPC], evmKeyFile: keystore, passphraseFile: wrong });
    } catch (e) {
      error = e as NodeError;
    }
    expect(error?.code).toBe('WRONG_PASSPHRASE');
    expect(error?.message).toBe(
      `cannot decrypt the EVM key in ${keystore}: wrong passphrase (from --passphrase-file or CUSTOS_PASSPHRASE) or damaged file`,
    );
    writeFileSync(join(tmp.dir, 'broken.json'), '{"version": 1,');
    expect(() => evmRelayChains({ evmRpc: [RPC], evmKeyFile: join(tmp.dir, 'broken.json') })).toThrow(
      /broken\.json to hold an EVM keystore .* it is not JSON/,
    );
  });

  it('refuses what it cannot use, saying what was expected, never echoing a key', () => {
    expect(() => evmRelayChains({ evmRpc: [], evmAccount: ACCOUNT })).toThrow(/need --evm-rpc/);
    expect(() => evmRelayChains({ evmRpc: ['ftp://x'], evmAccount: ACCOUNT })).toThrow(/http\(s\) URL/);
    expect(() => evmRelayChains({ evmRpc: ['not a url'], evmAccount: ACCOUNT })).toThrow(/http\(s\) URL/);
    expect(() => evmRelayChains({ evmRpc: [RPC] })).toThrow(/--evm-account or --evm-key-file/);
    expect(() => evmRelayChains({ evmRpc: [RPC], evmAccount: 'bob' })).toThrow(/0x address/);
    const bad = join(tmp.dir, 'bad');
    writeFileSync(bad, 'secret-but-not-hex');
    let message = '';
    try {
      evmRelayChains({ evmRpc: [RPC], evmKeyFile: bad });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/0x and 64 hex digits/);
    expect(message).not.toContain('secret-but-not-hex');
    const big = join(tmp.dir, 'big');
    writeFileSync(big, 'x'.repeat(5000));
    expect(() => evmRelayChains({ evmRpc: [RPC], evmKeyFile: big })).toThrow(/at most 4096 bytes/);
    expect(() => evmRelayChains({ evmRpc: [RPC], evmKeyFile: bad, evmAccount: ACCOUNT })).toThrow(/not both/);
  });

  it('shows a leg in words, flagging a COMMIT at risk and a contract behind the chain’s member set', () => {
    const leg = {
      participant: 'evm:31337:0x5fbdb2315678afecb367f032d93f642f64180aa3',
      evmChainId: 31337,
      contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      vote: 'YES' as const,
      decision: { commit: true, signatures: 1, threshold: 2 },
      outcome: null,
      prepareTx: `0x${'12'.repeat(32)}`,
      block: 7,
      confirmations: 3,
      lock: 'prepared' as const,
      deadline: 12,
      atRisk: true,
      memberSet: { chain: 4, contract: 3, decision: 4 },
    };
    const [[who, what]] = evmLegRows([leg]) as [[string, string]];
    expect(who).toBe(leg.participant);
    expect(what).toContain('prepared; vote YES proven; prepare 0x1212');
    expect(what).toContain('in block 7, 3 confirmations; COMMIT signed by 1 of 2 needed');
    expect(what).toContain('AT RISK');
    expect(what).toContain('member set epoch 4 on the decision chain, 3 on the contract (updateMembers pending');
    const done = { ...leg, lock: null, atRisk: false, outcome: 'committed' as const };
    expect(evmLegRows([{ ...done, memberSet: { chain: 4, contract: 4, decision: 4 } }])[0]?.[1]).toMatch(
      /^committed;.*committed proven on the decision chain; member set epoch 4 on the decision chain, 4 on the contract$/,
    );
    expect(evmLegRows([{ ...done, memberSet: { chain: 4, contract: null, decision: 4 } }])[0]?.[1]).toContain(
      '4 on the decision chain, ? (no --evm-rpc) on the contract',
    );
  });
});
