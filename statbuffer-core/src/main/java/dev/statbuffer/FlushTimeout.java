package dev.statbuffer;

import java.lang.System.Logger.Level;
import java.util.concurrent.Future;

/**
 * The {@code flushTimeout} of handler calls: a timer per call on the {@link Scheduler}; when it
 * fires first, the call is abandoned (it counts as a failed attempt, and its thread is
 * interrupted) and the buffer's own pool gets a thread in its place while it still runs.
 *
 * <h2>What may race</h2>
 * The timer and the call's return race for one {@link Call}: its {@code state} moves once, from
 * {@code RUNNING} to {@code RETURNED} (the call's outcome counts as usual) or to
 * {@code ABANDONED} (the timeout counted as the failed attempt; the retry is scheduled by the
 * caller of {@link #start}). Both moves happen under the call's monitor, and the interrupt is sent
 * under it too, only while the call runs: a pooled thread is never interrupted after it moved on,
 * and an abandoned call clears its interrupt when it returns. No count is lost or counted twice:
 * the delivery's own outcome CAS decides whether the late return, its retry, or a drop settles
 * it.
 *
 * <p>Thread-safe.
 */
final class FlushTimeout {
  private final Config config;
  private final Threads.Pool pool;

  FlushTimeout(Config config, Threads.Pool pool) {
    this.config = config;
    this.pool = pool;
  }

  /**
   * Starts timing a handler call on this thread; {@code onAbandon} runs on the scheduler if the
   * call is still running when the timeout ends.
   */
  Call start(Runnable onAbandon) {
    Call call = new Call(Thread.currentThread());
    if (config.flushTimeoutNanos > 0) {
      try {
        call.timer = config.scheduler.schedule(() -> {
          if (call.abandon()) {
            pool.callAbandoned();
            onAbandon.run();
          }
        }, config.flushTimeoutNanos);
      } catch (RuntimeException e) {
        Logs.logger().log(Level.WARNING, "StatBuffer '" + config.name + "': the scheduler "
            + "refused a flush timeout; this call runs without one", e);
      }
    }
    return call;
  }

  /** One handler call under the timeout. */
  final class Call {
    private static final int RUNNING = 0;
    private static final int RETURNED = 1;
    private static final int ABANDONED = 2;

    private final Thread thread;
    private int state;
    private volatile Future<?> timer;

    private Call(Thread thread) {
      this.thread = thread;
    }

    /** On the timer: abandons the call if it is still running. */
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
      Future<?> t = timer;
      if (t != null) {
        t.cancel(/* mayInterruptIfRunning= */ false);
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
