package dev.statbuffer.jdbc;

import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * Classifies the {@link SQLException}s of the supported drivers by SQLState, vendor code and,
 * for SQLite (whose driver sets no SQLState), message; and explains a failed batch in words that
 * say what to do. Stateless.
 */
final class Errors {
  private Errors() {}

  /** The table does not exist (or this user cannot see it). */
  static boolean isMissingTable(SQLException e) {
    String state = state(e);
    return state.equals("42P01") // PostgreSQL undefined_table
        || state.equals("42S02") // MariaDB, MySQL, H2
        || e.getErrorCode() == 42102 || e.getErrorCode() == 42104 // H2 table not found
        || e.getErrorCode() == 1146 // MariaDB, MySQL ER_NO_SUCH_TABLE
        || message(e).contains("no such table"); // SQLite
  }

  /** A column does not exist. */
  static boolean isMissingColumn(SQLException e) {
    String state = state(e);
    return state.equals("42703") // PostgreSQL undefined_column
        || state.equals("42S22") // MariaDB, MySQL, H2
        || e.getErrorCode() == 42122 // H2 column not found
        || e.getErrorCode() == 1054 // MariaDB, MySQL ER_BAD_FIELD_ERROR
        || message(e).contains("no such column") // SQLite
        || message(e).contains("has no column named"); // SQLite
  }

  /** The key columns are not covered by a primary key or unique constraint. */
  static boolean isMissingUniqueConstraint(SQLException e) {
    return state(e).equals("42P10") // PostgreSQL: no unique constraint matching ON CONFLICT
        || message(e).contains("does not match any primary key or unique constraint"); // SQLite
  }

  /** PostgreSQL: one statement tried to update one row twice (ON CONFLICT DO UPDATE). */
  static boolean isCardinalityViolation(SQLException e) {
    return state(e).equals("21000");
  }

  /** A constraint (not null, unique, check, foreign key) rejected a row. */
  static boolean isConstraintViolation(SQLException e) {
    return state(e).startsWith("23")
        || e.getErrorCode() == 1364 // MariaDB, MySQL: a NOT NULL column without a default
        || message(e).contains("sqlite_constraint");
  }

  /** A value does not fit its column (too long, out of range, wrong format). */
  static boolean isDataException(SQLException e) {
    return state(e).startsWith("22");
  }

  /**
   * A data error: the database refused a row for what it holds (SQLState class 22, data
   * exception: too long, out of range, wrong format; class 23, integrity constraint violation;
   * MariaDB's NOT NULL column without a default; SQLite's constraint, type mismatch and too-big
   * errors). Waiting does not fix it; the sink isolates the refused keys. Everything else
   * (connections, timeouts, deadlocks, serialization failures, missing tables) fails the whole
   * call, which the buffer retries. An insert race (H2's unique-key violation when a concurrent
   * writer inserted the same new key first) is a class 23 error too, but the sink applies it
   * again: callers rule it out first ({@link Sql#isDataError}).
   */
  static boolean isDataError(SQLException e) {
    String message = message(e);
    return isDataException(e) || isConstraintViolation(e)
        || message.contains("sqlite_mismatch") || message.contains("sqlite_toobig");
  }

  /** A number outside its column's range (PostgreSQL, MariaDB, MySQL, H2). */
  static boolean isOutOfRange(SQLException e) {
    return state(e).equals("22003") || e.getErrorCode() == 1264
        || (state(e).equals("22004") && message(e).contains("out of range")); // H2, in a column
  }

  /** A value longer than its column holds. */
  static boolean isTooLong(SQLException e) {
    return state(e).equals("22001") || e.getErrorCode() == 1406;
  }

  /**
   * The statement ran past its query timeout and was cancelled: PostgreSQL and H2
   * {@code 57014}, MariaDB {@code 70100} (max_statement_time), MySQL 3024, or the driver's
   * {@link SQLTimeoutException}.
   */
  static boolean isTimeout(SQLException e) {
    int code = e.getErrorCode();
    boolean lockWait = code == 50200 || code == 1205; // H2, MariaDB: a lock wait timed out
    return (e instanceof SQLTimeoutException && !lockWait) || state(e).equals("57014")
        || state(e).equals("70100") || code == 1969 || code == 3024;
  }

  /** Deadlock, serialization failure, lock timeout or busy database: retrying may succeed. */
  static boolean isTransient(SQLException e) {
    String state = state(e);
    int code = e.getErrorCode();
    return state.startsWith("40") // serialization failure, deadlock
        || state.startsWith("08") // connection exceptions
        || code == 1213 || code == 1205 // MariaDB, MySQL deadlock, lock wait timeout
        || code == 50200 // H2 lock timeout
        || message(e).contains("sqlite_busy") || message(e).contains("sqlite_locked");
  }

  private static String state(SQLException e) {
    String state = e.getSQLState();
    return (state == null) ? "" : state;
  }

  private static String message(SQLException e) {
    String message = e.getMessage();
    return (message == null) ? "" : message.toLowerCase(Locale.ROOT);
  }

  /** A new exception with {@code message}, keeping the SQLState and vendor code of the cause. */
  static SQLException explained(String message, SQLException cause) {
    return new SQLException(message + " [" + cause.getMessage() + "]", cause.getSQLState(),
        cause.getErrorCode(), cause);
  }

  /**
   * Turns the failure of a batch into one whose message says what to do, when the sink knows;
   * else returns {@code e} itself.
   *
   * @param e the failure
   * @param batchId the batch's id, for the message
   * @param config the sink's options, for the message
   * @param raceAttempts how often the sink applied the batch before it gave up, when the dialect
   *     reports {@code e} as an insert race; 0 when it does not
   * @param recheck what explains a missing table or column: checking the tables again
   * @return the explained failure, or {@code e}
   */
  static SQLException explainBatch(SQLException e, String batchId, Config<?> config,
      int raceAttempts, UnaryOperator<SQLException> recheck) {
    String table = config.table();
    if (raceAttempts > 0) {
      return explained("Batch " + batchId + " still violated the primary key of " + table
          + " or ledger " + config.ledgerTable() + " after " + raceAttempts + " attempts (a race"
          + " with concurrent inserts of the same new keys, or a database error below); nothing"
          + " of it was written and the buffer retries it", e);
    }
    if (isCardinalityViolation(e)) {
      return explained("Batch " + batchId + " has keys that are one row of table " + table
          + " only after conversion to the column types, and the database refused to update that"
          + " row twice in one statement; nothing of it was written. Make the keyMapper return"
          + " values of the columns' own types (for example Long for BIGINT, trimmed strings for"
          + " CHAR)", e);
    }
    if (isTimeout(e)) {
      return explained("A statement of JdbcSink on table " + table + " ran past the query"
          + " timeout of " + config.queryTimeoutSeconds() + " s (a lock held by another"
          + " transaction, or a stuck database) and was cancelled; its transaction was rolled back"
          + " and the buffer retries the batch", e);
    }
    if (isTransient(e)) {
      return e; // deadlock, serialization failure, broken connection: the retry is the fix
    }
    if (isMissingTable(e) || isMissingColumn(e)) {
      return recheck.apply(e); // the tables changed since they were checked
    }
    if (isMissingUniqueConstraint(e)) {
      String keys = String.join(", ", config.keyColumns());
      return explained("JdbcSink's table " + table + " has no PRIMARY KEY or UNIQUE constraint"
          + " on exactly its key columns (" + keys + "), which the additive upsert needs. Add"
          + " one: ALTER TABLE " + table + " ADD PRIMARY KEY (" + keys + ")", e);
    }
    return e;
  }
}
