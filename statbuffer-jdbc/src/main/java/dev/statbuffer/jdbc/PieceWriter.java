package dev.statbuffer.jdbc;

import dev.statbuffer.jdbc.Rows.Row;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Writes one piece of a batch (the whole batch, a chunk or a half: see {@link Split}) in one
 * transaction: the ledger insert of the piece's id first, then the upserts, then the commit; or,
 * if the ledger held the id, a rollback and nothing written. It is the {@link Split.Whole} and the
 * {@link Split.Probe} of a sink's {@link Split}, which decides which pieces there are.
 *
 * <p>Where the dialect's upsert carries the ledger insert ({@link Sql#upsertCarriesLedger()}), a
 * piece of up to {@link Sql#rowsPerStatement} rows on an auto-commit connection is a single
 * statement, its own transaction. Otherwise the transaction takes the dialect's writer lock
 * ({@link Ledger#lockWriters}), inserts the id, and writes the rows in statements of up to that
 * many rows.
 *
 * <p>Stateless apart from its collaborators; thread-safe: concurrent calls use connections of
 * their own, and the ledger's key decides which of two transactions of one id writes it.
 */
final class PieceWriter {
  /** How often one call re-applies a piece that lost an insert race (H2). */
  static final int INSERT_RACE_ATTEMPTS = 5;

  private final Jdbc jdbc;
  private final Ledger ledger;
  private final boolean exactlyOnce;
  private final int configuredRowsPerStatement;
  private final LongSupplier clock;
  private final String table;

  /**
   * Creates the writer of one sink.
   *
   * @param jdbc the sink's statements and transactions
   * @param ledger the ledger's statements (unused without the ledger)
   * @param config the sink's options
   */
  PieceWriter(Jdbc jdbc, Ledger ledger, Config<?> config) {
    this.jdbc = jdbc;
    this.ledger = ledger;
    this.exactlyOnce = config.exactlyOnce();
    this.configuredRowsPerStatement = config.maxRowsPerStatement();
    this.clock = config.clock();
    this.table = config.table();
  }

  /**
   * Writes {@code rows} under {@code id} in one transaction; again when the dialect reports that
   * a concurrent writer inserted one of the same new keys first (H2's {@code MERGE} does not wait
   * for that writer's row the way the other dialects' upserts do: it fails with a unique-key
   * violation, and its transaction rolls back, so the retry, which now finds the row or the id in
   * the ledger, is safe), up to {@link #INSERT_RACE_ATTEMPTS} times.
   *
   * @return true if applied, false if the ledger held the id (nothing written)
   * @throws SQLException if the piece could not be written; its transaction was rolled back
   */
  boolean apply(Connection connection, Sql sql, String id, List<Row> rows)
      throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        return applyOnce(connection, sql, id, rows);
      } catch (SQLException e) {
        if (attempt >= INSERT_RACE_ATTEMPTS || !sql.isInsertRace(e)) {
          throw e;
        }
        Jdbc.LOGGER.log(Level.DEBUG, () -> "Batch " + id + " raced a concurrent insert of the"
            + " same new key into " + table + "; applying it again");
      }
    }
  }

  private boolean applyOnce(Connection connection, Sql sql, String id, List<Row> rows)
      throws SQLException {
    int perStatement = sql.rowsPerStatement(configuredRowsPerStatement);
    long now = clock.getAsLong();
    if (sql.upsertCarriesLedger() && rows.size() <= perStatement
        && connection.getAutoCommit()) {
      // One statement is its own transaction: the ledger insert and the upsert commit together.
      if (!exactlyOnce) {
        sql.upsert(connection, jdbc, rows);
        return true;
      }
      return sql.upsertWithLedger(connection, jdbc, id, now, rows) > 0;
    }
    return jdbc.transaction(connection, () -> {
      int from = 0;
      if (exactlyOnce && sql.upsertCarriesLedger()) {
        from = Math.min(rows.size(), perStatement);
        if (sql.upsertWithLedger(connection, jdbc, id, now, rows.subList(0, from)) == 0) {
          return false; // rolled back: nothing to undo
        }
      } else if (exactlyOnce) {
        ledger.lockWriters(connection, sql);
        if (!ledger.insert(connection, sql, now, id)) {
          return false;
        }
      }
      writeRows(connection, sql, rows, from, perStatement);
      return true;
    });
  }

  /** The upserts of {@code rows} from {@code from} on, in the current transaction. */
  private void writeRows(Connection connection, Sql sql, List<Row> rows, int from,
      int perStatement) throws SQLException {
    for (int start = from; start < rows.size(); start += perStatement) {
      int end = Math.min(rows.size(), start + perStatement);
      sql.upsert(connection, jdbc, rows.subList(start, end));
    }
  }

  /**
   * Writes {@code rows} without the ledger in a transaction that is rolled back, to learn why the
   * database refuses them.
   *
   * @return the data error, or null if the database accepts them now
   * @throws SQLException if the database fails for another reason
   */
  @Nullable SQLException tryRows(Connection connection, Sql sql, List<Row> rows)
      throws SQLException {
    try {
      jdbc.transaction(connection, () -> {
        if (exactlyOnce) {
          ledger.lockWriters(connection, sql);
        }
        writeRows(connection, sql, rows, 0, sql.rowsPerStatement(configuredRowsPerStatement));
        return false;
      });
      return null;
    } catch (SQLException e) {
      if (sql.isDataError(e)) {
        return e;
      }
      throw e;
    }
  }
}
