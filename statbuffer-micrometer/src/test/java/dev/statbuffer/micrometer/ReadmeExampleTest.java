package dev.statbuffer.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import dev.statbuffer.jdbc.JdbcSink;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/** The README's example, compiled and run on H2 with the buffer's own threads and timer. */
class ReadmeExampleTest {

  @Test
  void readme_example_bindsAndMeasures() throws Exception {
    JdbcDataSource h2 = new JdbcDataSource();
    h2.setURL("jdbc:h2:mem:statbuffer-micrometer-readme;DB_CLOSE_DELAY=-1");
    DataSource dataSource = h2;

    // As in README.md, plus shutdownHook(false) and createTables().
    MeterRegistry registry = new SimpleMeterRegistry();   // your Prometheus, OTLP, ... registry

    JdbcSink<String> sink = JdbcSink.<String>builder(dataSource)
        .table("page_views").keyColumns("page").countColumn("views")
        .build();
    sink.createTables();
    StatBuffer<String> views = StatBuffer.newBuilder()
        .name("page-views")                                // the buffer tag
        .listener(StatBufferMetrics.listener(registry))    // statbuffer.handler timers
        .shutdownHook(false)
        .buildBatched(sink);

    new StatBufferMetrics(views).bindTo(registry);         // the buffer's gauges and counters
    new JdbcSinkMetrics(views.name(), sink).bindTo(registry);

    try (views) {
      views.increment("/home");
      views.increment("/home");
      views.flushAll().join(); // completes after the listener heard of the delivery
      assertThat(registry.get("statbuffer.delivered").tag("buffer", "page-views")
          .functionCounter().count()).isEqualTo(2);
      assertThat(registry.get("statbuffer.handler")
          .tags("buffer", "page-views", "outcome", "success").timer().count()).isEqualTo(1);
      assertThat(registry.get("statbuffer.sink.rows").tags("buffer", "page-views", "sink", "jdbc")
          .functionCounter().count()).isEqualTo(1);
    }
  }
}
