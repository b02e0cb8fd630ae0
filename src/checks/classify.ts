import { FAILURE_REASONS, type FailureReason } from '../types.js';

/** Raised by a probe when it knows exactly why it failed. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
  /** What the run measured before it failed, when that is not its duration (disk usage). */
  readonly observedValue: number | undefined;
  constructor(
    message: string,
    readonly reason: FailureReason,
    options?: { cause?: unknown; observedValue?: number },
  ) {
    super(message, options);
    this.observedValue = options?.observedValue;
  }
}

/** Raised by the engine when a run reaches its deadline. */
export class CheckTimeoutError extends CheckFailure {
  constructor(timeoutMs: number) {
    super(`timeout after ${String(timeoutMs)}ms`, 'timeout');
  }
}

// A Map, not an object literal: a thrown `code` may be any string, `toString` included.
const SYSTEM_CODES = new Map<string, FailureReason>(
  Object.entries({
    ECONNREFUSED: 'refused',
    EHOSTUNREACH: 'refused',
    ENETUNREACH: 'refused',
    EADDRNOTAVAIL: 'refused',
    ETIMEDOUT: 'timeout',
    ESOCKETTIMEDOUT: 'timeout',
    ECONNRESET: 'protocol',
    EPIPE: 'protocol',
    ECONNABORTED: 'protocol',
    EPROTO: 'protocol',
    // OpenSSL's verification code for a leaf no trusted CA signed: the CERT test below misses it.
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'protocol',
  } satisfies Record<string, FailureReason>),
);

/**
 * Reads one property of a thrown value. A custom check may throw anything, including an object
 * whose getter throws or a revoked proxy: reading it must not throw again.
 */
function property(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function isInstance(value: unknown, type: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof type;
  } catch {
    // A proxy whose getPrototypeOf trap throws.
    return false;
  }
}

/** The reason for errors every kind can see: sockets, DNS, TLS. Never throws. */
export function classifyCommon(error: unknown): FailureReason {
  if (isInstance(error, CheckFailure)) {
    const reason = property(error, 'reason');
    // Code outside TypeScript may construct a CheckFailure with any reason; the label set is closed.
    return (FAILURE_REASONS as readonly unknown[]).includes(reason) ? (reason as FailureReason) : 'error';
  }
  const code = errorCode(error);
  if (code !== undefined) {
    const reason = SYSTEM_CODES.get(code);
    if (reason !== undefined) return reason;
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) return 'protocol';
  }
  return 'error';
}

const firstLine = (text: string) => text.split('\n')[0]?.trim() ?? '';

/** The error's `code` when it is a non-blank string (its first line): an empty one names nothing. */
export function errorCode(error: unknown): string | undefined {
  const code = property(error, 'code');
  if (typeof code !== 'string') return undefined;
  const line = firstLine(code);
  return line === '' ? undefined : line;
}

/** A one-line message for any thrown value (an Error or not); never a stack, never throws. */
export function errorMessage(error: unknown): string {
  if (typeof error === 'string') return firstLine(error) || 'unknown error';
  if (
    typeof error === 'number' ||
    typeof error === 'boolean' ||
    typeof error === 'bigint' ||
    typeof error === 'symbol'
  ) {
    return `unknown error (${String(error)})`;
  }
  const rawMessage = property(error, 'message');
  const message = typeof rawMessage === 'string' ? firstLine(rawMessage) : '';
  const code = errorCode(error);
  if (message !== '') return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
  if (code !== undefined) return code;
  const name = isInstance(error, Error) ? property(error, 'name') : undefined;
  return typeof name === 'string' && name !== '' ? firstLine(name) || 'unknown error' : 'unknown error';
}
