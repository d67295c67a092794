package dev.statbuffer;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Conservation of the whole buffer's hand-over protocol under the model checker: increments on two
 * keys (opening, retiring and re-opening windows), flush, flushAll and close racing each other.
 * The handler runs on the calling thread (direct executor) and the clock never moves, so windows
 * leave only through {@code flush}, {@code flushAll} and {@code close}. After each scenario the
 * validation closes the buffer and requires: accepted deltas == delivered, exactly, and the
 * buffer's own stats agree.
 */
@Param(name = "key", gen = IntGen.class, conf = "0:1")
@Param(name = "delta", gen = IntGen.class, conf = "1:3")
public class StatBufferLincheckTest {
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final StatBuffer<Integer> buffer = StatBuffer.newBuilder()
      .name("lincheck")
      .ticker(() -> 0L)
      .scheduler((task, delay) -> CompletableFuture.completedFuture(null))
      .executor(Runnable::run)
      .shutdownHook(false)
      .build((Integer key, long count) -> delivered.addAndGet(count));

  @Operation
  public boolean increment(@Param(name = "key") int key, @Param(name = "delta") int delta) {
    boolean recorded = buffer.increment(key, delta);
    if (recorded) {
      accepted.addAndGet(delta);
    }
    return recorded;
  }

  @Operation
  public void flush(@Param(name = "key") int key) {
    buffer.flush(key);
  }

  @Operation
  public void flushAll() {
    buffer.flushAll();
  }

  @Operation
  public void close() {
    buffer.close();
  }

  @Validate
  public void conserved() {
    buffer.close();
    BufferStats stats = buffer.stats();
    if (accepted.get() != delivered.get() || stats.deliveredSum() != delivered.get()
        || stats.pendingKeys() != 0) {
      throw new IllegalStateException("accepted " + accepted + ", delivered " + delivered
          + ", stats " + stats);
    }
  }

  @Test
  void modelChecking() {
    // ConcurrentHashMap is trusted: its operations run atomically under the model checker, which
    // keeps the search on the buffer's own races (and stops its loop detector from mistaking a
    // bin traversal for a livelock).
    TrustedCollections.trusting(new ModelCheckingOptions().iterations(30)
            .invocationsPerIteration(500).threads(3).actorsPerThread(2))
        .check(StatBufferLincheckTest.class);
  }
}
