/**
 * Writes the OpenAPI document of the API to a file without a running node: a throwaway node (one
 * member org, its vault, in a temp folder) builds the server, which is asked for `/openapi.json`
 * in process (`inject`, nothing listens). `npm run lint:openapi` lints the result with Redocly.
 *
 *   node packages/node/dist/api/openapi-document.js <out.json>
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { didFromPublicKey, randomSecretKey } from '@custos/protocol/crypto';
import { nativeSigner } from '../crypto/native.js';
import { makeGenesis } from '../genesis.js';
import { CustosNode } from '../node.js';
import { OrgService } from '../orgs/org-service.js';
import { LocalKms } from '../vault/kms.js';
import { Vault } from '../vault/vault.js';
import { createServer } from './server.js';

/** The document as `GET /openapi.json` serves it, from a server with org routes. */
export async function openApiDocument(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-openapi-'));
  try {
    const signer = nativeSigner(randomSecretKey());
    const genesis = makeGenesis({
      chainId: 'openapi',
      time: Date.now(),
      members: [{ id: 'org', name: 'Org', keys: [didFromPublicKey(signer.publicKey)] }],
      params: { blockMaxTxs: 1, blockMaxMs: 1000 },
    });
    const node = await CustosNode.open({ dbPath: join(dir, 'node.db'), genesis, signers: [signer], verifyThreads: 1 });
    const vault = new Vault({
      path: join(dir, 'vault.db'),
      kms: LocalKms.create(join(dir, 'kms.json'), 'openapi document only'),
      org: 'org',
    });
    const orgs = new OrgService(node, [{ id: 'org', signer, vault }]);
    const app = createServer(node, { orgs });
    try {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
      return res.body;
    } finally {
      await app.close();
      orgs.stop();
      await node.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (out === undefined) {
    console.error('usage: openapi-document.js <out.json>');
    process.exit(2);
  }
  writeFileSync(out, `${JSON.stringify(JSON.parse(await openApiDocument()), null, 2)}\n`);
}
