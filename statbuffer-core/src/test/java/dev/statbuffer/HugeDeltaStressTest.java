package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
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
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;

/**
 * Seeded stress of the overflow hand-over (a word would leave its range) and of huge deltas that
 * travel alone, racing flush, flushAll and close; totals are checked exactly with BigInteger.
 */
class HugeDeltaStressTest {
  @RepeatedTest(30)
  void hugeDeltas_conserved(RepetitionInfo info) throws Exception {
    long seed = System.nanoTime() ^ info.getCurrentRepetition();
    String tag = "seed=" + seed;
    SplittableRandom config = new SplittableRandom(seed);
    int keys = 1 + config.nextInt(3);
    boolean batched = config.nextBoolean();
    Map<Integer, BigInteger> got = new ConcurrentHashMap<>();
    StatBuffer.Builder b = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofMillis(config.nextInt(3))).maxBatchSize(1 + config.nextInt(3))
        .shutdownTimeout(Duration.ofSeconds(20));
    StatBuffer<Integer> buffer = batched
        ? b.buildBatched(batch -> batch.counts().forEach(
            (k, v) -> got.merge(k, BigInteger.valueOf(v), BigInteger::add)))
        : b.build((Integer k, long v) -> got.merge(k, BigInteger.valueOf(v), BigInteger::add));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CountDownLatch start = new CountDownLatch(1);
    AtomicBoolean stop = new AtomicBoolean();
    List<Future<BigInteger[]>> results = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      long ws = config.nextLong();
      results.add(pool.submit(() -> {
        SplittableRandom r = new SplittableRandom(ws);
        BigInteger[] acc = new BigInteger[keys];
        java.util.Arrays.fill(acc, BigInteger.ZERO);
        start.await();
        while (!stop.get()) {
          int k = r.nextInt(keys);
          long d;
          switch (r.nextInt(4)) {
            case 0: d = Cell.SLOT_LIMIT - r.nextInt(3); break;
            case 1: d = -(Cell.SLOT_LIMIT / 2) - r.nextInt(3); break;
            case 2: d = r.nextBoolean() ? Long.MAX_VALUE - r.nextInt(3) : Long.MIN_VALUE; break;
            default: d = r.nextInt(7) - 3;
          }
          if (buffer.increment(k, d)) {
            acc[k] = acc[k].add(BigInteger.valueOf(d));
          }
        }
        return acc;
      }));
    }
    Future<?> flusher = pool.submit(() -> {
      start.await();
      SplittableRandom r = new SplittableRandom(seed);
      while (!stop.get()) {
        if (r.nextBoolean()) buffer.flushAll(); else buffer.flush(r.nextInt(keys));
      }
      return null;
    });
    start.countDown();
    Thread.sleep(50 + config.nextInt(100));
    buffer.close();
    stop.set(true);
    BigInteger[] acc = new BigInteger[keys];
    java.util.Arrays.fill(acc, BigInteger.ZERO);
    for (Future<BigInteger[]> f : results) {
      BigInteger[] part = f.get(30, TimeUnit.SECONDS);
      for (int k = 0; k < keys; k++) acc[k] = acc[k].add(part[k]);
    }
    flusher.get(30, TimeUnit.SECONDS);
    pool.shutdown();
    for (int k = 0; k < keys; k++) {
      assertThat(got.getOrDefault(k, BigInteger.ZERO)).as(tag + " key " + k).isEqualTo(acc[k]);
    }
    assertThat(buffer.stats().pendingKeys()).as(tag).isZero();
    assertThat(buffer.stats().droppedSum()).as(tag).isZero();
  }
}
