import type { FailureReason } from '../types.js';

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

const SYSTEM_CODES: Record<string, FailureReason> = {
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
};

/** The reason for errors every kind can see: sockets, DNS, TLS. */
export function classifyCommon(error: unknown): FailureReason {
  if (error instanceof CheckFailure) return error.reason;
  const code = errorCode(error);
  if (code !== undefined) {
    const reason = SYSTEM_CODES[code];
    if (reason !== undefined) return reason;
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) return 'protocol';
  }
  return 'error';
}

export function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const { code } = error;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A one-line message for any thrown value; never a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    const message = error.message.split('\n')[0] ?? '';
    if (message === '') return code ?? error.name;
    return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return typeof error === 'string' ? error : 'unknown error';
}
