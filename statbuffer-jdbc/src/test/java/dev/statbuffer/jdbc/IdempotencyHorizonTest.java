package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.BufferListener;
import dev.statbuffer.RetryHorizonException;
import dev.statbuffer.StatBuffer;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The sink's idempotency horizon is its ledger retention, and the buffer honours it: a batch that
 * keeps failing is dropped when its next retry would come after the retention (when the ledger
 * rows of its committed chunks may be pruned), instead of being retried and applied twice.
 */
class IdempotencyHorizonTest {
  private static JdbcSink.Builder<String> builder() {
    return JdbcSink.<String>builder(new FailingDataSource()).table("page_views")
        .keyColumns("page").countColumn("views");
  }

  @Test
  void horizon_isTheLedgerRetention_emptyWithoutTheLedger() {
    assertThat(builder().build().idempotencyHorizon()).contains(Duration.ofDays(7));
    assertThat(builder().ledgerRetention(Duration.ofMinutes(90)).build().idempotencyHorizon())
        .contains(Duration.ofMinutes(90));
    assertThat(builder().exactlyOnce(false).build().idempotencyHorizon()).isEmpty();
  }

  @Test
  @SuppressWarnings("try") // close() inside the block settles the drop
  void failingStore_shortRetention_batchDroppedAtTheHorizonInsteadOfRetried() throws Exception {
    List<Exception> reasons = new CopyOnWriteArrayList<>();
    BufferListener listener = new BufferListener() {
      @Override
      public void dropped(String buffer, int keys, long sum, Exception lastError) {
        reasons.add(lastError);
      }
    };
    try (StatBuffer<String> buffer = StatBuffer.newBuilder().name("horizon")
        .interval(Duration.ofMillis(10)).backoff(Duration.ofMillis(20))
        .maxBackoff(Duration.ofMillis(50)).flushTimeout(Duration.ofMillis(100))
        .listener(listener).shutdownHook(false)
        .buildBatched(builder().ledgerRetention(Duration.ofSeconds(3)).build())) {
      buffer.increment("/home", 3);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (reasons.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(reasons).hasSize(1);
      assertThat(reasons.get(0)).isInstanceOf(RetryHorizonException.class)
          .hasCauseInstanceOf(SQLException.class);
      assertThat(buffer.stats().droppedSum()).isEqualTo(3);
      assertThat(buffer.stats().failures()).isGreaterThan(1); // it was retried until then
    }
  }
}
