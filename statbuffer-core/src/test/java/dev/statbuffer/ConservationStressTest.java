package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;

/**
 * Seeded stress test of the core promise, on real threads, the real scheduler and executor:
 * writers increment random keys with random (also negative) deltas while the handler fails at
 * random, some keys are flushed explicitly, and the buffer is closed while they are still writing.
 * Afterwards, per key, the accepted deltas equal delivered + dropped exactly, and the stats agree.
 *
 * <p>The seed is printed in every assertion message; rerun one with {@code -Dstress.seed=N}.
 */
class ConservationStressTest {

  @RepeatedTest(40)
  void randomWorkload_closeWhileWriting_acceptedEqualsDeliveredPlusDropped(RepetitionInfo info)
      throws Exception {
    long seed = Long.getLong("stress.seed", System.nanoTime() ^ info.getCurrentRepetition());
    String tag = "seed=" + seed;
    SplittableRandom config = new SplittableRandom(seed);

    int writers = 2 + config.nextInt(3);
    int keys = new int[] {1, 20, 2_000}[config.nextInt(3)];
    boolean batched = config.nextBoolean();
    int failPercent = config.nextInt(60);
    int maxAttempts = config.nextBoolean() ? Integer.MAX_VALUE : 1 + config.nextInt(4);
    long maxKeys = config.nextInt(4) == 0 ? 1 + config.nextInt(keys) : Long.MAX_VALUE;

    Map<Integer, AtomicLong> delivered = new ConcurrentHashMap<>();
    Map<Integer, AtomicLong> dropped = new ConcurrentHashMap<>();
    AtomicLong handlerCalls = new AtomicLong();
    // Whether an attempt fails is a function of the seed and a call counter: no shared Random.
    java.util.function.BooleanSupplier fails = () ->
        Math.floorMod(mix(seed + handlerCalls.incrementAndGet()), 100) < failPercent;

    StatBuffer.Builder builder = StatBuffer.newBuilder()
        .name("stress-" + seed)
        .interval(Duration.ofMillis(config.nextInt(5)))
        .jitter(Duration.ofMillis(config.nextInt(3)))
        .backoff(Duration.ofMillis(1))
        .maxBackoff(Duration.ofMillis(8))
        .maxAttempts(maxAttempts)
        .maxKeys(maxKeys)
        .maxBatchSize(1 + config.nextInt(100))
        .shutdownTimeout(Duration.ofSeconds(20))
        .shutdownHook(false);
    StatBuffer<Integer> buffer;
    if (batched) {
      buffer = builder.buildBatched(new BatchFlushHandler<Integer>() {
        @Override
        public void flush(FlushBatch<Integer> batch) {
          if (fails.getAsBoolean()) {
            throw new IllegalStateException("injected");
          }
          batch.counts().forEach((k, v) -> add(delivered, k, v));
        }

        @Override
        public void onDrop(FlushBatch<Integer> batch, Exception lastError) {
          batch.counts().forEach((k, v) -> add(dropped, k, v));
        }
      });
    } else {
      buffer = builder.build(new FlushHandler<Integer>() {
        @Override
        public void flush(Integer key, long count) {
          if (fails.getAsBoolean()) {
            throw new IllegalStateException("injected");
          }
          add(delivered, key, count);
        }

        @Override
        public void onDrop(Integer key, long count, Exception lastError) {
          add(dropped, key, count);
        }
      });
    }

    ExecutorService pool = Executors.newFixedThreadPool(writers + 1);
    CountDownLatch start = new CountDownLatch(1);
    AtomicBoolean stop = new AtomicBoolean();
    List<Future<long[]>> results = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      long writerSeed = config.nextLong();
      results.add(pool.submit(() -> {
        SplittableRandom random = new SplittableRandom(writerSeed);
        long[] accepted = new long[keys];
        start.await();
        while (!stop.get()) {
          int key = random.nextInt(keys);
          long delta = random.nextInt(16) - 5;
          if (buffer.increment(key, delta)) {
            accepted[key] += delta;
          } else if (!buffer.isClosed()) {
            assertThat(maxKeys).as(tag + ": only maxKeys may refuse an open buffer")
                .isLessThan(Long.MAX_VALUE);
          }
        }
        return accepted;
      }));
    }
    long flusherSeed = config.nextLong();
    Future<?> flusher = pool.submit(() -> {
      SplittableRandom random = new SplittableRandom(flusherSeed);
      start.await();
      while (!stop.get()) {
        if (random.nextInt(10) == 0) {
          buffer.flushAll();
        } else {
          buffer.flush(random.nextInt(keys));
        }
        Thread.sleep(1);
      }
      return null;
    });

    start.countDown();
    Thread.sleep(50 + config.nextInt(150));
    buffer.close(); // while writers are still writing
    stop.set(true);

    long[] accepted = new long[keys];
    for (Future<long[]> result : results) {
      long[] part = result.get(60, TimeUnit.SECONDS);
      for (int k = 0; k < keys; k++) {
        accepted[k] += part[k];
      }
    }
    flusher.get(60, TimeUnit.SECONDS);
    pool.shutdown();

    long acceptedSum = 0;
    long deliveredSum = 0;
    long droppedSum = 0;
    for (int k = 0; k < keys; k++) {
      long d = get(delivered, k);
      long x = get(dropped, k);
      assertThat(d + x).as(tag + ": key " + k).isEqualTo(accepted[k]);
      acceptedSum += accepted[k];
      deliveredSum += d;
      droppedSum += x;
    }
    BufferStats stats = buffer.stats();
    assertThat(stats.deliveredSum()).as(tag + " " + stats).isEqualTo(deliveredSum);
    assertThat(stats.droppedSum()).as(tag + " " + stats).isEqualTo(droppedSum);
    assertThat(stats.pendingKeys()).as(tag + " " + stats).isZero();
    assertThat(stats.deliveredSum() + stats.droppedSum()).as(tag).isEqualTo(acceptedSum);
    if (maxAttempts == Integer.MAX_VALUE) {
      assertThat(droppedSum).as(tag + ": unlimited attempts never drop").isZero();
    }
  }

  private static void add(Map<Integer, AtomicLong> sums, Integer key, long value) {
    sums.computeIfAbsent(key, k -> new AtomicLong()).addAndGet(value);
  }

  private static long get(Map<Integer, AtomicLong> sums, int key) {
    AtomicLong sum = sums.get(key);
    return (sum == null) ? 0 : sum.get();
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
