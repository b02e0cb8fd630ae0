import type { CheckKind } from '../types.js';
import { mysqlCheck } from './mysql.js';

/** Every kind a config may name. Adding a kind: one file beside this one, one line here. */
export const checkKinds: ReadonlyMap<string, CheckKind> = new Map(
  [
    mysqlCheck,
  ].map((kind) => [kind.kind, kind as CheckKind]),
);
