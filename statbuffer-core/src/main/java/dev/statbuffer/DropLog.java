package dev.statbuffer;

import java.lang.System.Logger.Level;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * What the handlers' default {@code onDrop} reports: the dropped counts themselves (the key and
 * count, or a batch's id, sum and first keys with their counts) and why, so that a person can
 * replay them. The first drop is logged at {@code ERROR} with its stack trace; later drops within
 * {@link #WINDOW_NANOS} of the last line are summed into one summary line (drops, keys, sum, the
 * first keys), written with the next drop after the window or by {@link #flush()} (which
 * {@code close()} calls when it is done). While the JVM shuts down, every line also goes to
 * standard error: the JDK's logging backend may have been reset by then, and a drop must never
 * be silent.
 *
 * <p>Thread-safe: the methods are {@code synchronized} on the class; drops are rare.
 */
final class DropLog {
  static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);
  private static final int FIRST_KEYS = 10;

  private static boolean seenFirst;
  private static long windowStart;
  private static long drops;
  private static long keys;
  private static long sum;
  /** The reasons of the drops not yet summarized, or null when there are none. */
  private static @Nullable String reasons;
  private static StringBuilder firstKeys = new StringBuilder();

  private DropLog() {}

  /** The default {@link FlushHandler#onDrop}. */
  static void dropped(Object key, long count, Exception lastError) {
    report(1, count, key + "=" + count, "count " + count + " for key " + key, lastError);
  }

  /** The default {@link BatchFlushHandler#onDrop}. */
  static void dropped(FlushBatch<?> batch, Exception lastError) {
    Map<?, Long> counts = batch.counts();
    long total = 0;
    StringBuilder first = new StringBuilder();
    int listed = 0;
    for (Iterator<? extends Map.Entry<?, Long>> it = counts.entrySet().iterator(); it.hasNext();) {
      Map.Entry<?, Long> entry = it.next();
      total += entry.getValue();
      if (listed++ < FIRST_KEYS) {
        first.append((first.length() == 0) ? "" : ", ").append(entry.getKey()).append('=')
            .append(entry.getValue());
      }
    }
    if (counts.size() > FIRST_KEYS) {
      first.append(", ...");
    }
    report(counts.size(), total, first.toString(), "batch " + batch.id() + " (" + counts.size()
        + " " + FailureLog.plural(counts.size(), "key") + ", sum " + total + ": " + first + ")",
        lastError);
  }

  /** Why a count was dropped, in words. */
  static String reason(Exception lastError) {
    return (lastError instanceof TimeoutException)
        ? "the shutdown timeout ran out before it was delivered"
        : "its last attempt failed: " + lastError;
  }

  private static synchronized void report(int dropKeys, long dropSum, String firstOfThese,
      String what, Exception lastError) {
    long now = System.nanoTime();
    if (!seenFirst) {
      seenFirst = true;
      windowStart = now;
      write("StatBuffer dropped " + what + ": " + reason(lastError)
          + ". Later drops are summarized at most every "
          + TimeUnit.NANOSECONDS.toSeconds(WINDOW_NANOS) + " s.", lastError);
      return;
    }
    drops++;
    keys += dropKeys;
    sum += dropSum;
    String why = reason(lastError);
    if (reasons == null) {
      reasons = why;
    } else if (!reasons.contains(why) && reasons.length() < 500) {
      reasons = reasons + "; " + why;
    }
    if (firstKeys.length() < 300) {
      firstKeys.append((firstKeys.length() == 0) ? "" : ", ").append(firstOfThese);
    }
    if (now - windowStart >= WINDOW_NANOS) {
      summarize(now);
    }
  }

  /** Forgets every drop, as if none had happened; for tests. */
  static synchronized void reset() {
    seenFirst = false;
    drops = 0;
    keys = 0;
    sum = 0;
    reasons = null;
    firstKeys = new StringBuilder();
  }

  /** Writes the summary of drops not yet reported, if any. */
  static synchronized void flush() {
    if (drops > 0) {
      summarize(System.nanoTime());
    }
  }

  private static void summarize(long now) {
    write("StatBuffer dropped " + drops + " more " + ((drops == 1) ? "delivery" : "deliveries")
        + " (" + keys + " " + FailureLog.plural(keys, "key")
        + ", sum " + sum + ") in the last "
        + Math.max(1, TimeUnit.NANOSECONDS.toSeconds(now - windowStart)) + " s: " + reasons
        + ". First keys: " + firstKeys, null);
    drops = 0;
    keys = 0;
    sum = 0;
    reasons = null;
    firstKeys = new StringBuilder();
    windowStart = now;
  }

  private static void write(String line, @Nullable Throwable error) {
    Logs.logger().log(Level.ERROR, line, error);
    if (shuttingDown()) {
      System.err.println(line + ((error != null) ? " (" + error + ")" : ""));
    }
  }

  /** Whether the JVM is running its shutdown hooks (it then refuses new ones). */
  static boolean shuttingDown() {
    Thread probe = new Thread(() -> { });
    try {
      Runtime.getRuntime().addShutdownHook(probe);
      Runtime.getRuntime().removeShutdownHook(probe);
      return false;
    } catch (IllegalStateException e) {
      return true;
    }
  }
}
