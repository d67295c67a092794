package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.TestBatch;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sink on the standalone Redis server at 127.0.0.1:6379, which must be running: the tests
 * fail, not skip, when it is not. Test keys live under {@code sbtest:} and expire within an hour.
 */
class StandaloneRedisSinkTest extends RedisSinkTestBase {
  static final RedisURI URI = RedisURI.create("127.0.0.1", 6379);
  private static RedisClient client;
  private static StatefulRedisConnection<String, String> admin;

  @BeforeAll
  static void connect() {
    client = RedisClient.create(URI);
    admin = client.connect(); // fails the tests when no server runs at 127.0.0.1:6379
  }

  @AfterAll
  static void shutdown() {
    if (admin != null) {
      admin.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
  }

  @Override
  public <K> RedisSink.Builder<K> newBuilder() {
    return RedisSink.<K>builder(client);
  }

  @Override
  public RedisClusterCommands<String, String> admin() {
    return admin.sync();
  }

  /** Kills only the named sink's connection: the server is shared with other tests. */
  @Override
  protected long cutConnections(String clientName) {
    long cut = 0;
    for (String line : admin.sync().clientList().split("\n")) {
      if (line.contains(" name=" + clientName + " ")) {
        String id = line.substring(line.indexOf("id=") + 3, line.indexOf(' '));
        cut += admin.sync().clientKill(KillArgs.Builder.id(Long.parseLong(id)));
      }
    }
    return cut;
  }

  @Test
  void largeBatch_oneRoundTripOneCommand() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = newSink(ns);
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 1000; i++) {
      counts.put("k" + i, (long) i + 1);
    }
    sink.flush(TestBatch.of(counts));
    RedisSinkStats stats = sink.stats();
    assertThat(stats.roundTrips()).isEqualTo(1);
    assertThat(stats.commands()).isEqualTo(1);
    assertThat(stats.appliedParts()).isEqualTo(1);
    assertThat(stats.increments()).isEqualTo(1000);
    assertThat(readTotal(ns, "k999")).isEqualTo(1000);
    assertThat(sink.toString()).contains("standalone 127.0.0.1:6379");
  }

  @Test
  void markerKey_setWithTtl() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = track(RedisSink.<String>builder(client)
        .keyMapper(k -> key(ns, k))
        .expireAfter(java.time.Duration.ofHours(1))
        .markerPrefix("sbtest:" + ns + ":batch:")
        .markerTtl(java.time.Duration.ofMinutes(5))
        .build());
    TestBatch<String> batch = TestBatch.of(Map.of("a", 1L));
    sink.flush(batch);
    assertThat(sink.markerKey(-1, batch.id()))
        .isEqualTo("sbtest:" + ns + ":batch:default:" + batch.id());
    assertThat(admin().pttl("sbtest:" + ns + ":batch:default:" + batch.id()))
        .isBetween(1L, 300_000L);
  }
}
