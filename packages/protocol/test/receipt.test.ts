/**
 * Consent receipts: the VC 2.0 an org issues for each consent event, its verification (issuer,
 * proof, shape), the DPV vocabulary Custos accepts, and the ISO/IEC TS 27560 (DPV JSON-LD) and
 * Kantara CR v1.1 exports with every mandatory field. Golden files in test/golden/receipt-*.json
 * make any format change show up as a diff. Properties: issue-then-verify holds for arbitrary
 * events, and any single-field change of a signed receipt fails verification without throwing.
 */
import { readFileSync } from 'node:fs';
import { expectGolden, goldenJson } from '@custos/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/bytes.js';
import {
  DPV_CATEGORIES,
  DPV_PURPOSES,
  dpvIri,
  dpvTerm,
  isDpvCategory,
  isDpvPurpose,
  labelOf,
} from '../src/consent/dpv.js';
import { createProof, didKeyVerificationMethod, verifyProof } from '../src/consent/eddsa-jcs-2022.js';
import type { ExportContext } from '../src/consent/export-context.js';
import { DPV_27560_RECORD_SCHEMA, toIso27560 } from '../src/consent/iso27560.js';
import {
  KANTARA_CR_VERSION,
  KANTARA_PII_CATEGORY,
  KANTARA_PURPOSE_CATEGORY,
  toKantaraReceipt,
} from '../src/consent/kantara.js';
import {
  CONSENT_JURISDICTIONS,
  type ConsentEvent,
  type ConsentReceiptCredential,
  CUSTOS_CONSENT_CONTEXT,
  CUSTOS_CONSENT_CONTEXT_DOCUMENT,
  consentEventFromReceipt,
  issueConsentReceipt,
  parseConsentEvent,
  VC_V2_CONTEXT,
  verifyConsentReceipt,
} from '../src/consent/receipt.js';
import { isXsdDateTimeStamp, MAX_XSD_TIME_MS } from '../src/consent/xsd-datetime.js';
import { didFromPublicKey, isDidKey } from '../src/crypto/didkey.js';
import { nobleSigner, nobleVerifier } from '../src/crypto/ed25519.js';
import { ProtocolError } from '../src/errors.js';
import { sha256 } from '../src/hash.js';

const ORG = nobleSigner(new Uint8Array(32).fill(2));
const ORG_DID = didFromPublicKey(ORG.publicKey);
const CUSTOMER_DID = didFromPublicKey(nobleSigner(new Uint8Array(32).fill(3)).publicKey);
const GRANT_TX = toHex(sha256(utf8('golden consent.grant')));
const WITHDRAW_TX = toHex(sha256(utf8('golden consent.withdraw')));
const CREATED = Date.UTC(2026, 0, 1, 0, 0, 5);

const GRANT: ConsentEvent = {
  event: 'granted',
  id: GRANT_TX,
  subject: CUSTOMER_DID,
  org: 'acme-bank',
  purposes: ['dpv:ServiceProvision', 'dpv:Marketing', 'dpv:PersonalisedAdvertising'],
  categories: ['pd:EmailAddress', 'pd:Name', 'pd:PurchasesAndSpendingHabit', 'pd:HealthRecord'],
  expiresAt: Date.UTC(2027, 0, 1),
  share: true,
  sale: false,
  jurisdiction: 'GDPR',
  notice: toHex(sha256(utf8('Acme Bank privacy notice, version 3'))),
  at: 1_767_225_600_123, // 2026-01-01T00:00:00.123Z: milliseconds that Kantara's seconds drop
  ledger: { chainId: 'custos-golden', txId: GRANT_TX, height: 42 },
};

const WITHDRAWAL: ConsentEvent = {
  ...GRANT,
  event: 'withdrawn',
  at: Date.UTC(2026, 5, 1, 12),
  ledger: { chainId: 'custos-golden', txId: WITHDRAW_TX, height: 4711 },
};

const CONTEXT: ExportContext = {
  controller: {
    name: 'Acme Bank AG',
    contact: 'Data Protection Officer',
    email: 'privacy@acme-bank.example',
    phone: '+49 30 1234567',
    address: { streetAddress: 'Musterstraße 1', addressLocality: 'Berlin', postalCode: '10115', addressCountry: 'DE' },
    url: 'https://acme-bank.example/',
  },
  policyUrl: 'https://acme-bank.example/privacy',
  consentUrl: 'https://portal.custos.example/consents',
  language: 'en',
  storageLocations: ['loc:DE'],
  retention: 'P2Y',
};

function expectBad(f: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as ProtocolError).code).toBe('BAD_JSON');
  expect((thrown as ProtocolError).message).toMatch(message);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...prefix, i], ...paths(x, [...prefix, i]));
    });
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...paths(x, [...prefix, k]));
  }
  return out;
}

function get(v: unknown, path: (string | number)[]): unknown {
  let cur = v;
  for (const k of path) cur = (cur as Record<string | number, unknown>)[k];
  return cur;
}

type Mutation = 'tweak' | 'delete' | 'null' | 'retype' | 'add';

/** A copy of `doc` with the value at `path` changed in one way. */
function mutate(doc: unknown, path: (string | number)[], how: Mutation): unknown {
  const copy = clone(doc);
  const parent = get(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  const old = parent[last];
  switch (how) {
    case 'tweak':
      parent[last] =
        typeof old === 'string'
          ? `${old}x`
          : typeof old === 'number'
            ? old + 1
            : typeof old === 'boolean'
              ? !old
              : Array.isArray(old)
                ? [...old, old[0] ?? 'x']
                : { ...(old as object), extra: 1 };
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      break;
    case 'null':
      parent[last] = null;
      break;
    case 'retype':
      parent[last] = typeof old === 'string' ? 1 : 'x';
      break;
    case 'add':
      if (typeof old === 'object' && old !== null && !Array.isArray(old)) (old as Record<string, unknown>).added = true;
      else parent[last] = [old];
      break;
  }
  return copy;
}

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });

const arbEvent: fc.Arbitrary<ConsentEvent> = fc
  .record({
    kind: fc.constantFrom('granted' as const, 'withdrawn' as const),
    id: hex32,
    otherTx: hex32,
    customer: seed,
    org: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/),
    purposes: fc.shuffledSubarray(
      DPV_PURPOSES.map((p) => p.code),
      { minLength: 1 },
    ),
    categories: fc.shuffledSubarray(
      DPV_CATEGORIES.map((c) => c.code),
      { minLength: 1, maxLength: 32 },
    ),
    at: fc.integer({ min: 0, max: MAX_XSD_TIME_MS - 1 }),
    ttl: fc.integer({ min: 1, max: 10 * 366 * 86_400_000 }),
    share: fc.boolean(),
    sale: fc.boolean(),
    jurisdiction: fc.constantFrom(...CONSENT_JURISDICTIONS),
    notice: hex32,
    chainId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/),
    height: fc.nat(),
  })
  .map((r) => ({
    event: r.kind,
    id: r.id,
    subject: didFromPublicKey(nobleSigner(r.customer).publicKey),
    org: r.org,
    purposes: r.purposes,
    categories: r.categories,
    expiresAt: Math.min(r.at + r.ttl, MAX_XSD_TIME_MS),
    share: r.share,
    sale: r.sale,
    jurisdiction: r.jurisdiction,
    notice: r.notice,
    at: r.at,
    ledger: { chainId: r.chainId, txId: r.kind === 'granted' ? r.id : r.otherTx, height: r.height },
  }));

describe('issueConsentReceipt', () => {
  const vc = issueConsentReceipt(GRANT, { signer: ORG, created: CREATED });

  it('issues a VC 2.0 from the org did:key to the customer pairwise did', () => {
    expect(vc['@context']).toEqual([VC_V2_CONTEXT, CUSTOS_CONSENT_CONTEXT]);
    expect(vc.type).toEqual(['VerifiableCredential', 'ConsentReceipt']);
    expect(vc.id).toBe(`urn:custos:custos-golden:receipt:${GRANT_TX}`);
    expect(vc.issuer).toBe(ORG_DID);
    expect(vc.validFrom).toBe('2026-01-01T00:00:00.123Z');
    expect(vc.credentialSubject).toEqual({
      id: CUSTOMER_DID,
      consent: {
        id: `urn:custos:custos-golden:consent:${GRANT_TX}`,
        org: 'acme-bank',
        purposes: GRANT.purposes,
        categories: GRANT.categories,
        expiresAt: '2027-01-01T00:00:00Z',
        share: true,
        sale: false,
        jurisdiction: 'GDPR',
        notice: GRANT.notice,
        event: 'granted',
        ledger: GRANT.ledger,
      },
    });
    expect(vc.proof).toMatchObject({
      type: 'DataIntegrityProof',
      cryptosuite: 'eddsa-jcs-2022',
      created: '2026-01-01T00:00:05Z',
      verificationMethod: didKeyVerificationMethod(ORG_DID),
      proofPurpose: 'assertionMethod',
      '@context': [VC_V2_CONTEXT, CUSTOS_CONSENT_CONTEXT],
    });
  });

  it('verifies, and reads back the event and issuer', () => {
    const r = verifyConsentReceipt(JSON.parse(JSON.stringify(vc)), nobleVerifier);
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.issuer).toBe(ORG_DID);
    expect(r.event).toEqual(GRANT);
    expect(consentEventFromReceipt(vc)).toEqual({ event: GRANT, issuer: ORG_DID });
  });

  it('issues and verifies a withdrawal receipt for the same consent', () => {
    const w = issueConsentReceipt(WITHDRAWAL, { signer: ORG, created: CREATED + 1 });
    expect(w.credentialSubject.consent.event).toBe('withdrawn');
    expect(w.credentialSubject.consent.id).toBe(vc.credentialSubject.consent.id);
    expect(w.id).toBe(`urn:custos:custos-golden:receipt:${WITHDRAW_TX}`);
    expect(verifyConsentReceipt(w, nobleVerifier).event).toEqual(WITHDRAWAL);
  });

  it('parseConsentEvent returns a copy of a valid event', () => {
    const copy = parseConsentEvent(GRANT);
    expect(copy).toEqual(GRANT);
    expect(copy.purposes).not.toBe(GRANT.purposes);
    expect(copy.ledger).not.toBe(GRANT.ledger);
  });

  it('rejects invalid events, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /event as an object/],
      [{ ...GRANT, extra: 1 }, /no field 'extra'/],
      [{ ...GRANT, event: 'refused' }, /event.event/],
      [{ ...GRANT, id: 'ABC' }, /event.id/],
      [{ ...GRANT, id: WITHDRAW_TX }, /own id/],
      [{ ...GRANT, subject: 'did:web:example.org' }, /event.subject/],
      [{ ...GRANT, org: 'Acme Bank' }, /event.org/],
      [{ ...GRANT, purposes: [] }, /event.purposes/],
      [{ ...GRANT, purposes: ['dpv:Marketing', 'dpv:Marketing'] }, /without repeats/],
      [{ ...GRANT, purposes: ['dpv:SellDataToThirdParties'] }, /event.purposes/],
      [{ ...GRANT, purposes: ['pd:EmailAddress'] }, /event.purposes/],
      [{ ...GRANT, categories: ['dpv:Marketing'] }, /event.categories/],
      [{ ...GRANT, categories: DPV_CATEGORIES.map((c) => c.code).concat(['pd:X', 'pd:Y', 'pd:Z', 'pd:W']) }, /1 to 32/],
      [{ ...GRANT, expiresAt: GRANT.at }, /after event.at/],
      [{ ...GRANT, expiresAt: 1.5 }, /event.expiresAt/],
      [{ ...GRANT, at: -1 }, /event.at/],
      [{ ...GRANT, at: MAX_XSD_TIME_MS + 1 }, /event.at/],
      [{ ...GRANT, share: 'yes' }, /event.share/],
      [{ ...GRANT, sale: undefined }, /event.sale/],
      [{ ...GRANT, jurisdiction: 'LGPD' }, /event.jurisdiction/],
      [{ ...GRANT, notice: 'sha256' }, /event.notice/],
      [{ ...GRANT, ledger: { ...GRANT.ledger, chainId: 'Custos' } }, /chainId/],
      [{ ...GRANT, ledger: { ...GRANT.ledger, height: -1 } }, /height/],
      [{ ...GRANT, ledger: { ...GRANT.ledger, extra: 1 } }, /no field 'extra'/],
    ];
    for (const [input, message] of cases) {
      expectBad(() => issueConsentReceipt(input as ConsentEvent, { signer: ORG, created: CREATED }), message);
    }
  });

  it('rejects a receipt whose issuer does not control the verification method', () => {
    const mallory = nobleSigner(new Uint8Array(32).fill(6));
    const { proof: _proof, ...unsigned } = vc;
    // Signed correctly by mallory, but claiming the org as issuer.
    const forged = createProof(unsigned, {
      signer: mallory,
      verificationMethod: didKeyVerificationMethod(didFromPublicKey(mallory.publicKey)),
      created: CREATED,
    });
    const r = verifyConsentReceipt(forged, nobleVerifier);
    expect(r.verified).toBe(false);
    expect(r.problems).toContain('expected proof.verificationMethod controlled by the issuer');
    // Signed for another purpose than assertionMethod.
    const auth = createProof(unsigned, {
      signer: ORG,
      verificationMethod: didKeyVerificationMethod(ORG_DID),
      created: CREATED,
      proofPurpose: 'authentication',
    });
    expect(verifyConsentReceipt(auth, nobleVerifier).problems.join()).toMatch(/proofPurpose/);
    // Extra contexts the proof does not cover are not a consent receipt.
    const extended = { ...vc, '@context': [...vc['@context'], 'https://example.org/x'] };
    expect(verifyConsentReceipt(extended, nobleVerifier).verified).toBe(false);
  });

  it('property: issue then verify succeeds for arbitrary valid events', () => {
    fc.assert(
      fc.property(arbEvent, seed, fc.integer({ min: 0, max: MAX_XSD_TIME_MS }), (event, orgSeed, created) => {
        const signer = nobleSigner(orgSeed);
        const receipt = issueConsentReceipt(event, { signer, created });
        const r = verifyConsentReceipt(JSON.parse(JSON.stringify(receipt)), nobleVerifier);
        expect(r.problems).toEqual([]);
        expect(r.verified).toBe(true);
        expect(r.event).toEqual(event);
        expect(r.issuer).toBe(didFromPublicKey(signer.publicKey));
      }),
      { numRuns: 100 },
    );
  });

  it('property: any single-field change of a signed receipt fails verification, never throws', () => {
    const mutations: Mutation[] = ['tweak', 'delete', 'null', 'retype', 'add'];
    fc.assert(
      fc.property(arbEvent, fc.nat(), fc.constantFrom(...mutations), (event, pick, how) => {
        const receipt = issueConsentReceipt(event, { signer: ORG, created: CREATED });
        const all = paths(receipt);
        const path = all[pick % all.length] as (string | number)[];
        const forged = mutate(receipt, path, how);
        let r: ReturnType<typeof verifyConsentReceipt> | undefined;
        expect(() => {
          r = verifyConsentReceipt(forged, nobleVerifier);
        }).not.toThrow();
        expect(r?.verified, `${how} ${path.join('.')}`).toBe(false);
        expect(r?.problems.length).toBeGreaterThan(0);
        expect(r?.event).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('every field of the golden receipt, changed in every way, fails verification', () => {
    for (const path of paths(vc)) {
      for (const how of ['tweak', 'delete', 'null', 'retype', 'add'] as Mutation[]) {
        expect(verifyConsentReceipt(mutate(vc, path, how), nobleVerifier).verified, `${how} ${path.join('.')}`).toBe(
          false,
        );
      }
    }
  });

  it('verifyConsentReceipt and verifyProof never throw, even on a hostile object', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    for (const input of [hostile, { ...vc, credentialSubject: hostile }, { ...vc, proof: hostile }]) {
      expect(verifyConsentReceipt(input, nobleVerifier).verified).toBe(false);
      expect(verifyProof(input, { verifier: nobleVerifier }).verified).toBe(false);
    }
  });

  it('verifyConsentReceipt never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withNullPrototype: true }), (v) => {
        expect(verifyConsentReceipt(v, nobleVerifier).verified).toBe(false);
        expect(verifyConsentReceipt({ ...vc, credentialSubject: v }, nobleVerifier).verified).toBe(false);
        expect(verifyConsentReceipt({ ...vc, proof: v }, nobleVerifier).verified).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('the Custos JSON-LD context defines every term a receipt uses', () => {
    const ctx = CUSTOS_CONSENT_CONTEXT_DOCUMENT['@context'];
    expect(Object.keys(ctx)).toContain('ConsentReceipt');
    const consentTerms = Object.keys(ctx.consent['@context']);
    for (const k of Object.keys(vc.credentialSubject.consent)) {
      if (k !== 'id') expect(consentTerms).toContain(k);
    }
    for (const k of Object.keys(vc.credentialSubject.consent.ledger)) {
      expect(Object.keys(ctx.consent['@context'].ledger['@context'])).toContain(k);
    }
    expect(Object.isFrozen(ctx.consent)).toBe(true);
  });
});

describe('DPV vocabulary', () => {
  const all = [...DPV_CATEGORIES, ...DPV_PURPOSES];

  it('lists each code once, with DPV term syntax, a label and one plain sentence', () => {
    expect(new Set(all.map((t) => t.code)).size).toBe(all.length);
    for (const t of DPV_CATEGORIES) expect(t.code).toMatch(/^pd:[A-Z][A-Za-z]+$/);
    for (const t of DPV_PURPOSES) expect(t.code).toMatch(/^dpv:[A-Z][A-Za-z]+$/);
    for (const t of all) {
      expect(t.label.length).toBeGreaterThan(0);
      expect(t.label.length).toBeLessThanOrEqual(30);
      expect(t.description).toMatch(/^[A-Z][^.]*\.$/);
      expect(t.description.length).toBeLessThanOrEqual(120);
      expect(Object.isFrozen(t)).toBe(true);
    }
    expect(Object.isFrozen(DPV_CATEGORIES)).toBe(true);
  });

  it('has the categories and purposes customers meet most', () => {
    for (const c of [
      'pd:EmailAddress',
      'pd:Name',
      'pd:PhysicalAddress',
      'pd:TelephoneNumber',
      'pd:BirthDate',
      'pd:FinancialAccount',
      'pd:CreditCardNumber',
      'pd:HealthRecord',
      'pd:PurchasesAndSpendingHabit',
      'pd:Location',
    ]) {
      expect(isDpvCategory(c), c).toBe(true);
    }
    for (const p of [
      'dpv:Marketing',
      'dpv:PersonalisedAdvertising',
      'dpv:ServiceProvision',
      'dpv:FraudPreventionAndDetection',
      'dpv:LegalCompliance',
      'dpv:ResearchAndDevelopment',
      'dpv:CustomerCare',
      'dpv:Personalisation',
    ]) {
      expect(isDpvPurpose(p), p).toBe(true);
    }
  });

  it('keeps categories and purposes apart and answers unknown input with false', () => {
    expect(isDpvCategory('dpv:Marketing')).toBe(false);
    expect(isDpvPurpose('pd:EmailAddress')).toBe(false);
    for (const v of ['pd:DateOfBirth', 'pd:emailaddress', '', 'constructor', '__proto__', 1, null, undefined, {}]) {
      expect(isDpvCategory(v)).toBe(false);
      expect(isDpvPurpose(v)).toBe(false);
    }
  });

  it('labels codes, splitting unknown ones into words', () => {
    expect(labelOf('pd:EmailAddress')).toBe('Email address');
    expect(labelOf('dpv:PersonalisedAdvertising')).toBe('Personalised adverts');
    expect(labelOf('dpv:SellDataToThirdParties')).toBe('Sell Data To Third Parties');
    expect(labelOf('pd:IPAddressHistory')).toBe('IP Address History');
    expect(dpvTerm('pd:HealthRecord')).toMatchObject({ sensitive: true });
    expect(dpvIri('pd:EmailAddress')).toBe('https://w3id.org/dpv/pd#EmailAddress');
    expect(dpvIri('dpv:Marketing')).toBe('https://w3id.org/dpv#Marketing');
    for (const bad of ['loc:EU', 'Marketing', 'toString:x', ':x']) expect(() => dpvIri(bad)).toThrow(ProtocolError);
  });

  it('maps every term to a Kantara CR v1.1 category', () => {
    for (const c of DPV_CATEGORIES) expect(KANTARA_PII_CATEGORY[c.code], c.code).toMatch(/^\d{1,2} - \S/);
    for (const p of DPV_PURPOSES) expect(KANTARA_PURPOSE_CATEGORY[p.code], p.code).toMatch(/^\d{1,2} - \S/);
    expect(Object.keys(KANTARA_PII_CATEGORY).sort()).toEqual(DPV_CATEGORIES.map((c) => c.code).sort());
    expect(Object.keys(KANTARA_PURPOSE_CATEGORY).sort()).toEqual(DPV_PURPOSES.map((p) => p.code).sort());
  });
});

/** The mandatory fields of a dpv-27560 record (DPVCG guide, section 9), each with its check. */
function check27560(rec: Record<string, unknown>, e: ConsentEvent): void {
  const must = (name: string, ok: boolean) => expect(ok, `27560 mandatory field: ${name}`).toBe(true);
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
  const types = (v: unknown): unknown[] => arr((v as Record<string, unknown>)?.['@type']);

  must('Schema Version (dct:conformsTo)', rec['dct:conformsTo'] === DPV_27560_RECORD_SCHEMA);
  must(
    'Record Identifier (dct:identifier)',
    typeof rec['dct:identifier'] === 'string' && rec['dct:identifier'] === rec['@id'],
  );
  must('record type dpv:ConsentRecord', rec['@type'] === 'dpv:ConsentRecord');
  must('Data Subject (dpv:hasDataSubject)', rec['dpv:hasDataSubject'] === e.subject);
  const notices = arr(rec['dpv:hasNotice']) as Record<string, unknown>[];
  const consentNotice = notices.find((n) => types(n).includes('dpv:ConsentNotice'));
  must(
    'Notice (dpv:hasNotice, a dpv:ConsentNotice)',
    consentNotice !== undefined && String(consentNotice['@id']).startsWith('ni:///sha-256;'),
  );
  must(
    'Notice Language (dct:language)',
    notices.length > 0 && notices.every((n) => typeof n['dct:language'] === 'string'),
  );

  const processes = arr(rec['dpv:hasProcess']) as Record<string, unknown>[];
  must('Process (dpv:hasProcess)', processes.length > 0 && processes.every((p) => p['@type'] === 'dpv:Process'));
  const entities = arr(rec['dpv:hasEntity']) as Record<string, unknown>[];
  for (const p of processes) {
    const purposes = arr(p['dpv:hasPurpose']);
    must('Purpose (dpv:hasPurpose)', purposes.length > 0 && purposes.every(isDpvPurpose));
    const data = arr(p['dpv:hasPersonalData']);
    must('Personal Data / Personal Data Type (dpv:hasPersonalData)', data.length > 0 && data.every(isDpvCategory));
    const storage = arr(p['dpv:hasStorageCondition']) as Record<string, unknown>[];
    const location = storage.find((s) => types(s).includes('dpv:StorageLocation'));
    const duration = storage.find((s) => types(s).includes('dpv:StorageDuration'));
    must('Storage Condition: storage location', arr(location?.['dpv:hasLocation']).length > 0);
    must('Storage Condition: retention period', typeof duration?.['dpv:hasDuration'] === 'string');
    const controller = entities.find((x) => x['@id'] === p['dpv:hasDataController']);
    must(
      'Data Controller (dpv:hasDataController, an entity)',
      controller !== undefined && types(controller).includes('dpv:DataController'),
    );
    must('Recipients (dpv:hasRecipient)', arr(p['dpv:hasRecipient']).length > 0);
    const control = p['dpv:hasConsentControl'] as Record<string, unknown>;
    must(
      'Consent Change & Withdrawal (dpv:hasConsentControl)',
      types(control).includes('dpv:WithdrawConsent') && typeof control['dpv:isExercisedAt'] === 'string',
    );
    must('Jurisdiction (dpv:hasJurisdiction)', /^loc:/.test(String(p['dpv:hasJurisdiction'])));
    const rights = arr(p['dpv:hasRight']) as Record<string, unknown>[];
    must(
      'Rights (dpv:hasRight)',
      rights.length > 0 &&
        rights.every((r) => types(r).includes('dpv:DataSubjectRight') && typeof r['dpv:isExercisedAt'] === 'string'),
    );
    must('Consent Type (dpv:hasLegalBasis)', p['dpv:hasLegalBasis'] === 'dpv:ExplicitlyExpressedConsent');
  }

  for (const x of entities) {
    const subject = types(x).includes('dpv:DataSubject');
    must('Entity Identifier (dpv:hasIdentifier)', typeof x['dpv:hasIdentifier'] === 'string');
    must('Entity Role (@type)', subject || types(x).includes('dpv:DataController'));
    if (subject) continue; // Name, contact and address are not recorded for data subjects.
    must('Entity Name (dpv:hasName)', typeof x['dpv:hasName'] === 'string');
    const contact = x['schema:contactPoint'] as Record<string, unknown>;
    must(
      'Entity Contact (schema:contactPoint)',
      types(contact).includes('schema:ContactPoint') && typeof contact['schema:email'] === 'string',
    );
    const address = x['schema:address'] as Record<string, unknown>;
    must(
      'Entity Postal Address (schema:address)',
      types(address).includes('schema:PostalAddress') && typeof address['schema:streetAddress'] === 'string',
    );
  }

  const status = rec['dpv:hasConsentStatus'] as Record<string, unknown>;
  must(
    'Consent State (dpv:hasConsentStatus)',
    types(status).includes(e.event === 'granted' ? 'dpv:ConsentGiven' : 'dpv:ConsentWithdrawn'),
  );
  must('Event Time (dpv:isIndicatedAtTime)', isXsdDateTimeStamp(status['dpv:isIndicatedAtTime']));
  must('Event Duration (dpv:hasDuration)', types(status['dpv:hasDuration']).length > 0);
  must('Expression by Entity (dpv:isIndicatedBy)', status['dpv:isIndicatedBy'] === e.subject);

  // Every compact IRI has its prefix in the record's context, so a JSON-LD processor expands it.
  const prefixes = Object.keys(rec['@context'] as object);
  for (const path of paths(rec)) {
    const v = get(rec, path);
    const k = path[path.length - 1];
    for (const s of [v, k]) {
      const m = typeof s === 'string' ? /^([a-z][a-z-]*):[A-Za-z]/.exec(s) : null;
      if (m !== null && !['urn', 'did', 'https', 'http', 'ni'].includes(m[1] as string)) {
        expect(prefixes, `prefix of ${s}`).toContain(m[1]);
      }
    }
  }
}

/** The Kantara CR v1.1 JSON schema's required fields and types, checked one by one. */
function checkKantara(k: Record<string, unknown>): void {
  const is = (v: unknown, type: string) =>
    type === 'integer'
      ? Number.isInteger(v)
      : type === 'array'
        ? Array.isArray(v)
        : type === 'object'
          ? typeof v === 'object' && v !== null && !Array.isArray(v)
          : typeof v === type;
  const required = (o: Record<string, unknown>, fields: Record<string, string>, where: string) => {
    for (const [f, t] of Object.entries(fields)) expect(is(o[f], t), `Kantara ${where}.${f} (${t})`).toBe(true);
  };
  const optional = (o: Record<string, unknown>, fields: Record<string, string>, where: string) => {
    for (const [f, t] of Object.entries(fields))
      if (f in o) expect(is(o[f], t), `Kantara ${where}.${f} (${t})`).toBe(true);
  };
  const known = (o: object, fields: string[], where: string) => {
    for (const f of Object.keys(o)) expect(fields, `Kantara ${where} has no field ${f}`).toContain(f);
  };
  required(
    k,
    {
      version: 'string',
      jurisdiction: 'string',
      consentTimestamp: 'integer',
      collectionMethod: 'string',
      consentReceiptID: 'string',
      piiPrincipalId: 'string',
      piiControllers: 'array',
      services: 'array',
      policyUrl: 'string',
      sensitive: 'boolean',
      spiCat: 'array',
    },
    'receipt',
  );
  optional(k, { publicKey: 'string', language: 'string' }, 'receipt');
  known(
    k,
    [
      'version',
      'jurisdiction',
      'consentTimestamp',
      'collectionMethod',
      'consentReceiptID',
      'publicKey',
      'language',
      'piiPrincipalId',
      'piiControllers',
      'policyUrl',
      'services',
      'sensitive',
      'spiCat',
    ],
    'receipt',
  );
  expect(k.version).toBe(KANTARA_CR_VERSION);
  // Whole seconds since the epoch (the event's time in ms, floored): an integer, and no ms count.
  expect(Number.isSafeInteger(k.consentTimestamp)).toBe(true);
  expect(k.consentTimestamp as number).toBeGreaterThan(0);
  expect(k.consentTimestamp as number).toBeLessThan(1e11);
  for (const s of k.spiCat as unknown[]) expect(typeof s).toBe('string');
  const controllers = k.piiControllers as Record<string, unknown>[];
  expect(controllers.length).toBeGreaterThan(0);
  for (const c of controllers) {
    required(
      c,
      { piiController: 'string', contact: 'string', address: 'object', email: 'string', phone: 'string' },
      'piiControllers[]',
    );
    optional(c, { onBehalf: 'boolean', piiControllerUrl: 'string' }, 'piiControllers[]');
    known(
      c,
      ['piiController', 'onBehalf', 'contact', 'address', 'email', 'phone', 'piiControllerUrl'],
      'piiControllers[]',
    );
  }
  for (const s of k.services as Record<string, unknown>[]) {
    required(s, { service: 'string', purposes: 'array' }, 'services[]');
    for (const p of s.purposes as Record<string, unknown>[]) {
      required(
        p,
        {
          consentType: 'string',
          purposeCategory: 'array',
          piiCategory: 'array',
          termination: 'string',
          thirdPartyDisclosure: 'boolean',
        },
        'purposes[]',
      );
      optional(p, { purpose: 'string', primaryPurpose: 'boolean', thirdPartyName: 'string' }, 'purposes[]');
      known(
        p,
        [
          'purpose',
          'purposeCategory',
          'consentType',
          'piiCategory',
          'primaryPurpose',
          'termination',
          'thirdPartyDisclosure',
          'thirdPartyName',
        ],
        'purposes[]',
      );
      for (const x of [...(p.purposeCategory as unknown[]), ...(p.piiCategory as unknown[])])
        expect(typeof x).toBe('string');
      // The schema's oneOf: a name exactly when data goes to third parties.
      expect('thirdPartyName' in p).toBe(p.thirdPartyDisclosure === true);
    }
  }
}

describe('exports', () => {
  const vc = issueConsentReceipt(GRANT, { signer: ORG, created: CREATED });
  const withdrawal = issueConsentReceipt(WITHDRAWAL, { signer: ORG, created: CREATED });

  it('toIso27560 writes every field ISO/IEC TS 27560 (DPV profile) makes mandatory', () => {
    for (const [input, event] of [
      [vc, GRANT],
      [withdrawal, WITHDRAWAL],
      [GRANT, GRANT],
      [
        { ...GRANT, jurisdiction: 'CCPA', share: false },
        { ...GRANT, jurisdiction: 'CCPA', share: false },
      ],
    ] as const) {
      check27560(toIso27560(input, CONTEXT), event as ConsentEvent);
    }
    const rec = toIso27560(vc, CONTEXT);
    const process = (rec['dpv:hasProcess'] as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(process['dpv:hasApplicableLaw']).toBe('eu-gdpr:GDPR');
    expect(process['dpv:hasRecipient']).toEqual(['urn:custos:custos-golden:member:acme-bank', 'dpv:ThirdParty']);
    expect((rec['dpv:hasConsentStatus'] as Record<string, unknown>)['dpv:isIndicatedAtTime']).toBe(
      '2026-01-01T00:00:00.123Z',
    );
    const ccpa = toIso27560({ ...GRANT, jurisdiction: 'CCPA' }, CONTEXT);
    expect(
      ((ccpa['dpv:hasProcess'] as Record<string, unknown>[])[0] as Record<string, unknown>)['dpv:hasJurisdiction'],
    ).toBe('loc:US-CA');
  });

  it('toKantaraReceipt writes every field Kantara CR v1.1 requires, with the time in seconds', () => {
    for (const input of [
      vc,
      withdrawal,
      GRANT,
      { ...GRANT, share: false, sale: false },
      { ...GRANT, share: false, sale: true },
    ]) {
      checkKantara(toKantaraReceipt(input, CONTEXT));
    }
    const k = toKantaraReceipt(vc, CONTEXT);
    expect(k.consentTimestamp).toBe(1_767_225_600); // seconds, the .123 dropped
    expect(k.consentTimestamp).toBe(Math.floor(GRANT.at / 1000));
    expect(k.consentTimestamp).toBeLessThan(1e11);
    expect(toKantaraReceipt(withdrawal, CONTEXT).consentTimestamp).toBe(WITHDRAWAL.at / 1000);
    expect(k.jurisdiction).toBe('EU');
    expect(k.publicKey).toBe(ORG_DID);
    expect(k.piiPrincipalId).toBe(CUSTOMER_DID);
    expect(k.consentReceiptID).toBe(vc.id);
    expect(k.sensitive).toBe(true);
    expect(k.spiCat).toEqual(['6 - Health']);
    const purposes = k.services[0]?.purposes ?? [];
    expect(purposes.map((p) => p.purposeCategory)).toEqual([
      ['1 - Core Function'],
      ['6 - Marketing'],
      ['6 - Marketing'],
    ]);
    expect(purposes.map((p) => p.primaryPurpose)).toEqual([true, false, false]);
    expect(purposes[0]?.piiCategory).toEqual(['2 - Contact', '1 - Biographical', '15 - Behavioral', '6 - Health']);
    expect(toKantaraReceipt({ ...GRANT, categories: ['pd:Name'] }, CONTEXT)).toMatchObject({
      sensitive: false,
      spiCat: [],
    });
    expect(toKantaraReceipt(withdrawal, CONTEXT).services[0]?.purposes[0]?.termination).toMatch(
      /^Withdrawn by the customer on 2026-06-01T12:00:00Z/,
    );
  });

  it('gives the same export for a receipt and its event, but for the issuer', () => {
    const fromEvent = toKantaraReceipt(GRANT, CONTEXT);
    const { publicKey: _pk, ...fromVc } = toKantaraReceipt(vc, CONTEXT);
    expect(fromEvent).toEqual(fromVc);
  });

  it('rejects an invalid context or input, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...CONTEXT, controller: undefined }, /context.controller/],
      [{ ...CONTEXT, controller: { ...CONTEXT.controller, email: '' } }, /controller.email/],
      [
        {
          ...CONTEXT,
          controller: { ...CONTEXT.controller, address: { streetAddress: 'x', addressCountry: 'Germany' } },
        },
        /addressCountry/,
      ],
      [{ ...CONTEXT, policyUrl: 'javascript:alert(1)' }, /policyUrl/],
      [{ ...CONTEXT, consentUrl: 'not a url' }, /consentUrl/],
      [{ ...CONTEXT, language: 'English' }, /language/],
      [{ ...CONTEXT, storageLocations: [] }, /storageLocations/],
      [{ ...CONTEXT, storageLocations: ['Germany'] }, /storageLocations/],
      [{ ...CONTEXT, retention: '2 years' }, /retention/],
      [{ ...CONTEXT, retention: 'P' }, /retention/],
    ];
    for (const [context, message] of cases) {
      expectBad(() => toIso27560(vc, context as ExportContext), message);
      expectBad(() => toKantaraReceipt(vc, context as ExportContext), message);
    }
    expectBad(() => toIso27560({ ...vc, issuer: 'did:web:x' }, CONTEXT), /issuer/);
    expectBad(() => toKantaraReceipt({ ...GRANT, purposes: ['dpv:Unknown'] }, CONTEXT), /purposes/);
  });
});

describe('golden receipts (test/golden/receipt-*.json)', () => {
  const vc = issueConsentReceipt(GRANT, { signer: ORG, created: CREATED });
  const goldens: [string, unknown][] = [
    ['receipt-vc.json', vc],
    ['receipt-27560.json', toIso27560(vc, CONTEXT)],
    ['receipt-kantara.json', toKantaraReceipt(vc, CONTEXT)],
  ];

  for (const [name, value] of goldens) {
    const url = new URL(`./golden/${name}`, import.meta.url);
    it(`${name}: the fixed event, signed by the key 32 x 0x02, gives the stored file byte for byte`, () => {
      // Text, not parsed JSON: a reordered field is a format change too.
      expectGolden(url, goldenJson(value));
    });
  }

  it('the stored receipt verifies and attests the fixed event', () => {
    const stored = JSON.parse(
      readFileSync(new URL('./golden/receipt-vc.json', import.meta.url), 'utf8'),
    ) as ConsentReceiptCredential;
    const r = verifyConsentReceipt(stored, nobleVerifier);
    expect(r.verified).toBe(true);
    expect(r.event).toEqual(GRANT);
    expect(isDidKey(r.issuer)).toBe(true);
  });
});
