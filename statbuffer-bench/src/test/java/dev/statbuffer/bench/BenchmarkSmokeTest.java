package dev.statbuffer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.function.ObjIntConsumer;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Keeps the benchmarks honest without making the build slow: the peers count correctly, the key
 * distributions are what they claim, and every benchmark runs one short iteration in-process.
 */
class BenchmarkSmokeTest {

  @Test
  void peers_twoThreadsIncrement_countEveryIncrement() throws Exception {
    String[] keys = KeySpace.buildKeys(100);
    int perThread = 20_000;
    StatBuffer<String> buffer = Peers.longIntervalBuffer("smoke");
    try {
      checkCounts("statBuffer", keys, perThread, (key, n) -> buffer.increment(key),
          () -> sum(buffer, keys));
    } finally {
      buffer.close();
    }
    Peers.ChmLongAdder<String> adder = new Peers.ChmLongAdder<>();
    checkCounts("chmLongAdder", keys, perThread, (key, n) -> adder.add(key, 1), adder::total);
    Peers.ChmMerge<String> merge = new Peers.ChmMerge<>();
    checkCounts("chmMerge", keys, perThread, (key, n) -> merge.add(key, 1), merge::total);
    Peers.GuavaAtomicLongMap<String> guava = new Peers.GuavaAtomicLongMap<>();
    checkCounts("atomicLongMap", keys, perThread, (key, n) -> guava.add(key, 1), guava::total);
    Peers.SyncHashMap<String> sync = new Peers.SyncHashMap<>();
    checkCounts("syncHashMap", keys, perThread, (key, n) -> sync.add(key, 1), sync::total);
    assertThat(sync.size()).isEqualTo(keys.length);
    // The limit is one unsynchronized map per thread: together they count every increment.
    List<Peers.PerThreadHashMap<String>> owned = new CopyOnWriteArrayList<>();
    ThreadLocal<Peers.PerThreadHashMap<String>> own = ThreadLocal.withInitial(() -> {
      Peers.PerThreadHashMap<String> map = new Peers.PerThreadHashMap<>();
      owned.add(map);
      return map;
    });
    checkCounts("limit", keys, perThread, (key, n) -> own.get().add(key, 1),
        () -> owned.stream().mapToLong(Peers.PerThreadHashMap::total).sum());
    assertThat(owned).hasSize(2);
    assertThat(owned.get(0).size()).isEqualTo(keys.length);
  }

  @Test
  void counterHandles_twoThreadsIncrement_countEveryIncrement() throws Exception {
    String[] keys = KeySpace.buildKeys(100);
    StatBuffer<String> buffer = Peers.longIntervalBuffer("smoke-handles");
    try {
      Map<String, StatBuffer.Counter> handles = new HashMap<>();
      for (String key : keys) {
        handles.put(key, buffer.counter(key));
      }
      checkCounts("counter handles", keys, 20_000, (key, n) -> handles.get(key).increment(),
          () -> sum(buffer, keys));
    } finally {
      buffer.close();
    }
  }

  @Test
  void keySpace_zipf_favoursLowRanksAndStaysInRange() {
    KeySpace space = new KeySpace();
    space.keys = 1000;
    space.distribution = "zipf";
    space.setUp();
    int[] indexes = space.indexes(42);
    long rankZero = 0;
    long rankOneHundredPlus = 0;
    for (int index : indexes) {
      assertThat(index).isBetween(0, 999);
      if (index == 0) {
        rankZero++;
      } else if (index >= 100) {
        rankOneHundredPlus++;
      }
    }
    // s = 1.1 over 1 000 keys: rank 0 draws about 17 % of all picks, ranks >= 100 about 26 %.
    assertThat(rankZero / (double) indexes.length).isBetween(0.14, 0.20);
    assertThat(rankOneHundredPlus / (double) indexes.length).isBetween(0.22, 0.30);
  }

  @Test
  void keySpace_uniform_coversEveryKey() {
    KeySpace space = new KeySpace();
    space.keys = 1000;
    space.distribution = "uniform";
    space.setUp();
    boolean[] seen = new boolean[1000];
    for (int index : space.indexes(7)) {
      seen[index] = true;
    }
    for (boolean hit : seen) {
      assertThat(hit).isTrue();
    }
  }

  @Test
  void cursor_twoThreads_walkDifferentKeys() {
    // Regression: seeds that differed by SplittableRandom's gamma made the second thread walk the
    // first one's keys shifted by one draw, so two threads contended on every key.
    KeySpace space = new KeySpace();
    space.keys = 1_000_000;
    space.distribution = "uniform";
    space.setUp();
    KeySpace.Cursor first = new KeySpace.Cursor();
    KeySpace.Cursor second = new KeySpace.Cursor();
    first.setUp(space);
    second.setUp(space);
    java.util.Set<String> firstKeys = new java.util.HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      firstKeys.add(first.next());
    }
    int shared = 0;
    for (int i = 0; i < 10_000; i++) {
      if (firstKeys.contains(second.next())) {
        shared++;
      }
    }
    // Independent uniform walks over 10^6 keys share about 100 of 10 000 keys.
    assertThat(shared).isLessThan(500);
  }

  @Test
  void memoryFootprint_smallRun_reportsPlausibleBytesPerKey() throws Exception {
    for (String implementation : MemoryFootprint.IMPLEMENTATIONS) {
      double perKey = MemoryFootprint.bytesPerKey(implementation, 100_000);
      // A map entry plus a counter costs tens of bytes, never nothing and never kilobytes.
      assertThat(perKey).as(implementation).isBetween(16.0, 400.0);
    }
  }

  @Test
  void benchmarks_oneShortIterationEach_runWithoutError(@TempDir Path dir) throws Exception {
    // 5 implementations and the limit x 2 distributions, 2 drain handlers, and the counter
    // handles: 2 hot-key cases and 2 keyed ones x 2 distributions.
    assertThat(run(dir.resolve("short.log"), 50, IncrementBenchmark.class, DrainBenchmark.class,
        CounterBenchmark.class)).hasSize(20);
    // Single shots of 20 000 first increments each (instead of 2 000 000); the tear-downs check
    // that every key was counted once.
    assertThat(run(dir.resolve("newkeys.log"), 50, 20_000, NewKeysBenchmark.class)).hasSize(2);
    // Long enough for the 100 ms interval to hand windows over (its tear-down checks that).
    assertThat(run(dir.resolve("sustained.log"), 350, SustainedBenchmark.class)).hasSize(2);
    // JDBC into H2 (in memory), PostgreSQL and MariaDB (the local servers, which must be
    // running), and Redis standalone and cluster (started here: redis-server and redis-cli must be
    // installed), each buffered and direct; every run checks that the store holds every increment.
    assertThat(run(dir.resolve("sinks.log"), 50, SinkBenchmark.class)).hasSize(10);
  }

  private static Collection<RunResult> run(Path log, int millis, Class<?>... benchmarks)
      throws Exception {
    return run(log, millis, 1, benchmarks);
  }

  private static Collection<RunResult> run(Path log, int millis, int batchSize,
      Class<?>... benchmarks) throws Exception {
    OptionsBuilder builder = new OptionsBuilder();
    for (Class<?> benchmark : benchmarks) {
      builder.include(benchmark.getName());
    }
    Options options = builder
        .forks(0)
        .threads(1)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(millis))
        .warmupBatchSize(batchSize)
        .measurementBatchSize(batchSize)
        .param("keys", "1000")
        .param("pendingKeys", "10000")
        .param("increments", "20000")
        .param("directIncrements", "1000")
        .param("maxBatchSize", "400")
        .shouldFailOnError(true)
        .output(log.toString())
        .build();
    Collection<RunResult> results;
    try {
      results = new Runner(options).run();
    } catch (Exception e) {
      throw new AssertionError("JMH failed; log:\n" + Files.readString(log), e);
    }
    for (RunResult result : results) {
      assertThat(result.getPrimaryResult().getScore())
          .as(result.getParams().getBenchmark() + " " + result.getParams().getParamsKeys())
          .isPositive();
    }
    return results;
  }

  private static void checkCounts(String name, String[] keys, int perThread,
      ObjIntConsumer<String> add, LongSupplier total) throws InterruptedException {
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int offset = t;
      Thread thread = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        for (int i = 0; i < perThread; i++) {
          add.accept(keys[(i + offset) % keys.length], i);
        }
      });
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(total.getAsLong()).as(name).isEqualTo(2L * perThread);
  }

  private static long sum(StatBuffer<String> buffer, String[] keys) {
    long sum = 0;
    for (String key : keys) {
      sum += buffer.count(key).orElse(0);
    }
    return sum;
  }
}
