package dev.statbuffer;

import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** The JVM-wide timer thread behind {@link Scheduler#system()}. Thread-safe. */
// The one field is a thread-safe executor, set once in the constructor and never replaced: the
// singleton's state is the shared timer thread by design.
@SuppressWarnings("ImmutableEnumChecker")
enum SystemScheduler implements Scheduler {
  INSTANCE;

  private final ScheduledThreadPoolExecutor timer;

  SystemScheduler() {
    timer = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "statbuffer-timer");
      thread.setDaemon(true);
      return thread;
    });
    // Cancelled wake-ups are removed at once, so a busy buffer does not pile them up.
    timer.setRemoveOnCancelPolicy(true);
  }

  @Override
  public Future<?> schedule(Runnable task, long delayNanos) {
    return timer.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
  }
}
