package dev.statbuffer.jdbc;

import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.util.Locale;

/**
 * Classifies the {@link SQLException}s of the supported drivers by SQLState, vendor code and,
 * for SQLite (whose driver sets no SQLState), message. Stateless.
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

  /**
   * H2 only: a concurrent transaction inserted the same new key (or batch id) first. H2's MERGE
   * reports this as a violation of the primary key of the counter table or the ledger rather
   * than waiting; the transaction rolled back and applying it again is safe. A violation of any
   * other unique index (one the sink cannot resolve by retrying) is not a race.
   *
   * @param tables the counter table and ledger names, as the sink was configured
   */
  static boolean isInsertRace(SQLException e, JdbcDialect dialect, String... tables) {
    if (dialect != JdbcDialect.H2 || !state(e).equals("23505")) {
      return false;
    }
    // H2: Unique index or primary key violation: "PUBLIC.PRIMARY_KEY_8 ON PUBLIC.T(K) VALUES ..."
    String message = message(e);
    if (!message.contains("primary_key")) {
      return false;
    }
    for (String table : tables) {
      String simple = table.substring(table.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
      if (message.contains("." + simple + "(")) {
        return true;
      }
    }
    return false;
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
   * errors), other than H2's insert race, which the sink applies again. Waiting does not fix it;
   * the sink isolates the refused keys. Everything else (connections, timeouts, deadlocks,
   * serialization failures, missing tables) fails the whole call, which the buffer retries.
   *
   * @param tables the counter table and ledger names, as the sink was configured
   */
  static boolean isDataError(SQLException e, JdbcDialect dialect, String... tables) {
    if (isInsertRace(e, dialect, tables)) {
      return false;
    }
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
}
