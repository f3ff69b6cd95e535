/**
 * Re-dating refused blocks: the etcd proposer's answer to its members' clock refusals. A block that
 * `members - threshold + 1` members refused for its current revision can never be certified; if no
 * quorum of signatures exists for its height either, the proposer writes it again at the same
 * height with its time (when it finds the block implausible too), or steps down (when its own clock
 * is the odd one).
 */
import type { Namespace } from 'etcd3';
import {
  blockKey,
  decodeBlock,
  decodeRefusal,
  encodeBlock,
  HEAD_KEY,
  refusalsOf,
  refusalsPrefix,
  signedTxJson,
  sigsOf,
} from './etcd-layout.js';
import type { PendingTx } from './orderer.js';

/** Room a block needs in an etcd request besides its transactions. */
export const BLOCK_OVERHEAD_BYTES = 16 * 1024;

/** What re-dating needs of the proposer's options. */
export interface RedateOptions {
  peerId: string;
  maxRequestBytes: number;
  parse: (raw: unknown) => PendingTx;
  /** Block time of this peer's last committed block: no block time goes before it. */
  lastTime: () => number;
  /** Why a block dated `time` after a parent dated `parentTime` is implausible here; undefined if it is not. */
  checkBlockTime: (time: number, parentTime: number) => string | undefined;
  /** Members and quorum threshold in force (how many refusals make a block uncertifiable). */
  quorum: () => { members: number; threshold: number };
  /**
   * Called when enough members refused a block this proposer finds plausible: its clock disagrees
   * with theirs, so it stops proposing and gives up the election to a peer whose clock agrees.
   */
  onOutvoted: () => void;
  log: (message: string) => void;
}

export class Redater {
  private readonly ns: Namespace;
  private readonly opts: RedateOptions;
  /** Most transactions a re-dated block may carry. */
  private readonly capacity: number;
  private readonly now: () => number;
  /** Best-effort deletion of stale refusal keys. */
  private readonly deleteKeys: (keys: string[]) => void;

  constructor(
    ns: Namespace,
    opts: RedateOptions,
    capacity: number,
    now: () => number,
    deleteKeys: (keys: string[]) => void,
  ) {
    this.ns = ns;
    this.opts = opts;
    this.capacity = capacity;
    this.now = now;
    this.deleteKeys = deleteKeys;
  }

  /**
   * Looks at the members' refusals, lowest height first. A block refused by `members - threshold + 1`
   * members for its current revision (so it can never be certified) with fewer than `threshold`
   * signatures for its height is re-dated if this proposer finds it implausible too ('changed'); if
   * it finds it plausible, its clock is the odd one: it steps down ('outvoted'). Refusals of
   * revisions no longer stored are deleted. 'none' when no block qualifies.
   */
  async review(head: { height: number }): Promise<'none' | 'changed' | 'outvoted'> {
    const res = await this.ns.getAll().prefix(refusalsPrefix).exec();
    const byHeight = new Map<number, { key: string; mod: string; revision: string }[]>();
    for (const kv of res.kvs) {
      const r = decodeRefusal(kv.value);
      const key = kv.key.toString();
      if (r === undefined || !key.startsWith(refusalsOf(r.height))) {
        this.deleteKeys([key]);
        continue;
      }
      const list = byHeight.get(r.height) ?? [];
      list.push({ key, mod: kv.mod_revision, revision: r.revision });
      byHeight.set(r.height, list);
    }
    const { members, threshold } = this.opts.quorum();
    const needed = members - threshold + 1;
    for (const h of [...byHeight.keys()].sort((a, b) => a - b)) {
      const refusals = byHeight.get(h)!;
      // Above the head read: a block this proposer has not seen yet; left alone.
      if (h > head.height) continue;
      const read = await this.ns.get(blockKey(h)).exec();
      const bkv = read.kvs[0];
      if (bkv === undefined) {
        // The block left the window: its refusals are history.
        this.deleteKeys(refusals.map((r) => r.key));
        continue;
      }
      // Refusals of an older revision of the block (re-dated since) no longer count.
      const stale = refusals.filter((r) => BigInt(r.revision) < BigInt(bkv.mod_revision));
      if (stale.length > 0) this.deleteKeys(stale.map((r) => r.key));
      const counted = refusals.filter((r) => r.revision === bkv.mod_revision);
      if (counted.length < needed) continue;
      if ((await this.ns.getAll().prefix(sigsOf(h)).count()) >= threshold) continue;
      const block = decodeBlock(bkv.value, h);
      const parentTime = h > 1 ? await this.blockTime(h - 1) : 0;
      const why = this.opts.checkBlockTime(block.time, parentTime);
      if (why === undefined) {
        this.opts.log(
          `proposer: ${counted.length} members refused block ${h}, which this peer finds plausible: its clock disagrees with theirs; stepping down`,
        );
        this.opts.onOutvoted();
        return 'outvoted';
      }
      await this.supersede(h, bkv.mod_revision, block.txs, parentTime, counted, head.height, why);
      return 'changed';
    }
    return 'none';
  }

  private async blockTime(height: number): Promise<number> {
    const res = await this.ns.get(blockKey(height)).exec();
    const kv = res.kvs[0];
    if (kv === undefined) throw new Error(`block ${height} went away while reading it`);
    return decodeBlock(kv.value, height).time;
  }

  /**
   * Re-dates block `h` (etcd revision `rev`): the same height, its transactions and those of the
   * uncertified blocks above it (as many as fit), this proposer's time; the blocks above it are
   * dropped and the head set to `h`. One compare-and-swap on the block's revision, the head and
   * every refusal counted.
   */
  private async supersede(
    h: number,
    rev: string,
    txsAtH: unknown[],
    parentTime: number,
    counted: { key: string; mod: string }[],
    headHeight: number,
    why: string,
  ): Promise<void> {
    const time = Math.max(this.now(), parentTime, h === 1 ? this.opts.lastTime() : 0);
    const raws = [...txsAtH];
    for (let x = h + 1; x <= headHeight; x++) {
      const res = await this.ns.get(blockKey(x)).exec();
      const kv = res.kvs[0];
      if (kv !== undefined) raws.push(...decodeBlock(kv.value, x).txs);
    }
    const txs: string[] = [];
    let bytes = BLOCK_OVERHEAD_BYTES;
    const seen = new Set<string>();
    for (const raw of raws) {
      if (txs.length >= this.capacity) break;
      try {
        const p = this.opts.parse(raw).parsed;
        if (seen.has(p.txId)) continue;
        const json = signedTxJson(p);
        if (bytes + json.length > this.opts.maxRequestBytes) break;
        seen.add(p.txId);
        bytes += json.length;
        txs.push(json);
      } catch {
        // Not a valid transaction: the re-dated block leaves it out.
      }
    }
    let cmp = this.ns.if(blockKey(h), 'Mod', '==', rev).and(HEAD_KEY, 'Value', '==', String(headHeight));
    for (const r of counted) cmp = cmp.and(r.key, 'Mod', '==', r.mod);
    const ops = [
      this.ns.put(blockKey(h)).value(encodeBlock(h, time, this.opts.peerId, txs)),
      this.ns.delete().inRange({ start: refusalsPrefix, end: refusalsOf(h) }),
    ];
    if (headHeight > h) {
      ops.push(this.ns.put(HEAD_KEY).value(String(h)));
      ops.push(this.ns.delete().inRange({ start: blockKey(h + 1), end: blockKey(headHeight + 1) }));
    }
    const res = await cmp.then(...ops).commit();
    this.opts.log(
      res.succeeded
        ? `proposer: re-dated block ${h} (refused by ${counted.length} members: ${why})${headHeight > h ? `; dropped blocks ${h + 1}-${headHeight} above it` : ''}`
        : `proposer: block ${h} changed while re-dating it; reading it again`,
    );
  }
}
