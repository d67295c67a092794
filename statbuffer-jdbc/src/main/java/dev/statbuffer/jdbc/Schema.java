package dev.statbuffer.jdbc;

import dev.statbuffer.jdbc.Sql.Names;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * What a sink knows of its database: the dialect (set or detected), the checked tables and the
 * statements made for them (the plan), and the DDL that creates the tables. The first flush
 * checks that the counter table, its columns and the ledger exist, that the count column holds
 * integers and that the ledger's columns hold the sink's ids, and reads the key columns' types;
 * every failure is explained with what to do.
 *
 * <h2>Design</h2>
 *
 * <p>Flushing threads read the plan (a volatile field) without a lock. Until it is set, a thread
 * borrows a connection, then takes {@code planLock} and checks again before it checks the tables,
 * so the tables are checked once however many threads start at once; the connection is borrowed
 * before the lock, so a {@code getConnection} that hangs holds up only its own call, never every
 * other call waiting for the lock (issue 12, finding 5). {@link #createTables()} and
 * {@link #recheck} clear the plan, so that the next flush checks the tables again; a flush that
 * read the old plan goes on with it, which is harmless: a plan is immutable, and a statement that
 * no longer fits the tables fails and is explained.
 *
 * <p>The dialect is a volatile field too, written after detection without a lock: the race is
 * benign, because every thread detects the same dialect from the same database.
 *
 * <p>Thread-safe.
 */
final class Schema {
  private final DataSource dataSource;
  private final Jdbc jdbc;
  private final Names names;
  private final boolean exactlyOnce;
  private final List<String> keyColumnTypes;

  private final Object planLock = new Object();
  /** The checked tables and their statements; null until a check succeeds, and after a reset. */
  private volatile @Nullable Sql plan;
  /** The configured or detected dialect; null until first needed. */
  private volatile @Nullable JdbcDialect dialect;

  /**
   * Creates the schema of one sink; it does not connect.
   *
   * @param config the sink's options
   * @param jdbc the sink's statements
   */
  Schema(Config<?> config, Jdbc jdbc) {
    this.dataSource = config.dataSource();
    this.jdbc = jdbc;
    this.names = config.names();
    this.exactlyOnce = config.exactlyOnce();
    this.keyColumnTypes = config.keyColumnTypes();
    this.dialect = config.dialect();
  }

  /**
   * The dialect if it is known yet, without connecting.
   *
   * @return the dialect, or null if it is still to be detected
   */
  @Nullable JdbcDialect knownDialect() {
    return dialect;
  }

  /**
   * The dialect: the configured one, else detected on a borrowed connection, once.
   *
   * @return the dialect
   * @throws SQLException if no connection can be had, or the database is not supported
   */
  JdbcDialect dialect() throws SQLException {
    JdbcDialect d = dialect;
    if (d != null) {
      return d;
    }
    try (Connection connection = dataSource.getConnection()) {
      return dialect(connection);
    }
  }

  private JdbcDialect dialect(Connection connection) throws SQLException {
    JdbcDialect d = dialect;
    if (d == null) {
      d = JdbcDialect.detect(connection);
      dialect = d;
    }
    return d;
  }

  /**
   * The statements before any check (no column types to cast to), on a borrowed connection.
   *
   * @return the statements
   * @throws SQLException if no connection can be had, or the dialect cannot be detected
   */
  Sql statements() throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      return statements(connection, null);
    }
  }

  /** The statements, with the checked {@code columns}, or null before the check. */
  private Sql statements(Connection connection, @Nullable Columns columns)
      throws SQLException {
    return Sql.of(dialect(connection), names, connection.getMetaData(), columns);
  }

  /**
   * The checked plan; checks the tables (once) on a borrowed connection.
   *
   * @return the statements for the checked tables
   * @throws SQLException if the tables are missing or do not fit the sink, explained
   */
  Sql plan() throws SQLException {
    Sql sql = plan;
    if (sql != null) {
      return sql;
    }
    try (Connection connection = dataSource.getConnection()) {
      synchronized (planLock) {
        sql = plan;
        if (sql == null) {
          sql = check(connection);
          plan = sql;
        }
        return sql;
      }
    }
  }

  /**
   * The checked plan if there is one, without connecting.
   *
   * @return the plan, or null
   */
  @Nullable Sql checkedPlan() {
    return plan;
  }

  /**
   * After a failure that says a table or column is missing: the tables changed since they were
   * checked, so forgets the plan (the next flush checks again) and checks them now, for the
   * explanation.
   *
   * @param e the failure
   * @return the check's explanation, or {@code e} if the check passes or cannot connect
   */
  SQLException recheck(SQLException e) {
    plan = null;
    try (Connection connection = dataSource.getConnection()) {
      check(connection);
    } catch (SQLException described) {
      return described;
    }
    return e;
  }

  /**
   * Creates the counter table (and the ledger table with its index, when exactly-once is on) if
   * they do not exist, and forgets the plan, so that the next flush checks the tables again.
   *
   * @throws SQLException if the tables cannot be created
   */
  void createTables() throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      Sql ddl = statements(connection, null);
      boolean autoCommit = connection.getAutoCommit();
      try (Statement statement = jdbc.create(connection)) {
        for (String sql : ddl.createTables(keyColumnTypes, exactlyOnce)) {
          try {
            statement.execute(sql);
          } catch (SQLException e) {
            // Two processes creating the same table at once: PostgreSQL may report a duplicate
            // type or relation. The table exists, which is what was asked.
            if (!Errors.isConstraintViolation(e) && !"42P07".equals(e.getSQLState())) {
              throw Errors.explained("Could not create the tables of JdbcSink with: " + sql, e);
            }
            if (!autoCommit) {
              connection.rollback();
            }
          }
          jdbc.statements.increment();
        }
        jdbc.commitUnlessAutoCommit(connection);
      }
    }
    plan = null; // check the tables again before the next flush
  }

  /**
   * Proves that the counter table, its columns and the ledger exist, that the count column holds
   * integers, and reads the key columns' types (some dialects cast their parameters to them).
   */
  private Sql check(Connection connection) throws SQLException {
    Sql sql = statements(connection, null);
    boolean autoCommit = connection.getAutoCommit();
    Columns columns;
    try {
      try (Statement statement = jdbc.create(connection)) {
        jdbc.statements.increment();
        try (ResultSet rs = statement.executeQuery(sql.probeCounterTable())) {
          columns = Columns.read(rs.getMetaData(), names.keyColumns(), names.countColumn());
        }
      } catch (SQLException e) {
        throw describeCounterTableProblem(connection, sql, e);
      }
      columns.checkCount(names.table(), sql);
      if (exactlyOnce) {
        checkLedger(sql, connection);
      }
    } finally {
      if (!autoCommit) {
        jdbc.rollbackQuietly(connection); // end the read-only transaction the checks opened
      }
    }
    return statements(connection, columns);
  }

  private void checkLedger(Sql sql, Connection connection) throws SQLException {
    int sinkWidth;
    int batchIdWidth;
    try (Statement statement = jdbc.create(connection)) {
      jdbc.statements.increment();
      try (ResultSet rs = statement.executeQuery(sql.probeLedgerTable())) {
        sinkWidth = rs.getMetaData().getPrecision(1);
        batchIdWidth = rs.getMetaData().getPrecision(2);
      }
    } catch (SQLException e) {
      if (Errors.isMissingTable(e) || Errors.isMissingColumn(e)) {
        throw Errors.explained("JdbcSink's ledger table " + names.ledgerTable() + " (columns sink,"
            + " batch_id, applied_at) is missing or incomplete. Call createTables() once, or"
            + " create it: " + String.join("; ", sql.ledgerDdl())
            + ". Or turn exactly-once off with exactlyOnce(false)", e);
      }
      throw e;
    }
    // MariaDB and MySQL's INSERT IGNORE truncates a value too long for its column: distinct
    // batch ids would collide and later batches be skipped as duplicates.
    if (sql.checksLedgerWidths()) {
      checkLedgerWidth(sql, "batch_id", batchIdWidth, Sql.MAX_BATCH_ID);
      checkLedgerWidth(sql, "sink", sinkWidth, Sql.MAX_TABLE_NAME);
    }
  }

  /** Fails if the ledger's {@code column} holds fewer than {@code needed} characters. */
  private void checkLedgerWidth(Sql sql, String column, int width, int needed)
      throws SQLException {
    if (width > 0 && width < needed) {
      throw new SQLException("JdbcSink's ledger table " + names.ledgerTable() + " has column "
          + column + " of " + width + " characters, but it must hold " + needed + " (batch ids"
          + " are up to " + Sql.MAX_BATCH_ID + " characters, counter table names up to "
          + Sql.MAX_TABLE_NAME + "): a shorter column would truncate or refuse them. Widen it: "
          + sql.widenLedgerColumn(column, needed));
    }
  }

  private SQLException describeCounterTableProblem(Connection connection, Sql sql,
      SQLException e) {
    String table = names.table();
    List<String> keyColumns = names.keyColumns();
    if (Errors.isMissingTable(e)) {
      return Errors.explained("JdbcSink's table " + table + " does not exist (or this user cannot"
          + " see it). Call createTables() once, or create it: "
          + sql.counterTableDdl(keyColumnTypes), e);
    }
    if (Errors.isMissingColumn(e)) {
      List<String> missing = new ArrayList<>();
      List<String> all = new ArrayList<>(keyColumns);
      all.add(names.countColumn());
      try {
        if (!connection.getAutoCommit()) {
          connection.rollback(); // PostgreSQL refuses statements in a failed transaction
        }
        for (String column : all) {
          try (Statement statement = jdbc.create(connection)) {
            jdbc.statements.increment();
            statement.executeQuery(sql.probeColumn(column)).close();
          } catch (SQLException columnError) {
            missing.add(column);
            if (!connection.getAutoCommit()) {
              connection.rollback();
            }
          }
        }
      } catch (SQLException ignored) {
        // The message below still names the table and the expected columns.
      }
      String which = missing.isEmpty() ? "one of the columns " + all
          : (missing.size() == 1 ? "column " + missing.get(0) : "columns " + missing);
      return Errors.explained("JdbcSink's table " + table + " has no " + which + ". The sink"
          + " writes key columns " + keyColumns + " (set with keyColumns(...)) and the BIGINT count"
          + " column " + names.countColumn() + " (set with countColumn(...)): rename them in the"
          + " builder to match the table, or add the columns", e);
    }
    return e;
  }
}
