export { createVitals, type CheckSnapshot, type Vitals, type VitalsOptions, type VitalsStatus } from './vitals.js';
export type {
  CheckChangeEvent,
  ReadinessEvent,
  VitalsEventMap,
  VitalsEventName,
  VitalsListener,
} from './embedding-events.js';
export type { MaintenanceWindow } from './engine/maintenance.js';
export type { MaintenanceSchedule } from './config/maintenance.js';
export type { CustomCheck } from './engine/custom-check.js';
export { ConfigError, type Config } from './config/load.js';
export type {
  CheckView,
  Probe,
  ProbeSuccess,
  ReloadOutcome,
  RunResult,
  SecurityConfig,
  Status,
  FailureReason,
  CheckKind,
} from './types.js';
