package dev.statbuffer.spring;

import static dev.statbuffer.spring.BufferPropertiesTest.configFailure;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.StatBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The JDBC sink on H2: delivery, table checks, a missing DataSource, and the shutdown order. */
class JdbcSinkStarterTest {
  private final String url = TestSupport.h2Url();
  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
          StatBufferAutoConfiguration.class))
      .withPropertyValues("spring.datasource.url=" + url,
          "statbuffer.buffers.page-views.interval=1h",
          "statbuffer.buffers.page-views.sink.type=jdbc",
          "statbuffer.buffers.page-views.sink.table=page_views",
          "statbuffer.buffers.page-views.sink.key-columns=page",
          "statbuffer.buffers.page-views.sink.count-column=views");

  @Test
  void createTablesAndDeliver() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.create-tables=true",
        "statbuffer.buffers.page-views.sink.key-column-types=VARCHAR(100)").run(context -> {
          assertThat(context).hasNotFailed();
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          views.increment("/home", 3);
          views.increment("/pricing");
          views.flushAll().get(10, TimeUnit.SECONDS);
          assertThat(read(context.getBean(DataSource.class), "page_views"))
              .containsExactlyInAnyOrderEntriesOf(Map.of("/home", 3L, "/pricing", 1L));
        });
  }

  @Test
  void existingTablesNeedNoCreateTables() throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "sa", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE page_views (page VARCHAR(200) PRIMARY KEY, views BIGINT NOT NULL)");
      s.execute("CREATE TABLE page_views_ledger (sink VARCHAR(128) NOT NULL,"
          + " batch_id VARCHAR(64) NOT NULL, applied_at BIGINT NOT NULL,"
          + " PRIMARY KEY (sink, batch_id))");
    }
    runner.run(context -> {
      assertThat(context).hasNotFailed();
      @SuppressWarnings("unchecked")
      StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
      views.increment("/docs", 2);
      views.flushAll().get(10, TimeUnit.SECONDS);
      assertThat(read(context.getBean(DataSource.class), "page_views"))
          .containsExactlyEntriesOf(Map.of("/docs", 2L));
    });
  }

  @Test
  void missingTableWithoutCreateTablesFailsStartup() {
    runner.run(context -> {
      StatBufferConfigurationException e = configFailure(context.getStartupFailure());
      assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.create-tables");
      assertThat(e.getMessage()).contains("page_views")
          .contains("statbuffer.buffers.page-views.sink.create-tables: true");
    });
  }

  @Test
  void missingDataSourceFailsStartup() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class))
        .withPropertyValues("statbuffer.buffers.page-views.sink.type=jdbc",
            "statbuffer.buffers.page-views.sink.table=page_views",
            "statbuffer.buffers.page-views.sink.key-columns=page",
            "statbuffer.buffers.page-views.sink.count-column=views")
        .run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.type");
          assertThat(e.getMessage()).contains("no DataSource bean")
              .contains("spring.datasource.url");
        });
  }

  @Test
  void missingTableOptionFailsStartup() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
            StatBufferAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + url,
            "statbuffer.buffers.page-views.sink.type=jdbc",
            "statbuffer.buffers.page-views.sink.key-columns=page",
            "statbuffer.buffers.page-views.sink.count-column=views")
        .run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.table");
        });
  }

  @Test
  void badIdentifierFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.table=page views")
        .run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.table");
          assertThat(e.getMessage()).contains("SQL identifier");
        });
  }

  @Test
  void severalKeyColumnsAreRefused() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.key-columns=page,day")
        .run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.key-columns");
          assertThat(e.getMessage()).contains("String keys").contains("keyMapper");
        });
  }

  /**
   * The point of the lifecycle phase: a pool that closes when the context is destroyed, counts
   * that wait an hour for their interval, and a context close. When the pool closes, the buffer
   * must already be closed with everything delivered; afterwards every count is in the table.
   */
  @Test
  void contextCloseDeliversEverythingBeforeThePoolCloses() throws Exception {
    AtomicReference<StatBuffer<String>> buffer = new AtomicReference<>();
    AtomicReference<String> atPoolClose = new AtomicReference<>();
    AtomicReference<HikariDataSource> pool = new AtomicReference<>();
    Map<String, Long> expected = new ConcurrentHashMap<>();
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class))
        .withBean(DataSource.class, () -> {
          HikariDataSource dataSource = new HikariDataSource() {
            @Override
            public void close() {
              StatBuffer<String> views = buffer.get();
              atPoolClose.compareAndSet(null, "closed=" + views.isClosed() + " delivered="
                  + views.stats().deliveredSum());
              super.close();
            }
          };
          dataSource.setJdbcUrl(url);
          dataSource.setUsername("sa");
          dataSource.setMaximumPoolSize(4);
          pool.set(dataSource);
          return dataSource;
        })
        .withPropertyValues("statbuffer.buffers.page-views.interval=1h",
            "statbuffer.buffers.page-views.shutdown-timeout=5s",
            "statbuffer.buffers.page-views.max-batch-size=100",
            "statbuffer.buffers.page-views.sink.type=jdbc",
            "statbuffer.buffers.page-views.sink.table=page_views",
            "statbuffer.buffers.page-views.sink.key-columns=page",
            "statbuffer.buffers.page-views.sink.count-column=views",
            "statbuffer.buffers.page-views.sink.create-tables=true")
        .run(context -> {
          assertThat(context).hasNotFailed();
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          buffer.set(views);
          ExecutorService threads = Executors.newFixedThreadPool(4);
          try {
            Future<?>[] writers = new Future<?>[4];
            for (int t = 0; t < writers.length; t++) {
              int seed = t;
              writers[t] = threads.submit(() -> {
                for (int i = 0; i < 25_000; i++) {
                  String page = "/page/" + ((i * 7 + seed) % 500);
                  if (views.increment(page)) {
                    expected.merge(page, 1L, Long::sum);
                  }
                }
              });
            }
            for (Future<?> writer : writers) {
              writer.get(60, TimeUnit.SECONDS);
            }
          } finally {
            threads.shutdown();
          }
          assertThat(views.stats().deliveredSum()).isZero(); // nothing before the close
        });
    assertThat(pool.get().isClosed()).as("the pool closed with the context").isTrue();
    assertThat(atPoolClose.get()).isEqualTo("closed=true delivered=100000");
    assertThat(expected.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(100_000);
    Map<String, Long> stored;
    try (Connection c = DriverManager.getConnection(url, "sa", "")) {
      stored = read(c, "page_views");
    }
    assertThat(stored).isEqualTo(expected);
  }

  static Map<String, Long> read(DataSource dataSource, String table) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return read(c, table);
    }
  }

  static Map<String, Long> read(Connection c, String table) throws SQLException {
    Map<String, Long> rows = new HashMap<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT page, views FROM " + table)) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getLong(2));
      }
    }
    return rows;
  }
}
