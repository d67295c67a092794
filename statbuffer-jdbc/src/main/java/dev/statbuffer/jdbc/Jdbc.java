package dev.statbuffer.jdbc;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.LongAdder;

/**
 * How one sink talks to its connections: every statement bounded by the query timeout, every
 * statement counted, and transactions that always end (committed or rolled back) with the
 * connection's auto-commit mode restored. Thread-safe.
 */
final class Jdbc {
  /**
   * The logger of every part of the sink, named after {@code JdbcSink} so that one logger
   * configures them all (by name, so that no part depends on the public class).
   */
  static final Logger LOGGER = System.getLogger("dev.statbuffer.jdbc.JdbcSink");

  /** Statements sent, {@code COMMIT} and {@code ROLLBACK} included. */
  final LongAdder statements = new LongAdder();
  /** {@link Statement#setQueryTimeout} seconds; 0 for none. */
  final int timeoutSeconds;
  private final String table;

  Jdbc(int timeoutSeconds, String table) {
    this.timeoutSeconds = timeoutSeconds;
    this.table = table;
  }

  /** The work of one transaction. */
  interface Body {
    /**
     * Runs the statements.
     *
     * @return true to commit, false to roll back
     */
    boolean run() throws SQLException;
  }

  /**
   * Work on a connection.
   *
   * @param <T> what it returns
   */
  interface Work<T> {
    /**
     * Runs the statements.
     *
     * @return the result
     */
    T run() throws SQLException;
  }

  /** A prepared statement bounded by the query timeout. */
  PreparedStatement prepare(Connection connection, String sql) throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    bound(statement);
    return statement;
  }

  /** A plain statement bounded by the query timeout. */
  Statement create(Connection connection) throws SQLException {
    Statement statement = connection.createStatement();
    bound(statement);
    return statement;
  }

  private void bound(Statement statement) throws SQLException {
    if (timeoutSeconds > 0) {
      try {
        statement.setQueryTimeout(timeoutSeconds);
      } catch (SQLException e) {
        statement.close();
        throw e;
      }
    }
  }

  /**
   * Runs {@code body} in one transaction, switching auto-commit off for it if it was on: commits
   * if the body returns true, rolls back if it returns false or throws.
   *
   * @return what the body returned
   */
  boolean transaction(Connection connection, Body body) throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    if (autoCommit) {
      connection.setAutoCommit(false);
    }
    boolean ended = false;
    try {
      boolean commit = body.run();
      if (commit) {
        statements.increment();
        connection.commit();
      } else {
        rollback(connection);
      }
      ended = true;
      return commit;
    } finally {
      if (!ended) {
        rollbackQuietly(connection);
      }
      if (autoCommit) {
        restoreAutoCommit(connection);
      }
    }
  }

  /**
   * Runs {@code work} with auto-commit off, when {@code manual} and the connection auto-commits,
   * and switches it back on afterwards; the work commits its transactions itself.
   *
   * @return what the work returned
   */
  <T> T manualCommits(Connection connection, boolean manual, Work<T> work) throws SQLException {
    boolean switched = manual && connection.getAutoCommit();
    if (switched) {
      connection.setAutoCommit(false);
    }
    try {
      return work.run();
    } finally {
      if (switched) {
        restoreAutoCommit(connection);
      }
    }
  }

  /** Commits if the connection is not in auto-commit mode (where each statement commits). */
  void commitUnlessAutoCommit(Connection connection) throws SQLException {
    if (!connection.getAutoCommit()) {
      statements.increment();
      connection.commit();
    }
  }

  void rollback(Connection connection) throws SQLException {
    statements.increment();
    connection.rollback();
  }

  void rollbackQuietly(Connection connection) {
    try {
      rollback(connection);
    } catch (SQLException | RuntimeException e) {
      LOGGER.log(Level.DEBUG, "JdbcSink: rollback after a failure failed too", e);
    }
  }

  /** Switches auto-commit back on; logs, never throws, if the connection refuses. */
  void restoreAutoCommit(Connection connection) {
    try {
      connection.setAutoCommit(true);
    } catch (SQLException | RuntimeException e) {
      // Never throw after a commit: without the ledger a retry would count twice.
      LOGGER.log(Level.WARNING, "JdbcSink could not switch auto-commit back on for a connection"
          + " of table " + table + "; the pool should discard or reset it", e);
    }
  }
}
