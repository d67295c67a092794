package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 in the core: no bad key, stuck handler or burst holds counts hostage. Keys a handler
 * rejects for good are dropped at once while the rest is delivered; hand-over never waits for
 * handlers; a hung call is abandoned and retried; a healthy burst of new keys is not refused at
 * {@code maxKeys}; the pool closes after the dump.
 */
class NoHostageTest {
  record Drop(String id, Map<String, Long> counts, Exception error) {}

  private final ManualClock clock = new ManualClock();
  private final List<Map<String, Long>> calls = new CopyOnWriteArrayList<>();
  private final List<Drop> drops = new CopyOnWriteArrayList<>();

  private StatBuffer.Builder manual() {
    return StatBuffer.newBuilder().shutdownHook(false).ticker(clock).scheduler(clock)
        .executor(Runnable::run).interval(Duration.ofSeconds(1)).backoff(Duration.ofSeconds(1))
        .shutdownTimeout(Duration.ZERO);
  }

  /** A batch handler that rejects the keys in {@code bad} (by throwing) and applies the rest. */
  private BatchFlushHandler<String> rejecting(Map<String, String> bad) {
    return new BatchFlushHandler<>() {
      @Override
      public void flush(FlushBatch<String> batch) throws RejectedKeysException {
        calls.add(batch.counts());
        List<RejectedKeysException.Rejection> rejected = new java.util.ArrayList<>();
        for (String key : batch.counts().keySet()) {
          if (bad.containsKey(key)) {
            rejected.add(new RejectedKeysException.Rejection(bad.get(key), key,
                new IllegalArgumentException("value too long for key " + key)));
          }
        }
        if (!rejected.isEmpty()) {
          throw new RejectedKeysException(rejected);
        }
      }

      @Override
      public void onDrop(FlushBatch<String> batch, Exception lastError) {
        drops.add(new Drop(batch.id(), batch.counts(), lastError));
      }
    };
  }

  @Test
  void rejectedKeys_restDelivered_badDroppedAtOnce_neverRetried() {
    Map<String, String> bad = new HashMap<>();
    bad.put("poison", "poison-id");
    bad.put("worse", null); // the buffer derives an id
    StatBuffer<String> buffer = manual().buildBatched(rejecting(bad));
    long accepted = 0;
    for (int i = 0; i < 998; i++) {
      buffer.increment("good-" + i, i + 1);
      accepted += i + 1;
    }
    buffer.increment("poison", 7);
    buffer.increment("worse", 11);
    accepted += 18;

    clock.advance(Duration.ofSeconds(1));
    clock.advance(Duration.ofMinutes(10)); // time for any retry

    assertThat(calls).as("one call, never retried").hasSize(1);
    assertThat(drops).extracting(Drop::counts)
        .containsExactlyInAnyOrder(Map.of("poison", 7L), Map.of("worse", 11L));
    Drop poison = drops.stream().filter(d -> d.counts().containsKey("poison")).findFirst()
        .orElseThrow();
    assertThat(poison.id()).isEqualTo("poison-id");
    assertThat(poison.error()).hasMessageContaining("poison");
    Drop worse = drops.stream().filter(d -> d.counts().containsKey("worse")).findFirst()
        .orElseThrow();
    assertThat(worse.id()).matches("[0-9a-z-]{1,64}").isNotEqualTo(poison.id());
    BufferStats stats = buffer.stats();
    assertThat(stats.deliveredSum()).isEqualTo(accepted - 18);
    assertThat(stats.droppedSum()).isEqualTo(18);
    assertThat(stats.deliveredSum() + stats.droppedSum()).isEqualTo(accepted);
    assertThat(stats.pendingKeys()).isZero();
    buffer.close();
  }

  @Test
  void rejectedKeys_reportNamingAKeyNotInTheBatch_isAFailureAndRetried() {
    AtomicInteger attempts = new AtomicInteger();
    StatBuffer<String> buffer = manual().buildBatched(batch -> {
      if (attempts.incrementAndGet() == 1) {
        throw new RejectedKeysException(null, "not-in-batch", new IllegalStateException("x"));
      }
    });
    buffer.increment("a", 3);
    clock.advance(Duration.ofSeconds(1));
    assertThat(buffer.stats().failures()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(1));
    assertThat(attempts).hasValue(2);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(3);
    assertThat(buffer.stats().droppedSum()).isZero();
    buffer.close();
  }

  @Test
  void rejectedKey_perKeyHandler_droppedAtOnce() {
    List<String> dropped = new CopyOnWriteArrayList<>();
    AtomicInteger attempts = new AtomicInteger();
    StatBuffer<String> buffer = manual().build(new FlushHandler<String>() {
      @Override
      public void flush(String key, long count) throws RejectedKeysException {
        attempts.incrementAndGet();
        if (key.equals("bad")) {
          throw new RejectedKeysException(null, key, new ArithmeticException("overflow"));
        }
      }

      @Override
      public void onDrop(String key, long count, Exception lastError) {
        dropped.add(key + "=" + count + ":" + lastError.getMessage());
      }
    });
    buffer.increment("bad", 5);
    buffer.increment("ok", 2);
    clock.advance(Duration.ofSeconds(1));
    clock.advance(Duration.ofMinutes(5));
    assertThat(attempts).hasValue(2);
    assertThat(dropped).containsExactly("bad=5:overflow");
    assertThat(buffer.stats().deliveredSum()).isEqualTo(2);
    assertThat(buffer.stats().droppedSum()).isEqualTo(5);
    buffer.close();
  }

  /** Finding 9: with a direct executor, a huge delta's delivery ran its handler on the caller. */
  @Test
  void increment_hugeDeltaWithDirectExecutor_neverRunsTheHandlerOnTheCaller() throws Exception {
    AtomicReference<Thread> handlerThread = new AtomicReference<>();
    CountDownLatch delivered = new CountDownLatch(1);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .executor(Runnable::run).build((String key, long count) -> {
          handlerThread.set(Thread.currentThread());
          delivered.countDown();
        });
    assertThat(buffer.increment("huge", Long.MAX_VALUE / 2)).isTrue();
    assertThat(delivered.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(handlerThread.get()).isNotSameAs(Thread.currentThread());
    buffer.close();
    assertThat(buffer.stats().deliveredSum()).isEqualTo(Long.MAX_VALUE / 2);
  }

  /**
   * Finding 5: two hung handler calls stopped all hand-over (it ran in the handlers' pool). Now
   * hand-over goes on, and with the flush timeout the other keys are delivered too.
   */
  @Test
  void hungHandlers_handOverGoesOn_andTheTimeoutLetsOtherKeysThrough() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicLong handedOver = new AtomicLong();
    Map<String, Long> delivered = new java.util.concurrent.ConcurrentHashMap<>();
    AtomicInteger interrupted = new AtomicInteger();
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofMillis(20)).backoff(Duration.ofMillis(50))
        .maxBackoff(Duration.ofMillis(50)).flushTimeout(Duration.ofMillis(300))
        .listener(new BufferListener() {
          @Override
          public void handedOver(String name, int keys, long sum) {
            handedOver.addAndGet(keys);
          }
        })
        .build((String key, long count) -> {
          if (key.startsWith("stuck") && release.getCount() > 0) {
            // Hangs like a getConnection that never returns, and ignores interrupts.
            while (!release.await(10, TimeUnit.SECONDS)) {
              // keep hanging
            }
            if (Thread.interrupted()) {
              interrupted.incrementAndGet();
            }
          }
          delivered.merge(key, count, Long::sum);
        });
    for (int i = 0; i < threads; i++) {
      buffer.increment("stuck-" + i, 1);
      buffer.flush("stuck-" + i);
    }
    for (int i = 0; i < 100; i++) {
      buffer.increment("good-" + i, 2);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (delivered.size() < 100 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(handedOver.get()).as("hand-over went on").isGreaterThanOrEqualTo(100 + threads);
    assertThat(delivered).as("good keys delivered past the hung calls").hasSize(100);
    assertThat(buffer.stats().failures()).as("hung calls timed out").isGreaterThanOrEqualTo(1);
    release.countDown();
    buffer.close();
    BufferStats stats = buffer.stats();
    assertThat(stats.deliveredSum() + stats.droppedSum()).isEqualTo(100 * 2 + threads);
    assertThat(stats.droppedSum()).isZero();
  }

  @Test
  void flushTimeout_hungCallAbandonedInterruptedAndRetried_countedOnce() throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger interrupts = new AtomicInteger();
    AtomicLong applied = new AtomicLong();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .backoff(Duration.ofMillis(10)).flushTimeout(Duration.ofMillis(200))
        .build((String key, long count) -> {
          if (attempts.incrementAndGet() == 1) {
            try {
              Thread.sleep(TimeUnit.MINUTES.toMillis(5));
            } catch (InterruptedException e) {
              interrupts.incrementAndGet();
              throw e;
            }
          }
          applied.addAndGet(count);
        });
    buffer.increment("a", 9);
    buffer.flush("a").get(30, TimeUnit.SECONDS);
    assertThat(attempts).hasValue(2);
    assertThat(interrupts).hasValue(1);
    assertThat(applied).hasValue(9);
    assertThat(buffer.stats().failures()).isEqualTo(1);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(9);
    buffer.close();
  }

  /** Finding 7: maxKeys(1000) with an instant handler refused 94% of a burst of new keys. */
  @Test
  void maxKeys_healthyBurstOfNewKeys_refusesFewerThanFivePercent() {
    AtomicLong applied = new AtomicLong();
    StatBuffer<Integer> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).maxKeys(1000)
        .buildBatched(batch -> batch.counts().values().forEach(applied::addAndGet));
    int accepted = 0;
    for (int i = 0; i < 200_000; i++) {
      if (buffer.increment(i)) {
        accepted++;
      }
    }
    long rejected = buffer.stats().rejected();
    buffer.close();
    assertThat(rejected).isEqualTo(200_000 - accepted).isLessThan(10_000);
    assertThat(applied).hasValue(accepted);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(accepted);
  }

  @Test
  void maxKeys_stuckHandler_refusalsAreImmediateAfterOneWait_andCounted() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    StatBuffer<Integer> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofMillis(10)).maxKeys(10).flushTimeout(Duration.ZERO)
        .shutdownTimeout(Duration.ofSeconds(5))
        .build((Integer key, long count) -> release.await());
    long started = System.nanoTime();
    int refused = 0;
    for (int i = 0; i < 2_000; i++) {
      if (!buffer.increment(i)) {
        refused++;
      }
    }
    long took = System.nanoTime() - started;
    // 2 000 waits of 20 ms would take 40 s; only the first refusal (or a few, as deliveries
    // settle) waits.
    assertThat(took).isLessThan(TimeUnit.SECONDS.toNanos(10));
    assertThat(refused).isGreaterThan(1_900);
    assertThat(buffer.stats().rejected()).isEqualTo(refused);
    release.countDown();
    buffer.close();
    assertThat(buffer.stats().deliveredSum()).isEqualTo(2_000 - refused);
  }

  @Test
  void closeAfterDump_closesThePoolAfterTheLastDelivery() {
    List<String> events = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1))
        .closeAfterDump(() -> events.add("pool closed"))
        .closeAfterDump(() -> {
          throw new IllegalStateException("second resource fails to close");
        })
        .closeAfterDump(() -> events.add("third closed"))
        .build((String key, long count) -> {
          Thread.sleep(50);
          events.add(key + "=" + count);
        });
    buffer.increment("a", 1);
    buffer.increment("b", 2);
    buffer.close();
    assertThat(events).hasSize(4);
    assertThat(events.subList(0, 2)).containsExactlyInAnyOrder("a=1", "b=2");
    assertThat(events.subList(2, 4)).containsExactly("pool closed", "third closed");
  }
}
