package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The test databases. PostgreSQL and MariaDB are real servers that must be running (tests fail,
 * never skip, when they are not); H2 runs in memory and SQLite in a temporary file.
 */
final class Databases {
  static final String POSTGRES_HOST = "127.0.0.1";
  static final int POSTGRES_PORT = 5432;
  static final String POSTGRES_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
  static final String MARIADB_URL = "jdbc:mariadb://127.0.0.1:3306/test?user=root&password=";
  static final String H2_URL = "jdbc:h2:mem:statbuffer;DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=10000";

  private Databases() {}

  /** A small HikariCP pool over the test database at {@code url}. */
  static HikariDataSource pool(String url, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(0);
    config.setConnectionTimeout(10_000);
    config.setPoolName("test-" + url.replaceAll("[^a-z]+", "-"));
    return new HikariDataSource(config);
  }

  /** PostgreSQL without a pool: every connection is a new one (used through the faulty proxy). */
  static PGSimpleDataSource postgresAt(String host, int port) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {host});
    ds.setPortNumbers(new int[] {port});
    ds.setDatabaseName("test");
    ds.setUser("postgres");
    ds.setConnectTimeout(10);
    ds.setSocketTimeout(30);
    return ds;
  }

  static DataSource h2() {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL(H2_URL);
    return ds;
  }

  /** SQLite in a new temporary file, in WAL mode, waiting up to 10 s for a busy database. */
  static DataSource sqlite() {
    try {
      Path file = Files.createTempFile("statbuffer-sqlite", ".db");
      file.toFile().deleteOnExit();
      return sqlite(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static DataSource sqlite(Path file) {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setBusyTimeout(10_000);
    SQLiteDataSource ds = new SQLiteDataSource(config);
    ds.setUrl("jdbc:sqlite:" + file);
    return ds;
  }

  /** The single long the query returns; 0 when it returns no row. */
  static long query(DataSource ds, String sql, Object... parameters) throws SQLException {
    try (Connection c = ds.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) {
        s.setObject(i + 1, parameters[i]);
      }
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    }
  }

  /** Runs one statement on a connection of its own. */
  static void execute(DataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** Drops the tables, ignoring those that do not exist. */
  static void drop(DataSource ds, String... tables) {
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      for (String table : tables) {
        s.execute("DROP TABLE IF EXISTS " + table);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not drop test tables", e);
    }
  }
}
