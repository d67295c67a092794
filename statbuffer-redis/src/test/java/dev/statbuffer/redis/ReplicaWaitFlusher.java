package dev.statbuffer.redis;

import dev.statbuffer.testing.TestBatch;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Flushes batches of one key ({@code +1} each) into a sink as a buffer would, one attempt per
 * call: a failed batch is tried again (same id) until it succeeds, then a new one comes. Says of
 * each attempt whether it succeeded and whether it sent {@code WAIT}, and keeps a log of the
 * last attempts for failure messages. For the tests of the default replica waits. Confined to
 * one thread.
 */
final class ReplicaWaitFlusher {
  /** The pause between two attempts of {@link #flushUntil}. */
  static final Duration STEP = Duration.ofMillis(100);
  private static final int LOG_LINES = 60;

  private final RedisSink<String> sink;
  private final String key;
  private final Deque<String> log = new ArrayDeque<>();
  private TestBatch<String> pending;
  private long acknowledged;
  private long failures;

  /**
   * One attempt.
   *
   * @param ok whether the flush succeeded
   * @param waited whether it sent {@code WAIT} (the sink's {@code replicaWaits} grew)
   * @param failure the failure's message, or null
   */
  record Attempt(boolean ok, boolean waited, String failure) {}

  /**
   * A flusher of {@code key}'s counts into {@code sink}.
   *
   * @param sink the sink
   * @param key the buffer key every batch counts
   */
  ReplicaWaitFlusher(RedisSink<String> sink, String key) {
    this.sink = sink;
    this.key = key;
  }

  /**
   * One attempt: the pending batch again if the last one failed, a new batch otherwise.
   *
   * @return what happened
   * @throws Exception what the sink threw other than a {@link RedisSinkException}
   */
  Attempt flush() throws Exception {
    if (pending == null) {
      pending = TestBatch.of(Map.of(key, 1L));
    }
    long waits = sink.stats().replicaWaits();
    Attempt attempt;
    try {
      sink.flush(pending);
      acknowledged++;
      pending = null;
      attempt = new Attempt(true, sink.stats().replicaWaits() > waits, null);
    } catch (RedisSinkException e) {
      failures++;
      pending = pending.retry();
      attempt = new Attempt(false, sink.stats().replicaWaits() > waits, e.getMessage());
    }
    log.addLast(LocalTime.now() + " " + attempt);
    if (log.size() > LOG_LINES) {
      log.removeFirst();
    }
    return attempt;
  }

  /**
   * Attempts a flush every {@link #STEP} until {@code times} attempts in a row satisfy
   * {@code wanted}, or {@code bound} has passed.
   *
   * @param wanted what each of the last attempts must be
   * @param times how many in a row
   * @param bound how long to try
   * @return whether it happened within the bound
   * @throws Exception what {@link #flush} throws
   */
  boolean flushUntil(Predicate<Attempt> wanted, int times, Duration bound) throws Exception {
    long deadline = System.nanoTime() + bound.toNanos();
    int row = 0;
    while (System.nanoTime() < deadline) {
      row = wanted.test(flush()) ? row + 1 : 0;
      if (row >= times) {
        return true;
      }
      Thread.sleep(STEP.toMillis());
    }
    return false;
  }

  /**
   * The batches acknowledged so far: the counter's total once no batch is pending.
   *
   * @return the count
   */
  long acknowledged() {
    return acknowledged;
  }

  /**
   * The failed attempts so far.
   *
   * @return the count
   */
  long failures() {
    return failures;
  }

  /**
   * Whether a failed batch awaits its next attempt.
   *
   * @return true while one is pending
   */
  boolean pending() {
    return pending != null;
  }

  /**
   * The last attempts, one a line, with the sink's stats.
   *
   * @return the text
   */
  String log() {
    return String.join("\n", log) + "\n" + sink.stats();
  }
}
