package dev.statbuffer.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.redis.RedisSink;
import dev.statbuffer.testing.ManualClock;
import dev.statbuffer.testing.TestBatch;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Redis sink's meters after real flushes into the standalone Redis server at
 * 127.0.0.1:6379, which must be running (like the statbuffer-redis tests: they fail, not skip,
 * when it is not). Test keys live under {@code sbtest:} and expire within an hour.
 */
class RedisSinkMetricsTest {
  private static RedisClient client;

  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeAll
  static void connect() {
    client = RedisClient.create(RedisURI.create("127.0.0.1", 6379));
  }

  @AfterAll
  static void shutdown() {
    client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
  }

  private double counter(String name, String... tags) {
    return registry.get(name).tags("buffer", "pages", "sink", "redis").tags(tags)
        .functionCounter().count();
  }

  @Test
  void meters_moveAfterARealFlushIntoRedis() throws Exception {
    String namespace = "sbtest:micrometer:" + UUID.randomUUID() + ":";
    try (RedisSink<String> sink = RedisSink.<String>builder(client)
        .keyMapper(page -> namespace + page)
        .expireAfter(Duration.ofHours(1))
        .build()) {
      try (StatBuffer<String> buffer = StatBuffer.newBuilder()
          .name("pages")
          .ticker(clock)
          .scheduler(clock)
          .executor(Runnable::run)
          .shutdownHook(false)
          .interval(Duration.ofSeconds(5))
          .buildBatched(sink)) {
        new RedisSinkMetrics(buffer.name(), sink).bindTo(registry);
        assertThat(registry.getMeters().stream().map(m -> m.getId().getName()).distinct())
            .containsExactlyInAnyOrder("statbuffer.sink.flushes", "statbuffer.sink.failures",
                "statbuffer.sink.round.trips", "statbuffer.sink.commands",
                "statbuffer.sink.parts", "statbuffer.sink.increments", "statbuffer.sink.rejected");
        for (Meter meter : registry.getMeters()) {
          assertThat(meter.getId().getTags()).contains(Tag.of("buffer", "pages"),
              Tag.of("sink", "redis"));
        }
        buffer.increment("/home", 3);
        buffer.increment("/pricing");

        clock.advance(Duration.ofMillis(5_010)); // one batch: one round trip, one script call
        assertThat(counter("statbuffer.sink.flushes")).isEqualTo(1);
        assertThat(counter("statbuffer.sink.failures")).isZero();
        assertThat(counter("statbuffer.sink.round.trips")).isEqualTo(1);
        assertThat(counter("statbuffer.sink.commands")).isEqualTo(1);
        assertThat(counter("statbuffer.sink.parts", "outcome", "applied")).isEqualTo(1);
        assertThat(counter("statbuffer.sink.increments")).isEqualTo(2);

        // A retry of an applied batch: found through its marker, not applied again.
        TestBatch<String> batch = TestBatch.of(Map.of("/about", 2L));
        sink.flush(batch);
        sink.flush(batch.retry());
        assertThat(counter("statbuffer.sink.flushes")).isEqualTo(3);
        assertThat(counter("statbuffer.sink.parts", "outcome", "applied")).isEqualTo(2);
        assertThat(counter("statbuffer.sink.parts", "outcome", "duplicate")).isEqualTo(1);
        assertThat(counter("statbuffer.sink.parts", "outcome", "failure")).isZero();
        assertThat(counter("statbuffer.sink.increments")).isEqualTo(3);
        assertThat(counter("statbuffer.sink.round.trips"))
            .isEqualTo(sink.stats().roundTrips()).isEqualTo(3);
        assertThat(counter("statbuffer.sink.rejected")).isZero();

        // A counter holding text: refused for good, the rest of the batch applied.
        try (var connection = client.connect()) {
          connection.sync().setex(namespace + "/text", 3600, "abc");
        }
        TestBatch<String> poisoned = TestBatch.of(Map.of("/text", 1L, "/fine", 4L));
        assertThatThrownBy(() -> sink.flush(poisoned)).isInstanceOf(RejectedKeysException.class);
        assertThat(counter("statbuffer.sink.rejected")).isEqualTo(1);
        assertThat(counter("statbuffer.sink.increments")).isEqualTo(4);
      }
    }
  }
}
