/**
 * GPP strings in and out (`src/gpp/`): decoding with bounds and clear errors, every mapped field
 * read and written, and the round trip on the IAB's reference strings (from the test suite of the
 * IAB's iabgpp-es library, modules/cmpapi/test/GppModel.test.ts and encoder/section/*.test.ts).
 */
import { FibonacciIntegerEncoder, FixedIntegerEncoder, FixedIntegerRangeEncoder, GppModel } from '@iabgpp/cmpapi';
import { describe, expect, it } from 'vitest';
import type { ProtocolError } from '../src/errors.js';
import {
  type CustosChoices,
  decodeGpp,
  emitGpp,
  gppChoices,
  MAX_GPP_LENGTH,
  TCF_PURPOSE_MAP,
  US_FIELD_MAP,
} from '../src/gpp/index.js';
import { withRangeBudget } from '../src/gpp/range-guard.js';

/** IAB reference strings (iabgpp-es test suite). */
const IAB = {
  /** Every section of the library, all choices not applicable (GppModel.test.ts, "should decode all sections"). */
  all: 'DBACOcGA~CPSG_8APSG_8ANwAAAENAAFgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA~BPSG_8APSG_8AAAAAAENAACAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAA~1---~BAAAAAAAAABA.QA~BAAAAABA.QA~BAAAABA~BAAAAEA.QA~BAAAAAQA~BAAAAAEA.QA~BAAAAABA~BAAAAABA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAABAA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BAAAAABA.QA~BAAAAAAAQA.QA~BAAAAAQA.QA~BAAAAAQA.QA~BQAA.QA~BQAA.AAA~BQAA.AAA~BQAA.AAA',
  /** US National, every opt-out taken (UsNat.test.ts, "CVVVkkkkkpFY.YA"). */
  usnatOptedOut: 'DBABLA~CVVVkkkkkpFY.YA',
  /** US National v1, no opt-out (GppModel.test.ts, "DBABLA~BVQqAAAAAgA.QA"). */
  usnatNoOptOut: 'DBABLA~BVQqAAAAAgA.QA',
  /** TCF EU v2 with vendor consents (GppModel.test.ts). */
  tcf: 'DBABMA~CPSG_8APSG_8AAAAAAENAAFgAAAAAAAAAAAAAOwAQAOgAAAA.IAOgBgAAgAAA.YAAAAAAAAAAA',
  /** TCF EU v2 and US Privacy v1 (GppModel.test.ts, "should decode uspv1 and tcfeuv2 sections"). */
  tcfUsp: 'DBACNYA~CPSG_8APSG_8ANwAAAENAwCgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA~1YNN',
} as const;

const none: CustosChoices = {
  sale: false,
  share: false,
  targeted: false,
  sensitive: false,
  consented: new Set(),
  gpc: false,
};

/** The Custos choices a string says, as the ledger would hold them after recording it. */
function asCustos(gpp: string): CustosChoices {
  const c = gppChoices(gpp);
  return {
    sale: c.sale === 'out',
    share: c.share === 'out',
    targeted: c.targeted === 'out',
    sensitive: c.sensitive === 'out',
    consented: new Set(Object.entries(c.purposes ?? {}).flatMap(([p, yes]) => (yes ? [p] : []))),
    gpc: false,
  };
}

/** A model holding `section` with its defaults (the library creates a section on its first field). */
function modelWith(section: string): GppModel {
  const model = new GppModel();
  model.setFieldValue(section, 'SaleOptOut', 0);
  return model;
}

function bad(gpp: unknown): ProtocolError {
  try {
    decodeGpp(gpp);
  } catch (e) {
    return e as ProtocolError;
  }
  throw new Error('expected decodeGpp to throw');
}

describe('decoding GPP strings', () => {
  it('decodes the IAB reference strings and names their sections', () => {
    expect(decodeGpp(IAB.all).sections).toEqual(
      expect.arrayContaining(['tcfeuv2', 'usnat', 'usca', 'usva', 'usco', 'usct']),
    );
    expect(decodeGpp(IAB.usnatOptedOut).sections).toEqual(['usnat']);
    expect(decodeGpp(IAB.tcfUsp).sections).toEqual(['tcfeuv2', 'uspv1']);
  });

  it('refuses bad input with a message saying what was expected', () => {
    expect(bad('').message).toMatch(/expected a GPP string/);
    expect(bad(42).message).toMatch(/expected a GPP string/);
    expect(bad('D'.repeat(MAX_GPP_LENGTH + 1)).message).toMatch(`at most ${MAX_GPP_LENGTH}`);
    expect(bad('DBABLA~C<script>').message).toMatch(/base64url/);
    expect(bad('hello').message).toMatch(/can decode/);
    // A header that decodes with a section that does not: the library decodes lazily; we do not.
    expect(bad('DBABLA~zzz').code).toBe('BAD_ENCODING');
  });
});

/** GPP strings as bits: base64url of 6-bit groups, zero-padded (as the GPP specification encodes). */
function fromBits(bits: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const padded = bits.padEnd(Math.ceil(bits.length / 6) * 6, '0');
  let out = '';
  for (let i = 0; i < padded.length; i += 6) out += alphabet[Number.parseInt(padded.slice(i, i + 6), 2)];
  return out;
}

describe('hostile strings', () => {
  it('trust #18: a GPP header whose id range spans 10^9 ids is refused at once', () => {
    for (const n of [10_000_000, 1_000_000_000]) {
      // Type 3, version 1, one range of section ids from 1 to n: eleven or twelve characters.
      const header = `${FixedIntegerEncoder.encode(3, 6)}${FixedIntegerEncoder.encode(1, 6)}${FixedIntegerEncoder.encode(1, 12)}1${FibonacciIntegerEncoder.encode(1)}${FibonacciIntegerEncoder.encode(n)}`;
      const t = performance.now();
      expect(bad(fromBits(header)).code).toBe('BAD_ENCODING');
      // Not a speed measurement (bench/ does those): without the guard this call does not return.
      expect(performance.now() - t).toBeLessThan(5_000);
    }
  });

  it('all the range fields of one string share one budget of ids', () => {
    // One range of 1-1000 as the library encodes it: count 1, a group, start and end on 16 bits.
    const range = `${FixedIntegerEncoder.encode(1, 12)}1${FixedIntegerEncoder.encode(1, 16)}${FixedIntegerEncoder.encode(1000, 16)}`;
    expect(withRangeBudget(() => FixedIntegerRangeEncoder.decode(range).length, 2000)).toBe(1000);
    expect(() =>
      withRangeBudget(() => {
        FixedIntegerRangeEncoder.decode(range);
        FixedIntegerRangeEncoder.decode(range);
        return FixedIntegerRangeEncoder.decode(range);
      }, 2000),
    ).toThrow(/more than/);
    // A field over 65,536 ids is refused whatever the budget.
    const huge = `${FixedIntegerEncoder.encode(2, 12)}1${FixedIntegerEncoder.encode(0, 16)}${FixedIntegerEncoder.encode(65_535, 16)}1${FixedIntegerEncoder.encode(0, 16)}${FixedIntegerEncoder.encode(10, 16)}`;
    expect(() => withRangeBudget(() => FixedIntegerRangeEncoder.decode(huge))).toThrow(/more than 65536/);
  });

  it('a TCF vendor list of every 16-bit id still decodes', () => {
    const m = new GppModel(IAB.tcf);
    m.setFieldValue(
      'tcfeuv2',
      'VendorConsents',
      Array.from({ length: 65_535 }, (_, i) => i + 1),
    );
    const s = m.encode();
    expect((new GppModel(s).getFieldValue('tcfeuv2', 'VendorConsents') as number[]).length).toBe(65_535);
    expect(decodeGpp(s).sections).toEqual(['tcfeuv2']);
  });
});

describe('the mapping, field by field', () => {
  it('reads every US field: 1 is an opt-out, 2 is none, 0 says nothing', () => {
    for (const m of US_FIELD_MAP) {
      for (const [value, expected] of [
        [1, 'out'],
        [2, 'in'],
        [0, null],
      ] as const) {
        const model = modelWith(m.section);
        const current = model.getFieldValue(m.section, m.field) as unknown;
        model.setFieldValue(m.section, m.field, m.list ? (current as number[]).map(() => value) : value);
        const choices = gppChoices(model.encode());
        expect(choices[m.choice], `${m.section}.${m.field} = ${value}`).toBe(expected);
      }
    }
  });

  it('reads one sensitive category opted out as a limit', () => {
    const model = modelWith('usnat');
    const list = (model.getFieldValue('usnat', 'SensitiveDataProcessing') as number[]).map((_, i) => (i === 3 ? 1 : 2));
    model.setFieldValue('usnat', 'SensitiveDataProcessing', list);
    expect(gppChoices(model.encode()).sensitive).toBe('out');
  });

  it('the most protective section wins', () => {
    const model = new GppModel();
    model.setFieldValue('usnat', 'SaleOptOut', 2);
    model.setFieldValue('usca', 'SaleOptOut', 1);
    expect(gppChoices(model.encode()).sale).toBe('out');
  });

  it('reads each TCF purpose consent as a consent to its DPV purpose', () => {
    for (const p of TCF_PURPOSE_MAP) {
      const model = new GppModel(IAB.tcf);
      const consents = (model.getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[]).map((_, i) => i === p.id - 1);
      model.setFieldValue('tcfeuv2', 'PurposeConsents', consents);
      const purposes = gppChoices(model.encode()).purposes!;
      const given = Object.entries(purposes).flatMap(([d, yes]) => (yes ? [d] : []));
      expect(given, `TCF purpose ${p.id}`).toEqual(p.dpv === null ? [] : [p.dpv]);
    }
  });

  it('the IAB strings say what they say', () => {
    expect(gppChoices(IAB.usnatOptedOut)).toMatchObject({
      sale: 'out',
      share: 'out',
      targeted: 'out',
      sensitive: 'out',
    });
    expect(gppChoices(IAB.usnatNoOptOut)).toMatchObject({ sale: 'in', share: 'in', targeted: 'in', sensitive: null });
    expect(gppChoices(IAB.tcf).purposes).toEqual({
      'dpv:Advertising': false,
      'dpv:PersonalisedAdvertising': false,
      'dpv:Personalisation': false,
      'dpv:ServiceUsageAnalytics': false,
      'dpv:ServiceOptimisation': false,
    });
  });
});

describe('emitting GPP strings', () => {
  it('round trip: each IAB reference string comes back equal for the same choices', () => {
    for (const [name, s] of Object.entries(IAB)) {
      expect(emitGpp(s, asCustos(s)), name).toBe(s);
    }
  });

  it('writes each US field when the choice changed since the string was recorded', () => {
    for (const m of US_FIELD_MAP) {
      const model = modelWith(m.section);
      const current = model.getFieldValue(m.section, m.field) as unknown;
      model.setFieldValue(m.section, m.field, m.list ? (current as number[]).map(() => 2) : 2);
      const base = model.encode();
      const out = emitGpp(base, { ...none, [m.choice]: true });
      expect(gppChoices(out)[m.choice], `${m.section}.${m.field}`).toBe('out');
      // Opted back in: 1 becomes 2.
      expect(gppChoices(emitGpp(out, none))[m.choice], `${m.section}.${m.field} back`).toBe('in');
    }
  });

  it('a consent withdrawn on Custos clears its TCF purposes; one given sets them', () => {
    const model = new GppModel(IAB.tcf);
    const consents = (model.getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[]).map((_, i) => i === 2 || i === 1);
    model.setFieldValue('tcfeuv2', 'PurposeConsents', consents);
    const base = model.encode();
    expect(gppChoices(base).purposes).toMatchObject({ 'dpv:Advertising': true, 'dpv:PersonalisedAdvertising': true });
    const withdrawn = emitGpp(base, { ...none, consented: new Set(['dpv:Advertising']) });
    const after = new GppModel(withdrawn).getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[];
    expect(after.slice(0, 4)).toEqual([false, true, false, false]);
    const given = emitGpp(base, {
      ...none,
      consented: new Set(['dpv:Advertising', 'dpv:PersonalisedAdvertising', 'dpv:ServiceOptimisation']),
    });
    expect((new GppModel(given).getFieldValue('tcfeuv2', 'PurposeConsents') as boolean[])[9]).toBe(true);
  });

  it('without a recorded string, a US National section of the current choices', () => {
    const out = emitGpp(null, { ...none, sale: true, sensitive: true, gpc: true });
    expect(decodeGpp(out).sections).toEqual(['usnat']);
    expect(gppChoices(out)).toMatchObject({ sale: 'out', share: 'in', targeted: 'in', sensitive: 'out' });
    expect(new GppModel(out).getFieldValue('usnat', 'Gpc')).toBe(true);
  });
});
