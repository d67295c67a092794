package dev.statbuffer.bench;

import dev.statbuffer.FlushHandler;
import dev.statbuffer.StatBuffer;
import java.util.concurrent.TimeUnit;
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
 * Drain rate: how fast {@code flushAll()} hands {@code pendingKeys} open windows to a no-op
 * handler and sees them delivered. Each invocation fills a fresh buffer (not timed), then times
 * {@code flushAll().join()}; keys per second = {@code pendingKeys / score}. The buffer runs its
 * handlers on its own default executor.
 *
 * <pre>{@code
 * java -jar statbuffer-bench/target/benchmarks.jar DrainBenchmark
 * }</pre>
 *
 * <p>Thread-safety: the state is managed by JMH; one benchmark thread.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Threads(1)
public class DrainBenchmark {

  /** A fresh buffer holding {@code pendingKeys} open windows for each invocation. */
  @State(Scope.Benchmark)
  public static class Filled {
    /** How many keys are pending when {@code flushAll} starts. */
    @Param({"1000000"})
    public int pendingKeys;

    /**
     * {@code batch}: a no-op {@code BatchFlushHandler}; {@code perKey}: a no-op
     * {@code FlushHandler}.
     */
    @Param({"batch", "perKey"})
    public String handler;

    /** The buffer being drained. */
    public StatBuffer<String> buffer;

    private String[] keys;

    /** Builds the keys once. */
    @Setup(Level.Trial)
    public void buildKeys() {
      keys = KeySpace.buildKeys(pendingKeys);
    }

    /** Builds a buffer and opens a window for every key; not timed. */
    @Setup(Level.Invocation)
    public void fill() {
      StatBuffer.Builder builder = StatBuffer.newBuilder()
          .name("drain")
          .interval(Peers.LONG_INTERVAL)
          .shutdownHook(false);
      buffer = switch (handler) {
        case "batch" -> builder.buildBatched(Peers.<String>noOpHandler());
        case "perKey" -> builder.build(new FlushHandler<String>() {
          @Override
          public void flush(String key, long count) {}

          @Override
          public void onDrop(String key, long count, Exception lastError) {}
        });
        default -> throw new IllegalArgumentException(
            "handler must be batch or perKey: " + handler);
      };
      for (String key : keys) {
        buffer.increment(key);
      }
    }

    /** Checks that every key was delivered, then closes the buffer. */
    @TearDown(Level.Invocation)
    public void closeAndCheck() {
      long delivered = buffer.stats().deliveredSum();
      buffer.close();
      if (delivered != pendingKeys) {
        throw new IllegalStateException(
            "flushAll delivered " + delivered + " of " + pendingKeys + " increments");
      }
    }
  }

  /**
   * Hands every pending window over and waits until all are delivered.
   *
   * @param filled the buffer
   * @return the buffer's stats afterwards
   */
  @Benchmark
  public Object flushAll(Filled filled) {
    filled.buffer.flushAll().join();
    return filled.buffer;
  }
}
