/**
 * IAB Global Privacy Platform (GPP) strings, read and written with the IAB's own library
 * (`@iabgpp/cmpapi`, [ADR 0020](../../../../docs/adr/0020-gpp.md)): bounded, fully decoded up front
 * (the library decodes lazily, so a bad section would otherwise fail later), and every failure a
 * `ProtocolError` saying what was expected. A GPP string holds choices and CMP metadata, never a
 * name or an address; it is still never put in an error message.
 */
import { GppModel, Sections } from '@iabgpp/cmpapi';
import { ProtocolError } from '../errors.js';
import { withRangeBudget } from './range-guard.js';

/** Longest GPP string accepted: a TCF section with a large vendor list fits several times over. */
export const MAX_GPP_LENGTH = 8192;

/** The sections Custos maps to its own choices (others are kept as they came, unmapped). */
export const MAPPED_SECTIONS = ['tcfeuv2', 'usnat', 'usca', 'usva', 'usco', 'usct'] as const;
export type MappedSection = (typeof MAPPED_SECTIONS)[number];

const GPP_CHARS = /^[A-Za-z0-9_.~-]+$/;

/** A decoded GPP string: its library model and the names of its sections, in the string's order. */
export interface GppDecoded {
  readonly model: GppModel;
  readonly sections: readonly string[];
}

/** Decodes `gpp`, or throws BAD_ENCODING saying what was expected. */
export function decodeGpp(gpp: unknown): GppDecoded {
  if (typeof gpp !== 'string' || gpp.length === 0) {
    throw new ProtocolError('BAD_ENCODING', 'expected a GPP string (IAB Global Privacy Platform), like DBABLA~...');
  }
  if (gpp.length > MAX_GPP_LENGTH) {
    throw new ProtocolError(
      'BAD_ENCODING',
      `expected a GPP string of at most ${MAX_GPP_LENGTH} characters, got ${gpp.length}`,
    );
  }
  if (!GPP_CHARS.test(gpp)) {
    throw new ProtocolError(
      'BAD_ENCODING',
      'expected a GPP string of base64url characters, with ~ between sections and . between segments',
    );
  }
  let model: GppModel;
  try {
    // The library decodes each section on first use: decode them all now, so a bad one fails here,
    // within one budget of range ids for the whole string.
    model = withRangeBudget(() => {
      const m = new GppModel(gpp);
      m.toObject();
      return m;
    });
  } catch (cause) {
    throw new ProtocolError(
      'BAD_ENCODING',
      'expected a GPP string the IAB GPP library can decode; this one is not valid',
      {
        cause,
      },
    );
  }
  const sections = sectionNames(model);
  if (sections.length === 0) {
    throw new ProtocolError('BAD_ENCODING', 'expected a GPP string with at least one section');
  }
  return { model, sections };
}

/** The names of the sections of a model, in id order (the order of the GPP header). */
export function sectionNames(model: GppModel): string[] {
  const names: string[] = [];
  for (const id of model.getSectionIds() as number[]) {
    const name = Sections.SECTION_ID_NAME_MAP.get(id);
    if (name !== undefined) names.push(name);
  }
  return names;
}

/** A new, empty GPP model (for a string built from Custos's choices alone). */
export function emptyGpp(): GppModel {
  return new GppModel();
}
