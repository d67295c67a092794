package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Behaviour of a buffer driven by a manual clock and a direct executor, so nothing sleeps. */
class StatBufferTest {
  private final ManualClock clock = new ManualClock();
  private final List<StatBuffer<?>> buffers = new ArrayList<>();

  /** What a per-key handler received, in order. */
  record Call(Object key, long count) {}

  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final List<Call> drops = new CopyOnWriteArrayList<>();

  private final FlushHandler<Object> recording = new FlushHandler<>() {
    @Override
    public void flush(Object key, long count) {
      calls.add(new Call(key, count));
    }

    @Override
    public void onDrop(Object key, long count, Exception lastError) {
      drops.add(new Call(key, count));
    }
  };

  private StatBuffer.Builder builder() {
    return StatBuffer.newBuilder()
        .name("test")
        .ticker(clock)
        .scheduler(clock)
        .executor(Runnable::run)
        .shutdownHook(false)
        .interval(Duration.ofSeconds(5));
  }

  private <K> StatBuffer<K> track(StatBuffer<K> buffer) {
    buffers.add(buffer);
    return buffer;
  }

  @AfterEach
  void closeAll() {
    // Buffers with a manual clock close at once unless a handler keeps failing.
    for (StatBuffer<?> buffer : buffers) {
      if (!buffer.isClosed()) {
        CompletableFuture.runAsync(buffer::close);
        for (int i = 0; i < 100 && buffer.stats().pendingKeys() > 0; i++) {
          clock.advance(Duration.ofSeconds(1));
        }
      }
    }
  }

  @Test
  void increment_windowDue_handedOverOnceAsOneSum() {
    StatBuffer<String> buffer = track(builder().build(recording));
    for (int i = 0; i < 1000; i++) {
      assertThat(buffer.increment("a")).isTrue();
    }
    buffer.increment("a", 41);
    clock.advance(Duration.ofMillis(4_999));
    assertThat(calls).isEmpty();
    assertThat(buffer.count("a")).hasValue(1041);

    clock.advance(Duration.ofMillis(30));
    assertThat(calls).containsExactly(new Call("a", 1041));
    assertThat(buffer.count("a")).isEmpty();
    assertThat(buffer.stats()).isEqualTo(new BufferStats(0, 1, 0, 0, 1041, 0));
  }

  @Test
  void increment_windowOpensAtFirstIncrementAfterFlush() {
    StatBuffer<String> buffer = track(builder().build(recording));
    buffer.increment("a");
    clock.advance(Duration.ofSeconds(3));
    buffer.increment("b");
    clock.advance(Duration.ofMillis(2_100));
    assertThat(calls).containsExactly(new Call("a", 1));
    buffer.increment("a", 5); // a new window for a: due 5 s from now
    clock.advance(Duration.ofMillis(3_000));
    assertThat(calls).containsExactly(new Call("a", 1), new Call("b", 1));
    clock.advance(Duration.ofMillis(2_100));
    assertThat(calls).containsExactly(new Call("a", 1), new Call("b", 1), new Call("a", 5));
  }

  @Test
  void increment_keyTypes_neverMixed() {
    record Page(String path, int day) {}
    enum Kind { LIKE, VIEW }
    StatBuffer<Object> buffer = track(builder().build(recording));
    buffer.increment(new Page("/a", 1), 2);
    buffer.increment(new Page("/a", 1), 3);
    buffer.increment(new Page("/a", 2));
    buffer.increment(Kind.LIKE);
    buffer.increment(7, 4);
    buffer.increment(7L, 6); // a Long is another key than an Integer
    buffer.increment("7", 8);
    StatBuffer<Object> other = track(builder().name("other").build(recording));
    other.increment("7", 100);
    clock.advance(Duration.ofSeconds(6));
    assertThat(calls).containsExactlyInAnyOrder(new Call(new Page("/a", 1), 5),
        new Call(new Page("/a", 2), 1), new Call(Kind.LIKE, 1), new Call(7, 4),
        new Call(7L, 6), new Call("7", 8), new Call("7", 100));
  }

  @Test
  void increment_negativeDeltas_summed() {
    StatBuffer<String> buffer = track(builder().build(recording));
    buffer.increment("a", 10);
    buffer.increment("a", -25);
    clock.advance(Duration.ofSeconds(6));
    assertThat(calls).containsExactly(new Call("a", -15));
  }

  @Test
  void increment_windowSumsToZero_notHandedOver() {
    StatBuffer<String> buffer = track(builder().build(recording));
    buffer.increment("a", 3);
    buffer.increment("a", -3);
    assertThat(buffer.count("a")).hasValue(0);
    clock.advance(Duration.ofSeconds(6));
    assertThat(calls).isEmpty();
    assertThat(buffer.stats().pendingKeys()).isZero();
    assertThat(buffer.increment("a", 0)).isTrue();
    assertThat(buffer.count("a")).isEmpty();
  }

  @Test
  void increment_hugeDeltas_deliveredExactlyWithoutOverflow() {
    StatBuffer<String> buffer = track(builder().build(recording));
    long[] deltas = {Long.MAX_VALUE, Long.MAX_VALUE / 300, Long.MAX_VALUE / 300,
        Long.MAX_VALUE / 300, Long.MIN_VALUE, 5};
    java.math.BigInteger expected = java.math.BigInteger.ZERO;
    for (long delta : deltas) {
      assertThat(buffer.increment("a", delta)).isTrue();
      expected = expected.add(java.math.BigInteger.valueOf(delta));
    }
    clock.advance(Duration.ofSeconds(6));
    java.math.BigInteger delivered = calls.stream()
        .map(call -> java.math.BigInteger.valueOf(call.count()))
        .reduce(java.math.BigInteger.ZERO, java.math.BigInteger::add);
    assertThat(delivered).isEqualTo(expected);
    assertThat(calls).allMatch(call -> call.key().equals("a") && call.count() != 0);
    assertThat(calls.size()).isBetween(3, deltas.length);
  }

  @Test
  void jitter_delaysEachWindowWithinBound() {
    StatBuffer<Integer> buffer = track(builder().jitter(Duration.ofSeconds(2)).build(recording));
    for (int key = 0; key < 200; key++) {
      buffer.increment(key);
    }
    clock.advance(Duration.ofMillis(4_990));
    assertThat(calls).isEmpty();
    clock.advance(Duration.ofMillis(1_000));
    int early = calls.size();
    assertThat(early).isBetween(1, 199); // spread: some handed over, some not yet
    clock.advance(Duration.ofMillis(1_100));
    assertThat(calls).hasSize(200);
  }

  @Test
  void flush_key_deliversNowAndCompletes() {
    StatBuffer<String> buffer = track(builder().build(recording));
    buffer.increment("a", 2);
    buffer.increment("b", 3);
    CompletableFuture<Void> done = buffer.flush("a");
    assertThat(done).isCompleted();
    assertThat(calls).containsExactly(new Call("a", 2));
    assertThat(buffer.flush("absent")).isCompleted();
    clock.advance(Duration.ofSeconds(6));
    assertThat(calls).containsExactly(new Call("a", 2), new Call("b", 3));
  }

  @Test
  void flushAll_deliversEveryKey() {
    StatBuffer<String> buffer = track(builder().build(recording));
    buffer.increment("a", 2);
    buffer.increment("b", 3);
    assertThat(buffer.flushAll()).isCompleted();
    assertThat(calls).containsExactlyInAnyOrder(new Call("a", 2), new Call("b", 3));
    assertThat(buffer.stats().pendingKeys()).isZero();
  }

  @Test
  void failure_retriedWithDoublingBackoff_sameCount() {
    List<Long> attemptsAt = new CopyOnWriteArrayList<>();
    AtomicInteger failuresLeft = new AtomicInteger(4);
    StatBuffer<String> buffer = track(builder()
        .backoff(Duration.ofSeconds(1)).maxBackoff(Duration.ofSeconds(5))
        .build((String key, long count) -> {
          attemptsAt.add(clock.read());
          if (failuresLeft.getAndDecrement() > 0) {
            throw new IllegalStateException("down");
          }
          calls.add(new Call(key, count));
        }));
    buffer.increment("a", 7);
    clock.advance(Duration.ofMillis(5_010)); // due at 5 s, handed over within a 10 ms tick
    buffer.increment("a", 1); // a new window; never merged into the failing one
    clock.advance(Duration.ofSeconds(30));
    assertThat(calls).containsExactly(new Call("a", 1), new Call("a", 7));
    List<Long> gaps = new ArrayList<>();
    for (int i = 1; i < 5; i++) {
      gaps.add(TimeUnit.NANOSECONDS.toMillis(attemptsAt.get(i) - attemptsAt.get(i - 1)));
    }
    // attempts of "a"=7 at 5 s, then +1 s, +2 s, +4 s, +5 s (capped); "a"=1 interleaves.
    assertThat(attemptsAt).hasSize(6);
    assertThat(buffer.stats().failures()).isEqualTo(4);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(8);
  }

  @Test
  void failure_backoffSchedule_exponentialUpToMax() {
    List<Long> attemptsAt = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = track(builder()
        .backoff(Duration.ofSeconds(1)).maxBackoff(Duration.ofSeconds(5)).maxAttempts(6)
        .build((String key, long count) -> {
          attemptsAt.add(clock.read());
          throw new IllegalStateException("down");
        }));
    buffer.increment("a", 7);
    clock.advance(Duration.ofSeconds(60));
    List<Long> gaps = new ArrayList<>();
    for (int i = 1; i < attemptsAt.size(); i++) {
      gaps.add(TimeUnit.NANOSECONDS.toMillis(attemptsAt.get(i) - attemptsAt.get(i - 1)));
    }
    assertThat(gaps).containsExactly(1_000L, 2_000L, 4_000L, 5_000L, 5_000L);
  }

  @Test
  void failure_maxAttemptsExhausted_goesToOnDropAndDroppedSum() {
    AtomicInteger calls = new AtomicInteger();
    List<Exception> errors = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = track(builder()
        .backoff(Duration.ofMillis(100)).maxAttempts(3)
        .build(new FlushHandler<String>() {
          @Override
          public void flush(String key, long count) {
            throw new IllegalStateException("attempt " + calls.incrementAndGet());
          }

          @Override
          public void onDrop(String key, long count, Exception lastError) {
            drops.add(new Call(key, count));
            errors.add(lastError);
          }
        }));
    buffer.increment("a", 9);
    clock.advance(Duration.ofSeconds(10));
    assertThat(calls).hasValue(3);
    assertThat(drops).containsExactly(new Call("a", 9));
    assertThat(errors.get(0)).hasMessage("attempt 3");
    assertThat(buffer.stats()).isEqualTo(new BufferStats(0, 0, 3, 0, 0, 9));
  }

  @Test
  void batch_retry_sameIdAndCountsNextAttempt() {
    List<String> ids = new CopyOnWriteArrayList<>();
    List<Map<String, Long>> seen = new CopyOnWriteArrayList<>();
    List<Integer> attempts = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = track(builder().backoff(Duration.ofSeconds(1))
        .buildBatched(batch -> {
          ids.add(batch.id());
          seen.add(batch.counts());
          attempts.add(batch.attempt());
          if (attempts.size() < 3) {
            throw new IllegalStateException("down");
          }
        }));
    buffer.increment("a", 2);
    buffer.increment("b", 3);
    clock.advance(Duration.ofMillis(5_010));
    buffer.increment("a", 100);
    clock.advance(Duration.ofSeconds(4));
    assertThat(ids.subList(0, 3)).containsOnly(ids.get(0));
    assertThat(seen.subList(0, 3)).containsOnly(Map.of("a", 2L, "b", 3L));
    assertThat(attempts.subList(0, 3)).containsExactly(1, 2, 3);
    clock.advance(Duration.ofSeconds(2));
    assertThat(seen).last().isEqualTo(Map.of("a", 100L));
    assertThat(ids).last().isNotEqualTo(ids.get(0));
  }

  @Test
  void batch_countsUnmodifiable_noZeros_boundedSize() {
    List<Map<String, Long>> seen = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = track(builder().maxBatchSize(10).buildBatched(batch -> {
      assertThatThrownBy(() -> batch.counts().put("x", 1L))
          .isInstanceOf(UnsupportedOperationException.class);
      seen.add(batch.counts());
    }));
    for (int i = 0; i < 35; i++) {
      buffer.increment("k" + i, i % 5 == 0 ? 0 : i);
    }
    buffer.increment("z", 4);
    buffer.increment("z", -4);
    clock.advance(Duration.ofSeconds(6));
    assertThat(seen).allSatisfy(counts -> {
      assertThat(counts).isNotEmpty().hasSizeLessThanOrEqualTo(10);
      assertThat(counts.values()).doesNotContain(0L);
    });
    assertThat(seen.stream().mapToInt(Map::size).sum()).isEqualTo(28);
  }

  @Test
  void batchIds_uniqueAcrossBuffers() {
    List<String> ids = new CopyOnWriteArrayList<>();
    for (int b = 0; b < 3; b++) {
      StatBuffer<Integer> buffer = track(builder().maxBatchSize(1)
          .buildBatched(batch -> ids.add(batch.id())));
      for (int i = 0; i < 100; i++) {
        buffer.increment(i);
      }
    }
    clock.advance(Duration.ofSeconds(6));
    assertThat(ids).hasSize(300).doesNotHaveDuplicates();
    assertThat(ids).allMatch(id -> id.length() <= 64 && id.matches("[0-9a-z-]+"));
  }

  @Test
  void close_dumpsBufferAndRefusesLaterIncrements() {
    StatBuffer<String> buffer = track(builder().build(recording));
    buffer.increment("a", 2);
    buffer.increment("b", 3);
    buffer.close();
    assertThat(calls).containsExactlyInAnyOrder(new Call("a", 2), new Call("b", 3));
    assertThat(buffer.increment("a")).isFalse();
    assertThat(buffer.increment("c", 5)).isFalse();
    assertThat(buffer.count("a")).isEmpty();
    buffer.close(); // idempotent
    assertThat(calls).hasSize(2);
  }

  @Test
  void close_deliversCountsAwaitingRetry_withoutWaitingOutBackoff() throws Exception {
    AtomicInteger failuresLeft = new AtomicInteger(1);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofMillis(1)).backoff(Duration.ofHours(1))
        .build((String key, long count) -> {
          if (failuresLeft.getAndDecrement() > 0) {
            throw new IllegalStateException("down");
          }
          calls.add(new Call(key, count));
        });
    buffer.increment("a", 4);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (buffer.stats().failures() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    long start = System.nanoTime();
    buffer.close();
    assertThat(calls).containsExactly(new Call("a", 4));
    assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(10);
  }

  /** A handler whose every call fails; its onDrop records the drop after sleeping. */
  private FlushHandler<String> alwaysFailing(long onDropSleepMillis) {
    return new FlushHandler<>() {
      @Override
      public void flush(String key, long count) {
        throw new IllegalStateException("down");
      }

      @Override
      public void onDrop(String key, long count, Exception lastError) {
        if (onDropSleepMillis > 0) {
          try {
            Thread.sleep(onDropSleepMillis);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        drops.add(new Call(key, count));
      }
    };
  }

  /**
   * A call failing as the shutdown deadline passes drops its delivery itself, and close() must
   * not return before that drop's onDrop ran (CI caught close() returning first once).
   */
  @org.junit.jupiter.api.RepeatedTest(10)
  void close_dropDecidedByAFailingCall_returnsAfterItsOnDrop() {
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .backoff(Duration.ofMillis(1)).shutdownTimeout(Duration.ofMillis(200))
        .build(alwaysFailing(100)); // a slow report widens the window
    for (int i = 0; i < 8; i++) {
      buffer.increment("k" + i, i + 1);
    }
    buffer.close();
    assertThat(drops).hasSize(8);
    assertThat(buffer.stats().droppedSum()).isEqualTo(36);
  }

  @Test
  void close_handlerKeepsFailing_dropsAfterShutdownTimeout() {
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .backoff(Duration.ofMillis(10)).shutdownTimeout(Duration.ofMillis(300))
        .build(alwaysFailing(0));
    buffer.increment("a", 4);
    buffer.increment("b", 5);
    buffer.close();
    assertThat(drops).containsExactlyInAnyOrder(new Call("a", 4), new Call("b", 5));
    BufferStats stats = buffer.stats();
    assertThat(stats.droppedSum()).isEqualTo(9);
    assertThat(stats.deliveredSum()).isZero();
    assertThat(stats.pendingKeys()).isZero();
    assertThat(stats.failures()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void close_stuckHandler_droppedOnceEvenIfItLaterSucceeds() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch finished = new CountDownLatch(1);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .shutdownTimeout(Duration.ofMillis(200))
        .build(new FlushHandler<String>() {
          @Override
          public void flush(String key, long count) throws InterruptedException {
            try {
              release.await();
            } finally {
              finished.countDown();
            }
          }

          @Override
          public void onDrop(String key, long count, Exception lastError) {
            drops.add(new Call(key, count));
          }
        });
    buffer.increment("a", 4);
    buffer.close();
    assertThat(drops).containsExactly(new Call("a", 4));
    release.countDown();
    assertThat(finished.await(10, TimeUnit.SECONDS)).isTrue();
    Thread.sleep(50);
    assertThat(buffer.stats()).isEqualTo(new BufferStats(0, 0, 0, 0, 0, 4));
  }

  @Test
  void handler_neverRunsOnIncrementingThread_andSlowHandlerNeverBlocksIncrement()
      throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    List<Thread> handlerThreads = new CopyOnWriteArrayList<>();
    StatBuffer<Integer> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ZERO)
        .build((Integer key, long count) -> {
          handlerThreads.add(Thread.currentThread());
          release.await();
        });
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      int i = 0;
      while (handlerThreads.isEmpty() && System.nanoTime() < deadline) {
        buffer.increment(i++ % 10);
      }
      // Handlers are stuck now; increments still go through at once.
      for (int j = 0; j < 100_000; j++) {
        assertThat(buffer.increment(j % 1000)).isTrue();
      }
      assertThat(handlerThreads).isNotEmpty().doesNotContain(Thread.currentThread());
    } finally {
      release.countDown();
      buffer.close();
    }
  }

  @Test
  void idleBuffer_schedulesNothing_andHoldsNoKeys() {
    StatBuffer<String> buffer = track(builder().build(recording));
    assertThat(clock.pendingTasks()).isZero();
    buffer.increment("a");
    assertThat(clock.pendingTasks()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(6));
    assertThat(calls).hasSize(1);
    assertThat(clock.pendingTasks()).isZero();
    long scheduled = clock.scheduledCount();
    clock.advance(Duration.ofHours(1));
    assertThat(clock.scheduledCount()).isEqualTo(scheduled);
    assertThat(buffer.stats().pendingKeys()).isZero();
    assertThat(buffer.count("a")).isEmpty();
  }

  @Test
  void manyKeys_oneWakeUpPerDueTick() {
    StatBuffer<Integer> buffer = track(builder().build(recording));
    for (int i = 0; i < 10_000; i++) {
      buffer.increment(i);
    }
    assertThat(clock.pendingTasks()).isEqualTo(1); // all due in the same tick
    clock.advance(Duration.ofSeconds(6));
    assertThat(calls).hasSize(10_000);
  }

  @Test
  void maxKeys_handsOverOldestEarly_thenRejectsNewKeysWhileHandlerStuck() {
    List<Object> delivered = Collections.synchronizedList(new ArrayList<>());
    AtomicLong blocked = new AtomicLong(1);
    StatBuffer<Integer> buffer = track(builder().maxKeys(8).backoff(Duration.ofMinutes(1))
        .build((Integer key, long count) -> {
          if (blocked.get() == 1) {
            throw new IllegalStateException("stuck");
          }
          delivered.add(key);
        }));
    for (int key = 0; key < 7; key++) {
      assertThat(buffer.increment(key)).isTrue();
      clock.advance(Duration.ofMillis(100));
    }
    // 7 of 8: pressure hands the oldest windows over early (here: to a failing handler).
    assertThat(buffer.stats().failures()).isPositive();
    assertThat(buffer.increment(7)).isTrue();
    assertThat(buffer.increment(8)).isFalse();
    assertThat(buffer.stats().rejected()).isEqualTo(1);
    // Keys with an open window keep counting.
    assertThat(buffer.count(7)).hasValue(1);
    assertThat(buffer.increment(7)).isTrue();
    assertThat(buffer.count(7)).hasValue(2);
    blocked.set(0);
    clock.advance(Duration.ofMinutes(2));
    assertThat(buffer.increment(8)).isTrue();
    assertThat(buffer.stats().deliveredSum()).isEqualTo(9);
  }

  @Test
  void count_reportsOpenWindowOnly() {
    StatBuffer<String> buffer = track(builder().build(recording));
    assertThat(buffer.count("a")).isEqualTo(OptionalLong.empty());
    buffer.increment("a", 3);
    assertThat(buffer.count("a")).hasValue(3);
    buffer.flush("a");
    assertThat(buffer.count("a")).isEmpty();
  }

  @Test
  void nullArguments_throwNamingTheParameter() {
    StatBuffer<String> buffer = track(builder().build(recording));
    assertThatThrownBy(() -> buffer.increment(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("key");
    assertThatThrownBy(() -> buffer.increment(null, 2)).hasMessage("key");
    assertThatThrownBy(() -> buffer.count(null)).hasMessage("key");
    assertThatThrownBy(() -> buffer.flush(null)).hasMessage("key");
  }

  @Test
  void onDropThrows_loggedAndAccountingKept() {
    StatBuffer<String> buffer = track(builder().maxAttempts(1).build(new FlushHandler<String>() {
      @Override
      public void flush(String key, long count) {
        throw new IllegalStateException("down");
      }

      @Override
      public void onDrop(String key, long count, Exception lastError) {
        throw new IllegalStateException("onDrop broke");
      }
    }));
    buffer.increment("a", 3);
    clock.advance(Duration.ofSeconds(6));
    assertThat(buffer.stats().droppedSum()).isEqualTo(3);
    assertThat(buffer.stats().pendingKeys()).isZero();
  }

  @Test
  void executorRejects_countedAsFailureAndRetried() {
    AtomicInteger rejectionsLeft = new AtomicInteger(2);
    Map<String, Long> got = new ConcurrentHashMap<>();
    StatBuffer<String> buffer = track(builder().backoff(Duration.ofSeconds(1))
        .executor(task -> {
          if (rejectionsLeft.getAndDecrement() > 0) {
            throw new java.util.concurrent.RejectedExecutionException("full");
          }
          task.run();
        })
        .build((String key, long count) -> got.merge(key, count, Long::sum)));
    buffer.increment("a", 5);
    clock.advance(Duration.ofSeconds(20));
    assertThat(got).containsEntry("a", 5L);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(5);
  }
}
