export { createVitals, type Vitals, type VitalsOptions } from './vitals.js';
export type { CustomCheck } from './engine/custom-check.js';
export type { CheckView } from './engine/check-runner.js';
export { ConfigError, type Config } from './config/load.js';
export type { Probe, Status, FailureReason, CheckKind } from './types.js';
