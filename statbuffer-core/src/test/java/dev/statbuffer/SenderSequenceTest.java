package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A batch names its sender and its number, and the watermark of settled batches below it
 * (issue 14: what lets a sink remember per sender instead of per batch).
 */
class SenderSequenceTest {
  record Call(String id, String sender, long sequence, long settledBelow, int attempt) {}

  private final ManualClock clock = new ManualClock();

  @Test
  void batchesNumberedInOrder_watermarkHeldBackByAFailingBatch() {
    List<Call> calls = new CopyOnWriteArrayList<>();
    AtomicBoolean failFirst = new AtomicBoolean(true);
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false).ticker(clock)
        .scheduler(clock).executor(Runnable::run).interval(Duration.ofSeconds(1))
        .backoff(Duration.ofSeconds(10)).maxBatchSize(1).flushTimeout(Duration.ZERO)
        .buildBatched(batch -> {
          calls.add(new Call(batch.id(), batch.sender().orElseThrow(), batch.sequence(),
              batch.settledBelow(), batch.attempt()));
          if (batch.sequence() == 1 && failFirst.get()) {
            throw new IOException("first batch fails until told otherwise");
          }
        });
    buffer.increment("a");
    clock.advance(Duration.ofSeconds(1)); // batch 1 fails
    buffer.increment("b");
    buffer.increment("c");
    clock.advance(Duration.ofSeconds(1)); // batches 2 and 3 succeed; 1 still pending
    failFirst.set(false);
    clock.advance(Duration.ofSeconds(10)); // batch 1 retried and delivered
    buffer.increment("d");
    clock.advance(Duration.ofSeconds(1)); // batch 4

    String sender = calls.get(0).sender();
    assertThat(sender).matches("[0-9a-f]{24}");
    assertThat(calls).allSatisfy(call -> {
      assertThat(call.sender()).isEqualTo(sender);
      assertThat(call.id()).isEqualTo(sender + "-" + Long.toString(call.sequence(), 36));
      assertThat(call.settledBelow()).isBetween(1L, call.sequence());
    });
    assertThat(calls).extracting(Call::sequence).containsExactly(1L, 2L, 3L, 1L, 4L);
    // While batch 1 is pending, nothing at or above it is settled.
    assertThat(calls.get(1).settledBelow()).isEqualTo(1);
    assertThat(calls.get(2).settledBelow()).isEqualTo(1);
    assertThat(calls.get(3).attempt()).isEqualTo(2);
    // Once it is delivered, batch 4 may forget everything below itself.
    assertThat(calls.get(4).settledBelow()).isEqualTo(4);
    buffer.close();
  }

  @Test
  void rejectedKeysAndReplays_haveNoSender() throws Exception {
    List<FlushBatch<String>> dropped = new CopyOnWriteArrayList<>();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false).ticker(clock)
        .scheduler(clock).executor(Runnable::run).interval(Duration.ofSeconds(1))
        .buildBatched(new BatchFlushHandler<String>() {
          @Override
          public void flush(FlushBatch<String> batch) {
            throw new RejectedKeysException(null, "x", new IllegalArgumentException("bad"));
          }

          @Override
          public void onDrop(FlushBatch<String> batch, Exception lastError) {
            dropped.add(batch);
          }
        });
    buffer.increment("x");
    clock.advance(Duration.ofSeconds(1));
    assertThat(dropped).singleElement().satisfies(batch -> {
      assertThat(batch.sender()).isEmpty();
      assertThat(batch.sequence()).isEqualTo(-1);
      assertThat(batch.settledBelow()).isEqualTo(-1);
    });
    buffer.close();
  }
}
