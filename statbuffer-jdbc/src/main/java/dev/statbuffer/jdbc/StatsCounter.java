package dev.statbuffer.jdbc;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the calls of a sink's {@code flush} did, counted for {@link JdbcSinkStats}: one
 * {@link LongAdder} per counter, so that concurrent calls count without contention (as Caffeine's
 * {@code ConcurrentStatsCounter} does). A snapshot sums the adders one after another, so one taken
 * while calls run need not be consistent across counters; each counter on its own loses nothing.
 * Thread-safe.
 */
final class StatsCounter {
  private final LongAdder applied = new LongAdder();
  private final LongAdder duplicates = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private final LongAdder rows = new LongAdder();
  private final LongAdder rejectedKeys = new LongAdder();

  /** A call that applied its batch without writing: its counts cancelled out. */
  void recordNothingToWrite() {
    applied.increment();
  }

  /** A call that threw, having written nothing. */
  void recordFailure() {
    failures.increment();
  }

  /**
   * A call that ended without a failure of the database, having written {@code written} rows.
   *
   * @param written the rows it wrote
   * @param rejected whether it rejected some keys
   * @return whether the call was a duplicate: it wrote nothing, and rejected nothing, because the
   *     ledger held the batch
   */
  boolean recordWritten(int written, boolean rejected) {
    rows.add(written);
    if (written > 0) {
      applied.increment(); // all its rows, or all but the rejected ones
      return false;
    } else if (!rejected) {
      duplicates.increment();
      return true;
    }
    failures.increment(); // every row it had to write was rejected
    return false;
  }

  /**
   * Keys reported to the buffer as refused for good.
   *
   * @param keys how many
   */
  void recordRejectedKeys(int keys) {
    rejectedKeys.add(keys);
  }

  /**
   * The counters now.
   *
   * @param statements the statements the sink sent
   * @param prunedLedgerRows the ledger rows the sink deleted
   * @return the snapshot
   */
  JdbcSinkStats snapshot(long statements, long prunedLedgerRows) {
    long appliedNow = applied.sum();
    long duplicatesNow = duplicates.sum();
    return new JdbcSinkStats(appliedNow + duplicatesNow, appliedNow, duplicatesNow,
        failures.sum(), rows.sum(), statements, prunedLedgerRows, rejectedKeys.sum());
  }
}
