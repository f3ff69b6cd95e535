/**
 * Issue 11, the modules' part of the trust model, against one real node (SQLite, native crypto):
 * proof of possession for member keys (#4), erasure requests fulfilled only by erasing (#9) and
 * org-owned `kv` namespaces (#10).
 */
import { join } from 'node:path';
import { didFromPublicKey } from '@custos/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosNode } from '../src/node.js';
import { exportContext } from '../src/orgs/receipts.js';
import { type Fixture, fixture, tempDir, tx, userSigner } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
let node: CustosNode;

beforeEach(async () => {
  tmp = tempDir();
  fx = fixture();
  node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
  });
});

afterEach(async () => {
  await node.close();
  tmp.cleanup();
});

const profile = (url: string) => ({
  controller: { name: 'Bank', contact: 'DPO', email: 'dpo@bank.example', url },
  policyUrl: `${url}/privacy`,
});

describe('org-owned kv namespaces', () => {
  it('trust #10: nobody but the org writes privacy/<org>.*; a squatter cannot put a phishing URL in its receipts', async () => {
    const mallory = userSigner();
    const squat = await node.submitAndWait(
      tx(mallory, 'kv.put', { ns: 'privacy', key: 'bank.profile', value: profile('https://phish.example') }),
    );
    expect(squat.code).toBe('RESERVED_NAMESPACE');
    // Another member org is refused too, and so are keys outside the <org>.<name> form.
    const rival = await node.submitAndWait(
      tx(fx.orgs.insurer!, 'kv.put', { ns: 'privacy', key: 'bank.policy', value: { url: 'https://x.example' } }),
    );
    expect(rival.code).toBe('RESERVED_NAMESPACE');
    for (const key of ['bank', 'bank.', 'nobody.profile', 'Bank.profile']) {
      expect((await node.submitAndWait(tx(mallory, 'kv.put', { ns: 'privacy', key, value: 1 }))).code).toBe(
        'RESERVED_NAMESPACE',
      );
    }
    expect(node.store.getState('kv/privacy/bank.profile')).toBeUndefined();
    expect(() => exportContext(node, 'bank')).toThrow(/has not published/);

    const own = await node.submitAndWait(
      tx(fx.orgs.bank!, 'kv.put', { ns: 'privacy', key: 'bank.profile', value: profile('https://bank.example') }),
    );
    expect(own.code).toBe('OK');
    expect(exportContext(node, 'bank')).toMatchObject({ policyUrl: 'https://bank.example/privacy' });
    // Neither overwrite nor delete by others; any key of the org (a new one too) may update it.
    expect(
      (
        await node.submitAndWait(
          tx(mallory, 'kv.put', { ns: 'privacy', key: 'bank.profile', value: profile('https://phish.example') }),
        )
      ).code,
    ).toBe('RESERVED_NAMESPACE');
    expect((await node.submitAndWait(tx(mallory, 'kv.delete', { ns: 'privacy', key: 'bank.profile' }))).code).toBe(
      'RESERVED_NAMESPACE',
    );
    expect(exportContext(node, 'bank')).toMatchObject({ policyUrl: 'https://bank.example/privacy' });
    // Other namespaces keep first-writer ownership.
    expect((await node.submitAndWait(tx(mallory, 'kv.put', { ns: 'app', key: 'bank.x', value: 1 }))).code).toBe('OK');
    void didFromPublicKey;
  });
});
