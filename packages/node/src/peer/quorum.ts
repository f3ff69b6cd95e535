/**
 * Quorum finality (docs/architecture.md#finality): collects member signatures over the checkpoint
 * this peer computed for each height; a quorum of distinct members over it makes the block final. A
 * valid member signature over ANOTHER checkpoint is evidence against that member (or against this
 * peer): once this peer's checkpoint can no longer reach a quorum, or another checkpoint has one,
 * this peer has diverged and must stop.
 */
import { publicKeyFromDid, type Verifier } from '@custos/protocol/crypto';
import { fromBase64url } from '@custos/protocol/encoding';
import { canonicalize } from '@custos/protocol/jcs';
import {
  type Checkpoint,
  type CheckpointSignature,
  checkCheckpointShape,
  checkpointSigningBytes,
  type MemberSet,
  type QuorumCertificate,
} from '@custos/protocol/ledger';

/** What one member signed for a height, kept as evidence when it is not this peer's checkpoint. */
export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  signatures: CheckpointSignature[];
}

export interface Evidence {
  height: number;
  /** Member ids that signed `theirs`. */
  members: string[];
  /** This peer's checkpoint with the member signatures collected over it. */
  ours: SignedCheckpoint;
  theirs: SignedCheckpoint;
}

/**
 * Signatures already checked, by `verifiedKey(checkpointKey, signature)`: true if valid. What a
 * batch verification off the event loop found; anything not in it is verified here.
 */
export type VerifiedSignatures = ReadonlyMap<string, boolean>;

/** The key of one signature over one checkpoint (`canonicalize(checkpoint)`) in `VerifiedSignatures`. */
export function verifiedKey(checkpointKey: string, s: CheckpointSignature): string {
  // Canonical JSON holds no raw newline, and the pair is JSON: no two signatures share a key.
  return `${checkpointKey}\n${JSON.stringify([s.signer, s.sig])}`;
}

export type QuorumEvent =
  | { kind: 'final'; height: number; qc: QuorumCertificate }
  | { kind: 'conflict'; evidence: Evidence }
  | { kind: 'diverged'; evidence: Evidence };

interface Round {
  checkpoint: Checkpoint;
  key: string;
  members: MemberSet;
  memberOf: Map<string, string>;
  /** Member id -> its signatures over our checkpoint. */
  ours: Map<string, CheckpointSignature[]>;
  /** Other checkpoint (canonical) -> member id -> signatures. */
  others: Map<string, { checkpoint: Checkpoint; by: Map<string, CheckpointSignature[]> }>;
  final: boolean;
}

/** Heights kept after finality, so that a late conflicting signature is still caught. */
const KEEP_FINAL = 1024;
/** Most signature sets buffered for heights this peer has not committed yet. */
const MAX_EARLY = 8192;
const MAX_SIGNATURES = 16;

export class QuorumTracker {
  private readonly rounds = new Map<number, Round>();
  private early = new Map<number, { sc: SignedCheckpoint; known: VerifiedSignatures | undefined }[]>();
  private earlyCount = 0;

  constructor(
    private readonly verifier: Verifier,
    private readonly chainId: string,
  ) {}

  /**
   * Registers the checkpoint this peer committed at `checkpoint.height`, with the signatures of the
   * member keys it holds; processes what arrived for it early.
   */
  open(checkpoint: Checkpoint, members: MemberSet, own: CheckpointSignature[]): QuorumEvent[] {
    const memberOf = new Map<string, string>();
    for (const m of members.members) for (const k of m.keys) memberOf.set(k, m.id);
    const round: Round = {
      checkpoint,
      key: canonicalize(checkpoint as never),
      members,
      memberOf,
      ours: new Map(),
      others: new Map(),
      final: false,
    };
    this.rounds.set(checkpoint.height, round);
    for (const s of own) {
      const m = memberOf.get(s.signer);
      if (m !== undefined) addSig(round.ours, m, s);
    }
    const events = this.evaluate(round, []);
    const early = this.early.get(checkpoint.height);
    if (early !== undefined) {
      this.early.delete(checkpoint.height);
      this.earlyCount -= early.length;
      for (const e of early) events.push(...this.process(round, e.sc, e.known));
    }
    this.prune(checkpoint.height);
    return events;
  }

  /**
   * Takes signatures published by a peer (attacker-controlled: checked here, unless `known` holds
   * the result of checking them). Signatures for a height above `head` (the latest height opened
   * here) wait until this peer opens it.
   */
  receive(raw: unknown, head: number, known?: VerifiedSignatures): QuorumEvent[] {
    const sc = parseSigned(raw, this.chainId);
    if (sc === undefined) return [];
    const h = sc.checkpoint.height;
    const round = this.rounds.get(h);
    if (round !== undefined) return this.process(round, sc, known);
    if (h > head && h <= head + 100_000 && this.earlyCount < MAX_EARLY) {
      const list = this.early.get(h) ?? [];
      list.push({ sc, known });
      this.early.set(h, list);
      this.earlyCount++;
    }
    return [];
  }

  /**
   * The signatures of `sc` that `receive` would verify: those of members at a height still tracked
   * (or, above `head`, not committed yet) that are not recorded already. What a batch verification
   * need not look at is left out (what the exchange delivers again, say).
   */
  unchecked(sc: SignedCheckpoint, head: number): CheckpointSignature[] {
    const round = this.rounds.get(sc.checkpoint.height);
    if (round === undefined) return sc.checkpoint.height > head ? sc.signatures : [];
    const key = canonicalize(sc.checkpoint as never);
    const bucket = key === round.key ? round.ours : round.others.get(key)?.by;
    return sc.signatures.filter((s) => {
      const member = round.memberOf.get(s.signer);
      return member !== undefined && !bucket?.get(member)?.some((x) => x.signer === s.signer && x.sig === s.sig);
    });
  }

  /** Heights committed here and not yet final, oldest first. */
  unfinal(): number[] {
    return [...this.rounds.values()]
      .filter((r) => !r.final)
      .map((r) => r.checkpoint.height)
      .sort((a, b) => a - b);
  }

  private process(round: Round, sc: SignedCheckpoint, known?: VerifiedSignatures): QuorumEvent[] {
    const key = canonicalize(sc.checkpoint as never);
    const mine = key === round.key;
    const message = checkpointSigningBytes(sc.checkpoint);
    const fresh: string[] = [];
    for (const s of sc.signatures) {
      const member = round.memberOf.get(s.signer);
      if (member === undefined) continue;
      const bucket = mine ? round.ours : round.others.get(key)?.by;
      if (bucket?.get(member)?.some((x) => x.signer === s.signer && x.sig === s.sig)) continue;
      const checked = known?.get(verifiedKey(key, s));
      if (!(checked ?? verifies(this.verifier, s, message))) continue;
      if (mine) addSig(round.ours, member, s);
      else {
        let other = round.others.get(key);
        if (other === undefined) {
          other = { checkpoint: sc.checkpoint, by: new Map() };
          round.others.set(key, other);
        }
        addSig(other.by, member, s);
        fresh.push(member);
      }
    }
    return this.evaluate(round, mine ? [] : fresh.length > 0 ? [key] : []);
  }

  private evaluate(round: Round, changedOthers: string[]): QuorumEvent[] {
    const events: QuorumEvent[] = [];
    const { threshold } = round.members;
    const n = round.members.members.length;
    for (const key of changedOthers) {
      const other = round.others.get(key)!;
      events.push({ kind: 'conflict', evidence: this.evidence(round, other) });
    }
    // Members that signed only other checkpoints can no longer help ours reach a quorum.
    const againstOnly = new Set<string>();
    for (const o of round.others.values()) for (const m of o.by.keys()) if (!round.ours.has(m)) againstOnly.add(m);
    const otherQuorum = [...round.others.values()].find((o) => o.by.size >= threshold);
    if (otherQuorum !== undefined || n - againstOnly.size < threshold) {
      const other = otherQuorum ?? [...round.others.values()].sort((a, b) => b.by.size - a.by.size)[0]!;
      events.push({ kind: 'diverged', evidence: this.evidence(round, other) });
      return events;
    }
    if (!round.final && round.ours.size >= threshold) {
      round.final = true;
      const signatures = [...round.ours.values()].map((list) => list[0]!);
      events.push({ kind: 'final', height: round.checkpoint.height, qc: { checkpoint: round.checkpoint, signatures } });
    }
    return events;
  }

  private evidence(round: Round, other: { checkpoint: Checkpoint; by: Map<string, CheckpointSignature[]> }): Evidence {
    return {
      height: round.checkpoint.height,
      members: [...other.by.keys()].sort(),
      ours: { checkpoint: round.checkpoint, signatures: [...round.ours.values()].flat() },
      theirs: { checkpoint: other.checkpoint, signatures: [...other.by.values()].flat() },
    };
  }

  private prune(height: number): void {
    for (const [h, r] of this.rounds) if (r.final && h <= height - KEEP_FINAL) this.rounds.delete(h);
    for (const [h, list] of this.early) {
      if (h <= height) {
        this.early.delete(h);
        this.earlyCount -= list.length;
      }
    }
  }
}

function addSig(map: Map<string, CheckpointSignature[]>, member: string, s: CheckpointSignature): void {
  const list = map.get(member);
  if (list === undefined) map.set(member, [s]);
  else if (!list.some((x) => x.signer === s.signer)) list.push(s);
}

function verifies(verifier: Verifier, s: CheckpointSignature, message: Uint8Array): boolean {
  try {
    return verifier.verify(publicKeyFromDid(s.signer), message, fromBase64url(s.sig, 64));
  } catch {
    return false;
  }
}

/** `{checkpoint, signatures}` from a peer, or undefined if it is not one for this chain. */
export function parseSigned(raw: unknown, chainId: string): SignedCheckpoint | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { checkpoint, signatures } = raw as Record<string, unknown>;
  try {
    checkCheckpointShape(checkpoint);
  } catch {
    return undefined;
  }
  if (checkpoint.chainId !== chainId) return undefined;
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > MAX_SIGNATURES) return undefined;
  const sigs: CheckpointSignature[] = [];
  for (const s of signatures as unknown[]) {
    const { signer, sig } = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    if (typeof signer !== 'string' || typeof sig !== 'string' || signer.length > 200 || sig.length > 100)
      return undefined;
    sigs.push({ signer, sig });
  }
  const { chainId: c, height, logSize, logRoot, stateRoot } = checkpoint;
  return { checkpoint: { chainId: c, height, logSize, logRoot, stateRoot }, signatures: sigs };
}
