/**
 * A customer moves a relationship from one consortium to another in one step, through the whole
 * stack: two chains behind their HTTP APIs, light clients registered over HTTP, the customer's
 * wallet and the orgs signing the operations, the SDK building the cross-chain transaction, the
 * API taking its xtx.prepare, real `custos relay` processes (one killed with SIGKILL mid-work)
 * carrying it, and `custos xtx status` showing the outcome. Needs `npm run build`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomSecretKey, type Signer } from '@custos/protocol/crypto';
import { signRegistration } from '@custos/protocol/interop';
import type { JsonValue } from '@custos/protocol/jcs';
import { type SignedTx, signTx, txIdOf } from '@custos/protocol/ledger';
import { Wallet } from '@custos/protocol/wallet';
import { buildXtx, customerXtxOp, xtxPrepareTx } from '@custos/sdk';
import { tempDir } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, listen } from '../src/api/server.js';
import { nativeSigner } from '../src/crypto/native.js';
import { memberSetOf } from '../src/genesis.js';
import { writeKeystore } from '../src/keys/keystore.js';
import type { ConsentState } from '../src/modules/consent.js';
import type { DataRecord } from '../src/modules/data.js';
import { tokenStoreOf } from '../src/orgs/tokens.js';
import { type Chain, locksOf, openChain, voteOf } from './xtx-helpers.js';

const CLI = fileURLToPath(new URL('../dist/bin/custos.js', import.meta.url));
const DAY = 86_400_000;

let tmp: ReturnType<typeof tempDir>;
let a: Chain;
let b: Chain;
let apps: FastifyInstance[] = [];
let urlA: string;
let urlB: string;
let tokenA: string;
let tokenB: string;
const children: ChildProcess[] = [];

async function post(url: string, tx: SignedTx): Promise<{ code: string; txId: string }> {
  const res = await fetch(`${url}/v1/txs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(tx),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { code: string; txId: string };
}

function custos(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, CUSTOS_PASSPHRASE: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

function relay(interval = '100'): { child: ChildProcess; lines: string[]; firstAction: Promise<void> } {
  const child = spawn(process.execPath, [
    CLI,
    'relay',
    '--chain',
    urlA,
    '--chain',
    urlB,
    // The open cross-chain transactions are members' data: a member's read token per chain.
    '--token',
    tokenA,
    '--token',
    tokenB,
    '--interval',
    interval,
    '--json',
  ]);
  children.push(child);
  const lines: string[] = [];
  let buf = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const firstAction = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.length > 0));
      if (lines.length > 0) resolve();
    });
    child.once('exit', () => reject(new Error(`the relayer exited before relaying anything: ${stderr}`)));
  });
  // Only awaited for the first relayer; the other may finish with nothing left to do.
  firstAction.catch(() => {});
  return { child, lines, firstAction };
}

async function registerOver(url: string, local: Chain, remote: Chain): Promise<void> {
  const r = { chainId: remote.chainId, members: memberSetOf(remote.genesis) };
  const signers = Object.values(local.orgs);
  const tx = signTx(
    {
      chainId: local.chainId,
      type: 'interop.register',
      args: {
        chain: r as unknown as JsonValue,
        cosignatures: signers.map((s) => signRegistration(local.chainId, r, s)) as unknown as JsonValue,
      },
    },
    signers[0]!,
  );
  expect((await post(url, tx)).code).toBe('OK');
}

beforeAll(async () => {
  tmp = tempDir('custos-xtx-e2e-');
  a = await openChain(tmp.dir, 'retail-eu', ['bank', 'shop']);
  b = await openChain(tmp.dir, 'health-eu', ['insurer', 'clinic', 'lab']);
  // Two relayers and the CLI poll from one address: no rate limit in this test (see ADR 0008).
  apps = [createServer(a.node, { rateLimit: false }), createServer(b.node, { rateLimit: false })];
  urlA = await listen(apps[0]!, { port: 0 });
  urlB = await listen(apps[1]!, { port: 0 });
  tokenA = tokenStoreOf(a.node).create('bank', { scopes: ['read'], createdBy: 'xtx-e2e' }).token;
  tokenB = tokenStoreOf(b.node).create('insurer', { scopes: ['read'], createdBy: 'xtx-e2e' }).token;
  await registerOver(urlA, a, b);
  await registerOver(urlB, b, a);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const app of apps) await app.close();
  await a.node.close();
  await b.node.close();
  tmp.cleanup();
});

function state<T>(c: Chain, key: string): T | undefined {
  const t = c.node.store.getState(key);
  return t === undefined ? undefined : (JSON.parse(t) as T);
}

describe('moving a relationship between consortia in one step', () => {
  it('withdraws and erases in one ledger and grants and registers in the other, or neither', async () => {
    const wallet = Wallet.create({ signerFactory: nativeSigner });
    const bank = a.orgs.bank as Signer;
    const insurer = b.orgs.insurer as Signer;
    const subjectA = wallet.relationship(a.chainId, 'bank').did;
    const subjectB = wallet.relationship(b.chainId, 'insurer').did;
    // Before: the customer consented to the bank, which registered their email address.
    const grant = signTx(
      {
        chainId: a.chainId,
        type: 'consent.grant',
        args: {
          org: 'bank',
          purposes: ['dpv:ServiceProvision'],
          categories: ['pd:EmailAddress'],
          expiresAt: Date.now() + 365 * DAY,
          jurisdiction: 'GDPR',
          notice: 'ab'.repeat(32),
        },
      },
      wallet.relationship(a.chainId, 'bank').signer,
    );
    expect((await post(urlA, grant)).code).toBe('OK');
    const registered = await post(
      urlA,
      signTx(
        {
          chainId: a.chainId,
          type: 'data.register',
          args: {
            subject: subjectA,
            category: 'pd:EmailAddress',
            purposes: { 'dpv:ServiceProvision': 'consent' },
            source: 'subject',
            commitment: 'cd'.repeat(32),
            vaultRef: '0f'.repeat(16),
            retentionDays: 365,
          },
        },
        bank,
      ),
    );
    expect(registered.code).toBe('OK');
    const recordA = registered.txId;

    // The move: the customer and both orgs sign their parts of one plan; the SDK assembles it.
    const deadline = a.node.latest().height + 200;
    const { xtx, xtxId } = buildXtx({
      decisionChain: a.chainId,
      deadlineHeight: deadline,
      ops: [
        customerXtxOp(wallet, a.chainId, 'bank', 'consent.withdraw', { org: 'bank' }),
        {
          chainId: a.chainId,
          type: 'data.erased',
          args: { records: [recordA], reason: 'consent-withdrawn' },
          signer: bank,
        },
        customerXtxOp(wallet, b.chainId, 'insurer', 'consent.grant', {
          org: 'insurer',
          purposes: ['dpv:ServiceProvision'],
          categories: ['pd:EmailAddress'],
          expiresAt: Date.now() + 365 * DAY,
          jurisdiction: 'GDPR',
          notice: 'ef'.repeat(32),
        }),
        {
          chainId: b.chainId,
          type: 'data.register',
          args: {
            subject: subjectB,
            category: 'pd:EmailAddress',
            purposes: { 'dpv:ServiceProvision': 'consent' },
            source: 'subject',
            commitment: '12'.repeat(32),
            vaultRef: '34'.repeat(16),
            retentionDays: 365,
          },
          signer: insurer,
        },
      ],
    });
    const recordB = xtx.ops[b.chainId]![1]!;

    // The API takes the prepare like any transaction; the rest is up to the relayers.
    const anyone = nativeSigner(randomSecretKey());
    expect((await post(urlA, xtxPrepareTx(xtx, a.chainId, anyone))).code).toBe('OK');
    expect(voteOf(a, xtxId)).toMatchObject({ vote: 'YES', status: 'prepared' });
    const pending = await custos(['xtx', 'status', xtxId, '--chain', urlA, '--chain', urlB, '--json']);
    expect(pending.code).toBe(0);
    expect(JSON.parse(pending.stdout)).toMatchObject({ stage: 'preparing', decision: null });

    // A relayer process is killed with SIGKILL as soon as it has submitted its first step; a
    // second one, started afresh with nothing but the chains' URLs, finishes the job.
    const first = relay();
    await first.firstAction;
    first.child.kill('SIGKILL');
    expect(JSON.parse(first.lines[0]!)).toMatchObject({ xtxId, step: 'prepare', chainId: b.chainId, code: 'OK' });
    const second = relay();
    for (let i = 0; i < 600; i++) {
      if (voteOf(a, xtxId)?.status === 'committed' && voteOf(b, xtxId)?.status === 'committed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    second.child.kill('SIGTERM');

    // The body (and so the decision chain) is members' data: the status reads with their tokens.
    const withTokens = ['--chain', urlA, '--token', tokenA, '--chain', urlB, '--token', tokenB];
    const done = await custos(['xtx', 'status', xtxId, ...withTokens, '--json']);
    expect(done.code).toBe(0);
    const status = JSON.parse(done.stdout);
    expect(status).toMatchObject({ stage: 'committed', decision: { decision: 'COMMIT' }, decisionChain: a.chainId });
    const human = await custos(['xtx', 'status', xtxId, ...withTokens]);
    expect(human.stdout).toContain(`Cross-chain transaction ${xtxId}: committed`);
    expect(human.stdout).toMatch(/health-eu\s+committed \(voted YES\)/);

    // Ledger A: consent withdrawn, record erased. Ledger B: consent live, record registered.
    const consentA = state<ConsentState>(a, `consent/bank/${subjectA}`)!;
    expect(consentA.grants.every((g) => g.withdrawnAt !== null)).toBe(true);
    expect(state<DataRecord>(a, `record/bank/${recordA}`)!.erasedAt).not.toBeNull();
    const consentB = state<ConsentState>(b, `consent/insurer/${subjectB}`)!;
    expect(consentB.grants).toHaveLength(1);
    expect(consentB.grants[0]!.withdrawnAt).toBeNull();
    const idB = txIdOf(recordB.body);
    expect(state<DataRecord>(b, `record/insurer/${idB}`)).toMatchObject({ subject: subjectB, erasedAt: null });
    expect(locksOf(a)).toEqual([]);
    expect(locksOf(b)).toEqual([]);
    // The customer sees the move in each pseudonym's history: the prepare and the finalize.
    const types = (c: Chain, did: string) =>
      c.node.store.subjectHistory(did, -1, 100).map((i) => c.node.store.getTxByLogIndex(i)!.tx?.body.type);
    expect(types(a, subjectA)).toEqual(['consent.grant', 'data.register', 'xtx.prepare', 'xtx.finalize']);
    expect(types(b, subjectB)).toEqual(['xtx.prepare', 'xtx.finalize']);
  }, 85_000);

  it('a running relayer scans again on a chain’s next block, not after its interval (a minute here)', async () => {
    for (const c of children) c.kill('SIGKILL');
    const r = relay('60000');
    // Its first scan, at start, finds nothing to relay; the transaction comes after it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const key = `k${Date.now()}`;
    const { xtx, xtxId } = buildXtx({
      decisionChain: a.chainId,
      deadlineHeight: a.node.latest().height + 200,
      ops: [
        { chainId: a.chainId, type: 'kv.put', args: { ns: 'n', key, value: 1 }, signer: a.orgs.bank as Signer },
        { chainId: b.chainId, type: 'kv.put', args: { ns: 'n', key, value: 1 }, signer: b.orgs.insurer as Signer },
      ],
    });
    expect((await post(urlA, xtxPrepareTx(xtx, a.chainId, nativeSigner(randomSecretKey())))).code).toBe('OK');
    await r.firstAction;
    // The test's timeout (under the minute) is the bound; no speed is asserted. The decision chain
    // records the outcome after the other chain applies it (the relayer carries it back), so both
    // are awaited: reading A right after B committed raced the relayer's last step.
    const status = (c: Chain) => state<{ status: string }>(c, `xtx/${xtxId}`)?.status;
    const final = (c: Chain) => status(c) === 'committed' || status(c) === 'aborted';
    while (!final(a) || !final(b)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect([status(a), status(b)]).toEqual(['committed', 'committed']);
  }, 45_000);

  it('says so when no chain knows the transaction', async () => {
    const r = await custos(['xtx', 'status', 'ab'.repeat(32), '--chain', urlA]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('error NOT_FOUND');
  });

  it('relays once with a keystore key, and refuses fewer than two chains', async () => {
    const keyFile = join(tmp.dir, 'relay.key');
    const passFile = join(tmp.dir, 'relay.pass');
    writeFileSync(passFile, 'relay passphrase, long enough');
    const did = writeKeystore(keyFile, randomSecretKey(), 'relay passphrase, long enough');
    const r = await custos([
      'relay',
      '--chain',
      urlA,
      '--chain',
      urlB,
      '--key',
      keyFile,
      '--passphrase-file',
      passFile,
      '--once',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ relayer: did, actions: [] });
    const one = await custos(['relay', '--chain', urlA]);
    expect(one.code).toBe(64);
    expect(one.stderr).toContain('expected at least two --chain URLs');
  });
});
