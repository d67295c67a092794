package dev.statbuffer.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The JDBC sink on the real PostgreSQL at 127.0.0.1:5432 (database test, user postgres): the
 * tables created at start-up, and every count in them after the context (and its Hikari pool)
 * closed. Fails, never skips, without the server.
 */
class PostgresStarterTest {
  private static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private final String table = "sb_starter_" + UUID.randomUUID().toString().replace("-", "")
      .substring(0, 12);

  @AfterEach
  void dropTables() throws Exception {
    try (Connection c = DriverManager.getConnection(URL, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
      s.execute("DROP TABLE IF EXISTS " + table + "_ledger");
    }
  }

  @Test
  void contextCloseDeliversEverythingIntoPostgres() throws Exception {
    Map<String, Long> expected = new HashMap<>();
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
            StatBufferAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + URL,
            "spring.datasource.username=postgres",
            "statbuffer.buffers.page-views.interval=1h",
            "statbuffer.buffers.page-views.sink.type=jdbc",
            "statbuffer.buffers.page-views.sink.table=" + table,
            "statbuffer.buffers.page-views.sink.key-columns=page",
            "statbuffer.buffers.page-views.sink.count-column=views",
            "statbuffer.buffers.page-views.sink.key-column-types=TEXT",
            "statbuffer.buffers.page-views.sink.create-tables=true")
        .run(context -> {
          assertThat(context).hasNotFailed();
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          for (int i = 0; i < 20_000; i++) {
            String page = "/p/" + (i % 300);
            assertThat(views.increment(page)).isTrue();
            expected.merge(page, 1L, Long::sum);
          }
        });
    Map<String, Long> stored = new HashMap<>();
    try (Connection c = DriverManager.getConnection(URL, "postgres", "");
        Statement s = c.createStatement();
        var rs = s.executeQuery("SELECT page, views FROM " + table)) {
      while (rs.next()) {
        stored.put(rs.getString(1), rs.getLong(2));
      }
    }
    assertThat(stored).isEqualTo(expected);
  }

  @Test
  void missingTableFailsStartupOnPostgres() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
            StatBufferAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + URL,
            "spring.datasource.username=postgres",
            "statbuffer.buffers.page-views.sink.type=jdbc",
            "statbuffer.buffers.page-views.sink.table=" + table,
            "statbuffer.buffers.page-views.sink.key-columns=page",
            "statbuffer.buffers.page-views.sink.count-column=views")
        .run(context -> {
          StatBufferConfigurationException e = BufferPropertiesTest.configFailure(
              context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.create-tables");
        });
  }
}
