package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.lang.System.Logger.Level;
import java.util.ResourceBundle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12's log findings: repeated failures and drops give a few readable lines, with the counts
 * and the reason, instead of a stack trace per batch; the outcome sums never wrap. Captures what
 * the buffer writes with a {@code System.Logger} of the test's own.
 */
class ReadableLogsTest {
  /** One log line: level, message and what was thrown. */
  record LogRecord(Level level, String message, Throwable thrown) {
    String getMessage() {
      return message;
    }
  }

  private final List<LogRecord> records = new CopyOnWriteArrayList<>();
  private final System.Logger capture = new System.Logger() {
    @Override
    public String getName() {
      return "capture";
    }

    @Override
    public boolean isLoggable(Level level) {
      return true;
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {
      records.add(new LogRecord(level, message, thrown));
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
      records.add(new LogRecord(level, format, null));
    }
  };
  private final ManualClock clock = new ManualClock();

  @BeforeEach
  void capture() {
    Logs.use(capture);
    DropLog.reset();
  }

  @AfterEach
  void release() {
    Logs.use(System.getLogger(StatBuffer.class.getName()));
    DropLog.reset();
  }

  private StatBuffer.Builder builder() {
    return StatBuffer.newBuilder().name("logs").shutdownHook(false).ticker(clock)
        .scheduler(clock).executor(Runnable::run).interval(Duration.ofSeconds(1))
        .shutdownTimeout(Duration.ZERO);
  }

  private List<String> warnings() {
    return records.stream().filter(r -> r.level() == Level.WARNING)
        .map(LogRecord::getMessage).toList();
  }

  @Test
  void repeatedFailures_firstWithStackTrace_thenAtMostOneSummaryPerWindow() {
    boolean[] failing = {true};
    StatBuffer<String> buffer = builder().backoff(Duration.ofMillis(100))
        .maxBackoff(Duration.ofMillis(100))
        .build((String key, long count) -> {
          if (failing[0]) {
            throw new IllegalStateException("store down");
          }
        });
    for (int i = 0; i < 50; i++) {
      buffer.increment("k" + i);
    }
    clock.advance(Duration.ofSeconds(21)); // 50 keys retried every 100 ms for 20 s: ~10 000 calls
    assertThat(buffer.stats().failures()).isGreaterThan(9_000);
    List<String> lines = warnings();
    assertThat(lines).hasSizeBetween(2, 6); // the first, then one per 5 s at most
    assertThat(records.stream().filter(r -> r.level() == Level.WARNING).findFirst())
        .hasValueSatisfying(first -> assertThat(first.thrown()).hasMessage("store down"));
    assertThat(lines.get(1)).contains("more failed calls", "keys)", "store down",
        "next retry in PT0.1S");
    failing[0] = false;
    clock.advance(Duration.ofSeconds(1));
    assertThat(warnings()).last().asString().contains("a delivery succeeded since");
    assertThat(buffer.stats().deliveredSum()).isEqualTo(50);
    buffer.close();
  }

  @Test
  void defaultOnDrop_reportsCountsAndReason_andSummarizesABurst() {
    StatBuffer<String> buffer = builder().maxAttempts(1).maxBatchSize(2)
        .buildBatched(batch -> {
          throw new IllegalStateException("refused");
        });
    buffer.increment("a", 4);
    buffer.increment("b", 5);
    for (int i = 0; i < 200; i++) {
      buffer.increment("k" + i, 1);
    }
    clock.advance(Duration.ofSeconds(2));
    buffer.close(); // writes the summary of the burst
    List<String> errors = records.stream().filter(r -> r.level() == Level.ERROR)
        .map(LogRecord::getMessage).toList();
    assertThat(errors).hasSize(2); // 101 batches dropped: the first, then one summary
    assertThat(String.join("\n", errors)).contains("sum", "its last attempt failed",
        "refused", "100 more deliveries");
    long summed = buffer.stats().droppedSum();
    assertThat(summed).isEqualTo(209);
    assertThat(errors.get(1)).contains("sum " + (209 - firstBatchSum(errors.get(0))));
  }

  /** The sum the first line names: "... (2 keys, sum 9: a=4, b=5) ...". */
  private static long firstBatchSum(String line) {
    int at = line.indexOf("sum ") + 4;
    return Long.parseLong(line.substring(at, line.indexOf(':', at)));
  }

  @Test
  void defaultOnDrop_perKey_namesKeyCountAndShutdownTimeout() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      StatBuffer<String> buffer = builder().executor(pool).build((String key, long count) ->
          release.await()); // a stuck store: the call never returns before close gives up
      buffer.increment("page", 7);
      buffer.flush("page");
      buffer.close(); // shutdownTimeout 0: dropped while the call still hangs, no failure yet
      assertThat(records.stream().filter(r -> r.level() == Level.ERROR)
          .map(LogRecord::getMessage)).anySatisfy(line ->
              assertThat(line).contains("count 7 for key page",
                  "the shutdown timeout ran out before it was delivered"));
    } finally {
      release.countDown();
      pool.shutdown();
    }
  }

  @Test
  void outcomeSums_stickAtTheLimitInsteadOfWrapping() {
    StatBuffer<String> buffer = builder().build((String key, long count) -> { });
    buffer.increment("a", Long.MAX_VALUE);
    buffer.increment("b", Long.MAX_VALUE);
    buffer.close();
    assertThat(buffer.stats().deliveredSum()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void batchDescription_singularKey() {
    List<String> seen = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = builder().maxAttempts(2).backoff(Duration.ofMillis(1))
        .buildBatched(batch -> {
          throw new IllegalStateException("x");
        });
    buffer.increment("only");
    clock.advance(Duration.ofSeconds(2));
    records.stream().map(LogRecord::getMessage).forEach(seen::add);
    assertThat(String.join("\n", seen)).contains("(1 key)").doesNotContain("1 keys");
    buffer.close();
  }
}
