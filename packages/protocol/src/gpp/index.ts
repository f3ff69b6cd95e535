/** IAB Global Privacy Platform strings and their mapping to Custos's choices (`@custos/protocol/gpp`). */
export {
  decodeGpp,
  type GppDecoded,
  MAPPED_SECTIONS,
  MAX_GPP_LENGTH,
  type MappedSection,
  sectionNames,
} from './codec.js';
export {
  type CustosChoices,
  choicesOfModel,
  emitGpp,
  type GppChoice,
  type GppChoices,
  gppChoices,
  TARGETED_ADVERTISING_PURPOSE,
  TCF_DPV_PURPOSES,
  TCF_PURPOSE_MAP,
  US_FIELD_MAP,
  type UsChoice,
  type UsFieldMapping,
} from './mapping.js';
