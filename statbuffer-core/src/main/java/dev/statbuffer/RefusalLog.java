package dev.statbuffer;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A buffer's log of increments refused at {@code maxKeys}: the first refusal is logged at
 * {@code WARNING} with what it means and what to do; after that, at most one line per
 * {@link FailureLog#WINDOW_NANOS} with the refusals (and their sum) since the last line.
 *
 * <p>Thread-safe. Refusals can come from many threads at once while a store is stuck, so a
 * refusal only adds to two {@link LongAdder}s and reads a volatile deadline; the monitor is taken
 * only by the one refusal that writes a line.
 */
final class RefusalLog {
  private final String name;
  private final long maxKeys;
  private final Ticker ticker;
  private final LongAdder refused = new LongAdder();
  private final LongAdder refusedSum = new LongAdder();
  private volatile boolean seenFirst;
  private volatile long nextLine;
  private long windowStart;

  RefusalLog(String name, long maxKeys, Ticker ticker) {
    this.name = name;
    this.maxKeys = maxKeys;
    this.ticker = ticker;
  }

  /** An increment of {@code delta} was refused. */
  void refused(long delta) {
    refused.increment();
    refusedSum.add(delta);
    if (seenFirst && ticker.read() - nextLine < 0) {
      return;
    }
    synchronized (this) {
      long now = ticker.read();
      if (!seenFirst) {
        seenFirst = true;
        refused.reset();
        refusedSum.reset();
        Logs.logger().log(Level.WARNING, "StatBuffer '" + name + "': " + maxKeys + " windows"
            + " (maxKeys) are pending, so increments of new keys are refused (increment returns"
            + " false) until the handler makes room. Keys with an open window keep counting."
            + " A handler that is slow or failing, or a maxKeys too small for the traffic,"
            + " causes this. Further refusals are summarized at most every "
            + TimeUnit.NANOSECONDS.toSeconds(FailureLog.WINDOW_NANOS) + " s.");
      } else if (now - nextLine >= 0) {
        long count = refused.sumThenReset();
        long sum = refusedSum.sumThenReset();
        if (count > 0) {
          long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(now - windowStart));
          Logs.logger().log(Level.WARNING, "StatBuffer '" + name + "': " + count + " more "
              + FailureLog.plural(count, "increment") + " (sum " + sum + ") refused at maxKeys ("
              + maxKeys + ") in the last " + seconds + " s");
        }
      } else {
        return;
      }
      windowStart = now;
      nextLine = now + FailureLog.WINDOW_NANOS;
    }
  }
}
