package dev.statbuffer.bench;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * First increments: every measured call counts a key the structure has never seen, on one thread.
 * {@code statBuffer} is {@code increment(key)} on a StatBuffer with an interval of one hour and a
 * no-op batch handler ({@link Peers#longIntervalBuffer}); {@code chmLongAdder} is the
 * {@code ConcurrentHashMap<K, LongAdder>} insert, {@code computeIfAbsent(key, k -> new
 * LongAdder()).add(1)} ({@link Peers.ChmLongAdder}).
 *
 * <p>Single shot: an iteration is one batch of {@link #KEYS} calls (the batch size; change it with
 * {@code -bs} and {@code -wbs}), each on the next of as many distinct pre-built keys. Every
 * iteration starts from an empty buffer or map, made (after a {@code System.gc()}) in the
 * iteration's set-up, so no measured increment finds its key. The score is the time of the whole
 * batch; keys per second = batch size / score. The tear-down, not timed, checks that every key
 * was counted once and closes the buffer.
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar NewKeysBenchmark
 * }</pre>
 *
 * <p>Thread-safety: one benchmark thread by design (the keys are fresh for one thread only); the
 * state classes are managed by JMH.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, batchSize = NewKeysBenchmark.KEYS)
@Measurement(iterations = 5, batchSize = NewKeysBenchmark.KEYS)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(1)
public class NewKeysBenchmark {
  /** Distinct keys counted per iteration: the default batch size. */
  public static final int KEYS = 2_000_000;

  /** The key objects: as many as the larger of the warm-up and measurement batch sizes. */
  @State(Scope.Benchmark)
  public static class Keys {
    /** The keys, built before measurement. */
    public String[] keyObjects;

    /**
     * Builds the keys.
     *
     * @param params the run's settings (batch sizes and threads)
     */
    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
      if (params.getThreads() != 1) {
        throw new IllegalArgumentException(
            "NewKeysBenchmark runs on one thread (its keys are fresh for one thread only), not "
                + params.getThreads());
      }
      int count = Math.max(params.getWarmup().getBatchSize(),
          params.getMeasurement().getBatchSize());
      keyObjects = KeySpace.buildKeys(count);
    }
  }

  /** A fresh StatBuffer per iteration, and how far this iteration has got through the keys. */
  @State(Scope.Thread)
  public static class StatBufferState {
    /** The buffer of the current iteration. */
    public StatBuffer<String> buffer;
    /** The keys. */
    public String[] keys;
    /** The next key's index. */
    public int position;

    /**
     * Collects the previous iteration's garbage and builds an empty buffer; not timed.
     *
     * @param keys the keys
     */
    @Setup(Level.Iteration)
    public void open(Keys keys) {
      System.gc();
      this.keys = keys.keyObjects;
      position = 0;
      buffer = Peers.longIntervalBuffer("newKeys");
    }

    /** Closes the buffer and checks that it counted and delivered every key once; not timed. */
    @TearDown(Level.Iteration)
    // Safe: null only between iterations (for the next set-up's System.gc()); open() sets it again.
    @SuppressWarnings("NullAway")
    public void closeAndCheck() {
      buffer.close();
      BufferStats stats = buffer.stats();
      if (stats.rejected() != 0 || stats.deliveredSum() != position) {
        throw new IllegalStateException("StatBuffer delivered " + stats.deliveredSum() + " of "
            + position + " first increments (" + stats.rejected() + " rejected)");
      }
      buffer = null;
    }
  }

  /** A fresh {@code ConcurrentHashMap<K, LongAdder>} per iteration. */
  @State(Scope.Thread)
  public static class ChmLongAdderState {
    /** The map of the current iteration. */
    public Peers.ChmLongAdder<String> counter;
    /** The keys. */
    public String[] keys;
    /** The next key's index. */
    public int position;

    /**
     * Collects the previous iteration's garbage and builds an empty map; not timed.
     *
     * @param keys the keys
     */
    @Setup(Level.Iteration)
    public void open(Keys keys) {
      System.gc();
      this.keys = keys.keyObjects;
      position = 0;
      counter = new Peers.ChmLongAdder<>();
    }

    /** Checks that the map counted every key once; not timed. */
    @TearDown(Level.Iteration)
    // Safe: null only between iterations (for the next set-up's System.gc()); open() sets it again.
    @SuppressWarnings("NullAway")
    public void check() {
      if (counter.map.size() != position || counter.total() != position) {
        throw new IllegalStateException("the map holds " + counter.map.size() + " keys summing to "
            + counter.total() + " after " + position + " first increments");
      }
      counter = null;
    }
  }

  /**
   * StatBuffer {@code increment(key)} on a key the buffer has not seen.
   *
   * @param state the buffer and the keys
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean statBuffer(StatBufferState state) {
    return state.buffer.increment(state.keys[state.position++]);
  }

  /**
   * {@code ConcurrentHashMap<K, LongAdder>.computeIfAbsent(key, k -> new LongAdder()).add(1)} on
   * a key the map has not seen.
   *
   * @param state the map and the keys
   */
  @Benchmark
  public void chmLongAdder(ChmLongAdderState state) {
    state.counter.add(state.keys[state.position++], 1L);
  }
}
