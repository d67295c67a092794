package dev.statbuffer;

/**
 * The retry policy: how long the n-th failed call of a delivery waits before the next, and after
 * how many failed calls a delivery is dropped. Exponential: {@code backoff}, then twice as long
 * for each later failure, capped at {@code maxBackoff} (or at {@code backoff} when that is the
 * larger). Immutable and thread-safe.
 */
final class Backoff {
  private final long initialNanos;
  private final long maxNanos;
  private final int maxAttempts;

  Backoff(long initialNanos, long maxNanos, int maxAttempts) {
    this.initialNanos = initialNanos;
    this.maxNanos = Math.max(maxNanos, initialNanos);
    this.maxAttempts = maxAttempts;
  }

  /** Whether a delivery that has failed {@code failedCalls} times is to be dropped. */
  boolean exhausted(int failedCalls) {
    return failedCalls >= maxAttempts;
  }

  /** The delay before the call that follows the {@code failedCalls}-th failure (1-based). */
  long delayNanos(int failedCalls) {
    long delay = initialNanos;
    for (int i = 1; i < failedCalls && delay < maxNanos; i++) {
      delay = (delay > maxNanos / 2) ? maxNanos : delay * 2;
    }
    return Math.min(delay, maxNanos);
  }

  /** The first delay; what a rejected drain waits before it asks again. */
  long initialNanos() {
    return initialNanos;
  }
}
