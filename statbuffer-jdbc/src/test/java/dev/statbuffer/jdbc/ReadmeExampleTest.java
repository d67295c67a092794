package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The README's examples, compiled and run (on H2), so they cannot rot. */
class ReadmeExampleTest {
  private final DataSource dataSource = Databases.h2();

  record PageDay(long pageId, LocalDate day) {}

  @Test
  void readme_simpleAndCompositeExamples_work() throws Exception {
    Databases.drop(dataSource, "page_views", "daily_views", "page_views_ledger",
        "daily_views_ledger");
    try {
      JdbcSink<String> sink = JdbcSink.<String>builder(dataSource)
          .table("page_views").keyColumns("page").countColumn("views")
          .build();
      sink.createTables();
      try (StatBuffer<String> views = StatBuffer.newBuilder()
          .interval(Duration.ofSeconds(5))
          .shutdownHook(false)
          .buildBatched(sink)) {
        views.increment("/home");
        views.increment("/home");
      }

      JdbcSink<PageDay> daily = JdbcSink.<PageDay>builder(dataSource)
          .table("daily_views").keyColumns("page_id", "day").countColumn("views")
          .keyMapper(k -> new Object[] {k.pageId(), k.day()})
          .keyColumnTypes("BIGINT", "DATE")
          .build();
      daily.createTables();
      try (StatBuffer<PageDay> buffer = StatBuffer.newBuilder().shutdownHook(false)
          .buildBatched(daily)) {
        buffer.increment(new PageDay(7, LocalDate.of(2024, 1, 1)), 3);
      }

      try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT views FROM page_views WHERE page = '/home'")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getLong(1)).isEqualTo(2);
        }
        try (ResultSet rs = s.executeQuery("SELECT views FROM daily_views WHERE page_id = 7")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getLong(1)).isEqualTo(3);
        }
      }
      assertThat(sink.stats().applied()).isEqualTo(1);
    } finally {
      Databases.drop(dataSource, "page_views", "daily_views", "page_views_ledger",
        "daily_views_ledger");
    }
  }
}
