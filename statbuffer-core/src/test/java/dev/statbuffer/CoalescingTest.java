package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * While executor tasks wait to start (the handlers are behind), due windows stay open and go out
 * together once the handlers catch up, at most one interval late (issue 14, small batches).
 * A manual clock and an executor that runs tasks only when the test says, so nothing sleeps.
 */
class CoalescingTest {
  private final ManualClock clock = new ManualClock();
  private final HeldExecutor executor = new HeldExecutor();
  private final List<Map<String, Long>> batches = new CopyOnWriteArrayList<>();
  private StatBuffer<String> buffer;

  /** Holds submitted tasks until {@link #runAll}. */
  static final class HeldExecutor implements Executor {
    final ConcurrentLinkedQueue<Runnable> queued = new ConcurrentLinkedQueue<>();

    @Override
    public void execute(Runnable task) {
      queued.add(task);
    }

    void runAll() {
      for (Runnable task; (task = queued.poll()) != null; ) {
        task.run();
      }
    }
  }

  private StatBuffer<String> newBuffer() {
    buffer = StatBuffer.newBuilder()
        .name("coalescing")
        .ticker(clock)
        .scheduler(clock)
        .executor(executor)
        .shutdownHook(false)
        .interval(Duration.ofSeconds(1))
        .buildBatched(batch -> batches.add(Map.copyOf(batch.counts())));
    return buffer;
  }

  @AfterEach
  void close() {
    if (buffer != null && !buffer.isClosed()) {
      Thread closer = new Thread(buffer::close);
      closer.start();
      for (int i = 0; i < 200 && closer.isAlive(); i++) {
        executor.runAll();
        clock.advance(Duration.ofMillis(100));
        try {
          closer.join(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  @Test
  void handlersBehind_dueWindowsKeepCounting_andGoOutAsOneBatchWhenTheyCatchUp() {
    newBuffer();
    buffer.increment("a", 1);
    clock.advance(Duration.ofMillis(500));
    buffer.increment("b", 1);
    clock.advance(Duration.ofMillis(500)); // a is due: handed over, its task waits
    assertThat(executor.queued).hasSize(1);
    buffer.increment("c", 1);

    clock.advance(Duration.ofMillis(600)); // b is due, but the handlers are behind
    assertThat(executor.queued).hasSize(1);
    buffer.increment("b", 5); // still b's first window: it was not handed over
    clock.advance(Duration.ofMillis(500)); // c is due too
    assertThat(executor.queued).hasSize(1);
    assertThat(batches).isEmpty();

    executor.runAll(); // a is delivered; the queue emptied, which asks for a drain
    clock.runDue();
    executor.runAll();

    assertThat(batches).containsExactly(Map.of("a", 1L), Map.of("b", 6L, "c", 1L));
    assertThat(buffer.stats().deliveredSum()).isEqualTo(8);
    assertThat(buffer.stats().pendingKeys()).isZero();
  }

  @Test
  void handlersStuck_aDeferralLastsAtMostOneInterval() {
    newBuffer();
    buffer.increment("a", 1);
    clock.advance(Duration.ofMillis(500));
    buffer.increment("b", 2);
    clock.advance(Duration.ofMillis(500)); // a handed over; its task never runs here
    assertThat(executor.queued).hasSize(1);

    clock.advance(Duration.ofMillis(600)); // b due at 1.5 s: deferred from then
    assertThat(executor.queued).hasSize(1);
    clock.advance(Duration.ofMillis(800)); // 2.4 s: within one interval of the deferral
    assertThat(executor.queued).hasSize(1);
    clock.advance(Duration.ofMillis(200)); // 2.6 s: past it, b goes out anyway
    assertThat(executor.queued).hasSize(2);

    executor.runAll();
    assertThat(batches).containsExactlyInAnyOrder(Map.of("a", 1L), Map.of("b", 2L));
  }

  @Test
  void handlersKeepingUp_handOverOnTime() {
    newBuffer();
    buffer.increment("a", 1);
    clock.advance(Duration.ofMillis(500));
    buffer.increment("b", 1);
    clock.advance(Duration.ofMillis(500));
    executor.runAll(); // a delivered at once: nothing waits
    clock.advance(Duration.ofMillis(501));
    assertThat(executor.queued).hasSize(1); // b handed over when due, not deferred
    executor.runAll();
    assertThat(batches).containsExactly(Map.of("a", 1L), Map.of("b", 1L));
  }

  @Test
  void underMaxKeysPressure_theDrainDoesNotDefer() {
    buffer = StatBuffer.newBuilder()
        .name("coalescing-pressure")
        .ticker(clock)
        .scheduler(clock)
        .executor(executor)
        .shutdownHook(false)
        .interval(Duration.ofSeconds(1))
        .maxKeys(10)
        .buildBatched(batch -> batches.add(Map.copyOf(batch.counts())));
    buffer.increment("first", 1);
    clock.advance(Duration.ofSeconds(1)); // handed over, its task waits: handlers behind
    assertThat(executor.queued).hasSize(1);
    List<Boolean> accepted = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      accepted.add(buffer.increment("k" + i, 1));
    }
    clock.runDue(); // relief under pressure hands over early, whatever the queue
    assertThat(executor.queued).hasSizeGreaterThan(1);
    executor.runAll();
    assertThat(accepted).containsOnly(true);
  }

  @Test
  void executorThrowsOnce_laterWindowsStillGoOutOnTime() {
    java.util.concurrent.atomic.AtomicBoolean thrown = new java.util.concurrent.atomic.AtomicBoolean();
    buffer = StatBuffer.newBuilder()
        .name("coalescing-throws")
        .ticker(clock)
        .scheduler(clock)
        .executor(task -> {
          if (thrown.compareAndSet(false, true)) {
            throw new IllegalStateException("cannot start a thread (test)");
          }
          task.run();
        })
        .shutdownHook(false)
        .interval(Duration.ofSeconds(1))
        .backoff(Duration.ofSeconds(5))
        .buildBatched(batch -> batches.add(Map.copyOf(batch.counts())));
    buffer.increment("a", 1);
    clock.advance(Duration.ofSeconds(1)); // a's task is refused: a waits for its retry
    assertThat(thrown).isTrue();
    buffer.increment("b", 2);
    clock.advance(Duration.ofMillis(1010)); // b is due: nothing is queued, so no deferral
    assertThat(batches).containsExactly(Map.of("b", 2L));
    clock.advance(Duration.ofSeconds(5)); // a's retry
    assertThat(batches).containsExactly(Map.of("b", 2L), Map.of("a", 1L));
    assertThat(buffer.stats().deliveredSum()).isEqualTo(3);
  }

  @Test
  void executorLosesATask_itStopsCountingAfterAnInterval() {
    java.util.concurrent.atomic.AtomicBoolean lost = new java.util.concurrent.atomic.AtomicBoolean();
    buffer = StatBuffer.newBuilder()
        .name("coalescing-lost")
        .ticker(clock)
        .scheduler(clock)
        .executor(task -> {
          if (lost.compareAndSet(false, true)) {
            return; // accepted and never run, as a discarding pool does
          }
          task.run();
        })
        .shutdownHook(false)
        .shutdownTimeout(Duration.ofMillis(100))
        .interval(Duration.ofSeconds(1))
        .buildBatched(batch -> batches.add(Map.copyOf(batch.counts())));
    buffer.increment("a", 1);
    clock.advance(Duration.ofSeconds(1)); // a's task is lost
    buffer.increment("b", 2);
    clock.advance(Duration.ofMillis(1010)); // b due 1 s after the lost task: no deferral
    assertThat(batches).containsExactly(Map.of("b", 2L));
    buffer.increment("c", 3);
    clock.advance(Duration.ofMillis(1010));
    assertThat(batches).containsExactly(Map.of("b", 2L), Map.of("c", 3L));
  }

  @Test
  void closeDuringADeferral_deliversEverything() {
    newBuffer();
    buffer.increment("a", 1);
    clock.advance(Duration.ofMillis(500));
    buffer.increment("b", 2);
    clock.advance(Duration.ofMillis(500)); // a handed over, its task waits
    clock.advance(Duration.ofMillis(600)); // b due and deferred
    buffer.increment("b", 3);
    assertThat(executor.queued).hasSize(1);
    close(); // the dump hands b over; the held tasks run
    buffer = null;
    assertThat(batches).containsExactlyInAnyOrder(Map.of("a", 1L), Map.of("b", 5L));
  }
}
