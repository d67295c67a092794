package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Regression tests for the review of issues 12 and 14's core changes; each failed before its fix.
 */
class ReviewRegressionTest {

  /** Waits on a latch, ignoring interrupts, like a driver that never gives up. */
  private static void hang(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        latch.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A per-key call abandoned after flushTimeout held the rest of its executor task (up to
   * maxBatchSize keys) on its thread: healthy keys were never delivered, and close() dropped them.
   */
  @Test
  void abandonedPerKeyCall_restOfItsTaskDeliveredElsewhere() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Map<String, Long> delivered = new ConcurrentHashMap<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).flushTimeout(Duration.ofMillis(200))
        .backoff(Duration.ofMillis(20)).shutdownTimeout(Duration.ofSeconds(20))
        .build((String key, long count) -> {
          if (key.equals("k0") && release.getCount() > 0) {
            hang(release);
          }
          delivered.merge(key, count, Long::sum);
        });
    for (int i = 0; i < 10; i++) {
      buffer.increment("k" + i, i + 1);
    }
    buffer.flushAll();
    buffer.flush("k5").get(10, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (delivered.size() < 9 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    // Every key but the hung one, although nine of them were queued behind it in its task.
    assertThat(delivered).hasSize(9).doesNotContainKey("k0");
    release.countDown(); // k0's calls return; one of them settles it
    buffer.close();
    assertThat(buffer.stats().droppedSum()).isZero();
    assertThat(buffer.stats().deliveredSum()).isEqualTo(55);
  }

  /**
   * A batch's number left the unsettled set when its retry settled it, while its abandoned first
   * call was still running: the next batch told the sink it could forget it, and the late commit
   * then applied it a second time.
   */
  @Test
  void lateAbandonedCall_keepsItsBatchUnsettled_soASinkThatForgetsCountsOnce() throws Exception {
    CountDownLatch releaseFirst = new CountDownLatch(1);
    Map<String, Long> store = new ConcurrentHashMap<>();
    Set<Long> ledger = ConcurrentHashMap.newKeySet();
    AtomicLong watermark = new AtomicLong();
    List<Long> settledBelowSeen = new CopyOnWriteArrayList<>();
    BatchFlushHandler<String> sink = batch -> {
      settledBelowSeen.add(batch.settledBelow());
      if (batch.sequence() == 1 && batch.attempt() == 1) {
        hang(releaseFirst);
      }
      synchronized (ledger) { // applied numbers, forgotten below the highest watermark seen
        if (ledger.add(batch.sequence())) {
          batch.counts().forEach((key, count) -> store.merge(key, count, Long::sum));
        }
        watermark.accumulateAndGet(batch.settledBelow(), Math::max);
        ledger.removeIf(sequence -> sequence < watermark.get());
      }
    };
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).flushTimeout(Duration.ofMillis(200))
        .backoff(Duration.ofMillis(50)).buildBatched(sink);
    buffer.increment("a", 1);
    buffer.flushAll();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (buffer.stats().deliveredSum() < 1 && System.nanoTime() < deadline) {
      Thread.sleep(5); // the retry (attempt 2) delivers it
    }
    buffer.increment("b", 1);
    buffer.flush("b").get(10, TimeUnit.SECONDS);
    assertThat(settledBelowSeen.get(settledBelowSeen.size() - 1))
        .as("batch 2 must not let the sink forget batch 1 while its first call runs")
        .isEqualTo(1);
    releaseFirst.countDown(); // attempt 1 commits late
    Thread.sleep(300);
    buffer.close();
    assertThat(store).isEqualTo(Map.of("a", 1L, "b", 1L));
  }

  /**
   * A handler that called close() (which closes the pool after the dump) and then failed on the
   * closed pool retried until the deadline and was then neither delivered nor dropped.
   */
  @Test
  void handlerCallingClose_thenFailing_isDroppedNotStranded() throws Exception {
    AtomicLong dropped = new AtomicLong();
    @SuppressWarnings("unchecked")
    StatBuffer<String>[] self = new StatBuffer[1];
    CountDownLatch done = new CountDownLatch(1);
    self[0] = StatBuffer.newBuilder().shutdownHook(false).interval(Duration.ofHours(1))
        .shutdownTimeout(Duration.ofMillis(300)).backoff(Duration.ofMillis(20))
        .build(new FlushHandler<String>() {
          @Override
          public void flush(String key, long count) throws Exception {
            if (!self[0].isClosed()) {
              self[0].close(); // e.g. an application shutting down from inside a handler
            }
            throw new IllegalStateException("the pool is closed");
          }

          @Override
          public void onDrop(String key, long count, Exception lastError) {
            dropped.addAndGet(count);
            done.countDown();
          }
        });
    self[0].increment("a", 5);
    self[0].flushAll();
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (self[0].stats().pendingKeys() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(5); // onDrop runs just before the delivery settles
    }
    BufferStats stats = self[0].stats();
    assertThat(stats.droppedSum()).isEqualTo(5);
    assertThat(dropped).hasValue(5);
    assertThat(stats.pendingKeys()).isZero();
  }
}
