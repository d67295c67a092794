package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.sql.DataSource;

/**
 * The four databases the sink is tested against, with what differs between them in the tests.
 * PostgreSQL and MariaDB are the real servers (see {@link Databases}); their pools open on first
 * use and close in {@link #closeAll()}.
 */
enum Server {
  POSTGRESQL("text", "float8", () -> Databases.pool(Databases.POSTGRES_URL, 8),
      t -> List.of("ALTER TABLE " + t + " ALTER COLUMN total TYPE BIGINT")),
  MARIADB("TEXT", "DOUBLE", () -> Databases.pool(Databases.MARIADB_URL, 8),
      t -> List.of("ALTER TABLE " + t + " MODIFY total BIGINT NOT NULL")),
  H2("CHARACTER VARYING", "DOUBLE PRECISION", Databases::h2,
      t -> List.of("ALTER TABLE " + t + " ALTER COLUMN total SET DATA TYPE BIGINT")),
  /**
   * SQLite's INTEGER holds 64 bits: a CHECK refuses what an INTEGER column elsewhere would, and
   * as SQLite cannot drop a CHECK, widening copies the table into one without it.
   */
  SQLITE("TEXT", "DOUBLE PRECISION", Databases::sqlite,
      t -> List.of("CREATE TABLE " + t + "_wide (k VARCHAR(40) NOT NULL PRIMARY KEY,"
              + " total BIGINT NOT NULL)",
          "INSERT INTO " + t + "_wide SELECT k, total FROM " + t,
          "DROP TABLE " + t,
          "ALTER TABLE " + t + "_wide RENAME TO " + t)) {
    @Override
    String intCountColumn() {
      return "INTEGER NOT NULL CHECK (total BETWEEN -2147483648 AND 2147483647)";
    }
  };

  /** How the driver names a TEXT column's type, and a DOUBLE PRECISION column's. */
  final String textType;
  final String doubleType;
  private final Supplier<DataSource> open;
  private final Function<String, List<String>> widenCount;
  private DataSource dataSource;

  Server(String textType, String doubleType, Supplier<DataSource> open,
      Function<String, List<String>> widenCount) {
    this.textType = textType;
    this.doubleType = doubleType;
    this.open = open;
    this.widenCount = widenCount;
  }

  /** The statements that make the count column {@code total} of {@code table} a BIGINT. */
  List<String> widenCount(String table) {
    return widenCount.apply(table);
  }

  /** A count column {@code total} that refuses totals outside the 32-bit INTEGER range. */
  String intCountColumn() {
    return "INTEGER NOT NULL";
  }

  /** The database, opened on first use. */
  synchronized DataSource dataSource() {
    if (dataSource == null) {
      dataSource = open.get();
    }
    return dataSource;
  }

  /** Closes the pools opened so far (the next use opens new ones). */
  static void closeAll() {
    for (Server server : values()) {
      synchronized (server) {
        if (server.dataSource instanceof HikariDataSource) {
          ((HikariDataSource) server.dataSource).close();
        }
        server.dataSource = null;
      }
    }
  }
}
