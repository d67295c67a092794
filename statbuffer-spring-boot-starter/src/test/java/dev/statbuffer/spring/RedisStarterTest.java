package dev.statbuffer.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The Redis sink on the Redis at 127.0.0.1:6379, through Spring Boot's Lettuce connection
 * factory: string and hash counters, meters, and every count in Redis after the context (and
 * its Redis client) closed. Keys carry a prefix unique to the run and are deleted afterwards, as
 * are the sink's batch markers. Fails, never skips, without the server.
 */
class RedisStarterTest {
  private final String run = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  private final String prefix = "statbuffer-starter-test:" + run + ":";
  /** The buffer's name is in the marker keys: unique too, so cleaning up touches nobody else. */
  private final String buffer = "views-" + run;

  private RedisClient client;
  private StatefulRedisConnection<String, String> connection;
  private RedisCommands<String, String> redis;

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
          StatBufferAutoConfiguration.class))
      .withPropertyValues("spring.data.redis.host=127.0.0.1", "spring.data.redis.port=6379",
          "statbuffer.buffers." + buffer + ".interval=1h",
          "statbuffer.buffers." + buffer + ".sink.type=redis");

  @BeforeEach
  void connect() {
    client = RedisClient.create("redis://127.0.0.1:6379");
    connection = client.connect();
    redis = connection.sync();
  }

  @AfterEach
  void cleanUp() {
    try {
      List<String> keys = new ArrayList<>(redis.keys(prefix + "*"));
      keys.addAll(redis.keys("statbuffer:batch:" + buffer + ":*"));
      if (!keys.isEmpty()) {
        redis.del(keys.toArray(new String[0]));
      }
    } finally {
      connection.close();
      client.shutdown();
    }
  }

  @Test
  void stringCountersAreAllThereAfterTheContextCloses() {
    Map<String, Long> expected = new HashMap<>();
    runner.withPropertyValues("statbuffer.buffers." + buffer + ".sink.key-prefix=" + prefix,
        "statbuffer.buffers." + buffer + ".sink.expire-after=10m").run(context -> {
          assertThat(context).hasNotFailed();
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean(buffer, StatBuffer.class);
          for (int i = 0; i < 10_000; i++) {
            String page = "/p/" + (i % 100);
            assertThat(views.increment(page)).isTrue();
            expected.merge(page, 1L, Long::sum);
          }
          assertThat(redis.get(prefix + "/p/0")).isNull(); // an hour to go
        });
    for (Map.Entry<String, Long> e : expected.entrySet()) {
      assertThat(redis.get(prefix + e.getKey())).as(e.getKey())
          .isEqualTo(String.valueOf(e.getValue()));
    }
    assertThat(redis.ttl(prefix + "/p/0")).isPositive();
    assertThat(redis.keys("statbuffer:batch:" + buffer + ":*")).as("markers named after the"
        + " buffer").isNotEmpty();
  }

  @Test
  void hashCountersAndMeters() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    runner.withBean(MeterRegistry.class, () -> registry)
        .withPropertyValues("statbuffer.buffers." + buffer + ".sink.hash=" + prefix + "views")
        .run(context -> {
          assertThat(context).hasNotFailed();
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean(buffer, StatBuffer.class);
          views.increment("/home", 3);
          views.increment("/docs", 2);
          views.flushAll().get(10, TimeUnit.SECONDS);
          assertThat(redis.hgetall(prefix + "views"))
              .containsExactlyInAnyOrderEntriesOf(Map.of("/home", "3", "/docs", "2"));
          assertThat(registry.get("statbuffer.sink.increments").tag("buffer", buffer)
              .tag("sink", "redis").functionCounter().count()).isEqualTo(2.0);
        });
  }

  @Test
  void bothOrNeitherOfKeyPrefixAndHashFailsStartup() {
    runner.run(context -> {
      StatBufferConfigurationException e = BufferPropertiesTest.configFailure(
          context.getStartupFailure());
      assertThat(e.property()).isEqualTo("statbuffer.buffers." + buffer + ".sink.key-prefix");
      assertThat(e.getMessage()).contains("neither");
    });
    runner.withPropertyValues("statbuffer.buffers." + buffer + ".sink.key-prefix=a:",
        "statbuffer.buffers." + buffer + ".sink.hash=b").run(context -> {
          StatBufferConfigurationException e = BufferPropertiesTest.configFailure(
              context.getStartupFailure());
          assertThat(e.getMessage()).contains("together with");
        });
  }

  @Test
  void unreachableRedisFailsStartup() {
    runner.withPropertyValues("spring.data.redis.port=1", "spring.data.redis.timeout=2s",
        "spring.data.redis.connect-timeout=2s",
        "statbuffer.buffers." + buffer + ".sink.key-prefix=" + prefix).run(context -> {
          StatBufferConfigurationException e = BufferPropertiesTest.configFailure(
              context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers." + buffer + ".sink.type");
          assertThat(e.getMessage()).contains("could not connect to Redis")
              .contains("spring.data.redis");
        });
  }
}
