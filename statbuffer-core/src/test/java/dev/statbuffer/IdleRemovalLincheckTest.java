package dev.statbuffer;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.lincheck.datastructures.IntGen;
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
 * scenario the validation moves the clock on and requires that the drain alone delivered every
 * accepted count, then closes the buffer and requires no pending key left.
 */
@Param(name = "key", gen = IntGen.class, conf = "0:1")
@Param(name = "delta", gen = IntGen.class, conf = "1:2")
public class IdleRemovalLincheckTest {
  /** A wake-up or retry the buffer asked for, due at {@code due} on the test's clock. */
  record Timer(long due, FutureTask<?> task) {}

  private static final long TICK = TimeUnit.MILLISECONDS.toNanos(1);

  private final AtomicLong now = new AtomicLong();
  private final ConcurrentLinkedQueue<Timer> timers = new ConcurrentLinkedQueue<>();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private final StatBuffer<Integer> buffer = StatBuffer.newBuilder()
      .name("lincheck-idle")
      .interval(Duration.ofMillis(1))
      .ticker(now::get)
      .scheduler((task, delay) -> {
        Timer timer = new Timer(now.get() + delay, new FutureTask<>(task, null));
        timers.add(timer);
        return timer.task();
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
    long time = now.addAndGet(2 * TICK);
    // Only the timers there now: those a drain asks for meanwhile wait for a later tick.
    for (int n = timers.size(); n > 0; n--) {
      Timer timer = timers.poll();
      if (timer == null) {
        break;
      } else if (timer.due() <= time) {
        timer.task().run();
      } else {
        timers.add(timer);
      }
    }
  }

  @Operation
  public void close() {
    buffer.close();
  }

  @Validate
  public void conserved() {
    // Liveness first: with the clock past every due tick, the drain alone delivers every count
    // (a count stranded in a dormant cell, or a cell lost from the wheel, fails here).
    for (int i = 0; i < 3; i++) {
      tick();
    }
    if (accepted.get() != delivered.get()) {
      throw new IllegalStateException("not handed over in time: accepted " + accepted
          + ", delivered " + delivered + ", stats " + buffer.stats());
    }
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
    TrustedCollections.trusting(new ModelCheckingOptions().iterations(40)
            .invocationsPerIteration(500).threads(3).actorsPerThread(2),
            "java.util.concurrent.ConcurrentLinkedQueue", "java.util.concurrent.FutureTask")
        .check(IdleRemovalLincheckTest.class);
  }
}
