package dev.statbuffer.jdbc;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Locale;

/**
 * The SQL dialects {@link JdbcSink} speaks. Each uses the database's native additive upsert:
 *
 * <table>
 *   <caption>Upsert and ledger statements by dialect</caption>
 *   <tr><th>Dialect</th><th>Counter upsert</th><th>Ledger insert</th></tr>
 *   <tr><td>{@link #POSTGRESQL}</td>
 *       <td>{@code INSERT ... SELECT ..., sum(n) FROM unnest(arrays) GROUP BY ... ORDER BY ...
 *       ON CONFLICT DO UPDATE}, one statement for the ledger and up to
 *       {@code maxRowsPerStatement} rows</td>
 *       <td>{@code INSERT ... ON CONFLICT DO NOTHING} in a CTE of the same statement</td></tr>
 *   <tr><td>{@link #MARIADB}, {@link #MYSQL}</td>
 *       <td>multi-row {@code INSERT ... ON DUPLICATE KEY UPDATE c = c + VALUES(c)}</td>
 *       <td>{@code INSERT IGNORE}</td></tr>
 *   <tr><td>{@link #H2}</td>
 *       <td>{@code MERGE INTO ... USING (SELECT ..., SUM(n) FROM (VALUES ...) GROUP BY ...)
 *       WHEN MATCHED THEN UPDATE ...}</td>
 *       <td>{@code MERGE ... WHEN NOT MATCHED THEN INSERT}, after updating the sink's lock row in
 *       the ledger, so that the writers of one table take turns</td></tr>
 *   <tr><td>{@link #SQLITE}</td>
 *       <td>multi-row {@code INSERT ... ON CONFLICT DO UPDATE} (SQLite 3.24 or later)</td>
 *       <td>{@code INSERT ... ON CONFLICT DO NOTHING}</td></tr>
 * </table>
 *
 * <p>Immutable and thread-safe.
 */
public enum JdbcDialect {
  /** PostgreSQL 9.5 or later. */
  POSTGRESQL,
  /** MariaDB 10.1 or later. */
  MARIADB,
  /** MySQL 5.7 or later (the MariaDB statements, which MySQL also accepts). */
  MYSQL,
  /** H2 2.x. */
  H2,
  /**
   * SQLite 3.24 or later. Statements stay under 999 parameters, the limit of SQLite builds older
   * than 3.32.
   */
  SQLITE;

  /**
   * Detects the dialect from the connection's
   * {@link java.sql.DatabaseMetaData#getDatabaseProductName database product name}.
   *
   * @param connection an open connection, not null
   * @return the dialect
   * @throws SQLFeatureNotSupportedException if the database is none of the supported ones; set the
   *     dialect explicitly with {@link JdbcSink.Builder#dialect} if it speaks one of them
   * @throws SQLException if the metadata cannot be read
   */
  public static JdbcDialect detect(Connection connection) throws SQLException {
    requireNonNull(connection, "connection");
    String product = connection.getMetaData().getDatabaseProductName();
    String name = (product == null) ? "" : product.toLowerCase(Locale.ROOT);
    if (name.contains("postgresql")) {
      return POSTGRESQL;
    } else if (name.contains("mariadb")) {
      return MARIADB;
    } else if (name.contains("mysql")) {
      return MYSQL;
    } else if (name.equals("h2") || name.startsWith("h2 ")) {
      return H2;
    } else if (name.contains("sqlite")) {
      return SQLITE;
    }
    throw new SQLFeatureNotSupportedException("JdbcSink does not know the database \"" + product
        + "\": it supports PostgreSQL, MariaDB, MySQL, H2 and SQLite. If this database speaks the"
        + " SQL of one of them, set it with JdbcSink.builder(...).dialect(JdbcDialect.X)");
  }
}
