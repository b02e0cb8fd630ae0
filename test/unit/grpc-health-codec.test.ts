/**
 * The grpc kind encodes and decodes grpc.health.v1's two messages by hand; grpc-health-check's
 * protobufjs codec (the official one, which the test server uses) is the reference.
 */
import fc from 'fast-check';
import { service } from 'grpc-health-check';
import { describe, expect, it } from 'vitest';
import { decodeHealthCheckResponse, encodeHealthCheckRequest } from '../../src/checks/grpc.js';

const check = service.Check;
if (check === undefined) throw new Error('grpc-health-check has no Health/Check');
const STATUSES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

describe("the grpc kind's health messages", () => {
  it('encodes every request byte for byte as the official codec does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (name) => {
        expect(encodeHealthCheckRequest(name).equals(check.requestSerialize({ service: name }))).toBe(true);
        expect(check.requestDeserialize(encodeHealthCheckRequest(name))).toMatchObject({ service: name });
      }),
    );
  });

  it('decodes every status the official codec encodes, an empty answer as UNKNOWN', () => {
    for (const status of STATUSES) {
      expect(decodeHealthCheckResponse(check.responseSerialize({ status }))).toBe(status);
    }
    expect(decodeHealthCheckResponse(Buffer.alloc(0))).toBe('UNKNOWN');
    // A status number this client does not know (a newer server) reads as UNKNOWN, not SERVING.
    expect(decodeHealthCheckResponse(Buffer.from([0x08, 0x09]))).toBe('UNKNOWN');
  });

  it('skips fields it does not know, and refuses a truncated or malformed answer', () => {
    // field 2 (string "x"), field 3 (fixed64), then status SERVING
    const withUnknown = Buffer.from([0x12, 0x01, 0x78, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x01]);
    expect(decodeHealthCheckResponse(withUnknown)).toBe('SERVING');
    expect(() => decodeHealthCheckResponse(Buffer.from([0x08]))).toThrow(/truncated/);
    expect(() => decodeHealthCheckResponse(Buffer.from([0x12, 0x05, 0x78]))).toThrow(/truncated/);
    expect(() => decodeHealthCheckResponse(Buffer.from([0x0b]))).toThrow(/wire type 3/);
  });
});
