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
 * Close against handles and against the first increments of fresh keys, nothing else: no actors
 * run before or after the parallel part, so every scenario starts with no cell and races the
 * lifecycle gate of {@code makeCell} and the handle's slow path with {@code close()}. Requires
 * accepted == delivered and no pending key afterwards. (It catches a gate that checks the closed
 * bit before counting itself in; the broader StatBufferLincheckTest rarely reaches that race,
 * since its random actors before the parallel part usually make both cells first.)
 */
@Param(name = "key", gen = IntGen.class, conf = "0:1")
public class CloseLincheckTest {
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final StatBuffer<Integer> buffer = StatBuffer.newBuilder()
      .name("lincheck-close").ticker(() -> 0L)
      .scheduler((task, delay) -> CompletableFuture.completedFuture(null))
      .executor(Runnable::run).shutdownHook(false)
      .build((Integer key, long count) -> delivered.addAndGet(count));
  private final StatBuffer.Counter handle = buffer.counter(1);

  @Operation
  public boolean increment(@Param(name = "key") int key) {
    boolean recorded = buffer.increment(key, 1);
    if (recorded) {
      accepted.addAndGet(1);
    }
    return recorded;
  }

  @Operation
  public boolean handleIncrement() {
    boolean recorded = handle.increment(1);
    if (recorded) {
      accepted.addAndGet(1);
    }
    return recorded;
  }

  @Operation
  public void close() {
    buffer.close();
  }

  @Validate
  public void conserved() {
    buffer.close();
    if (accepted.get() != delivered.get() || buffer.stats().pendingKeys() != 0) {
      throw new IllegalStateException("accepted " + accepted + ", delivered " + delivered);
    }
  }

  @Test
  void modelChecking() {
    TrustedCollections.trusting(new ModelCheckingOptions().iterations(20)
            .invocationsPerIteration(1_000).threads(2).actorsPerThread(2).actorsBefore(0)
            .actorsAfter(0))
        .check(CloseLincheckTest.class);
  }
}
