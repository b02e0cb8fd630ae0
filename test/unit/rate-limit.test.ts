import { describe, expect, it } from 'vitest';
import { KeyedBuckets, TokenBucket } from '../../src/http/rate-limit.js';

describe('token bucket', () => {
  it('starts full, gives burst tokens at once, then one per interval', () => {
    const bucket = new TokenBucket(100, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.waitMs(50)).toBeCloseTo(50);
    expect(bucket.take(99)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
    // Idle time refills up to the burst, never past it.
    expect(bucket.available(10_000)).toBe(3);
  });

  it('with a burst of 0 refuses everything, and says no wait would help', () => {
    const bucket = new TokenBucket(1000, 0, 0);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(60_000)).toBe(false);
    expect(bucket.waitMs(60_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps one bucket per key, and forgets idle keys rather than grow past maxKeys', () => {
    const buckets = new KeyedBuckets(1000, 1, 2);
    expect(buckets.take('a', 0)).toBe(true);
    expect(buckets.take('a', 0)).toBe(false);
    expect(buckets.take('b', 0)).toBe(true);
    // 'a' and 'b' are busy: a third key starts over rather than add a bucket.
    expect(buckets.take('c', 0)).toBe(true);
    expect(buckets.take('a', 0)).toBe(true);
  });
});
