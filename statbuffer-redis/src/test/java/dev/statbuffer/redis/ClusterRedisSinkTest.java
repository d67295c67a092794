package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.testing.TestBatch;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sink on a three-node Redis Cluster that this class starts on free loopback ports and stops
 * afterwards (also when a test fails). Needs {@code redis-server} and {@code redis-cli}: the tests
 * fail, not skip, without them.
 */
class ClusterRedisSinkTest extends RedisSinkTestBase {
  private static RedisTestCluster cluster;
  private static RedisClusterClient client;
  private static StatefulRedisClusterConnection<String, String> admin;
  /** One standalone connection per node, to cut that node's clients. */
  private static final List<RedisClient> nodeClients = new ArrayList<>();
  private static final List<StatefulRedisConnection<String, String>> nodes = new ArrayList<>();
  private static final AtomicInteger nextNode = new AtomicInteger();

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = RedisTestCluster.start();
    client = cluster.newClient();
    admin = client.connect();
    for (var uri : cluster.uris()) {
      RedisClient nodeClient = RedisClient.create(uri);
      nodeClients.add(nodeClient);
      nodes.add(nodeClient.connect());
    }
  }

  @AfterAll
  static void stopCluster() {
    try {
      nodes.forEach(StatefulRedisConnection::close);
      nodeClients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(5)));
    } finally {
      RedisTestCluster.stop(cluster, client, admin);
    }
  }

  @Override
  public <K> RedisSink.Builder<K> newBuilder() {
    return RedisSink.<K>builder(client);
  }

  @Override
  public RedisClusterCommands<String, String> admin() {
    return admin.sync();
  }

  /** Cuts every client of one node (the nodes take turns): the cluster belongs to this test. */
  @Override
  protected long cutConnections(String clientName) {
    StatefulRedisConnection<String, String> node =
        nodes.get(Math.floorMod(nextNode.getAndIncrement(), nodes.size()));
    return node.sync().clientKill(KillArgs.Builder.typeNormal().skipme());
  }

  private static String nodeOf(String key) {
    var node = admin.getPartitions().getPartitionBySlot(SlotHash.getSlot(key));
    return node.getUri().getHost() + ":" + node.getUri().getPort();
  }

  @Test
  void batchSpanningAllNodes_oneRoundTripPerNode_oneCommandPerSlot() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = newSink(ns);
    Map<String, Long> counts = new LinkedHashMap<>();
    Set<Integer> slots = new HashSet<>();
    Set<String> nodesHit = new HashSet<>();
    for (int i = 0; i < 3000; i++) {
      counts.put("k" + i, i == 1500 ? 1L : (long) (i - 1500));
      slots.add(SlotHash.getSlot(key(ns, "k" + i)));
      nodesHit.add(nodeOf(key(ns, "k" + i)));
    }
    assertThat(nodesHit).hasSize(3);
    TestBatch<String> batch = TestBatch.of(counts);
    sink.flush(batch);

    RedisSinkStats stats = sink.stats();
    assertThat(stats.roundTrips()).isEqualTo(3);
    assertThat(stats.commands()).isEqualTo(slots.size());
    assertThat(stats.appliedParts()).isEqualTo(slots.size());
    assertThat(stats.increments()).isEqualTo(3000);
    for (int i = 0; i < 3000; i += 97) {
      assertThat(readTotal(ns, "k" + i)).isEqualTo(counts.get("k" + i));
    }
    // Every node holds counters and markers of this batch.
    for (StatefulRedisConnection<String, String> node : nodes) {
      assertThat(node.sync().keys("statbuffer:batch:*" + batch.id())).isNotEmpty();
    }

    sink.flush(batch.retry());
    assertThat(sink.stats().skippedParts()).isEqualTo(slots.size());
    assertThat(readTotal(ns, "k0")).isEqualTo(-1500);
  }

  @Test
  void markers_liveInTheSlotOfTheirCounters() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = newSink(ns);
    TestBatch<String> batch = TestBatch.of(Map.of("a", 1L, "b", 2L, "c", 3L));
    sink.flush(batch);
    Set<Integer> counterSlots = new HashSet<>();
    for (String k : List.of("a", "b", "c")) {
      counterSlots.add(SlotHash.getSlot(key(ns, k)));
    }
    Set<Integer> markerSlots = new HashSet<>();
    for (StatefulRedisConnection<String, String> node : nodes) {
      for (String marker : node.sync().keys("statbuffer:batch:*" + batch.id())) {
        markerSlots.add(SlotHash.getSlot(marker));
        assertThat(node.sync().pttl(marker)).isBetween(1L, Duration.ofHours(1).toMillis());
      }
    }
    assertThat(markerSlots).isEqualTo(counterSlots);
  }

  /**
   * The first attempt applies every slot's part but one, which fails transiently (its marker key
   * is made unreadable, so the script fails before writing); another slot holds a poison key.
   * The attempt throws the transient failure, so the buffer would retry; the retry, after the
   * failing slot is healed, applies only that part, and reports the poison key, recorded by its
   * part's marker on the first attempt: each slot's part exactly once, rejections merged.
   */
  @Test
  void retryAfterPartialFirstAttempt_eachSlotAppliedOnce() throws Exception {
    long seed = System.nanoTime();
    SplittableRandom random = new SplittableRandom(seed);
    String ns = newNamespace();
    RedisSink<String> sink = newSink(ns);
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 200; i++) {
      counts.put("k" + i, 1L + random.nextInt(100));
    }
    String stuckKey = "k" + random.nextInt(200);
    int stuckSlot = SlotHash.getSlot(key(ns, stuckKey));
    String poisonKey = stuckKey;
    while (SlotHash.getSlot(key(ns, poisonKey)) == stuckSlot) {
      poisonKey = "k" + random.nextInt(200);
    }
    admin().sadd(key(ns, poisonKey), "not a counter");
    admin().expire(key(ns, poisonKey), 3600);
    TestBatch<String> batch = TestBatch.of(counts);
    String stuckMarker = sink.markerKey(stuckSlot, batch.id());
    admin().rpush(stuckMarker, "not a marker");
    admin().expire(stuckMarker, 3600);

    assertThatThrownBy(() -> sink.flush(batch))
        .as("seed %d", seed)
        .isInstanceOfSatisfying(RedisSinkException.class, e -> {
          assertThat(e.failures()).hasSize(1);
          assertThat(e.failures().get(0).slot()).isEqualTo(stuckSlot);
          assertThat(e.failures().get(0).node()).isEqualTo(nodeOf(key(ns, stuckKey)));
          assertThat(e.getMessage()).contains("slot " + stuckSlot, "WRONGTYPE");
        });
    int parts = (int) sink.stats().commands();
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      boolean applied = SlotHash.getSlot(key(ns, e.getKey())) != stuckSlot
          && !e.getKey().equals(poisonKey);
      if (!e.getKey().equals(poisonKey)) {
        assertThat(readTotal(ns, e.getKey())).as("seed %d key %s", seed, e.getKey())
            .isEqualTo(applied ? e.getValue() : 0);
      }
    }

    admin().del(stuckMarker);
    admin().del(key(ns, poisonKey)); // fixed, but its part's marker already recorded the refusal
    String poison = poisonKey;
    assertThatThrownBy(() -> sink.flush(batch.retry()))
        .as("seed %d", seed)
        .isInstanceOfSatisfying(RejectedKeysException.class, e -> {
          assertThat(e.rejections()).hasSize(1);
          assertThat(e.rejections().get(0).key()).isEqualTo(poison);
          assertThat(e.rejections().get(0).id())
              .startsWith(batch.id() + "-" + SlotHash.getSlot(key(ns, poison)) + "-d");
        });
    assertThat(sink.stats().appliedParts()).as("seed %d", seed).isEqualTo(parts);
    assertThat(sink.stats().skippedParts()).as("seed %d", seed).isEqualTo(parts - 1);
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      assertThat(readTotal(ns, e.getKey())).as("seed %d key %s", seed, e.getKey())
          .isEqualTo(e.getKey().equals(poisonKey) ? 0 : e.getValue());
    }
  }

  @Test
  void scriptCacheFlushed_partsResentWithScript() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = newSink(ns);
    for (StatefulRedisConnection<String, String> node : nodes) {
      node.sync().scriptFlush();
    }
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 100; i++) {
      counts.put("k" + i, 2L);
    }
    sink.flush(TestBatch.of(counts));
    RedisSinkStats stats = sink.stats();
    assertThat(stats.failedBatches()).isZero();
    assertThat(stats.commands()).isEqualTo(2 * stats.appliedParts());
    assertThat(stats.roundTrips()).isEqualTo(6);
    assertThat(readTotal(ns, "k42")).isEqualTo(2);
  }

  /**
   * One node is paused longer than the sink's timeout: the flush fails naming that node and the
   * timeout; the queued parts still run when the pause ends, and the retry applies nothing twice.
   */
  @Test
  void nodePaused_partsTimeOut_errorNamesNode_retryAppliesOnce() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = track(RedisSink.<String>builder(client)
        .keyMapper(k -> key(ns, k))
        .expireAfter(Duration.ofHours(1))
        .timeout(Duration.ofMillis(300))
        .build());
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 300; i++) {
      counts.put("k" + i, 3L);
    }
    TestBatch<String> batch = TestBatch.of(counts);
    String paused = "127.0.0.1:" + cluster.ports().get(0);
    nodes.get(0).sync().clientPause(1000);
    long pausedAt = System.nanoTime();

    assertThatThrownBy(() -> sink.flush(batch))
        .isInstanceOfSatisfying(RedisSinkException.class, e -> {
          assertThat(e.failures()).isNotEmpty().allSatisfy(f -> {
            assertThat(f.node()).isEqualTo(paused);
            assertThat(f.reply()).isEqualTo("no reply within PT0.3S");
          });
          assertThat(e.getMessage()).contains("node " + paused, "no reply within PT0.3S");
        });
    Thread.sleep(Math.max(0, 1200 - (System.nanoTime() - pausedAt) / 1_000_000));
    sink.flush(batch.retry());
    for (int i = 0; i < 300; i += 7) {
      assertThat(readTotal(ns, "k" + i)).isEqualTo(3);
    }
  }
}
