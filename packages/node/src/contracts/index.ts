/** The contract runtime (issue 14, part 1): sandbox, gas, host API. */
export { codeProblem } from './code-check.js';
export { ContractEngineFault } from './engine.js';
export { CONTRACT_LIMITS, GAS, MEMORY_PAGE_BYTES } from './limits.js';
export { type ContractManifest, isGranted, ManifestError, parseManifest } from './manifest.js';
export { FORBIDDEN_GLOBALS } from './prelude.js';
export {
  DRY_RUN_CALL,
  RISK_CHECK_LIMITS,
  RiskCheckError,
  type RiskCheckInput,
  type RiskDryRun,
  type RiskFinding,
  type RiskReport,
  type RiskTestCall,
  riskCheck,
  riskReportJson,
} from './risk-check.js';
export {
  RISK_LEVELS,
  RISK_RULES,
  type RiskRule,
  type RiskRuleId,
  type RiskScore,
  type ScoreLine,
  type Severity,
} from './risk-score.js';
export { ContractRuntime } from './runtime.js';
export * from './types.js';
