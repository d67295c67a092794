package dev.statbuffer.bench;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.nio.file.Path;
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
 * Increment throughput of a durable StatBuffer on existing keys, beside the in-memory buffer and
 * {@code ConcurrentHashMap<K, LongAdder>}, in one run and on the same {@link KeySpace}.
 *
 * <p>{@code statBuffer} and {@code chmLongAdder} are {@link IncrementBenchmark}'s methods on its
 * very states ({@link IncrementBenchmark.StatBufferState}, {@link
 * IncrementBenchmark.ChmLongAdderState}); {@code durableStatBuffer} is the same buffer
 * ({@link Peers#durableLongIntervalBuffer}: interval one hour, no-op batch handler) counting into
 * memory-mapped key files (one 64-byte slot per key; files forced every second) in a fresh
 * directory under the system property {@value Peers#DURABLE_DIR_PROPERTY} (default
 * {@code java.io.tmpdir}). Every key is added once in the trial set-up, so the measured loop only
 * updates existing keys. The durable tear-down closes the buffer, checks that nothing was dropped
 * or kept and that no key file is left, and deletes the directory. Issue 10's target: durable at
 * least 0.5x {@code statBuffer} and 1.0x {@code chmLongAdder}, 2 threads, 1 000 keys.
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar DurableBenchmark -t 2 -p keys=1000 \
 *     -p distribution=uniform
 * }</pre>
 *
 * <p>Thread-safety: the state classes are managed by JMH.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class DurableBenchmark {

  /** A durable StatBuffer with a no-op batch handler and an interval of one hour. */
  @State(Scope.Benchmark)
  public static class DurableState {
    /** The buffer. */
    public StatBuffer<String> buffer;
    /** Its directory. */
    public Path directory;

    /**
     * Builds the buffer in a new directory and opens a window for every key.
     *
     * @param space the keys
     * @throws IOException if the directory cannot be made
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) throws IOException {
      directory = Peers.newDurableDirectory("statbuffer-durable-bench-");
      buffer = Peers.durableLongIntervalBuffer("bench-durable", directory);
      for (String key : space.keyObjects) {
        if (!buffer.increment(key)) {
          throw new IllegalStateException("the durable buffer refused " + key);
        }
      }
    }

    /**
     * Closes the buffer (delivering to the no-op handler), checks that it ended clean, and
     * deletes its directory.
     *
     * @throws IOException if the directory cannot be read or deleted
     */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      try {
        buffer.close();
        BufferStats stats = buffer.stats();
        if (stats.droppedSum() != 0 || stats.keptSum() != 0 || stats.recoveredSum() != 0) {
          throw new IllegalStateException("the durable buffer did not end clean: " + stats);
        }
        if (!DurableFiles.files(directory, DurableFiles.KEY_FILE_PREFIX).isEmpty()) {
          throw new IllegalStateException("close() left key files in " + directory);
        }
      } finally {
        DurableFiles.deleteRecursively(directory);
      }
    }
  }

  /**
   * In-memory StatBuffer {@code increment(key)}, as {@link IncrementBenchmark#statBuffer}.
   *
   * @param state the buffer
   * @param cursor this thread's keys
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean statBuffer(IncrementBenchmark.StatBufferState state, KeySpace.Cursor cursor) {
    return state.buffer.increment(cursor.next());
  }

  /**
   * Durable StatBuffer {@code increment(key)}: the count goes to the key's slot in a mapped file.
   *
   * @param state the buffer
   * @param cursor this thread's keys
   * @return whether the increment was recorded
   */
  @Benchmark
  public boolean durableStatBuffer(DurableState state, KeySpace.Cursor cursor) {
    return state.buffer.increment(cursor.next());
  }

  /**
   * {@code ConcurrentHashMap<K, LongAdder>.computeIfAbsent(key, ...).add(1)}, as
   * {@link IncrementBenchmark#chmLongAdder}.
   *
   * @param state the map
   * @param cursor this thread's keys
   */
  @Benchmark
  public void chmLongAdder(IncrementBenchmark.ChmLongAdderState state, KeySpace.Cursor cursor) {
    state.counter.add(cursor.next(), 1L);
  }
}
