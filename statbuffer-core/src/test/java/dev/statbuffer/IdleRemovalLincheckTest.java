package dev.statbuffer;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Conservation while cells are handed over, removed while idle and retired by close, under the
 * model checker: increments through the buffer and through {@link StatBuffer.Counter} handles race
 * a drain that runs on a thread of its own operation ({@link #tick}) and close. Key 0 starts
 * dormant, handed over one tick before the scenario, with its handle holding its cell; a window of
 * key 1 (opened by an increment) makes a tick's drain run, and that drain finds key 0 idle and
 * removes it, racing late increments of key 0 through the buffer and the stale handle. After each
 * scenario the validation closes the buffer and requires: accepted == delivered, exactly, and no
 * pending key left.
 */
@Param(name = "key", gen = IntGen.class, conf = "0:1")
@Param(name = "delta", gen = IntGen.class, conf = "1:2")
public class IdleRemovalLincheckTest {
  private static final long TICK = TimeUnit.MILLISECONDS.toNanos(1);

  private final AtomicLong now = new AtomicLong();
  private final ConcurrentLinkedQueue<FutureTask<?>> timers = new ConcurrentLinkedQueue<>();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final StatBuffer<Integer> buffer = StatBuffer.newBuilder()
      .name("lincheck-idle")
      .interval(Duration.ofMillis(1))
      .ticker(now::get)
      .scheduler((task, delay) -> {
        FutureTask<?> timer = new FutureTask<>(task, null);
        timers.add(timer);
        return timer;
      })
      .executor(Runnable::run)
      .shutdownHook(false)
      .build((Integer key, long count) -> delivered.addAndGet(count));
  private final StatBuffer.Counter[] handles = {buffer.counter(0), buffer.counter(1)};

  public IdleRemovalLincheckTest() {
    handles[0].increment(); // key 0's handle now holds its cell
    accepted.incrementAndGet();
    tick(); // handed over: key 0 is dormant, idle one tick from now
  }

  @Operation
  public boolean increment(@Param(name = "key") int key, @Param(name = "delta") int delta) {
    boolean recorded = buffer.increment(key, delta);
    if (recorded) {
      accepted.addAndGet(delta);
    }
    return recorded;
  }

  @Operation
  public boolean handle(@Param(name = "key") int key, @Param(name = "delta") int delta) {
    boolean recorded = handles[key].increment(delta);
    if (recorded) {
      accepted.addAndGet(delta);
    }
    return recorded;
  }

  /** Moves the clock two ticks on and runs the wake-ups that came due (and so the drain). */
  @Operation
  public void tick() {
    now.addAndGet(2 * TICK);
    for (FutureTask<?> timer; (timer = timers.poll()) != null; ) {
      timer.run();
    }
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
    // The map and the queue are trusted, as in StatBufferLincheckTest: the search stays on the
    // buffer's own races.
    String map = "java.util.concurrent.ConcurrentHashMap";
    new ModelCheckingOptions().iterations(40).invocationsPerIteration(500)
        .threads(3).actorsPerThread(2)
        .addGuarantee(ManagedStrategyGuaranteeKt.forClasses(map, map + "$KeySetView",
                map + "$ValuesView", map + "$CollectionView", map + "$KeyIterator",
                map + "$ValueIterator", map + "$BaseIterator", map + "$Traverser",
                "java.util.concurrent.ConcurrentLinkedQueue", "java.util.concurrent.FutureTask")
            .allMethods().treatAsAtomic())
        .check(IdleRemovalLincheckTest.class);
  }
}
