package dev.statbuffer.jdbc;

import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Deletes a sink's ledger rows older than the retention: after a batch it applied, at most once
 * per prune interval across the sink's threads, or when asked.
 *
 * <h2>Design</h2>
 *
 * <p>Any number of flushing threads call {@link #maybePrune} at once. The time of the last prune
 * is one {@link AtomicLong}: a thread reads it ({@code get}, volatile), returns if the interval
 * has not passed, and otherwise claims the prune with a {@code compareAndSet} from the value it
 * read to now. Of the threads that read the same value, one wins and prunes; the others return.
 * The race between the read and the CAS is benign: a thread that lost it, or read a newer time,
 * simply does not prune this time. Two prunes may still overlap when {@link #prune} is called
 * directly ({@code pruneLedger()}); both delete the same old rows, which the database serializes,
 * and each counts only the rows its own statement deleted.
 *
 * <p>No count can be lost or applied twice by pruning: a prune deletes only this sink's rows
 * older than the retention, and the buffer retries a batch only within that horizon of its
 * hand-over (see {@code JdbcSink.idempotencyHorizon()}), so a retry finds every ledger row an
 * earlier call of it wrote. A prune that fails is logged and retried after the interval; it never
 * fails the flush that triggered it, whose batch was committed before.
 *
 * <p>Thread-safe.
 */
final class LedgerPruner {
  private final Jdbc jdbc;
  private final LongSupplier clock;
  private final long retentionMillis;
  private final long intervalMillis;
  private final String ledgerTable;
  /** The clock when the last prune was claimed; {@code Long.MIN_VALUE} before the first. */
  private final AtomicLong lastPruneMillis = new AtomicLong(Long.MIN_VALUE);
  private final LongAdder pruned = new LongAdder();

  /**
   * Creates the pruner of one sink.
   *
   * @param jdbc the sink's statements
   * @param config the sink's options: its clock, retention, prune interval and ledger
   */
  LedgerPruner(Jdbc jdbc, Config<?> config) {
    this.jdbc = jdbc;
    this.clock = config.clock();
    this.retentionMillis = config.ledgerRetention().toMillis();
    this.intervalMillis = config.ledgerPruneInterval().toMillis();
    this.ledgerTable = config.ledgerTable();
  }

  /**
   * Prunes, unless a thread of this sink pruned (or is pruning) within the interval. Never
   * throws: a failure is logged and retried after the interval.
   */
  void maybePrune(Connection connection, Sql sql) {
    long now = clock.getAsLong();
    long last = lastPruneMillis.get();
    if (last != Long.MIN_VALUE && now - last < intervalMillis) {
      return;
    }
    if (!lastPruneMillis.compareAndSet(last, now)) {
      return; // another thread prunes
    }
    try {
      prune(connection, sql);
    } catch (SQLException | RuntimeException e) {
      Jdbc.LOGGER.log(Level.WARNING, "JdbcSink could not prune ledger " + ledgerTable
          + "; it retries after the prune interval", e);
    }
  }

  /**
   * Deletes this sink's ledger rows older than the retention now, and commits unless the
   * connection auto-commits.
   *
   * @return the number of rows deleted
   * @throws SQLException if they cannot be deleted
   */
  long prune(Connection connection, Sql sql) throws SQLException {
    long deleted;
    try (PreparedStatement statement = jdbc.prepare(connection, sql.pruneLedger())) {
      statement.setLong(1, clock.getAsLong() - retentionMillis);
      jdbc.statements.increment();
      deleted = statement.executeUpdate();
    }
    jdbc.commitUnlessAutoCommit(connection);
    pruned.add(deleted);
    if (deleted > 0) {
      Jdbc.LOGGER.log(Level.DEBUG, () -> "JdbcSink pruned " + deleted + " rows from ledger "
          + ledgerTable);
    }
    return deleted;
  }

  /**
   * The ledger rows this sink deleted since it was built.
   *
   * @return the count
   */
  long pruned() {
    return pruned.sum();
  }
}
