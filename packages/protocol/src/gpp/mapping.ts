/**
 * The mapping between GPP fields and Custos's choices, as code (the table in
 * docs/customer-data.md, "GPP and GPC", is this one):
 *
 * - US sections: `SaleOptOut` -> the opt-out of sale, `SharingOptOut` -> the opt-out of sharing,
 *   `TargetedAdvertisingOptOut` -> an objection to `dpv:PersonalisedAdvertising`,
 *   `SensitiveDataProcessing` -> the limit on the use of sensitive data. GPP's numbers: 0 not
 *   applicable, 1 opted out (or no consent, in the opt-in states), 2 did not opt out (consent).
 * - EU TCF v2: `PurposeConsents[i]` -> a consent to the DPV purpose of TCF purpose i (table
 *   below); purpose 1 (storage on a device) has no Custos purpose and is kept as it came.
 *
 * Several sections may speak of one choice: the most protective wins (one "opted out" is an
 * opt-out). Emitting changes only the fields whose meaning differs from Custos's current choices,
 * so a string recorded and emitted again for the same choices comes back equal, byte for byte.
 */
import type { GppModel } from '@iabgpp/cmpapi';
import { decodeGpp, emptyGpp } from './codec.js';

/** `out`: opted out, or no consent (restrictive); `in`: did not opt out, or consent given. */
export type GppChoice = 'out' | 'in';

/** The Custos choices a GPP string carries. `null`: the string says nothing about it. */
export interface GppChoices {
  sale: GppChoice | null;
  share: GppChoice | null;
  /** Targeted advertising: an objection to `dpv:PersonalisedAdvertising` when `out`. */
  targeted: GppChoice | null;
  /** Use of sensitive data: limited when `out`. */
  sensitive: GppChoice | null;
  /** TCF purpose consents, per mapped DPV purpose; `null` without a TCF section. */
  purposes: Record<string, boolean> | null;
}

export type UsChoice = 'sale' | 'share' | 'targeted' | 'sensitive';

/** One US field and the Custos choice it carries; `list` fields hold one number per category. */
export interface UsFieldMapping {
  readonly section: 'usnat' | 'usca' | 'usva' | 'usco' | 'usct';
  readonly field: string;
  readonly choice: UsChoice;
  readonly list: boolean;
}

const us = (section: UsFieldMapping['section'], field: string, choice: UsChoice, list = false): UsFieldMapping =>
  Object.freeze({ section, field, choice, list });

/** Every US field Custos maps. */
export const US_FIELD_MAP: readonly UsFieldMapping[] = Object.freeze([
  us('usnat', 'SaleOptOut', 'sale'),
  us('usnat', 'SharingOptOut', 'share'),
  us('usnat', 'TargetedAdvertisingOptOut', 'targeted'),
  us('usnat', 'SensitiveDataProcessing', 'sensitive', true),
  us('usca', 'SaleOptOut', 'sale'),
  us('usca', 'SharingOptOut', 'share'),
  us('usca', 'SensitiveDataProcessing', 'sensitive', true),
  us('usva', 'SaleOptOut', 'sale'),
  us('usva', 'TargetedAdvertisingOptOut', 'targeted'),
  us('usva', 'SensitiveDataProcessing', 'sensitive', true),
  us('usco', 'SaleOptOut', 'sale'),
  us('usco', 'TargetedAdvertisingOptOut', 'targeted'),
  us('usco', 'SensitiveDataProcessing', 'sensitive', true),
  us('usct', 'SaleOptOut', 'sale'),
  us('usct', 'TargetedAdvertisingOptOut', 'targeted'),
  us('usct', 'SensitiveDataProcessing', 'sensitive', true),
]);

/** The TCF v2.2 purposes and the DPV purpose each maps to (`null`: none, kept as it came). */
export const TCF_PURPOSE_MAP: readonly { readonly id: number; readonly name: string; readonly dpv: string | null }[] =
  Object.freeze([
    { id: 1, name: 'Store and/or access information on a device', dpv: null },
    { id: 2, name: 'Use limited data to select advertising', dpv: 'dpv:Advertising' },
    { id: 3, name: 'Create profiles for personalised advertising', dpv: 'dpv:PersonalisedAdvertising' },
    { id: 4, name: 'Use profiles to select personalised advertising', dpv: 'dpv:PersonalisedAdvertising' },
    { id: 5, name: 'Create profiles to personalise content', dpv: 'dpv:Personalisation' },
    { id: 6, name: 'Use profiles to select personalised content', dpv: 'dpv:Personalisation' },
    { id: 7, name: 'Measure advertising performance', dpv: 'dpv:ServiceUsageAnalytics' },
    { id: 8, name: 'Measure content performance', dpv: 'dpv:ServiceUsageAnalytics' },
    {
      id: 9,
      name: 'Understand audiences through statistics or combinations of data',
      dpv: 'dpv:ServiceUsageAnalytics',
    },
    { id: 10, name: 'Develop and improve services', dpv: 'dpv:ServiceOptimisation' },
    { id: 11, name: 'Use limited data to select content', dpv: 'dpv:Personalisation' },
  ]);

/** The DPV purposes TCF purposes map to, without repeats. */
export const TCF_DPV_PURPOSES: readonly string[] = Object.freeze([
  ...new Set(TCF_PURPOSE_MAP.flatMap((p) => (p.dpv === null ? [] : [p.dpv]))),
]);

/** The purpose Custos records a targeted-advertising opt-out against (an objection, GDPR Art. 21(3) alike). */
export const TARGETED_ADVERTISING_PURPOSE = 'dpv:PersonalisedAdvertising';

function flagChoice(v: unknown): GppChoice | null {
  return v === 1 ? 'out' : v === 2 ? 'in' : null;
}

function listChoice(v: unknown): GppChoice | null {
  if (!Array.isArray(v)) return null;
  if (v.includes(1)) return 'out';
  return v.includes(2) ? 'in' : null;
}

/** The most protective of two answers: one `out` is an opt-out. */
function combine(a: GppChoice | null, b: GppChoice | null): GppChoice | null {
  if (a === 'out' || b === 'out') return 'out';
  return a ?? b;
}

function tcfConsents(model: GppModel): boolean[] | null {
  if (!model.hasSection('tcfeuv2')) return null;
  const v = model.getFieldValue('tcfeuv2', 'PurposeConsents') as unknown;
  return Array.isArray(v) ? v.map((x) => x === true) : null;
}

/** What a decoded GPP model says about each Custos choice. */
export function choicesOfModel(model: GppModel): GppChoices {
  const out: GppChoices = { sale: null, share: null, targeted: null, sensitive: null, purposes: null };
  for (const m of US_FIELD_MAP) {
    if (!model.hasSection(m.section)) continue;
    const v = model.getFieldValue(m.section, m.field) as unknown;
    out[m.choice] = combine(out[m.choice], m.list ? listChoice(v) : flagChoice(v));
  }
  const consents = tcfConsents(model);
  if (consents !== null) {
    const purposes: Record<string, boolean> = {};
    for (const p of TCF_PURPOSE_MAP) {
      if (p.dpv === null) continue;
      purposes[p.dpv] = (purposes[p.dpv] ?? false) || consents[p.id - 1] === true;
    }
    out.purposes = purposes;
  }
  return out;
}

/** What the GPP string `gpp` says about each Custos choice; BAD_ENCODING for a bad string. */
export function gppChoices(gpp: string): GppChoices {
  return choicesOfModel(decodeGpp(gpp).model);
}

/** The customer's current choices on Custos towards one org, as the emitter needs them. */
export interface CustosChoices {
  /** Opted out of sale / sharing; objected to targeted advertising; limited sensitive data. */
  sale: boolean;
  share: boolean;
  targeted: boolean;
  sensitive: boolean;
  /** DPV purposes a live consent of the customer to the org covers. */
  consented: ReadonlySet<string>;
  /** An opt-out in force came from a Global Privacy Control signal. */
  gpc: boolean;
}

const US_SECTIONS = ['usnat', 'usca', 'usva', 'usco', 'usct'] as const;

function emitUsField(model: GppModel, m: UsFieldMapping, want: GppChoice): void {
  const current = model.getFieldValue(m.section, m.field) as unknown;
  if (!m.list) {
    const had = flagChoice(current);
    if (had === want || (had === null && want === 'in')) return;
    model.setFieldValue(m.section, m.field, want === 'out' ? 1 : 2);
    return;
  }
  const list = Array.isArray(current) ? (current as number[]) : [];
  const had = listChoice(list);
  if (had === want || (had === null && want === 'in')) return;
  const next = want === 'out' ? list.map((x) => (x === 2 || had === null ? 1 : x)) : list.map((x) => (x === 1 ? 2 : x));
  model.setFieldValue(m.section, m.field, next);
}

function emitTcf(model: GppModel, now: CustosChoices): void {
  const consents = tcfConsents(model);
  if (consents === null) return;
  const next = [...consents];
  for (const dpv of TCF_DPV_PURPOSES) {
    const ids = TCF_PURPOSE_MAP.filter((p) => p.dpv === dpv).map((p) => p.id);
    const had = ids.some((id) => consents[id - 1] === true);
    const want = now.consented.has(dpv);
    if (had === want) continue;
    for (const id of ids) next[id - 1] = want;
  }
  // The library stamps Created and LastUpdated with today's date on any change: only on a change.
  if (next.some((v, i) => v !== consents[i])) model.setFieldValue('tcfeuv2', 'PurposeConsents', next);
}

/**
 * A GPP string for the company's ad stack from the customer's current choices. With `base` (the
 * string last recorded for this customer), every field Custos does not map is kept as it came and a
 * mapped field changes only where its meaning differs from `now`: the same choices give back the
 * same string. Without a base, a US National section that states the sale, sharing, targeted
 * advertising and sensitive-data choices, with their notices given.
 */
export function emitGpp(base: string | null, now: CustosChoices): string {
  const want = (b: boolean): GppChoice => (b ? 'out' : 'in');
  if (base === null) {
    const model = emptyGpp();
    model.setFieldValue('usnat', 'SaleOptOutNotice', 1);
    model.setFieldValue('usnat', 'SharingOptOutNotice', 1);
    model.setFieldValue('usnat', 'SharingNotice', 1);
    model.setFieldValue('usnat', 'TargetedAdvertisingOptOutNotice', 1);
    model.setFieldValue('usnat', 'SaleOptOut', now.sale ? 1 : 2);
    model.setFieldValue('usnat', 'SharingOptOut', now.share ? 1 : 2);
    model.setFieldValue('usnat', 'TargetedAdvertisingOptOut', now.targeted ? 1 : 2);
    if (now.sensitive) {
      const list = model.getFieldValue('usnat', 'SensitiveDataProcessing') as number[];
      model.setFieldValue('usnat', 'SensitiveDataProcessingOptOutNotice', 1);
      model.setFieldValue('usnat', 'SensitiveDataLimitUseNotice', 1);
      model.setFieldValue(
        'usnat',
        'SensitiveDataProcessing',
        list.map(() => 1),
      );
    }
    model.setFieldValue('usnat', 'MspaCoveredTransaction', 2);
    if (now.gpc) model.setFieldValue('usnat', 'Gpc', true);
    return model.encode();
  }
  const { model } = decodeGpp(base);
  for (const m of US_FIELD_MAP) {
    if (model.hasSection(m.section)) emitUsField(model, m, want(now[m.choice]));
  }
  if (now.gpc) {
    for (const s of US_SECTIONS) {
      if (model.hasSection(s) && model.hasField(s, 'Gpc') && model.getFieldValue(s, 'Gpc') !== true) {
        model.setFieldValue(s, 'Gpc', true);
      }
    }
  }
  emitTcf(model, now);
  return model.encode();
}
