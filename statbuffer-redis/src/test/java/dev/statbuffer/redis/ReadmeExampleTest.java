package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The README's example, compiled and run against 127.0.0.1:6379 so that it cannot rot. */
class ReadmeExampleTest {

  record PageDay(String page, String day) {}

  @Test
  void readmeExample_countsPageViews() {
    String ns = "sbtest:readme" + Long.toString(System.nanoTime(), 36) + ":";
    RedisClient redisClient = RedisClient.create("redis://127.0.0.1:6379");
    try (StatefulRedisConnection<String, String> check = redisClient.connect()) {
      // --- README ---
      RedisSink<String> sink = RedisSink.<String>builder(redisClient)
          .keyMapper(page -> ns + "views:" + page)
          .expireAfter(Duration.ofMinutes(10)) // (not in the README: keeps the test server clean)
          .build();
      StatBuffer<String> views = StatBuffer.newBuilder().shutdownHook(false).buildBatched(sink);

      RedisSink<PageDay> daily = RedisSink.<PageDay>builder(redisClient)
          .hashMapper(k -> ns + "views:" + k.day(), k -> k.page())
          .expireAfter(Duration.ofDays(30))
          .build();
      StatBuffer<PageDay> dailyViews =
          StatBuffer.newBuilder().shutdownHook(false).buildBatched(daily);

      views.increment("home");
      views.increment("home");
      dailyViews.increment(new PageDay("home", "2024-05-01"));
      views.close();
      dailyViews.close();
      sink.close();
      daily.close();
      // --- end ---
      assertThat(check.sync().get(ns + "views:home")).isEqualTo("2");
      assertThat(check.sync().hget(ns + "views:2024-05-01", "home")).isEqualTo("1");
      check.sync().del(ns + "views:2024-05-01");
    } finally {
      redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(5));
    }
  }
}
