/**
 * `ChainEndpoint.nextBlock`, which the relayer's and the members' duties' loops wait on between
 * passes: the same checks for the in-process endpoint and the HTTP one (over the node's block
 * stream, `GET /v1/events/blocks`). It resolves once the chain has a block above the height given,
 * at once if it has one already, and when the caller gives up.
 */
import { tempDir } from '@custos/test-utils/node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, listen } from '../src/api/server.js';
import { type ChainEndpoint, httpEndpoint, nodeEndpoint } from '../src/interop/endpoint.js';
import { type Chain, openChain, send } from './xtx-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let c: Chain;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  tmp = tempDir('custos-next-block-');
  c = await openChain(tmp.dir, 'alpha', ['org1']);
  app = createServer(c.node, { rateLimit: false });
  url = await listen(app, { port: 0 });
});

afterAll(async () => {
  await app?.close();
  await c?.node.close();
  tmp?.cleanup();
});

/** Whether `p` has settled within `ms`. */
async function settles(p: Promise<void>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

const endpoints: [string, () => ChainEndpoint][] = [
  ['in process', () => nodeEndpoint(c.node)],
  ['over HTTP', () => httpEndpoint(url)],
];

describe.each(endpoints)('nextBlock, %s', (_, make) => {
  it('waits for a block above the height, resolves at once for one already there', async () => {
    const ep = make();
    const height = c.node.latest().height;
    const stop = new AbortController();
    try {
      const next = ep.nextBlock?.(height, stop.signal) as Promise<void>;
      expect(await settles(next, 300)).toBe(false);
      expect(await send(c, c.orgs.org1!, 'kv.put', { ns: 'n', key: `k${height}`, value: 1 })).toBe('OK');
      // (The test's own timeout is the bound: no speed is asserted.)
      await next;
      await ep.nextBlock?.(height, stop.signal);
      expect(stop.signal.aborted).toBe(false);
    } finally {
      stop.abort();
    }
  });

  it('resolves when the caller aborts, with no block', async () => {
    const ep = make();
    const stop = new AbortController();
    const next = ep.nextBlock?.(c.node.latest().height, stop.signal) as Promise<void>;
    expect(await settles(next, 300)).toBe(false);
    stop.abort();
    await next;
  });
});

describe('nextBlock over HTTP, a node that does not answer', () => {
  it('leaves the wait to the caller: it resolves only when the caller aborts', async () => {
    const ep = httpEndpoint('http://127.0.0.1:1');
    const stop = new AbortController();
    const next = ep.nextBlock?.(0, stop.signal) as Promise<void>;
    expect(await settles(next, 500)).toBe(false);
    stop.abort();
    await next;
  });
});
