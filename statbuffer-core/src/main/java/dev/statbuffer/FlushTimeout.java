package dev.statbuffer;

import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The {@code flushTimeout} of handler calls. Running calls are kept in a set; one sweep on the
 * {@link Scheduler}, armed only while calls run, looks at them every half timeout and abandons
 * those older than the timeout: such a call counts as a failed attempt, its thread is
 * interrupted, and the buffer's own pool gets a thread in its place while it still runs. So a call
 * is abandoned between one and one and a half timeouts after it began. (A timer per call cost
 * every call a schedule and a cancel on the timer queue that every buffer shares: increments
 * while 100 000 keys flushed ran at a quarter of their speed.)
 *
 * <h2>What may race</h2>
 * The sweep and the call's return race for one {@link Call}: its {@code state} moves once, from
 * {@code RUNNING} to {@code RETURNED} (the call's outcome counts as usual) or to
 * {@code ABANDONED} (the timeout counted as the failed attempt; the retry is scheduled by
 * {@code onAbandon}). Both moves happen under the call's monitor, and the interrupt is sent under
 * it too, only while the call runs: a pooled thread is never interrupted after it moved on, and
 * an abandoned call clears its interrupt when it returns. No count is lost or counted twice: the
 * delivery's own outcome CAS decides whether the late return, its retry, or a drop settles it.
 * The sweep is re-armed by a call that starts while none is armed, and by a sweep that still sees
 * calls; a sweep that finds none, or the last call to return (which cancels it, so an idle buffer
 * has nothing scheduled), disarms and then looks once more, so a call that started in between is
 * never left without one.
 *
 * <p>Thread-safe.
 */
final class FlushTimeout {
  private final Config config;
  private final Threads.Pool pool;
  private final Set<Call> running = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean armed = new AtomicBoolean();
  /** The last sweep scheduled, or null before the first. */
  private volatile @Nullable Future<?> sweep;

  FlushTimeout(Config config, Threads.Pool pool) {
    this.config = config;
    this.pool = pool;
  }

  /**
   * Starts timing a handler call on this thread; {@code onAbandon} runs on the scheduler if the
   * call is still running when the timeout ends.
   */
  Call start(Runnable onAbandon) {
    Call call = new Call(Thread.currentThread(), onAbandon, config.ticker.read());
    if (config.flushTimeoutNanos > 0) {
      running.add(call);
      arm();
    }
    return call;
  }

  private void arm() {
    if (armed.compareAndSet(false, true)) {
      try {
        sweep = config.scheduler.schedule(this::sweep, Math.max(1, config.flushTimeoutNanos / 2));
      } catch (RuntimeException e) {
        armed.set(false);
        Logs.logger().log(Level.WARNING, "StatBuffer '" + config.name + "': the scheduler "
            + "refused the flush timeout's sweep; calls run without a timeout until it accepts",
            e);
      }
    }
  }

  // `running` is a concurrent set: its iterator is weakly consistent and never throws
  // ConcurrentModificationException, and removing the call just returned by it is what we mean.
  @SuppressWarnings("ModifyCollectionInEnhancedForLoop")
  private void sweep() {
    try {
      long now = config.ticker.read();
      for (Call call : running) {
        if (now - call.started >= config.flushTimeoutNanos && call.abandon()) {
          running.remove(call);
          pool.callAbandoned();
          try {
            call.onAbandon.run();
          } catch (RuntimeException | Error e) {
            Logs.logger().log(Level.ERROR, "StatBuffer '" + config.name + "': retrying an "
                + "abandoned call failed", e);
          }
        }
      }
    } finally {
      armed.set(false);
      if (!running.isEmpty()) {
        arm();
      }
    }
  }

  /**
   * No call runs: cancels the armed sweep, so an idle buffer has nothing scheduled. A call that
   * started meanwhile found the sweep armed; the second look arms one for it.
   */
  private void disarm() {
    Future<?> armedSweep = sweep;
    if (armedSweep != null && armedSweep.cancel(/* mayInterruptIfRunning= */ false)) {
      armed.set(false);
      if (!running.isEmpty()) {
        arm();
      }
    }
  }

  /** One handler call under the timeout. */
  final class Call {
    private static final int RUNNING = 0;
    private static final int RETURNED = 1;
    private static final int ABANDONED = 2;

    private final Thread thread;
    private final Runnable onAbandon;
    private final long started;
    private int state;

    private Call(Thread thread, Runnable onAbandon, long started) {
      this.thread = thread;
      this.onAbandon = onAbandon;
      this.started = started;
    }

    /** On the sweep: abandons the call if it is still running. */
    private synchronized boolean abandon() {
      if (state != RUNNING) {
        return false;
      }
      state = ABANDONED;
      thread.interrupt();
      return true;
    }

    /**
     * On the handler's thread, once, when the call ends: true if it ended in time (its outcome
     * counts); false if it was abandoned (its interrupt is cleared, so it does not leak into the
     * executor's next task).
     */
    boolean returned() {
      if (config.flushTimeoutNanos <= 0) {
        return true;
      }
      running.remove(this);
      if (running.isEmpty()) {
        disarm();
      }
      synchronized (this) {
        if (state == RUNNING) {
          state = RETURNED;
          return true;
        }
      }
      Thread.interrupted();
      pool.abandonedCallReturned();
      return false;
    }
  }
}
