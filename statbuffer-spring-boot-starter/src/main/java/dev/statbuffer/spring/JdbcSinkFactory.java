package dev.statbuffer.spring;

import static dev.statbuffer.spring.Checks.option;
import static dev.statbuffer.spring.Checks.required;
import static dev.statbuffer.spring.Checks.value;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.spring.StatBufferProperties.Sink;
import dev.statbuffer.spring.StatBufferProperties.SinkType;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;

/**
 * Makes {@link JdbcSink}s on the application's {@link DataSource}, and proves at start-up that
 * their tables exist (creating them first when {@code create-tables} is set). Thread-safe.
 */
final class JdbcSinkFactory implements SinkFactory {
  private final ObjectProvider<DataSource> dataSources;

  JdbcSinkFactory(ObjectProvider<DataSource> dataSources) {
    this.dataSources = dataSources;
  }

  @Override
  public SinkType type() {
    return SinkType.JDBC;
  }

  @Override
  public BatchFlushHandler<String> create(String buffer, String prefix, Sink sink) {
    String table = required(prefix + ".table", sink.getTable(),
        "set it to the counter table, such as page_views.");
    List<String> keyColumns = sink.getKeyColumns();
    if (keyColumns == null || keyColumns.isEmpty()) {
      throw new StatBufferConfigurationException(prefix + ".key-columns", "is not set.",
          "set it to the table's key column, such as page.");
    }
    if (keyColumns.size() > 1) {
      throw new StatBufferConfigurationException(prefix + ".key-columns",
          "names " + keyColumns.size() + " columns " + keyColumns + ", but a declared buffer has"
              + " String keys and so one key column.",
          "use one key column, or build the buffer in code with JdbcSink.builder(dataSource)"
              + ".keyColumns(...).keyMapper(...) for composite keys.");
    }
    String countColumn = required(prefix + ".count-column", sink.getCountColumn(),
        "set it to the BIGINT column the counts are added to, such as views.");
    DataSource dataSource = dataSource(prefix);

    JdbcSink.Builder<String> builder = JdbcSink.builder(dataSource);
    option(prefix + ".table", "use an SQL identifier (letters, digits, _), optionally"
        + " schema.table.", () -> builder.table(table));
    option(prefix + ".key-columns", "use an SQL identifier (letters, digits, _).",
        () -> builder.keyColumns(keyColumns.toArray(new String[0])));
    option(prefix + ".count-column", "use an SQL identifier (letters, digits, _) that is not"
        + " the key column.", () -> builder.countColumn(countColumn));
    List<String> types = sink.getKeyColumnTypes();
    if (types != null && !types.isEmpty()) {
      if (types.size() != keyColumns.size()) {
        throw new StatBufferConfigurationException(prefix + ".key-column-types",
            "has " + types.size() + " types for " + keyColumns.size() + " key column.",
            "give one SQL type, such as VARCHAR(100).");
      }
      option(prefix + ".key-column-types", "use an SQL type name such as VARCHAR(100) or BIGINT.",
          () -> builder.keyColumnTypes(types.toArray(new String[0])));
    }
    JdbcSink<String> jdbcSink = value(prefix, "check the table and column names.",
        builder::build);

    if (sink.isCreateTables()) {
      try {
        jdbcSink.createTables();
      } catch (SQLException | RuntimeException e) {
        throw new StatBufferConfigurationException(prefix + ".create-tables",
            "could not create table " + table + " and its ledger " + table + "_ledger: "
                + e.getMessage(),
            "let the DataSource's user create tables, or create them yourself and set"
                + " create-tables to false.", e);
      }
    }
    probe(prefix, table, jdbcSink);
    return jdbcSink;
  }

  /**
   * Proves that the counter table, its columns and the ledger exist. {@code pruneLedger()} checks
   * them the way the first flush would (it then deletes ledger rows past their retention, which
   * the sink does after flushes anyway).
   */
  private static void probe(String prefix, String table, JdbcSink<String> sink) {
    try {
      sink.pruneLedger();
    } catch (SQLException | RuntimeException e) {
      if (isConnectionProblem(e)) {
        throw new StatBufferConfigurationException(prefix,
            "could not connect to the DataSource to check table " + table + ": " + e.getMessage(),
            "check spring.datasource.* (url, username, password) and that the database is up.",
            e);
      }
      throw new StatBufferConfigurationException(prefix + ".create-tables",
          "table " + table + " or its ledger " + table + "_ledger is missing or incomplete: "
              + e.getMessage(),
          "set " + prefix + ".create-tables: true to create both at start-up, or create them"
              + " with the DDL in the message.", e);
    }
  }

  private static boolean isConnectionProblem(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientConnectionException
          || t instanceof SQLNonTransientConnectionException) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getSQLState() != null
          && sql.getSQLState().startsWith("08")) {
        return true;
      }
    }
    return false;
  }

  private DataSource dataSource(String prefix) {
    DataSource dataSource = dataSources.getIfUnique();
    if (dataSource != null) {
      return dataSource;
    }
    long count = dataSources.stream().count();
    if (count == 0) {
      throw new StatBufferConfigurationException(prefix + ".type",
          "is jdbc, but the application has no DataSource bean.",
          "add spring-boot-starter-jdbc and a JDBC driver and set spring.datasource.url, or"
              + " define a DataSource bean.");
    }
    throw new StatBufferConfigurationException(prefix + ".type",
        "is jdbc, but the application has " + count + " DataSource beans and none is @Primary.",
        "mark the DataSource the buffers should write to @Primary.");
  }
}
