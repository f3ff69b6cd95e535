/**
 * A member's secp256k1 key for EVM chains at rest (keys/keystore.ts): encrypted like the Ed25519
 * keys (scrypt + AES-256-GCM), named and bound by its EVM address.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evmAddress, evmSecretKey } from '@custos/protocol/interop';
import { codeChecker } from '@custos/test-utils';
import { tempDir } from '@custos/test-utils/node';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeError } from '../src/errors.js';
import { decryptEvmKey, type EvmKeystoreFile, loadEvmKey, writeEvmKeystore } from '../src/keys/keystore.js';

const expectCode = codeChecker(NodeError);
const dir = tempDir('custos-evm-keys-');
afterAll(() => dir.cleanup());

describe('EVM keystore', () => {
  const sk = evmSecretKey();
  const path = join(dir.dir, 'evm-key.json');
  const address = writeEvmKeystore(path, sk, 'correct horse battery');
  const file = JSON.parse(readFileSync(path, 'utf8')) as EvmKeystoreFile;

  it('writes the key encrypted, readable by the owner only, named by its address', () => {
    expect(address).toBe(evmAddress(sk));
    expect(file).toMatchObject({ version: 1, curve: 'secp256k1', address });
    expect(readFileSync(path, 'utf8')).not.toContain(Buffer.from(sk).toString('hex'));
    expect(readFileSync(path, 'utf8')).not.toContain(Buffer.from(sk).toString('base64'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadEvmKey(path, 'correct horse battery')).toEqual(sk);
  });

  it('refuses a wrong passphrase, a swapped address and a foreign file', () => {
    expectCode(() => loadEvmKey(path, 'wrong horse battery'), 'WRONG_PASSPHRASE');
    const other = evmAddress(evmSecretKey());
    expectCode(() => decryptEvmKey({ ...file, address: other }, 'correct horse battery'), 'WRONG_PASSPHRASE');
    expectCode(
      () => decryptEvmKey({ ...file, curve: 'ed25519' } as unknown as EvmKeystoreFile, 'x'.repeat(8)),
      'BAD_KEYSTORE',
    );
    const big = join(dir.dir, 'big.json');
    writeFileSync(big, 'x'.repeat(5000));
    expectCode(() => loadEvmKey(big, 'correct horse battery'), 'BAD_KEYSTORE');
    expectCode(() => writeEvmKeystore(join(dir.dir, 'short.json'), sk, 'short'), 'BAD_REQUEST');
  });
});
