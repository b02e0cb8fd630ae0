/**
 * A token bucket, as Go's golang.org/x/time/rate limiter that the exporter-toolkit uses: it
 * holds at most `burst` tokens, gains one every `intervalMs`, and starts full. A request
 * takes one token or is refused. With a burst of 0 every request is refused, as in the
 * toolkit.
 */
export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(
    readonly intervalMs: number,
    readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst;
    this.updated = now;
  }

  private refill(now: number): void {
    if (now > this.updated) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.updated) / this.intervalMs);
    }
    this.updated = now;
  }

  /** Takes a token when there is one. */
  take(now: number = performance.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens there now (fractions count toward the next one). */
  available(now: number = performance.now()): number {
    this.refill(now);
    return this.tokens;
  }

  /** Milliseconds until a token is there (0: now); Infinity when none ever will be (burst 0). */
  waitMs(now: number = performance.now()): number {
    if (this.burst < 1) return Number.POSITIVE_INFINITY;
    this.refill(now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) * this.intervalMs;
  }
}

/**
 * One bucket per key (a peer address), for limits that must not let one client use up what
 * all share. Idle keys are forgotten once `maxKeys` are held: a full bucket is the same as none.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
    private readonly maxKeys = 1024,
  ) {}

  take(key: string, now: number = performance.now()): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.forgetIdle(now);
      bucket = new TokenBucket(this.intervalMs, this.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  private forgetIdle(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.available(now) >= bucket.burst) this.buckets.delete(key);
    // Still full of busy keys (many addresses at once): start over rather than grow.
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}
