package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.StatBuffer;
import dev.statbuffer.testing.SinkContract;
import dev.statbuffer.testing.TestBatch;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sink contract plus the tests every Redis deployment runs: hash counters with TTL, bad keys
 * ({@link BadKeysContract}), exactly-once off, close, and a fault test in which the sink's
 * connections are cut again and again while a buffer keeps flushing.
 */
abstract class RedisSinkTestBase extends SinkContract
    implements BadKeysContract, NumberedBatchesContract {
  private final List<RedisSink<?>> sinks = new CopyOnWriteArrayList<>();

  /** A builder on the deployment under test. */
  @Override
  public abstract <K> RedisSink.Builder<K> newBuilder();

  /** A synchronous connection for checks, routed by key on a cluster. */
  @Override
  public abstract RedisClusterCommands<String, String> admin();

  @Override
  public String newNamespace() {
    return super.newNamespace();
  }

  /**
   * Cuts connections of the sink named {@code clientName} (on a cluster: every client of one
   * node, the nodes in turn) and returns how many were cut.
   */
  protected abstract long cutConnections(String clientName) throws Exception;

  /** The counter key of {@code key} in {@code namespace}; tests' keys expire within an hour. */
  static String key(String namespace, String key) {
    return "sbtest:" + namespace + ":" + key;
  }

  /** Closes {@code sink} after the test. */
  @Override
  public <K> RedisSink<K> track(RedisSink<K> sink) {
    sinks.add(sink);
    return sink;
  }

  @AfterEach
  void closeSinks() {
    for (RedisSink<?> sink : sinks) {
      sink.close();
    }
    sinks.clear();
  }

  @Override
  protected RedisSink<String> newSink(String namespace) {
    return track(this.<String>newBuilder()
        .keyMapper(k -> key(namespace, k))
        .expireAfter(Duration.ofHours(1))
        .build());
  }

  @Override
  protected long readTotal(String namespace, String key) {
    String value = admin().get(key(namespace, key));
    return (value == null) ? 0 : Long.parseLong(value);
  }

  record PageDay(String page, String day) {}

  @Test
  void hashMapper_expireAfter_countsInHashFieldsWithTtl() throws Exception {
    String ns = newNamespace();
    RedisSink<PageDay> sink = track(this.<PageDay>newBuilder()
        .hashMapper(k -> key(ns, "views:" + k.day()), PageDay::page)
        .expireAfter(Duration.ofMinutes(10))
        .build());
    Map<PageDay, Long> first = new LinkedHashMap<>();
    first.put(new PageDay("home", "d1"), 5L);
    first.put(new PageDay("about", "d1"), 2L);
    first.put(new PageDay("home", "d2"), -3L);
    sink.flush(TestBatch.of(first));
    sink.flush(TestBatch.of(Map.of(new PageDay("home", "d1"), 1L)));

    assertThat(admin().hgetall(key(ns, "views:d1"))).containsOnly(
        Map.entry("home", "6"), Map.entry("about", "2"));
    assertThat(admin().hgetall(key(ns, "views:d2"))).containsOnly(Map.entry("home", "-3"));
    assertThat(admin().pttl(key(ns, "views:d1"))).isBetween(1L, 600_000L);
    assertThat(admin().pttl(key(ns, "views:d2"))).isBetween(1L, 600_000L);
  }

  @Test
  void keyMapper_expireAfter_ttlSetOnEveryWrite() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = newSink(ns);
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    admin().persist(key(ns, "a"));
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    assertThat(admin().pttl(key(ns, "a"))).isBetween(1L, Duration.ofHours(1).toMillis());
    assertThat(readTotal(ns, "a")).isEqualTo(2);
  }

  /**
   * Regression: TTLs near Long.MAX_VALUE ms passed the builder, then Redis rejected PEXPIRE /
   * SET PX after the script's increments, no marker was set and every retry counted again. Now
   * the builder caps both at 100 years, and the longest allowed TTLs must be accepted by Redis.
   */
  @Test
  void longestAllowedTtls_retriedBatch_appliedOnceWithThoseTtls() throws Exception {
    String ns = newNamespace();
    String counter = "sbtest:{" + ns + "}:x";
    RedisSink<String> sink = track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:" + k)
        .expireAfter(RedisSink.MAX_TTL)
        .markerTtl(RedisSink.MAX_TTL)
        .markerPrefix("sbtest:" + ns + ":batch:")
        .build());
    TestBatch<String> batch = TestBatch.of(Map.of("x", 5L));
    String marker = sink.markerKey(
        sink.isCluster() ? io.lettuce.core.cluster.SlotHash.getSlot(counter) : -1, batch.id());
    try {
      sink.flush(batch);
      sink.flush(batch.retry());
      sink.flush(batch.retry().retry());
      assertThat(admin().get(counter)).isEqualTo("5");
      assertThat(admin().pttl(counter)).isGreaterThan(Duration.ofDays(36_000).toMillis());
      assertThat(admin().pttl(marker)).isGreaterThan(Duration.ofDays(36_000).toMillis());
      assertThat(sink.stats().skippedParts()).isEqualTo(2);
    } finally {
      admin().pexpire(counter, 60_000);
      admin().pexpire(marker, 60_000);
    }
  }

  /**
   * Regression: markers were keyed by prefix and batch id alone, so of two sinks fed the same
   * batch (totals and per-day hashes) the second found the first one's marker and skipped it.
   */
  @Test
  void twoSinksDifferentNames_sameBatch_bothApplyIt() throws Exception {
    String ns = newNamespace();
    String prefix = "sbtest:" + ns + ":batch:";
    RedisSink<String> totals = track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:total:" + k).expireAfter(Duration.ofMinutes(5))
        .markerPrefix(prefix).markerTtl(Duration.ofMinutes(5)).name("totals").build());
    RedisSink<String> daily = track(this.<String>newBuilder()
        .hashMapper(k -> "sbtest:{" + ns + "}:day", k -> k).expireAfter(Duration.ofMinutes(5))
        .markerPrefix(prefix).markerTtl(Duration.ofMinutes(5)).name("daily").build());
    TestBatch<String> batch = TestBatch.of(Map.of("x", 3L));
    totals.flush(batch);
    daily.flush(batch);
    totals.flush(batch.retry());
    daily.flush(batch.retry());
    assertThat(admin().get("sbtest:{" + ns + "}:total:x")).isEqualTo("3");
    assertThat(admin().hget("sbtest:{" + ns + "}:day", "x")).isEqualTo("3");
    assertThat(totals.stats().appliedParts()).isEqualTo(1);
    assertThat(daily.stats().appliedParts()).isEqualTo(1);
  }

  /** Markers are per name: a second sink of the same name takes the batch for applied. */
  @Test
  void twoSinksSameName_sameBatch_secondSkipsIt() throws Exception {
    String ns = newNamespace();
    String prefix = "sbtest:" + ns + ":batch:";
    RedisSink<String> first = track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:" + k).expireAfter(Duration.ofMinutes(5))
        .markerPrefix(prefix).markerTtl(Duration.ofMinutes(5)).name("same").build());
    RedisSink<String> second = track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:" + k).expireAfter(Duration.ofMinutes(5))
        .markerPrefix(prefix).markerTtl(Duration.ofMinutes(5)).name("same").build());
    TestBatch<String> batch = TestBatch.of(Map.of("x", 3L));
    first.flush(batch);
    second.flush(batch);
    assertThat(admin().get("sbtest:{" + ns + "}:x")).isEqualTo("3");
    assertThat(second.stats().skippedParts()).isEqualTo(1);
  }

  /**
   * Regression: a marker's TTL ran from the part's first application, so a part applied early in
   * a long run of retries (other slots failing) could lose its marker and be applied again.
   */
  @Test
  void markerFound_retry_renewsMarkerTtl() throws Exception {
    String ns = newNamespace();
    String counter = "sbtest:{" + ns + "}:x";
    RedisSink<String> sink = track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:" + k).expireAfter(Duration.ofMinutes(5))
        .markerPrefix("sbtest:" + ns + ":batch:").markerTtl(Duration.ofMinutes(5)).build());
    TestBatch<String> batch = TestBatch.of(Map.of("x", 2L));
    String marker = sink.markerKey(
        sink.isCluster() ? io.lettuce.core.cluster.SlotHash.getSlot(counter) : -1, batch.id());
    sink.flush(batch);
    admin().pexpire(marker, 2_000);
    sink.flush(batch.retry());
    assertThat(admin().pttl(marker)).isGreaterThan(60_000L);
    assertThat(admin().get(counter)).isEqualTo("2");
  }

  /** Regression: the sum of keys mapped to one counter overflowed with a bare ArithmeticException. */
  @Test
  void keysMappedToOneCounter_sumOverflows_iaeNamesRedisKeyAndField() {
    String ns = newNamespace();
    RedisSink<String> strings = track(this.<String>newBuilder()
        .keyMapper(k -> key(ns, "one")).expireAfter(Duration.ofMinutes(5)).build());
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("a", Long.MAX_VALUE);
    counts.put("b", 1L);
    assertThatThrownBy(() -> strings.flush(TestBatch.of(counts)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(key(ns, "one"))
        .hasCauseInstanceOf(ArithmeticException.class);
    RedisSink<String> hashes = track(this.<String>newBuilder()
        .hashMapper(k -> key(ns, "h"), k -> "f").expireAfter(Duration.ofMinutes(5)).build());
    assertThatThrownBy(() -> hashes.flush(TestBatch.of(counts)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(key(ns, "h") + " field f");
    assertThat(admin().exists(key(ns, "one"), key(ns, "h"))).isZero();
  }

  @Test
  void exactlyOnceOff_retriedBatch_appliedAgain() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = track(this.<String>newBuilder()
        .keyMapper(k -> key(ns, k))
        .expireAfter(Duration.ofHours(1))
        .exactlyOnce(false)
        .build());
    TestBatch<String> batch = TestBatch.of(Map.of("x", 4L));
    sink.flush(batch);
    sink.flush(batch.retry());
    assertThat(readTotal(ns, "x")).isEqualTo(8);
  }

  @Test
  void close_thenFlush_illegalStateAndIdempotent() {
    RedisSink<String> sink = newSink(newNamespace());
    sink.close();
    sink.close();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("x", 1L))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  /**
   * Two writers increment random keys by random deltas for about a second and a half while the
   * sink's connections are cut every few milliseconds; the buffer retries what fails. Every total
   * must be exact, and nothing dropped.
   */
  @Test
  void connectionsCutRepeatedly_bufferRetries_totalsExact() throws Exception {
    long seed = System.nanoTime();
    String ns = newNamespace();
    String clientName = "sbtest-cut-" + ns;
    RedisSink<String> sink = track(this.<String>newBuilder()
        .keyMapper(k -> key(ns, k))
        .expireAfter(Duration.ofHours(1))
        .clientName(clientName)
        .timeout(Duration.ofSeconds(3))
        .build());
    int keys = 300;
    AtomicLongArray expected = new AtomicLongArray(keys);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong cut = new AtomicLong();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder()
        .name("redis-fault")
        .interval(Duration.ofMillis(2))
        .backoff(Duration.ofMillis(5))
        .maxBackoff(Duration.ofMillis(100))
        .maxBatchSize(100)
        .shutdownTimeout(Duration.ofSeconds(60))
        .shutdownHook(false)
        .buildBatched(sink);
    Thread cutter = new Thread(() -> {
      SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
      try {
        while (!stop.get()) {
          Thread.sleep(5 + random.nextInt(20));
          cut.addAndGet(cutConnections(clientName));
        }
      } catch (Throwable e) {
        errors.add(e);
      }
    }, "connection-cutter");
    List<Thread> writers = new ArrayList<>();
    long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
    for (int w = 0; w < 2; w++) {
      SplittableRandom random = new SplittableRandom(seed + w);
      writers.add(new Thread(() -> {
        try {
          for (int i = 0; System.nanoTime() < end; i++) {
            int k = random.nextInt(keys);
            long delta = random.nextInt(26) - 5;
            if (buffer.increment("k" + k, delta)) {
              expected.addAndGet(k, delta);
            }
            if (i % 200 == 0) {
              Thread.sleep(1);
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }, "writer-" + w));
    }
    cutter.start();
    writers.forEach(Thread::start);
    for (Thread writer : writers) {
      writer.join();
    }
    stop.set(true);
    cutter.join();
    buffer.close();

    String seedNote = "seed " + seed + " (connections cut: " + cut.get() + ", sink "
        + sink.stats() + ", buffer " + buffer.stats() + ")";
    assertThat(errors).as(seedNote).isEmpty();
    assertThat(cut.get()).as(seedNote).isPositive();
    assertThat(buffer.stats().droppedSum()).as(seedNote).isZero();
    assertThat(buffer.stats().pendingKeys()).as(seedNote).isZero();
    for (int k = 0; k < keys; k++) {
      assertThat(readTotal(ns, "k" + k)).as("k%d, %s", k, seedNote).isEqualTo(expected.get(k));
    }
  }
}
