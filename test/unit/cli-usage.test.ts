import { describe, expect, it } from 'vitest';
import { fail, UsageError } from '../../src/cli/usage.js';

describe('UsageError', () => {
  it('names itself, so a log line or a stack says what kind of error it was', () => {
    let caught: unknown;
    try {
      fail('--port: expected a port number');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).name).toBe('UsageError');
    expect(String(caught)).toBe('UsageError: --port: expected a port number');
    expect((caught as Error).stack?.split('\n')[0]).toBe('UsageError: --port: expected a port number');
  });
});
