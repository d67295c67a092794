package dev.statbuffer.jdbc;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;

/**
 * Tests that run once per {@link Server}: each gets the tables {@code <ns>_counts (k, total)} and
 * {@code <ns>_ledger}, dropped after the test.
 */
abstract class ServerTest {
  private final List<Runnable> drops = Collections.synchronizedList(new ArrayList<>());

  /** A fresh table prefix. */
  static String newNamespace() {
    return "b" + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36)
        + Integer.toString(new SplittableRandom().nextInt(36 * 36 * 36), 36);
  }

  /** A sink over {@code <ns>_counts (k, total)} with the ledger {@code <ns>_ledger}. */
  JdbcSink.Builder<String> builder(Server server, String ns) {
    return builder(server.dataSource(), server, ns);
  }

  /** The same sink, through {@code ds} (a wrapper of the server's data source). */
  JdbcSink.Builder<String> builder(DataSource ds, Server server, String ns) {
    drops.add(() -> Databases.drop(server.dataSource(), ns + "_counts", ns + "_ledger"));
    return JdbcSink.<String>builder(ds).table(ns + "_counts").keyColumns("k").countColumn("total")
        .ledgerTable(ns + "_ledger");
  }

  /** Creates {@code <ns>_counts} with key column {@code k VARCHAR(40)} and {@code total}. */
  void createCounts(Server server, String ns, String countColumn) throws SQLException {
    drops.add(() -> Databases.drop(server.dataSource(), ns + "_counts"));
    execute(server, "CREATE TABLE " + ns + "_counts (k VARCHAR(40) NOT NULL PRIMARY KEY, total "
        + countColumn + ")");
  }

  static long query(Server server, String sql, Object... parameters) throws SQLException {
    return Databases.query(server.dataSource(), sql, parameters);
  }

  static void execute(Server server, String sql) throws SQLException {
    Databases.execute(server.dataSource(), sql);
  }

  static long total(Server server, String ns, String key) throws SQLException {
    return query(server, "SELECT total FROM " + ns + "_counts WHERE k = ?", key);
  }

  @AfterEach
  void dropTables() {
    synchronized (drops) {
      drops.forEach(Runnable::run);
      drops.clear();
    }
  }

  @AfterAll
  static void closePools() {
    Server.closeAll();
  }
}
