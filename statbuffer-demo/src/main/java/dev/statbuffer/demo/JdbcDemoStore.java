package dev.statbuffer.demo;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.jdbc.JdbcSinkStats;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The JDBC stores (H2, SQLite, PostgreSQL, MariaDB): a HikariCP pool and a {@link JdbcSink}.
 *
 * <p>Counts go to the table {@value #TABLE} {@code (run_id, page, views)}, keyed by the run and
 * the page, so runs never mix and each run verifies exactly what it wrote; the sink's exactly-once
 * ledger is {@value #LEDGER}. Both are created when missing.
 *
 * <p>Not thread-safe except as {@link DemoStore} says.
 */
final class JdbcDemoStore implements DemoStore {
  /** The counter table. */
  static final String TABLE = "statbuffer_demo_page_views";
  /** The sink's ledger table. */
  static final String LEDGER = "statbuffer_demo_ledger";

  private final String label;
  private final String url;
  private final String runId;
  private final HikariDataSource pool;
  private final JdbcSink<String> sink;
  private volatile JdbcSinkStats baseline = new JdbcSinkStats(0, 0, 0, 0, 0, 0, 0);

  /**
   * Builds the pool (it connects lazily) and the sink.
   *
   * @param label the database's name for people ("PostgreSQL")
   * @param url the JDBC URL
   * @param driverProperties extra connection properties for the driver
   * @param poolSize the most connections
   * @param runId this run's id, the first key column
   */
  JdbcDemoStore(String label, String url, Properties driverProperties, int poolSize,
      String runId) {
    this.label = label;
    this.url = url;
    this.runId = runId;
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setDataSourceProperties(driverProperties);
    config.setMaximumPoolSize(poolSize);
    config.setMinimumIdle(0);
    config.setConnectionTimeout(5_000); // a server that is down is reported within 5 s
    config.setPoolName("statbuffer-demo");
    // Connect on first use, so that an unreachable server is reported by prepare().
    config.setInitializationFailTimeout(-1);
    this.pool = new HikariDataSource(config);
    this.sink = JdbcSink.<String>builder(pool)
        .table(TABLE)
        .keyColumns("run_id", "page")
        .keyColumnTypes("VARCHAR(64)", "VARCHAR(255)")
        .countColumn("views")
        .keyMapper(page -> new Object[] {runId, page})
        .ledgerTable(LEDGER)
        .build();
  }

  @Override
  public String describe() {
    return label + " " + url + ", table " + TABLE + ", run_id '" + runId + "'";
  }

  @Override
  public void prepare() throws SQLException {
    sink.createTables();
    baseline = sink.stats();
  }

  @Override
  public BatchFlushHandler<String> sink() {
    return sink;
  }

  @Override
  public Counters counters() {
    JdbcSinkStats now = sink.stats();
    JdbcSinkStats base = baseline;
    return new Counters(now.statements() - base.statements(), now.batches() - base.batches(),
        now.rows() - base.rows());
  }

  @Override
  public String writeUnit() {
    return "SQL statements";
  }

  @Override
  public Map<String, Long> readTotals(List<String> keys) throws SQLException {
    Map<String, Long> totals = new HashMap<>();
    try (Connection connection = pool.getConnection();
        PreparedStatement select = connection.prepareStatement(
            "SELECT page, views FROM " + TABLE + " WHERE run_id = ?")) {
      select.setString(1, runId);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          totals.put(rows.getString(1), rows.getLong(2));
        }
      }
    }
    return totals;
  }

  @Override
  public void close() {
    pool.close();
  }
}
