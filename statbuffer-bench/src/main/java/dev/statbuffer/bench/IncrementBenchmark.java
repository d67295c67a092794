package dev.statbuffer.bench;

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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Increment throughput of StatBuffer and its peers on existing keys, in one run.
 *
 * <p>Each benchmark method is one implementation; {@link KeySpace} supplies the parameters
 * ({@code keys} and {@code distribution}); the thread count comes from the command line
 * ({@code -t 1}, {@code -t 2}), so every peer is measured under the same conditions. Every key is
 * added once in the trial set-up, so the measured loop only updates existing keys (with
 * {@code -prof gc} this gives the allocation per increment on existing keys). StatBuffer's
 * windows stay open for an hour, so none is handed over during the measurement.
 *
 * <p>{@code limit} is not a peer: each thread increments its own unsynchronized
 * {@code HashMap<K, long[]>} ({@link Peers.PerThreadHashMap}), so it shares nothing and counts
 * nothing another thread can see. It is the ceiling a shared counter is measured against.
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar IncrementBenchmark -t 2 -prof gc
 * }</pre>
 *
 * <p>Thread-safety: the state classes are managed by JMH.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class IncrementBenchmark {

  /** StatBuffer with a no-op batch handler and an interval of one hour. */
  @State(Scope.Benchmark)
  public static class StatBufferState {
    /** The buffer. */
    public StatBuffer<String> buffer;

    /**
     * Builds the buffer and opens a window for every key.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      buffer = Peers.longIntervalBuffer("bench");
      for (String key : space.keyObjects) {
        buffer.increment(key);
      }
    }

    /** Closes the buffer (delivering to the no-op handler). */
    @TearDown(Level.Trial)
    public void tearDown() {
      buffer.close();
    }
  }

  /** {@code ConcurrentHashMap<K, LongAdder>}. */
  @State(Scope.Benchmark)
  public static class ChmLongAdderState {
    /** The counter. */
    public final Peers.ChmLongAdder<String> counter = new Peers.ChmLongAdder<>();

    /**
     * Adds every key once.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      for (String key : space.keyObjects) {
        counter.add(key, 1L);
      }
    }
  }

  /** {@code ConcurrentHashMap<K, Long>.merge}. */
  @State(Scope.Benchmark)
  public static class ChmMergeState {
    /** The counter. */
    public final Peers.ChmMerge<String> counter = new Peers.ChmMerge<>();

    /**
     * Adds every key once.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      for (String key : space.keyObjects) {
        counter.add(key, 1L);
      }
    }
  }

  /** Guava {@code AtomicLongMap}. */
  @State(Scope.Benchmark)
  public static class AtomicLongMapState {
    /** The counter. */
    public final Peers.GuavaAtomicLongMap<String> counter = new Peers.GuavaAtomicLongMap<>();

    /**
     * Adds every key once.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      for (String key : space.keyObjects) {
        counter.add(key, 1L);
      }
    }
  }

  /** {@code synchronized} {@code HashMap<K, long[]>}. */
  @State(Scope.Benchmark)
  public static class SyncHashMapState {
    /** The counter. */
    public final Peers.SyncHashMap<String> counter = new Peers.SyncHashMap<>();

    /**
     * Adds every key once.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      for (String key : space.keyObjects) {
        counter.add(key, 1L);
      }
    }
  }

  /** The limit: this thread's own unsynchronized {@code HashMap<K, long[]>}. */
  @State(Scope.Thread)
  public static class LimitState {
    /** The counter; only this thread touches it. */
    public final Peers.PerThreadHashMap<String> counter = new Peers.PerThreadHashMap<>();

    /**
     * Adds every key once, on the benchmark thread that owns the map.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      for (String key : space.keyObjects) {
        counter.add(key, 1L);
      }
    }
  }

  /**
   * StatBuffer {@code increment(key)}.
   *
   * @param state the buffer
   * @param cursor this thread's keys
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean statBuffer(StatBufferState state, KeySpace.Cursor cursor) {
    return state.buffer.increment(cursor.next());
  }

  /**
   * {@code ConcurrentHashMap<K, LongAdder>.computeIfAbsent(key, ...).add(1)}.
   *
   * @param state the map
   * @param cursor this thread's keys
   */
  @Benchmark
  public void chmLongAdder(ChmLongAdderState state, KeySpace.Cursor cursor) {
    state.counter.add(cursor.next(), 1L);
  }

  /**
   * {@code ConcurrentHashMap<K, Long>.merge(key, 1L, Long::sum)}.
   *
   * @param state the map
   * @param cursor this thread's keys
   * @return the new count
   */
  @Benchmark
  public Long chmMerge(ChmMergeState state, KeySpace.Cursor cursor) {
    return state.counter.add(cursor.next(), 1L);
  }

  /**
   * Guava {@code AtomicLongMap.addAndGet(key, 1)}.
   *
   * @param state the map
   * @param cursor this thread's keys
   * @return the new count
   */
  @Benchmark
  public long atomicLongMap(AtomicLongMapState state, KeySpace.Cursor cursor) {
    return state.counter.add(cursor.next(), 1L);
  }

  /**
   * {@code synchronized} {@code HashMap<K, long[]>}, updated in place.
   *
   * @param state the map
   * @param cursor this thread's keys
   * @return the new count
   */
  @Benchmark
  public long syncHashMap(SyncHashMapState state, KeySpace.Cursor cursor) {
    return state.counter.add(cursor.next(), 1L);
  }

  /**
   * The limit: {@code HashMap<K, long[]>} owned by this thread, no lock, updated in place.
   *
   * @param state this thread's map
   * @param cursor this thread's keys
   * @return the new count
   */
  @Benchmark
  public long limit(LimitState state, KeySpace.Cursor cursor) {
    return state.counter.add(cursor.next(), 1L);
  }
}
