/**
 * Block time against the peer's clock (issue 11, trust #1), on one node: a block dated far ahead of
 * the node's clock (or before its parent) is refused before it runs, the state is untouched, the
 * submitter gets BLOCK_TIME_IMPLAUSIBLE and the clock alarm is raised (metric and /readyz); the
 * chain goes on once the orderer's clock is sane again. Retention acts on the time of the latest
 * final block only, and not at all when that time is implausible for this machine's clock.
 * The consortium side (refusals in etcd, the proposer re-dating the block) is in
 * consortium-time.test.ts.
 */
import { join } from 'node:path';
import { didFromPublicKey } from '@custos/protocol/crypto';
import { type Fixture, fixture, tempDir, tx, userSigner } from '@custos/test-utils/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from '../src/api/server.js';
import { NodeError } from '../src/errors.js';
import { CustosNode } from '../src/node.js';
import { SoloOrderer } from '../src/ordering/solo.js';
import { OrgService } from '../src/orgs/org-service.js';
import { LocalKms } from '../src/vault/kms.js';
import { Vault } from '../src/vault/vault.js';

const YEAR_2100 = Date.UTC(2100, 0, 1);
const DAY = 86_400_000;

let tmp: ReturnType<typeof tempDir>;
let fx: Fixture;
const toClose: { close(): unknown }[] = [];

beforeEach(() => {
  tmp = tempDir();
  fx = fixture(['bank', 'insurer', 'retailer']);
});

afterEach(async () => {
  for (const c of toClose.splice(0).reverse()) await c.close();
  tmp.cleanup();
});

async function open(opts: { orderer?: SoloOrderer; now?: () => number } = {}): Promise<CustosNode> {
  const node = await CustosNode.open({
    dbPath: join(tmp.dir, 'node.db'),
    genesis: fx.genesis,
    signers: Object.values(fx.orgs),
    verifyThreads: 1,
    ...(opts.orderer === undefined ? {} : { orderer: opts.orderer }),
    ...(opts.now === undefined ? {} : { now: opts.now }),
  });
  toClose.push(node);
  return node;
}

describe('trust #1: block time on one node', () => {
  it('trust #1: a node refuses to execute a block its orderer dates in the year 2100, and goes on once the clock is sane', async () => {
    let jump = true;
    // The orderer's clock jumps to 2100 for one block, then is right again.
    const orderer = new SoloOrderer({
      maxWaitMs: 5,
      now: () => {
        if (!jump) return Date.now();
        jump = false;
        return YEAR_2100;
      },
    });
    const node = await open({ orderer });
    const app = createServer(node, { logger: false });
    toClose.push(app);
    const before = node.latest();
    const user = userSigner();
    const err = await node.submitAndWait(tx(user, 'kv.put', { ns: 't', key: 'k', value: 1 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NodeError);
    expect((err as NodeError).code).toBe('BLOCK_TIME_IMPLAUSIBLE');
    expect((err as NodeError).message).toMatch(/ahead of this peer's clock/);
    // Nothing ran: same head, same state, nothing stored for the transaction.
    expect(node.latest()).toEqual(before);
    expect(node.store.latestHeader()?.height).toBe(before.height);
    expect(node.store.getState('kv/t/k')).toBeUndefined();
    // The alarm: raised, on /readyz and in the metrics.
    expect(node.clockStatus().alarm).toMatchObject({ kind: 'block', height: before.height + 1, blockTime: YEAR_2100 });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().detail).toMatch(/clock alarm: block \d+ refused/);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/custos_clock_alarm 1/);
    expect(metrics).toMatch(/custos_clock_alarms_total\{kind="block"\} 1/);

    // Over HTTP the submitter's wait ends at once with the reason, not with a wait without end.
    jump = true;
    const posted = await app.inject({
      method: 'POST',
      url: '/v1/txs?wait=true',
      payload: tx(user, 'kv.put', { ns: 't', key: 'http', value: 1 }),
    });
    expect(posted.statusCode).toBe(503);
    expect(posted.json()).toMatchObject({ code: 'BLOCK_TIME_IMPLAUSIBLE' });
    expect(node.latest()).toEqual(before);

    // The orderer's clock is right again: the next transaction commits with a sane time.
    const ok = await node.submitAndWait(tx(user, 'kv.put', { ns: 't', key: 'k', value: 2 }));
    expect(ok.code).toBe('OK');
    expect(node.latest().time).toBeLessThan(Date.now() + 1000);
    for (let h = 0; h <= node.latest().height; h++)
      expect(node.store.getHeader(h)!.header.time).toBeLessThan(YEAR_2100);
    expect(node.clockStatus().alarm).toBeUndefined();
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('trust #1: a block dated before its parent, or beyond the allowed skew, is implausible', async () => {
    const node = await open({ now: () => 1_000_000 });
    expect(node.checkBlockTime(999_999, 1_000_000)).toMatch(/before its parent/);
    expect(node.checkBlockTime(1_000_000 + 30_000, 1_000_000)).toBeUndefined();
    expect(node.checkBlockTime(1_000_000 + 30_001, 1_000_000)).toMatch(/30001 ms ahead/);
    await expect(
      CustosNode.open({ dbPath: join(tmp.dir, 'other.db'), genesis: fx.genesis, maxClockSkewMs: 10 }),
    ).rejects.toThrow(/expected maxClockSkewMs as an integer from 1000 to 600000/);
  });
});

describe('trust #1: retention acts on plausible final block time only', () => {
  it('trust #1: a final block dated two years ahead of this machine does not make retention erase a 365-day record', async () => {
    const kms = LocalKms.create(join(tmp.dir, 'bank.kms.json'), 'passphrase for the test kms');
    const vault = new Vault({ path: join(tmp.dir, 'bank.vault.db'), kms, org: 'bank' });
    toClose.push(vault);
    const subject = didFromPublicKey(userSigner().publicKey);
    const value = { street: '1 Example Road' };

    // Registered today with 365 days of retention.
    let node = await open();
    let orgs = new OrgService(node, [{ id: 'bank', signer: fx.orgs.bank!, vault }]);
    const reg = await orgs.register('bank', {
      subject,
      category: 'pd:PhysicalAddress',
      purposes: { 'dpv:ServiceProvision': 'contract' },
      source: 'subject',
      retentionDays: 365,
      value,
    });
    expect(reg.code).toBe('OK');
    expect(await orgs.runRetention()).toBe(0);
    await node.close();
    toClose.splice(toClose.indexOf(node), 1);

    // The node's own clock (and its orderer's) is two years ahead: it accepts and finalises a block
    // dated then, which is past the record's retention.
    const ahead = () => Date.now() + 2 * 365 * DAY;
    node = await open({ now: ahead, orderer: new SoloOrderer({ maxWaitMs: 5, now: ahead }) });
    const moved = await node.submitAndWait(
      tx(userSigner(), 'kv.put', { ns: 't', key: 'k', value: 1 }, { now: ahead() }),
    );
    expect(moved.code).toBe('OK');
    expect(node.latestFinal()).toBe(moved.height);
    orgs = new OrgService(node, [{ id: 'bank', signer: fx.orgs.bank!, vault }]);
    expect(orgs.pastRetention('bank').map((r) => r.id)).toEqual([reg.recordId]);

    // The sweep compares the final block's time with this machine's clock: it does nothing, and
    // raises the alarm.
    const alarms: unknown[] = [];
    node.on('clock-alarm', (a) => alarms.push(a));
    expect(await orgs.runRetention()).toBe(0);
    expect(orgs.record('bank', reg.recordId)!.erasedAt).toBeNull();
    expect(alarms).toEqual([expect.objectContaining({ kind: 'retention', height: moved.height })]);
    expect(node.clockStatus().alarm?.reason).toMatch(/retention sweep refused: the final block is dated \d+ ms ahead/);
    // The value is still in the vault: an access recorded on the ledger decrypts it.
    const access = await node.submitAndWait(
      tx(
        fx.orgs.bank!,
        'data.access',
        { record: reg.recordId, purpose: 'dpv:ServiceProvision', basis: 'contract' },
        { now: ahead() },
      ),
    );
    expect(access.code).toBe('OK');
    expect(
      vault.read(orgs.record('bank', reg.recordId)!.vaultRef, { accessTxId: access.txId }, (ref, txId) =>
        orgs.isValidAccess('bank', ref, txId),
      ),
    ).toEqual(value);
  });
});
