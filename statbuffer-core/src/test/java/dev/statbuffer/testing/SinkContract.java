package dev.statbuffer.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.StatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The contract every sink keeps, written once and run against each of them (in-memory, every JDBC
 * dialect, Redis, Redis Cluster). A sink test extends this class and says how to make a sink over
 * fresh storage and how to read a total back.
 *
 * <p>Two profiles ({@link #guarantee()}). {@link Guarantee#EXACTLY_ONCE}, the default, is for
 * sinks that remember batch ids (a ledger, a marker): a batch delivered again under its id changes
 * nothing. {@link Guarantee#AT_LEAST_ONCE} is for sinks without such a memory: a batch delivered
 * again may be applied again, but never partly, and no count is ever lost. Every test runs in both
 * profiles; only what a repeated id may do differs.
 *
 * <p>Keys are strings; each test uses its own {@code namespace} (a short unique token) so that
 * tests never see each other's rows.
 */
public abstract class SinkContract {

  /** What a sink promises for a batch delivered more than once under one id. */
  public enum Guarantee {
    /** A repeated id is recognized and not applied again. */
    EXACTLY_ONCE,
    /** A repeated id may be applied again, as a whole; nothing is lost. */
    AT_LEAST_ONCE
  }

  /** The profile this sink is held to: exactly-once unless a sink test says otherwise. */
  protected Guarantee guarantee() {
    return Guarantee.EXACTLY_ONCE;
  }

  /** Creates a sink (with exactly-once delivery on, if it has it) over storage only this namespace uses. */
  protected abstract BatchFlushHandler<String> newSink(String namespace) throws Exception;

  /** Reads the stored total of {@code key} in {@code namespace}; 0 when there is none. */
  protected abstract long readTotal(String namespace, String key) throws Exception;

  /** A fresh namespace: lower-case letters and digits, at most 20 characters. */
  protected String newNamespace() {
    return "t" + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36)
        + Integer.toString(new SplittableRandom().nextInt(36 * 36 * 36), 36);
  }

  @Test
  void manyBatches_totalsExact() throws Exception {
    String ns = newNamespace();
    BatchFlushHandler<String> sink = newSink(ns);
    SplittableRandom random = new SplittableRandom(42);
    Map<String, Long> expected = new HashMap<>();
    for (int b = 0; b < 20; b++) {
      Map<String, Long> counts = new LinkedHashMap<>();
      for (int i = 0; i < 50; i++) {
        String key = "k" + random.nextInt(120);
        long delta = 1 + random.nextInt(1000);
        counts.merge(key, delta, Long::sum);
      }
      sink.flush(TestBatch.of(counts));
      counts.forEach((k, v) -> expected.merge(k, v, Long::sum));
    }
    for (Map.Entry<String, Long> e : expected.entrySet()) {
      assertThat(readTotal(ns, e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
    }
  }

  @Test
  void negativeCounts_subtract() throws Exception {
    String ns = newNamespace();
    BatchFlushHandler<String> sink = newSink(ns);
    sink.flush(TestBatch.of(Map.of("a", 10L, "b", -5L)));
    sink.flush(TestBatch.of(Map.of("a", -25L, "b", -5L)));
    assertThat(readTotal(ns, "a")).isEqualTo(-15L);
    assertThat(readTotal(ns, "b")).isEqualTo(-10L);
  }

  @Test
  void retriedBatchId_appliedOnce() throws Exception {
    String ns = newNamespace();
    BatchFlushHandler<String> sink = newSink(ns);
    TestBatch<String> batch = TestBatch.of(Map.of("x", 7L, "y", 3L));
    sink.flush(batch);
    sink.flush(batch.retry());
    sink.flush(batch.retry().retry());
    if (guarantee() == Guarantee.EXACTLY_ONCE) {
      assertThat(readTotal(ns, "x")).isEqualTo(7L);
      assertThat(readTotal(ns, "y")).isEqualTo(3L);
    } else {
      // Applied one to three times, each time whole: x and y moved together.
      long times = readTotal(ns, "x") / 7;
      assertThat(times).isBetween(1L, 3L);
      assertThat(readTotal(ns, "x")).isEqualTo(7L * times);
      assertThat(readTotal(ns, "y")).isEqualTo(3L * times);
    }
    long before = readTotal(ns, "x");
    sink.flush(TestBatch.of(Map.of("x", 1L)));
    assertThat(readTotal(ns, "x")).isEqualTo(before + 1);
  }

  /**
   * Through a buffer, each batch's first call is applied by the sink but its acknowledgement is
   * lost (the call throws afterwards), so the buffer retries it under the same id. Exactly-once:
   * totals exact. At-least-once: nothing lost, and no key more than twice its count.
   */
  @Test
  void lostAcknowledgements_retriedUnderTheSameId() throws Exception {
    String ns = newNamespace();
    BatchFlushHandler<String> sink = newSink(ns);
    java.util.Set<String> failedOnce = java.util.concurrent.ConcurrentHashMap.newKeySet();
    BatchFlushHandler<String> losingAcks = batch -> {
      sink.flush(batch);
      if (failedOnce.add(batch.id())) {
        throw new java.io.IOException("acknowledgement lost (test)");
      }
    };
    Map<String, Long> expected = new HashMap<>();
    try (StatBuffer<String> buffer = StatBuffer.newBuilder()
        .name("contract-lost-acks")
        .interval(Duration.ofMillis(5))
        .backoff(Duration.ofMillis(5))
        .maxBatchSize(16)
        .shutdownHook(false)
        .buildBatched(losingAcks)) {
      SplittableRandom random = new SplittableRandom(7);
      for (int i = 0; i < 2_000; i++) {
        String key = "k" + random.nextInt(40);
        long delta = 1 + random.nextInt(5);
        if (buffer.increment(key, delta)) {
          expected.merge(key, delta, Long::sum);
        }
      }
    }
    assertThat(failedOnce).isNotEmpty();
    for (Map.Entry<String, Long> e : expected.entrySet()) {
      long total = readTotal(ns, e.getKey());
      if (guarantee() == Guarantee.EXACTLY_ONCE) {
        assertThat(total).as(e.getKey()).isEqualTo(e.getValue());
      } else {
        assertThat(total).as(e.getKey()).isBetween(e.getValue(), 2 * e.getValue());
      }
    }
  }

  @Test
  void largeBatch_totalsExact() throws Exception {
    String ns = newNamespace();
    BatchFlushHandler<String> sink = newSink(ns);
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 5_000; i++) {
      counts.put("key-" + i, (long) (i % 7) - 3 == 0 ? 1L : (i % 7) - 3);
    }
    sink.flush(TestBatch.of(counts));
    for (int i = 0; i < 5_000; i += 499) {
      assertThat(readTotal(ns, "key-" + i)).isEqualTo(counts.get("key-" + i));
    }
  }

  /** Four buffers on their own threads flush overlapping keys through one sink each. */
  @Test
  void concurrentBuffers_overlappingKeys_exactAndNoDeadlock() throws Exception {
    String ns = newNamespace();
    int writers = 4;
    int keys = 200;
    int perWriter = 20_000;
    ExecutorService threads = Executors.newFixedThreadPool(writers);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<long[]>> results = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      BatchFlushHandler<String> sink = newSink(ns);
      int seed = w;
      results.add(threads.submit(() -> {
        long[] sent = new long[keys];
        try (StatBuffer<String> buffer = StatBuffer.newBuilder()
            .name("contract-" + seed)
            .interval(Duration.ofMillis(5))
            .backoff(Duration.ofMillis(5))
            .maxBatchSize(64)
            .shutdownHook(false)
            .buildBatched(sink)) {
          SplittableRandom random = new SplittableRandom(seed);
          start.await();
          for (int i = 0; i < perWriter; i++) {
            int k = random.nextInt(keys);
            if (buffer.increment("k" + k, 1)) {
              sent[k]++;
            }
          }
        }
        return sent;
      }));
    }
    start.countDown();
    long[] expected = new long[keys];
    for (Future<long[]> result : results) {
      long[] sent = result.get(120, TimeUnit.SECONDS);
      for (int k = 0; k < keys; k++) {
        expected[k] += sent[k];
      }
    }
    threads.shutdown();
    long total = 0;
    for (int k = 0; k < keys; k++) {
      assertThat(readTotal(ns, "k" + k)).as("k" + k).isEqualTo(expected[k]);
      total += expected[k];
    }
    assertThat(total).isEqualTo((long) writers * perWriter);
  }
}
