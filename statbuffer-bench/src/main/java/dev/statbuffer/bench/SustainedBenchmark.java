package dev.statbuffer.bench;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.StatBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Increments per second sustained while the buffer keeps flushing: interval 100 ms, and a batch
 * handler that costs 1 ms per 1 000 keys (it parks, as a handler waiting on a database does).
 * {@code mode=flushing} is that buffer; {@code mode=idle} is the same buffer with an interval of
 * one hour, so nothing is flushed: the ratio of the two is what flushing costs the writers
 * (windows handed over, re-opened on the next increment, the drain and the handler threads).
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar SustainedBenchmark -t 2
 * }</pre>
 *
 * <p>Thread-safety: the states are managed by JMH.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(2)
public class SustainedBenchmark {
  /** The flush interval of the flushing buffer. */
  public static final Duration INTERVAL = Duration.ofMillis(100);
  /** What the handler costs per key: 1 ms per 1 000 keys. */
  public static final long HANDLER_NANOS_PER_KEY = 1_000;

  /** The buffer and its keys. */
  @State(Scope.Benchmark)
  public static class Buffer {
    /** How many distinct keys, chosen uniformly. */
    @Param({"1000", "100000"})
    public int keys;

    /** {@code flushing}: interval 100 ms; {@code idle}: interval 1 h (the baseline). */
    @Param({"flushing", "idle"})
    @SuppressWarnings("NullAway.Init") // JMH sets @Param fields before it calls any @Setup
    public String mode;

    /** The buffer. */
    public StatBuffer<String> buffer;
    /** The key objects. */
    public String[] keyObjects;
    /** Keys handed to the handler (for the sanity check in tear-down). */
    public final AtomicLong flushedKeys = new AtomicLong();

    /** Builds the buffer and opens a window for every key. */
    @Setup(Level.Trial)
    public void setUp() {
      keyObjects = KeySpace.buildKeys(keys);
      Duration interval = switch (mode) {
        case "flushing" -> INTERVAL;
        case "idle" -> Peers.LONG_INTERVAL;
        default -> throw new IllegalArgumentException("mode must be flushing or idle: " + mode);
      };
      buffer = StatBuffer.newBuilder()
          .name("sustained")
          .interval(interval)
          .shutdownHook(false)
          .shutdownTimeout(Duration.ofSeconds(10))
          .buildBatched(new SlowHandler(flushedKeys));
      for (String key : keyObjects) {
        buffer.increment(key);
      }
    }

    /** Closes the buffer; fails the trial if the flushing buffer never flushed. */
    @TearDown(Level.Trial)
    public void tearDown() {
      buffer.close();
      if ("flushing".equals(mode) && flushedKeys.get() <= keys) {
        throw new IllegalStateException("the buffer did not flush during the run: "
            + flushedKeys.get() + " keys handed over");
      }
    }
  }

  /** A handler that parks 1 ms per 1 000 keys; thread-safe. */
  static final class SlowHandler implements BatchFlushHandler<String> {
    private final AtomicLong flushedKeys;

    SlowHandler(AtomicLong flushedKeys) {
      this.flushedKeys = flushedKeys;
    }

    @Override
    public void flush(FlushBatch<String> batch) {
      int size = batch.counts().size();
      long cost = size * HANDLER_NANOS_PER_KEY;
      long deadline = System.nanoTime() + cost;
      for (long left = cost; left > 0; left = deadline - System.nanoTime()) {
        LockSupport.parkNanos(left);
      }
      flushedKeys.addAndGet(size);
    }

    @Override
    public void onDrop(FlushBatch<String> batch, Exception lastError) {}
  }

  /** One thread's uniform walk over the keys. Thread-confined. */
  @State(Scope.Thread)
  public static class Walk {
    private static final AtomicLong SEEDS = new AtomicLong(0xC0FFEEL);
    private String[] keys;
    private int[] indexes;
    private int position;

    /**
     * Pre-generates this thread's key indexes.
     *
     * @param buffer the benchmark state holding the keys
     */
    @Setup(Level.Trial)
    public void setUp(Buffer buffer) {
      keys = buffer.keyObjects;
      java.util.SplittableRandom random = new java.util.SplittableRandom(SEEDS.getAndIncrement());
      indexes = new int[KeySpace.INDEXES];
      for (int i = 0; i < indexes.length; i++) {
        indexes[i] = random.nextInt(keys.length);
      }
    }

    String next() {
      return keys[indexes[position++ & (KeySpace.INDEXES - 1)]];
    }
  }

  /**
   * StatBuffer {@code increment(key)} while the buffer flushes (or not, in {@code idle} mode).
   *
   * @param buffer the buffer
   * @param walk this thread's keys
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean increment(Buffer buffer, Walk walk) {
    return buffer.buffer.increment(walk.next());
  }
}
