package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** One regression test per bug found in review of the engine; each failed before its fix. */
class RegressionTest {
  record Call(Object key, long count) {}

  final List<Call> calls = new CopyOnWriteArrayList<>();
  final List<Call> drops = new CopyOnWriteArrayList<>();

  class Recording implements FlushHandler<String> {
    @Override
    public void flush(String key, long count) throws Exception {
      calls.add(new Call(key, count));
    }

    @Override
    public void onDrop(String key, long count, Exception lastError) {
      drops.add(new Call(key, count));
    }
  }

  /** F1: an interrupted caller of close() dropped every in-flight count, healthy handler or not. */
  @Test
  void close_callerInterrupted_stillDeliversInsteadOfDropping() throws Exception {
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .build(new Recording() {
          @Override
          public void flush(String key, long count) throws Exception {
            Thread.sleep(20); // a normal, healthy write
            super.flush(key, count);
          }
        });
    buffer.increment("a", 5);
    Thread.currentThread().interrupt(); // e.g. a worker stopped with Future.cancel(true)
    try {
      buffer.close();
    } finally {
      Thread.interrupted();
    }
    Thread.sleep(300);
    assertThat(drops).as("dropped although the handler is healthy").isEmpty();
    assertThat(calls).containsExactly(new Call("a", 5));
  }

  /**
   * F2: a delivery that fails just before close() sets {@code closing} schedules its retry with the
   * full backoff after dumpWindows() looked for retry timers, so close() never re-sends it and
   * drops it when shutdownTimeout ends.
   */
  @Test
  void close_racesWithFailure_retryStillResentWithoutWaitingOutBackoff() throws Exception {
    CountDownLatch inRetrySchedule = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Scheduler system = Scheduler.system();
    Scheduler slowOnRetry = (task, delay) -> {
      if (delay >= TimeUnit.HOURS.toNanos(1)) { // the retry of the failed delivery
        inRetrySchedule.countDown();
        try {
          release.await(); // stands for the gap between reading `closing` and scheduling
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return system.schedule(task, delay);
    };
    AtomicInteger failuresLeft = new AtomicInteger(1);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ZERO).backoff(Duration.ofHours(1))
        .shutdownTimeout(Duration.ofSeconds(1)).scheduler(slowOnRetry)
        .build(new Recording() {
          @Override
          public void flush(String key, long count) throws Exception {
            if (failuresLeft.getAndDecrement() > 0) {
              throw new IllegalStateException("down once");
            }
            super.flush(key, count);
          }
        });
    buffer.increment("a", 4);
    assertThat(inRetrySchedule.await(10, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<Void> closed = CompletableFuture.runAsync(buffer::close);
    while (!buffer.isClosed()) {
      Thread.onSpinWait();
    }
    Thread.sleep(100); // dumpWindows() has looked at the retry timers by now
    release.countDown();
    closed.get(10, TimeUnit.SECONDS);
    assertThat(drops).as("dropped although the handler recovered").isEmpty();
    assertThat(calls).containsExactly(new Call("a", 4));
  }

  /** F3: close() from a handler waited shutdownTimeout for itself and reported its count lost. */
  @Test
  void close_calledFromHandler_returnsPromptlyAndDropsNothing() throws Exception {
    AtomicReference<StatBuffer<String>> self = new AtomicReference<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .shutdownTimeout(Duration.ofSeconds(2))
        .build(new Recording() {
          @Override
          public void flush(String key, long count) throws Exception {
            super.flush(key, count);
            if (key.equals("stop")) {
              self.get().close(); // e.g. the sink detects a fatal condition
            }
          }
        });
    self.set(buffer);
    buffer.increment("stop");
    long start = System.nanoTime();
    buffer.flush("stop").handle((v, e) -> null).get(10, TimeUnit.SECONDS);
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(drops).as("a delivered count reported to onDrop").isEmpty();
    assertThat(millis).isLessThan(1_000);
  }

  /**
   * F4: flush(key) completed at once while the key's earlier count still waited for a retry, so
   * "flush(key).join(); read the sink" did not see the key. Now it waits for that count too, and
   * re-sends it without waiting out the backoff.
   */
  @Test
  void flushKey_countAwaitingRetry_completesOnlyWhenDelivered() {
    ManualClock clock = new ManualClock();
    AtomicInteger failuresLeft = new AtomicInteger(1);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .ticker(clock).scheduler(clock).executor(Runnable::run)
        .interval(Duration.ofSeconds(5)).backoff(Duration.ofMinutes(1))
        .build(new Recording() {
          @Override
          public void flush(String key, long count) throws Exception {
            if (failuresLeft.getAndDecrement() > 0) {
              throw new IllegalStateException("down once");
            }
            super.flush(key, count);
          }
        });
    buffer.increment("a", 3);
    clock.advance(Duration.ofSeconds(6)); // handed over, failed, waits 1 min for its retry
    assertThat(calls).isEmpty();
    CompletableFuture<Void> flushed = buffer.flush("a");
    assertThat(flushed).isDone();
    assertThat(calls).containsExactly(new Call("a", 3));
  }

  /**
   * F5: with a stuck handler, pressure relief kept handing open windows over early, turning keys
   * that were counting into refused keys. Relief now stops once half of maxKeys is in flight, so
   * at least half the bound stays open windows that keep counting.
   */
  @Test
  void maxKeys_handlerStuck_reliefStopsAndOpenKeysKeepCounting() {
    ManualClock clock = new ManualClock();
    StatBuffer<Integer> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .ticker(clock).scheduler(clock).executor(Runnable::run)
        .maxKeys(8).backoff(Duration.ofMinutes(1))
        .build((Integer key, long count) -> {
          throw new IllegalStateException("stuck");
        });
    for (int key = 0; key < 8; key++) {
      assertThat(buffer.increment(key)).isTrue();
    }
    assertThat(buffer.increment(100)).isFalse(); // at the bound: a new key is refused
    List<Integer> open = new java.util.ArrayList<>();
    for (int key = 0; key < 8; key++) {
      if (buffer.count(key).isPresent()) {
        open.add(key);
      }
    }
    assertThat(open).hasSizeGreaterThanOrEqualTo(4);
    for (int round = 0; round < 50; round++) {
      for (int key : open) {
        assertThat(buffer.increment(key)).as("open key " + key).isTrue();
      }
      assertThat(buffer.increment(200 + round)).isFalse(); // still refused; no further relief
    }
    for (int key : open) {
      assertThat(buffer.count(key)).hasValue(51);
    }
    assertThat(buffer.stats().rejected()).isEqualTo(51);
  }

  /** F6: behaviour 2 ("not much later, tens of ms"): with a 60 s interval one tick was 234 ms. */
  @Test
  void interval60s_handedOverWithinTensOfMillis() {
    ManualClock clock = new ManualClock();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .ticker(clock).scheduler(clock).executor(Runnable::run)
        .interval(Duration.ofSeconds(60))
        .build(new Recording());
    clock.advance(Duration.ofMillis(1)); // just past a tick boundary
    buffer.increment("a");
    clock.advance(Duration.ofSeconds(60).plusMillis(50));
    assertThat(calls).as("50 ms after due").containsExactly(new Call("a", 1));
  }

  /** F7: a user executor shut down first made close() wait the whole timeout, then drop all. */
  @Test
  void close_userExecutorShutDown_deliversOnClosingThreadInsteadOfWaitingOutTimeout() {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .executor(pool).shutdownTimeout(Duration.ofSeconds(2))
        .build(new Recording());
    buffer.increment("a", 7);
    pool.shutdown(); // e.g. the framework stopped its pool before the buffer's hook ran
    long start = System.nanoTime();
    buffer.close();
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(drops).isEmpty();
    assertThat(millis).isLessThan(1_000);
  }

  /** F8: huge deltas travel outside the windows and ignored maxKeys. */
  @Test
  void maxKeys_hugeDeltaOfNewKey_refusedLikeAnyNewKey() {
    ManualClock clock = new ManualClock();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .ticker(clock).scheduler(clock).executor(task -> { }) // handler never runs
        .maxKeys(1).build(new Recording());
    assertThat(buffer.increment("a")).isTrue();
    assertThat(buffer.increment("b")).isFalse();
    assertThat(buffer.increment("b", Long.MAX_VALUE)).isFalse();
  }

  /**
   * F10: close() from a thread that is inside the slow path (here: a direct executor runs the
   * handler inside incrementUnusual) spins for ever waiting for itself to leave the slow path.
   */
  @Test
  void close_fromHandlerRunInsideSlowPath_doesNotSpinForever() throws Exception {
    AtomicReference<StatBuffer<String>> self = new AtomicReference<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .executor(Runnable::run).shutdownTimeout(Duration.ofSeconds(1))
        .build((String key, long count) -> self.get().close());
    self.set(buffer);
    Thread writer = new Thread(() -> buffer.increment("a", Long.MAX_VALUE));
    writer.setDaemon(true); // it spun for ever before the fix
    writer.start();
    writer.join(3_000);
    assertThat(writer.isAlive()).as("increment -> handler -> close() still spinning").isFalse();
  }

  /** A huge delta to a batch handler travels alone; its batch must still carry an id. */
  @Test
  void hugeDelta_batchHandler_batchHasId() {
    ManualClock clock = new ManualClock();
    List<String> ids = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .ticker(clock).scheduler(clock).executor(Runnable::run)
        .buildBatched(batch -> ids.add(batch.id()));
    buffer.increment("a", Long.MAX_VALUE);
    buffer.close();
    assertThat(ids).hasSize(1).allSatisfy(id -> assertThat(id).isNotBlank());
  }

  /**
   * Issue 9: a batch kept by its handler (an async write, a queue) changed its attempt() when the
   * buffer retried it, although FlushBatch is documented as immutable.
   */
  @Test
  void flushBatch_keptByHandler_neverChangesWhenRetried() {
    ManualClock clock = new ManualClock();
    List<FlushBatch<String>> kept = new CopyOnWriteArrayList<>();
    List<FlushBatch<String>> dropped = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .ticker(clock).scheduler(clock).executor(Runnable::run)
        .interval(Duration.ofSeconds(1)).backoff(Duration.ofSeconds(1)).maxAttempts(3)
        .buildBatched(new BatchFlushHandler<String>() {
          @Override
          public void flush(FlushBatch<String> batch) {
            kept.add(batch);
            throw new IllegalStateException("down");
          }

          @Override
          public void onDrop(FlushBatch<String> batch, Exception lastError) {
            dropped.add(batch);
          }
        });
    buffer.increment("a", 2);
    clock.advance(Duration.ofSeconds(10));
    assertThat(kept).hasSize(3);
    assertThat(kept).extracting(FlushBatch::attempt).containsExactly(1, 2, 3);
    assertThat(kept).extracting(FlushBatch::id).containsOnly(kept.get(0).id());
    assertThat(kept).extracting(FlushBatch::counts).containsOnly(java.util.Map.of("a", 2L));
    assertThat(dropped).singleElement().satisfies(batch -> {
      assertThat(batch.attempt()).isEqualTo(3);
      assertThat(batch.id()).isEqualTo(kept.get(0).id());
    });
    buffer.close();
  }

  /**
   * Review: an interval of 200 days spans more ticks than a cell's 31-bit stamp compares exactly,
   * so a window opened on day 199 was handed over on day 200, 199 days early.
   */
  @Test
  void interval200Days_neverHandedOverEarly() {
    ManualClock clock = new ManualClock();
    List<Call> got = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().ticker(clock).scheduler(clock)
        .executor(Runnable::run).shutdownHook(false).interval(Duration.ofDays(200))
        .build((String key, long count) -> got.add(new Call(key, count)));
    buffer.increment("a", 5);
    clock.advance(Duration.ofDays(199));
    buffer.increment("c", 7);
    clock.advance(Duration.ofDays(1).plusMinutes(2));
    assertThat(got).containsExactly(new Call("a", 5));
    assertThat(buffer.count("c")).hasValue(7);
    clock.advance(Duration.ofDays(199));
    assertThat(got).containsExactly(new Call("a", 5), new Call("c", 7));
    buffer.close();
  }

  /**
   * Review of the micrometer module: a delivery left the in-flight set before the listener heard
   * of it (and a drop before onDrop ran), so close() could return before either. Now both run
   * first. The listener and onDrop take a while here (a slow metrics backend), so close() would
   * return before them if it did not wait.
   */
  @Test
  void close_returnsOnlyAfterListenerAndOnDropHeardOfEveryCount() {
    for (int round = 0; round < 3; round++) {
      java.util.concurrent.atomic.AtomicLong heard = new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.atomic.AtomicLong onDrop = new java.util.concurrent.atomic.AtomicLong();
      StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
          .interval(Duration.ZERO).maxAttempts(1)
          .listener(new BufferListener() {
            @Override
            public void delivered(String name, int keys, long sum, int attempt, long nanos) {
              slowly(() -> heard.addAndGet(sum));
            }

            @Override
            public void dropped(String name, int keys, long sum, Exception lastError) {
              slowly(() -> heard.addAndGet(sum));
            }
          })
          .build(new FlushHandler<String>() {
            @Override
            public void flush(String key, long count) {
              if (key.equals("bad")) {
                throw new IllegalStateException("refused");
              }
            }

            @Override
            public void onDrop(String key, long count, Exception lastError) {
              slowly(() -> onDrop.addAndGet(count));
            }
          });
      buffer.increment("good", 3);
      buffer.increment("bad", 4);
      buffer.close();
      assertThat(heard.get()).as("round " + round).isEqualTo(7);
      assertThat(onDrop.get()).as("round " + round).isEqualTo(4);
    }
  }

  /**
   * Issue 12, finding 6: close() from a handler dropped the healthy counts queued behind it in the
   * same executor task (per-key deliveries run up to maxBatchSize to a task) after the whole
   * shutdown timeout: they waited for the handler, which waited for them.
   */
  @Test
  void close_fromHandler_deliversTheRestOfItsTask() throws Exception {
    AtomicReference<StatBuffer<String>> self = new AtomicReference<>();
    java.util.concurrent.atomic.AtomicBoolean first =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).shutdownTimeout(Duration.ofSeconds(20))
        .build(new Recording() {
          @Override
          public void flush(String key, long count) throws Exception {
            super.flush(key, count);
            if (first.compareAndSet(true, false)) {
              self.get().close(); // the first of 41 in one task
            }
          }
        });
    self.set(buffer);
    for (int i = 0; i < 41; i++) {
      buffer.increment("k" + i);
    }
    buffer.flushAll().handle((v, e) -> null).get(30, TimeUnit.SECONDS);
    buffer.close(); // waits for the close the handler began
    assertThat(drops).isEmpty();
    assertThat(calls).hasSize(41);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(41);
  }

  private static void slowly(Runnable action) {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    action.run();
  }
}
