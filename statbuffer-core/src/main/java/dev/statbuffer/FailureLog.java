package dev.statbuffer;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A buffer's log of failed handler calls that a person can read under faults: the first failure
 * is logged at {@code WARNING} with its stack trace; after that, at most one summary line per
 * {@link #WINDOW_NANOS} (failed calls, keys, the last error and the next retry delay), and one
 * more when a delivery succeeds again after unreported failures. A store that is down for a
 * minute with a thousand batches retrying gives about a dozen lines, not thousands of stack
 * traces.
 *
 * <p>Thread-safe: every method is {@code synchronized}; a failure is rare next to the work it
 * reports, so the monitor is uncontended in practice.
 */
final class FailureLog {
  /** The least time between two summary lines. */
  static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final String name;
  private final Ticker ticker;
  private boolean seenFirst;
  private long windowStart;
  private long failures;
  private long keys;
  private long lastDelayNanos;
  /** The last error of the failures not yet summarized, or null when there are none. */
  private @Nullable Exception lastError;

  FailureLog(String name, Ticker ticker) {
    this.name = name;
    this.ticker = ticker;
  }

  /**
   * Reports a failed call of {@code what} (carrying {@code keys} keys), retried after
   * {@code delayNanos}.
   */
  synchronized void failed(String what, int keys, int failedCalls, long delayNanos,
      Exception error) {
    long now = ticker.read();
    if (!seenFirst) {
      seenFirst = true;
      windowStart = now;
      Logs.logger().log(Level.WARNING, "StatBuffer '" + name + "': " + what + " failed (call "
          + failedCalls + "); retrying in " + Duration.ofNanos(delayNanos)
          + ". Further failures are summarized at most every "
          + TimeUnit.NANOSECONDS.toSeconds(WINDOW_NANOS) + " s.", error);
      return;
    }
    this.failures++;
    this.keys += keys;
    this.lastDelayNanos = delayNanos;
    this.lastError = error;
    if (now - windowStart >= WINDOW_NANOS) {
      summarize(now, "next retry in " + Duration.ofNanos(delayNanos));
    }
  }

  /** A delivery succeeded: reports failures not yet summarized. */
  void delivered() {
    if (failures == 0) {
      return; // racy read: a missed summary is reported with the next failure or success
    }
    synchronized (this) {
      if (failures > 0) {
        summarize(ticker.read(), "a delivery succeeded since");
      }
    }
  }

  private void summarize(long now, String tail) {
    long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(now - windowStart));
    Logs.logger().log(Level.WARNING, "StatBuffer '" + name + "': " + failures + " more failed "
        + plural(failures, "call") + " (" + keys + " " + plural(keys, "key") + ") in the last "
        + seconds + " s; last error: " + lastError + "; last retry delay "
        + Duration.ofNanos(lastDelayNanos) + "; " + tail);
    failures = 0;
    keys = 0;
    lastError = null;
    windowStart = now;
  }

  /** {@code word} with an s unless {@code n} is one. */
  static String plural(long n, String word) {
    return (n == 1) ? word : word + "s";
  }
}
