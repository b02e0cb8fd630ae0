export { createVitals, type Vitals, type VitalsOptions } from './vitals.js';
export type { CustomCheck } from './engine/custom-check.js';
export { ConfigError, type Config } from './config/load.js';
export type {
  CheckView,
  Probe,
  ProbeSuccess,
  ReloadOutcome,
  SecurityConfig,
  Status,
  FailureReason,
  CheckKind,
} from './types.js';
