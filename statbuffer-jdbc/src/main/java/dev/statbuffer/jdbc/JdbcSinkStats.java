package dev.statbuffer.jdbc;

/**
 * A snapshot of a {@link JdbcSink}'s counters since it was built. Immutable.
 *
 * @param batches batches acknowledged, applied or not ({@code applied + duplicates})
 * @param applied batches whose counts were written (all of them, or all but the rejected keys)
 * @param duplicates batches acknowledged without writing because the ledger already held their id
 *     (retries of a batch whose commit had succeeded)
 * @param failures calls of {@link JdbcSink#flush} that threw and wrote nothing (a call that
 *     applied some keys and rejected others counts as applied)
 * @param rows counter rows written (one per distinct key in an applied batch)
 * @param statements SQL statements the sink sent, {@code COMMIT} and {@code ROLLBACK} included:
 *     upserts, ledger inserts, ledger pruning and the one-time checks of the tables. Each is one
 *     round trip to the database; drivers may add a round trip to switch auto-commit off and on
 *     around a multi-statement transaction (PostgreSQL's does not; a batch there is usually one
 *     statement in all)
 * @param prunedLedgerRows ledger rows deleted because they were older than the retention
 * @param rejectedKeys keys reported to the buffer as refused for good (a data error: see
 *     {@link JdbcSink#flush})
 */
public record JdbcSinkStats(long batches, long applied, long duplicates, long failures,
    long rows, long statements, long prunedLedgerRows, long rejectedKeys) {

  /**
   * A snapshot without rejected keys (the counters of earlier versions).
   *
   * @param batches batches acknowledged
   * @param applied batches whose counts were written (all of them, or all but the rejected keys)
   * @param duplicates batches acknowledged without writing
   * @param failures calls that threw and wrote nothing
   * @param rows counter rows written
   * @param statements SQL statements sent
   * @param prunedLedgerRows ledger rows deleted
   */
  public JdbcSinkStats(long batches, long applied, long duplicates, long failures, long rows,
      long statements, long prunedLedgerRows) {
    this(batches, applied, duplicates, failures, rows, statements, prunedLedgerRows, 0);
  }
}
