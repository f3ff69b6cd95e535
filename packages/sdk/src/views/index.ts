/**
 * @custos/sdk/views: a customer's verified history as they read it, in one place for every surface
 * (the CLI's `custos history` and the web portal): the view of each company (what it holds,
 * consents, opt-outs, requests, events) and the sentences that tell it. Pure functions over the
 * SDK's history types; only dates are formatted per surface.
 */
export {
  type CompanyView,
  type CompanyViewInput,
  type ConsentView,
  companyView,
  type EventView,
  placeCopies,
  type RecordState,
  type RecordView,
  type RequestView,
  recordState,
} from './company.js';
export { type CopiesView, type CopyState, type CopyView, copiesView } from './copies.js';
export { type CorrectionEvidence, correctionEvidence } from './correction-evidence.js';
export {
  type ExportedSystemFile,
  exportDigest,
  MAX_EXPORT_FILE_BYTES,
  MAX_EXPORT_SYSTEMS,
  parseExportPackage,
  type RequestEvidence,
  requestEvidence,
  requestStepKind,
  type StepEvidence,
  type StepKind,
  stepText,
} from './evidence.js';
export { automatedText, recordDates, recordSentence } from './records.js';
export { eventSentence, type GovActionLike, govActionText, type SentenceContext } from './sentences.js';
export { orgName, orgOfKey } from './trust.js';
export {
  BASIS_SHORT,
  BASIS_TEXT,
  basisShort,
  basisText,
  complaintText,
  deadlineRule,
  erasureExceptionText,
  extendReasonText,
  ISO_FORMAT,
  labels,
  list,
  lower,
  lowerLabels,
  outcomeText,
  REQUEST_TEXT,
  rejectReasonText,
  requestNoun,
  resultText,
  reviewOutcomeText,
  type Subject,
  sourceText,
  type Tone,
  typeText,
  type ViewFormat,
} from './words.js';
