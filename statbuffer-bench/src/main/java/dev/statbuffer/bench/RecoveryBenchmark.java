package dev.statbuffer.bench;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
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
 * Recovery time of a durable buffer: how long {@code build} takes, on a directory a killed process
 * left holding {@code keys} counted keys, until it returns a buffer ready to count.
 *
 * <p>The trial set-up runs a child JVM ({@link LeftOverDirectory}) that counts every key once
 * into a durable buffer (interval one hour, so nothing is handed over) and halts: the directory
 * then holds the key files with every count and an empty journal, as after a SIGKILL. Recovery
 * journals the left-over counts and deletes the old key files, so every invocation works on its
 * own copy of that directory, made (and forced to the disk, then {@code System.gc()}) in the
 * invocation's set-up, which is not timed. The measured operation is
 * {@link Peers#durableLongIntervalBuffer} on the copy (no-op batch handler): it reads and checks
 * every key slot, appends the left-over counts to the journal and forces it, deletes the old key
 * files, and returns; the recovered batches are delivered afterwards, asynchronously, and are not
 * timed. The tear-down, not timed, checks that the buffer took up {@code keys} (its
 * {@code recoveredSum}), closes it (delivering them) and deletes the copy.
 *
 * <p>Single shot: the score is the time of one {@code build}. The files are in the page cache,
 * as after a process kill (not a reboot). Directories are made under the system property
 * {@value Peers#DURABLE_DIR_PROPERTY} (default {@code java.io.tmpdir}).
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar RecoveryBenchmark
 * }</pre>
 *
 * <p>Thread-safety: one benchmark thread; the state is managed by JMH.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(1)
public class RecoveryBenchmark {

  /** The directory a killed process left, and a fresh copy of it per invocation. */
  @State(Scope.Benchmark)
  public static class LeftOver {
    /** How many keys the killed process counted. */
    @Param({"1000000"})
    public int keys;

    /** The buffer built by the current invocation; null before it and after its tear-down. */
    public @Nullable StatBuffer<String> buffer;

    private Path template;
    private Path copy;
    private long expectedSum;
    private int copies;

    /**
     * Runs the counting child on a new directory, which every invocation then copies.
     *
     * @throws IOException if the child fails
     * @throws InterruptedException if interrupted while waiting for it
     */
    @Setup(Level.Trial)
    public void leave() throws IOException, InterruptedException {
      template = Peers.newDurableDirectory("statbuffer-recovery-template-");
      expectedSum = LeftOverDirectory.leave(template, keys, 1);
    }

    /**
     * Copies the left-over directory for this invocation and collects garbage; not timed.
     *
     * @throws IOException if the copy fails
     */
    @Setup(Level.Invocation)
    public void copy() throws IOException {
      copy = template.resolveSibling(template.getFileName() + "-copy-" + copies++);
      DurableFiles.copy(template, copy);
      System.gc();
    }

    /**
     * Checks what the buffer recovered, closes it and deletes the copy; not timed.
     *
     * @throws IOException if the copy cannot be deleted
     */
    @TearDown(Level.Invocation)
    public void closeAndCheck() throws IOException {
      try {
        if (buffer == null) {
          throw new IllegalStateException("no buffer was built");
        }
        long recovered = buffer.stats().recoveredSum();
        buffer.close();
        BufferStats stats = buffer.stats();
        if (recovered != expectedSum || stats.deliveredSum() != expectedSum
            || stats.droppedSum() != 0 || stats.keptSum() != 0) {
          throw new IllegalStateException("expected " + expectedSum + " recovered and delivered, "
              + "got " + recovered + " recovered at build, then " + stats);
        }
      } finally {
        buffer = null;
        DurableFiles.deleteRecursively(copy);
      }
    }

    /**
     * Deletes the left-over directory.
     *
     * @throws IOException if it cannot be deleted
     */
    @TearDown(Level.Trial)
    public void delete() throws IOException {
      DurableFiles.deleteRecursively(template);
    }
  }

  /**
   * Builds a durable buffer on a directory a killed process left; returns once it is ready to
   * count.
   *
   * @param state the left-over directory's copy
   * @return the buffer (closed by the tear-down)
   */
  @Benchmark
  public StatBuffer<String> recover(LeftOver state) {
    state.buffer = Peers.durableLongIntervalBuffer("recovery", state.copy);
    return state.buffer;
  }
}
