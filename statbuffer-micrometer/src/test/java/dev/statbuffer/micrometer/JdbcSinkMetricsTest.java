package dev.statbuffer.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.StatBuffer;
import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.testing.ManualClock;
import dev.statbuffer.testing.TestBatch;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/** The JDBC sink's meters after real flushes into H2 in memory. */
class JdbcSinkMetricsTest {
  private static final AtomicInteger TABLES = new AtomicInteger();

  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final DataSource dataSource = h2();

  private static DataSource h2() {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL("jdbc:h2:mem:statbuffer-micrometer;DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=10000");
    return ds;
  }

  private static String newTable() {
    return "page_views_" + TABLES.incrementAndGet();
  }

  private JdbcSink<String> sink(String table) {
    return JdbcSink.<String>builder(dataSource)
        .table(table).keyColumns("page").countColumn("views")
        .build();
  }

  private double counter(String name, String buffer, String... tags) {
    return registry.get(name).tags("buffer", buffer, "sink", "jdbc").tags(tags)
        .functionCounter().count();
  }

  private long stored(String table, String page) throws SQLException {
    try (Connection c = dataSource.getConnection();
         PreparedStatement s = c.prepareStatement(
             "SELECT views FROM " + table + " WHERE page = ?")) {
      s.setString(1, page);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  @Test
  void meters_moveAfterARealFlushIntoH2() throws Exception {
    String table = newTable();
    JdbcSink<String> sink = sink(table);
    sink.createTables();
    try (StatBuffer<String> buffer = StatBuffer.newBuilder()
        .name("pages")
        .ticker(clock)
        .scheduler(clock)
        .executor(Runnable::run)
        .shutdownHook(false)
        .interval(Duration.ofSeconds(5))
        .buildBatched(sink)) {
      new StatBufferMetrics(buffer).bindTo(registry);
      new JdbcSinkMetrics(buffer.name(), sink).bindTo(registry);
      double statementsBefore = counter("statbuffer.sink.statements", "pages");
      buffer.increment("/home", 3);
      buffer.increment("/pricing");
      buffer.increment("/home");
      assertThat(counter("statbuffer.sink.flushes", "pages")).isZero();

      clock.advance(Duration.ofMillis(5_010)); // one batch, flushed into H2 on this thread
      assertThat(stored(table, "/home")).isEqualTo(4);
      assertThat(stored(table, "/pricing")).isEqualTo(1);
      assertThat(counter("statbuffer.sink.flushes", "pages")).isEqualTo(1);
      assertThat(counter("statbuffer.sink.failures", "pages")).isZero();
      assertThat(counter("statbuffer.sink.batches", "pages", "outcome", "applied")).isEqualTo(1);
      assertThat(counter("statbuffer.sink.batches", "pages", "outcome", "duplicate")).isZero();
      assertThat(counter("statbuffer.sink.rows", "pages")).isEqualTo(2);
      assertThat(counter("statbuffer.sink.statements", "pages"))
          .isGreaterThan(statementsBefore)
          .isEqualTo(sink.stats().statements());
      assertThat(counter("statbuffer.sink.ledger.pruned", "pages"))
          .isEqualTo(sink.stats().prunedLedgerRows());
      assertThat(registry.get("statbuffer.delivered").tag("buffer", "pages").functionCounter()
          .count()).isEqualTo(5);

      // A retry of a committed batch: acknowledged through the ledger, not written again.
      TestBatch<String> batch = TestBatch.of(Map.of("/about", 2L));
      sink.flush(batch);
      sink.flush(batch.retry());
      assertThat(stored(table, "/about")).isEqualTo(2);
      assertThat(counter("statbuffer.sink.flushes", "pages")).isEqualTo(3);
      assertThat(counter("statbuffer.sink.batches", "pages", "outcome", "applied")).isEqualTo(2);
      assertThat(counter("statbuffer.sink.batches", "pages", "outcome", "duplicate"))
          .isEqualTo(1);
      assertThat(counter("statbuffer.sink.rows", "pages")).isEqualTo(3);
    }
  }

  @Test
  void failures_countCallsThatThrew() {
    JdbcSink<String> sink = sink(newTable()); // no createTables: the table is missing
    new JdbcSinkMetrics("broken", sink).bindTo(registry);
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("/home", 1L))))
        .isInstanceOf(SQLException.class);
    assertThat(counter("statbuffer.sink.failures", "broken")).isEqualTo(1);
    assertThat(counter("statbuffer.sink.flushes", "broken")).isEqualTo(1);
    assertThat(counter("statbuffer.sink.batches", "broken", "outcome", "applied")).isZero();
  }

  @Test
  void bindTo_everyMeterTaggedWithBufferSinkAndExtraTags() {
    JdbcSink<String> sink = sink(newTable());
    new JdbcSinkMetrics("pages", sink, Tags.of("table", "page_views")).bindTo(registry);
    assertThat(registry.getMeters().stream().map(m -> m.getId().getName()).distinct())
        .containsExactlyInAnyOrder("statbuffer.sink.flushes", "statbuffer.sink.failures",
            "statbuffer.sink.batches", "statbuffer.sink.rows", "statbuffer.sink.statements",
            "statbuffer.sink.ledger.pruned", "statbuffer.sink.rejected");
    assertThat(registry.getMeters()).hasSize(8);
    for (Meter meter : registry.getMeters()) {
      assertThat(meter.getId().getTags()).contains(Tag.of("buffer", "pages"),
          Tag.of("sink", "jdbc"), Tag.of("table", "page_views"));
    }
  }

  @Test
  void nullArguments_throwNamingTheParameter() {
    JdbcSink<String> sink = sink(newTable());
    assertThatThrownBy(() -> new JdbcSinkMetrics(null, sink)).hasMessage("buffer");
    assertThatThrownBy(() -> new JdbcSinkMetrics("pages", null)).hasMessage("sink");
    assertThatThrownBy(() -> new JdbcSinkMetrics("pages", sink, null)).hasMessage("extraTags");
    assertThatThrownBy(() -> new JdbcSinkMetrics("pages", sink).bindTo(null))
        .hasMessage("registry");
  }
}
