package dev.statbuffer.bench;

import dev.statbuffer.StatBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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

/**
 * Increment throughput through {@link StatBuffer.Counter} handles, in one run with what they are
 * compared with.
 *
 * <ul>
 *   <li>One hot key: {@code hotCounter} is {@code counter.increment()} on one handle shared by
 *       every thread (as a handle kept in a field is); {@code hotLongAdder} is a bare
 *       {@link LongAdder#increment()} shared the same way, the floor a striped counter cannot beat.
 *   <li>Many keys: {@code keyedCounters} makes one handle per key before measurement, and each
 *       thread walks the handles in the order {@link KeySpace.Cursor} walks the keys;
 *       {@code keyedChmLongAdder} is the {@code ConcurrentHashMap<K, LongAdder>} peer of
 *       {@link IncrementBenchmark} on the same walk. {@link KeySpace} supplies {@code keys} and
 *       {@code distribution} ({@code bench/run} passes 1 000 uniform keys).
 * </ul>
 *
 * <p>Every handle (and every key of the map) has counted once before measurement, so the measured
 * loop only adds to existing counters; run it with {@code -prof gc} to see the bytes allocated per
 * increment. The buffer's interval is one hour, so nothing is handed over during the measurement.
 * Two threads unless {@code -t} says otherwise.
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar CounterBenchmark -t 2 \
 *     -p keys=1000 -p distribution=uniform -prof gc
 * }</pre>
 *
 * <p>Thread-safety: the state classes are managed by JMH.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(2)
public class CounterBenchmark {
  /** The key of the hot-key cases. */
  public static final String HOT_KEY = "page:0";

  /** A StatBuffer (no-op batch handler, interval one hour) and one handle on {@link #HOT_KEY}. */
  @State(Scope.Benchmark)
  public static class HotCounter {
    /** The buffer. */
    public StatBuffer<String> buffer;
    /** The handle every thread increments. */
    public StatBuffer.Counter counter;

    /** Builds the buffer and the handle, and counts once so the key's counter exists. */
    @Setup(Level.Trial)
    public void setUp() {
      buffer = Peers.longIntervalBuffer("counter-hot");
      counter = buffer.counter(HOT_KEY);
      if (!counter.increment()) {
        throw new IllegalStateException("the first increment was refused");
      }
    }

    /** Closes the buffer (delivering to the no-op handler). */
    @TearDown(Level.Trial)
    public void tearDown() {
      buffer.close();
    }
  }

  /** A bare {@link LongAdder}, shared by every thread. */
  @State(Scope.Benchmark)
  public static class HotAdder {
    /** The adder. */
    public final LongAdder adder = new LongAdder();
  }

  /** A StatBuffer (no-op batch handler, interval one hour) and one handle per key. */
  @State(Scope.Benchmark)
  public static class Handles {
    /** The buffer. */
    public StatBuffer<String> buffer;
    /** {@code counters[i]} counts {@code space.keyObjects[i]}. */
    public StatBuffer.Counter[] counters;

    /**
     * Builds the buffer and a handle per key, and counts once through each.
     *
     * @param space the keys
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      buffer = Peers.longIntervalBuffer("counter-keys");
      counters = new StatBuffer.Counter[space.keyObjects.length];
      for (int i = 0; i < counters.length; i++) {
        counters[i] = buffer.counter(space.keyObjects[i]);
        if (!counters[i].increment()) {
          throw new IllegalStateException("the first increment was refused");
        }
      }
    }

    /** Closes the buffer (delivering to the no-op handler). */
    @TearDown(Level.Trial)
    public void tearDown() {
      buffer.close();
    }
  }

  /**
   * {@code counter.increment()} on one handle shared by every thread.
   *
   * @param state the handle
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean hotCounter(HotCounter state) {
    return state.counter.increment();
  }

  /**
   * {@code LongAdder.increment()} on one adder shared by every thread.
   *
   * @param state the adder
   */
  @Benchmark
  public void hotLongAdder(HotAdder state) {
    state.adder.increment();
  }

  /**
   * {@code counter.increment()} on the handle of this thread's next key.
   *
   * @param state the handles
   * @param cursor this thread's walk over the keys
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean keyedCounters(Handles state, KeySpace.Cursor cursor) {
    return state.counters[cursor.nextIndex()].increment();
  }

  /**
   * {@code ConcurrentHashMap<K, LongAdder>.computeIfAbsent(key, ...).add(1)} on this thread's next
   * key: the {@code chmLongAdder} peer of {@link IncrementBenchmark}, on the same walk.
   *
   * @param state the map
   * @param cursor this thread's walk over the keys
   */
  @Benchmark
  public void keyedChmLongAdder(IncrementBenchmark.ChmLongAdderState state,
      KeySpace.Cursor cursor) {
    state.counter.add(cursor.next(), 1L);
  }
}
