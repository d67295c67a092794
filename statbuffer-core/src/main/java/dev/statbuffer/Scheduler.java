package dev.statbuffer;

import java.util.concurrent.Future;

/**
 * Runs a task after a delay. A buffer uses it only to wake itself when a window or a retry comes
 * due; the task it passes is short and never blocks (it hands the real work to the buffer's
 * executor). Tests pass a manual scheduler to drive time. Implementations must be thread-safe.
 */
@FunctionalInterface
public interface Scheduler {

  /**
   * Schedules {@code task} to run once after {@code delayNanos}.
   *
   * @param task the task to run
   * @param delayNanos the delay in nanoseconds, never negative
   * @return a future that may be cancelled when the task is no longer needed
   */
  Future<?> schedule(Runnable task, long delayNanos);

  /**
   * The default scheduler: one daemon thread shared by all buffers in the JVM.
   *
   * @return the shared system scheduler
   */
  static Scheduler system() {
    return SystemScheduler.INSTANCE;
  }
}
