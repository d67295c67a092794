package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A retry never outlives the sink's memory of batch ids (issue 14): a batch whose next retry would
 * come after the handler's idempotency horizon is dropped instead, with the reason.
 */
class RetryHorizonTest {
  private final ManualClock clock = new ManualClock();

  @Test
  void failingBatch_droppedBeforeItsRetryWouldPassTheHorizon() {
    AtomicInteger calls = new AtomicInteger();
    List<Exception> reasons = new CopyOnWriteArrayList<>();
    List<Long> droppedAt = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false).ticker(clock)
        .scheduler(clock).executor(Runnable::run).interval(Duration.ofSeconds(1))
        .backoff(Duration.ofSeconds(1)).maxBackoff(Duration.ofMinutes(10))
        .flushTimeout(Duration.ZERO)
        .buildBatched(new BatchFlushHandler<String>() {
          @Override
          public void flush(FlushBatch<String> batch) throws IOException {
            calls.incrementAndGet();
            throw new IOException("store down");
          }

          @Override
          public void onDrop(FlushBatch<String> batch, Exception lastError) {
            reasons.add(lastError);
            droppedAt.add(clock.read());
          }

          @Override
          public Optional<Duration> idempotencyHorizon() {
            return Optional.of(Duration.ofSeconds(10));
          }
        });
    buffer.increment("a", 5);
    long handedOver = clock.read() + Duration.ofSeconds(1).toNanos();
    clock.advance(Duration.ofMinutes(5));
    // Calls at 0, +1, +3 and +7 s after the hand-over; the next (+15 s) would pass 10 s.
    assertThat(calls).hasValue(4);
    assertThat(reasons).singleElement().isInstanceOf(RetryHorizonException.class)
        .satisfies(e -> assertThat(e).hasMessageContaining("PT10S")
            .hasCauseInstanceOf(IOException.class));
    assertThat(droppedAt.get(0) - handedOver).isEqualTo(Duration.ofSeconds(7).toNanos());
    assertThat(buffer.stats().droppedSum()).isEqualTo(5);
    buffer.close();
  }

  @Test
  void noHorizon_retriesGoOn() {
    AtomicInteger calls = new AtomicInteger();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false).ticker(clock)
        .scheduler(clock).executor(Runnable::run).interval(Duration.ofSeconds(1))
        .backoff(Duration.ofSeconds(1)).maxBackoff(Duration.ofSeconds(8))
        .shutdownTimeout(Duration.ZERO)
        .buildBatched(batch -> {
          calls.incrementAndGet();
          throw new IOException("store down");
        });
    buffer.increment("a", 5);
    clock.advance(Duration.ofMinutes(5));
    assertThat(calls.get()).isGreaterThan(30);
    assertThat(buffer.stats().droppedSum()).isZero();
    buffer.close();
  }
}
