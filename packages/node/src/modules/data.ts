/**
 * What an org holds about a customer and every use of it (docs/architecture.md#customer-data):
 * records with a salted commitment and a vault reference (never the value), accesses valid only
 * under a lawful basis that holds at that height, shares only with share/sale permission and no
 * opt-out, erasure with notification of every recipient of a copy (GDPR Art. 19), rectification.
 *
 * Each copy's obligations towards its source (erase, rectify, restrict, with due dates) are in
 * modules/copies.ts.
 *
 * State: `record/<org>/<id>` -> DataRecord; `share/<org>/<id>/<recipient>` -> Share.
 */
import { isSensitiveCategory } from '@custos/protocol/consent';
import {
  ART9_CONDITIONS,
  type Art9Condition,
  AUTOMATED_DECISION_BASES,
  type DataRecord,
  LAWFUL_BASES,
  type LawfulBasis,
  type Share,
} from '@custos/protocol/ledger';
import { type Args, arg, type ExecContext, ExecFailure, type Module } from '../exec/module.js';
import { refuseChild } from './age.js';
import { addSubjectItem, checkCode, DPV_CODE, hash32, MAX_LIST, orgArg, signerOrg, subjectArg } from './common.js';
import { consentKey, liveGrants, objectionTo, preferences } from './consent.js';
import { fulfilObligations, notifyCopies } from './copies.js';
import { maybeForget, tombstoneOf } from './forget.js';
import { refuseLimitedSensitive } from './gpp.js';
import { MEMBER_ID } from './member-state.js';
import { requireProfile } from './profile.js';

export { type DataRecord, LAWFUL_BASES, type LawfulBasis, type Share };

const SOURCES = /^(subject|public|third-party|derived)$/;
const RECORD_ID = /^[0-9a-f]{64}$/;
const MAX_RETENTION_DAYS = 36_500;
const MAX_COPIES = 32;

export function recordKey(org: string, id: string): string {
  return `record/${org}/${id}`;
}

export function shareKey(org: string, id: string, recipient: string): string {
  return `share/${org}/${id}/${recipient}`;
}

function ownRecord(ctx: ExecContext, args: Args, name = 'record'): DataRecord {
  const org = signerOrg(ctx);
  const id = arg.str(args, name, 64, RECORD_ID);
  const rec = ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined;
  if (rec === undefined) throw new ExecFailure('NOT_FOUND', `no record ${id} held by ${org}`);
  ctx.index(rec.subject);
  return rec;
}

/**
 * A copy whose source was erased is flagged until its holder erases it too (GDPR Art. 19): it may
 * no longer be used or passed on meanwhile.
 */
function refuseFlaggedCopy(rec: DataRecord): void {
  if (rec.erasureRequestedAt !== null) {
    throw new ExecFailure('ERASED', 'the source of this copy was erased: the copy must be erased too, not used');
  }
}

/** An objection to direct marketing (GDPR Art. 21(3)) is absolute: no basis overrides it. */
function refuseObjected(ctx: ExecContext, rec: DataRecord, purpose: string): void {
  if (objectionTo(ctx, rec.org, rec.subject, purpose) !== undefined) {
    throw new ExecFailure(
      'OPTED_OUT',
      `the customer objected to ${purpose} (GDPR Art. 21(3)): no lawful basis overrides it`,
    );
  }
}

/** Throws NO_LAWFUL_BASIS unless `basis` holds at this height for `purpose` on `rec`. */
export function checkBasis(ctx: ExecContext, rec: DataRecord, purpose: string, basis: LawfulBasis): void {
  const declared = rec.purposes[purpose];
  if (declared === undefined) {
    throw new ExecFailure('NO_LAWFUL_BASIS', `purpose ${purpose} was not declared for this record`);
  }
  if (declared !== basis) throw new ExecFailure('NO_LAWFUL_BASIS', `the declared basis for ${purpose} is ${declared}`);
  if (basis === 'consent') {
    // A special category on consent needs the explicit kind (GDPR Art. 9(2)(a)); a declared
    // condition covers only the purposes on another basis.
    // So does an automated decision with legal or similar effects on consent (Art. 22(2)(c)).
    const needsExplicit = isSensitiveCategory(rec.category) || rec.automated?.includes(purpose) === true;
    // A copy lives on the consent that allowed its share, at the source: withdrawn there, or no
    // longer allowing the share (or the sale), it no longer covers the copy.
    let grantor = rec.org;
    let share: Share | undefined;
    if (rec.sourceRecord !== null) {
      share = ctx.get(shareKey(rec.sourceRecord.org, rec.sourceRecord.id, rec.org)) as unknown as Share | undefined;
      if (share === undefined)
        throw new ExecFailure('NO_LAWFUL_BASIS', 'the share this copy came from is not recorded');
      grantor = rec.sourceRecord.org;
    }
    const covering = liveGrants(ctx, grantor, rec.subject).filter(
      (g) =>
        g.purposes.includes(purpose) &&
        g.categories.includes(rec.category) &&
        (!needsExplicit || g.explicit === true) &&
        (share === undefined || (g.share && (!share.sale || g.sale))),
    );
    // A child's consent below the member state's Art. 8 age needs a parent's (GDPR Art. 8(1)).
    refuseChild(ctx, grantor, rec.subject, covering, false);
    if (covering.length === 0) {
      throw new ExecFailure(
        'NO_LAWFUL_BASIS',
        share === undefined
          ? 'no live consent covers this org, purpose and category'
          : 'no live consent at the source allows this copy: the share, purpose and category',
      );
    }
  }
}

/**
 * A copy follows its source: a restriction of the source record, or an objection at the source org,
 * reaches it (the customer asked the org they deal with, not the recipients they may not know).
 */
function refuseBySource(ctx: ExecContext, rec: DataRecord, purpose: string): void {
  if (rec.sourceRecord === null) return;
  const src = ctx.get(recordKey(rec.sourceRecord.org, rec.sourceRecord.id)) as unknown as DataRecord | undefined;
  if (src?.restricted) throw new ExecFailure('RESTRICTED', 'processing of the source of this copy is restricted');
  if (src !== undefined) refuseObjected(ctx, src, purpose);
}

/**
 * `args.automated`: the declared purposes served by decisions based solely on automated processing
 * with legal or similarly significant effects (GDPR Art. 22(1)). Each must rest on a contract, the
 * law or consent (Art. 22(2); consent then must be explicit at each use), and a special category only
 * on explicit consent or substantial public interest (Art. 22(4)).
 */
function automatedPurposes(
  args: Args,
  category: string,
  purposes: Record<string, LawfulBasis>,
  condition: Art9Condition | undefined,
): string[] | undefined {
  if (args.automated === undefined) return undefined;
  const list = arg.strList(args, 'automated', MAX_LIST, 80);
  if (new Set(list).size !== list.length)
    throw new ExecFailure('INVALID_ARGS', 'expected each purpose once in args.automated');
  const bases: readonly string[] = AUTOMATED_DECISION_BASES;
  for (const p of list) {
    const basis = purposes[p];
    if (basis === undefined)
      throw new ExecFailure('INVALID_ARGS', `expected args.automated among the declared purposes, not ${p}`);
    if (!bases.includes(basis)) {
      throw new ExecFailure(
        'INVALID_ARGS',
        `expected an automated decision for ${p} on ${AUTOMATED_DECISION_BASES.join(', ')} (GDPR Art. 22(2)), not ${basis}`,
      );
    }
  }
  if (isSensitiveCategory(category) && condition !== undefined && condition !== 'gdpr-9-2-g') {
    throw new ExecFailure(
      'INVALID_ARGS',
      'expected an automated decision on a special category only on explicit consent or gdpr-9-2-g (GDPR Art. 22(4))',
    );
  }
  return list;
}

export const dataModule: Module = {
  name: 'data',
  actions: {
    /** The org records that it holds one item of a customer's data (never the value itself). */
    register(ctx: ExecContext, args: Args) {
      arg.only(args, [
        'subject',
        'category',
        'purposes',
        'source',
        'commitment',
        'vaultRef',
        'retentionDays',
        'sourceRecord',
        'condition',
        'automated',
      ]);
      const org = signerOrg(ctx);
      requireProfile(ctx, org);
      const subject = subjectArg(args, 'subject');
      const category = arg.str(args, 'category', 80, DPV_CODE);
      checkCode(category, 'category', 'category');
      const rawPurposes = args.purposes;
      if (typeof rawPurposes !== 'object' || rawPurposes === null || Array.isArray(rawPurposes)) {
        throw new ExecFailure('INVALID_ARGS', 'expected args.purposes as {"<dpv purpose>": "<lawful basis>"}');
      }
      const entries = Object.entries(rawPurposes);
      if (entries.length === 0 || entries.length > MAX_LIST) {
        throw new ExecFailure('INVALID_ARGS', `expected 1-${MAX_LIST} purposes`);
      }
      const purposes: Record<string, LawfulBasis> = {};
      for (const [p, b] of entries) {
        if (!DPV_CODE.test(p))
          throw new ExecFailure('INVALID_ARGS', 'expected each purpose as a DPV code like dpv:Marketing');
        checkCode(p, 'purpose', 'purposes');
        if (typeof b !== 'string' || !(LAWFUL_BASES as readonly string[]).includes(b)) {
          throw new ExecFailure('INVALID_ARGS', `expected each lawful basis as one of ${LAWFUL_BASES.join(', ')}`);
        }
        purposes[p] = b as LawfulBasis;
      }
      // A special category (GDPR Art. 9(1)): purposes on consent need explicit consent at each use;
      // any other basis needs a declared Art. 9(2) condition.
      let condition: Art9Condition | undefined;
      if (args.condition !== undefined) {
        if (!isSensitiveCategory(category)) {
          throw new ExecFailure('INVALID_ARGS', 'expected args.condition only for a special category (GDPR Art. 9(1))');
        }
        condition = arg.oneOf(args, 'condition', ART9_CONDITIONS);
      } else if (isSensitiveCategory(category) && Object.values(purposes).some((b) => b !== 'consent')) {
        throw new ExecFailure(
          'INVALID_ARGS',
          `expected ${category}, a special category, on consent for every purpose or with args.condition, one of ${ART9_CONDITIONS.join(', ')} (GDPR Art. 9(2))`,
        );
      }
      const automated = automatedPurposes(args, category, purposes, condition);
      const commitment = hash32(args, 'commitment');
      const vaultRef = arg.str(args, 'vaultRef', 64, /^[0-9a-f]{32}$/);
      const retentionDays = arg.int(args, 'retentionDays', 1, MAX_RETENTION_DAYS);
      let source: string;
      let sourceRecord: DataRecord['sourceRecord'] = null;
      if (args.sourceRecord !== undefined) {
        // A copy received through data.share: linked to the source so erasure reaches it.
        const sr = args.sourceRecord as Args;
        if (typeof sr !== 'object' || sr === null || Array.isArray(sr)) {
          throw new ExecFailure('INVALID_ARGS', 'expected args.sourceRecord as {org, id}');
        }
        const srcOrg = orgArg(ctx, sr, 'org');
        const srcId = arg.str(sr, 'id', 64, RECORD_ID);
        const share = ctx.get(shareKey(srcOrg, srcId, org)) as unknown as Share | undefined;
        if (share === undefined) throw new ExecFailure('UNAUTHORIZED', 'no share of that record to this org');
        if (share.copy !== null) throw new ExecFailure('CONFLICT', 'a copy of that share is already registered');
        const src = ctx.get(recordKey(srcOrg, srcId)) as unknown as DataRecord;
        if (src.erasedAt !== null) throw new ExecFailure('ERASED', 'the source record was erased');
        if (src.subject !== subject) throw new ExecFailure('INVALID_ARGS', 'expected the same subject as the source');
        if (src.copies.length >= MAX_COPIES) throw new ExecFailure('LIMIT_EXCEEDED', `at most ${MAX_COPIES} copies`);
        // The copy serves the purpose it was shared for and no other: on the consent that allowed
        // the share (basis consent), or on a basis of the recipient's own (a contract with the customer).
        const declared = Object.keys(purposes);
        if (declared.length !== 1 || declared[0] !== share.purpose) {
          throw new ExecFailure(
            'INVALID_ARGS',
            `expected a copy's purposes to be the one it was shared for, ${share.purpose}, alone`,
          );
        }
        if (category !== src.category) {
          throw new ExecFailure('INVALID_ARGS', `expected the copy's category to be the source's, ${src.category}`);
        }
        ctx.put(shareKey(srcOrg, srcId, org), { ...share, copy: ctx.txId });
        ctx.put(recordKey(srcOrg, srcId), { ...src, copies: [...src.copies, { org, id: ctx.txId }] });
        source = `shared:${srcOrg}`;
        sourceRecord = { org: srcOrg, id: srcId };
      } else {
        source = arg.str(args, 'source', 16, SOURCES);
      }
      ctx.index(subject);
      // A forgotten subject's history cannot be started again by an org alone: only after the
      // customer's own new consent to this org (a new relationship, signed by them).
      if (tombstoneOf(ctx, subject) !== undefined && ctx.get(consentKey(org, subject)) === undefined) {
        throw new ExecFailure(
          'ERASED',
          'this subject was erased and forgotten: a new record needs the customer to consent to this org again first',
        );
      }
      const rec: DataRecord = {
        id: ctx.txId,
        org,
        subject,
        category,
        purposes,
        source,
        commitment,
        vaultRef,
        registeredAt: ctx.time,
        updatedAt: ctx.time,
        retentionUntil: ctx.time + retentionDays * 86_400_000,
        erasedAt: null,
        erasureRequestedAt: null,
        sourceRecord,
        copies: [],
        restricted: false,
        ...(condition === undefined ? {} : { condition }),
        ...(automated === undefined ? {} : { automated }),
      };
      ctx.put(recordKey(org, ctx.txId), rec);
      addSubjectItem(ctx, subject, recordKey(org, ctx.txId));
      return 'OK';
    },
    /** One use of a record, for a purpose under a lawful basis: valid only if the basis holds now. */
    access(ctx: ExecContext, args: Args) {
      arg.only(args, ['record', 'purpose', 'basis']);
      const rec = ownRecord(ctx, args);
      const purpose = arg.str(args, 'purpose', 80, DPV_CODE);
      const basis = arg.oneOf(args, 'basis', LAWFUL_BASES);
      if (rec.erasedAt !== null) throw new ExecFailure('ERASED', 'the record was erased');
      refuseFlaggedCopy(rec);
      if (rec.restricted) throw new ExecFailure('RESTRICTED', 'processing of this record is restricted');
      refuseObjected(ctx, rec, purpose);
      refuseLimitedSensitive(ctx, rec, basis);
      refuseBySource(ctx, rec, purpose);
      checkBasis(ctx, rec, purpose, basis);
      return 'OK';
    },
    /** Shares (or sells) a record with another member: needs consent with share/sale permission and no opt-out. */
    share(ctx: ExecContext, args: Args) {
      arg.only(args, ['record', 'recipient', 'purpose', 'sale']);
      const rec = ownRecord(ctx, args);
      const recipient = arg.str(args, 'recipient', 32, MEMBER_ID);
      orgArg(ctx, args, 'recipient');
      if (recipient === rec.org) throw new ExecFailure('INVALID_ARGS', 'expected a recipient other than the holder');
      // The recipient will hold the customer's data: it needs a profile as a controller too.
      requireProfile(ctx, recipient);
      const purpose = arg.str(args, 'purpose', 80, DPV_CODE);
      const sale = arg.bool(args, 'sale');
      if (rec.erasedAt !== null) throw new ExecFailure('ERASED', 'the record was erased');
      refuseFlaggedCopy(rec);
      if (rec.restricted) throw new ExecFailure('RESTRICTED', 'processing of this record is restricted');
      refuseObjected(ctx, rec, purpose);
      refuseLimitedSensitive(ctx, rec, null);
      refuseBySource(ctx, rec, purpose);
      const prefs = preferences(ctx, rec.org, rec.subject);
      if (prefs.share !== null || (sale && prefs.sale !== null)) {
        throw new ExecFailure(
          'OPTED_OUT',
          sale ? 'the customer opted out of sale or sharing' : 'the customer opted out of sharing',
        );
      }
      const covering = liveGrants(ctx, rec.org, rec.subject).filter(
        (g) => g.purposes.includes(purpose) && g.categories.includes(rec.category) && g.share && (!sale || g.sale),
      );
      // Under 16: a minor's opt-in, under 13 a parent's (CCPA 1798.120(c)); GDPR Art. 8 as for a use.
      refuseChild(ctx, rec.org, rec.subject, covering, true);
      if (covering.length === 0)
        throw new ExecFailure(
          'NO_LAWFUL_BASIS',
          `no live consent allows ${sale ? 'sale' : 'sharing'} for this purpose`,
        );
      if (ctx.get(shareKey(rec.org, rec.id, recipient)) !== undefined) {
        throw new ExecFailure('CONFLICT', 'the record is already shared with this recipient');
      }
      const share: Share = { recipient, purpose, sale, at: ctx.time, txId: ctx.txId, copy: null };
      ctx.put(shareKey(rec.org, rec.id, recipient), share);
      return 'OK';
    },
    /** Rectification: the value changed in the vault; the record gets the new commitment. */
    update(ctx: ExecContext, args: Args) {
      arg.only(args, ['record', 'commitment']);
      const rec = ownRecord(ctx, args);
      if (rec.erasedAt !== null) throw new ExecFailure('ERASED', 'the record was erased');
      const updated = { ...rec, commitment: hash32(args, 'commitment'), updatedAt: ctx.time };
      // A copy's rectification fulfils what its source asked; a source's reaches its copies (Art. 19).
      ctx.put(recordKey(rec.org, rec.id), fulfilObligations(updated, ['rectify'], ctx.time));
      notifyCopies(ctx, rec, 'rectify');
      return 'OK';
    },
    /**
     * The recipient of a copy restricted it in its systems as its source's restriction asks (GDPR
     * Art. 19): the obligation is fulfilled. The copy's use follows the source meanwhile (RESTRICTED).
     */
    restricted(ctx: ExecContext, args: Args) {
      arg.only(args, ['records']);
      const ids = arg.strList(args, 'records', 256, 64, RECORD_ID);
      const org = signerOrg(ctx);
      for (const id of ids) {
        const rec = ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined;
        if (rec === undefined) throw new ExecFailure('NOT_FOUND', `no record ${id} held by ${org}`);
        ctx.index(rec.subject);
        if (!rec.obligations?.some((o) => o.kind === 'restrict' && o.doneAt === null)) {
          throw new ExecFailure('CONFLICT', `no restriction of its source is pending on record ${id}`);
        }
        ctx.put(recordKey(org, id), fulfilObligations(rec, ['restrict'], ctx.time));
      }
      return 'OK';
    },
    /**
     * The org erased records (crypto-shredded in its vault). Every recipient of a copy is notified
     * on-chain (GDPR Art. 19): its copy is flagged until it erases it too.
     */
    erased(ctx: ExecContext, args: Args) {
      arg.only(args, ['records', 'reason']);
      const ids = arg.strList(args, 'records', 256, 64, RECORD_ID);
      arg.oneOf(args, 'reason', ['request', 'retention', 'consent-withdrawn', 'other'] as const);
      const org = signerOrg(ctx);
      const subjects = new Set<string>();
      for (const id of ids) {
        const rec = ctx.get(recordKey(org, id)) as unknown as DataRecord | undefined;
        if (rec === undefined) throw new ExecFailure('NOT_FOUND', `no record ${id} held by ${org}`);
        ctx.index(rec.subject);
        if (rec.erasedAt !== null) throw new ExecFailure('ERASED', `record ${id} was already erased`);
        subjects.add(rec.subject);
        // Erasing a copy fulfils every obligation its source put on it; erasing a source puts one on
        // each live copy, with a due date, and flags it.
        const erased = { ...rec, erasedAt: ctx.time, erasureRequestedAt: null };
        ctx.put(recordKey(org, id), fulfilObligations(erased, ['erase', 'rectify', 'restrict'], ctx.time));
        notifyCopies(ctx, rec, 'erase');
      }
      // The last live record of a subject whose erasure was fulfilled (a copy, or one kept under an
      // exception): the subject is forgotten now (modules/forget.ts).
      for (const s of subjects) maybeForget(ctx, s);
      return 'OK';
    },
  },
};
