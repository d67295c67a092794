package dev.statbuffer.testing;

import dev.statbuffer.Scheduler;
import dev.statbuffer.Ticker;
import java.time.Duration;
import java.util.PriorityQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Ticker} and {@link Scheduler} driven by the test: time moves only in {@link #advance},
 * which runs every task that comes due, in order of due time, on the calling thread. Thread-safe.
 */
public final class ManualClock implements Ticker, Scheduler {
  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long now = 1_000_000_000L;
  private long sequence;
  private long scheduled;

  @Override
  public synchronized long read() {
    return now;
  }

  @Override
  public synchronized Future<?> schedule(Runnable task, long delayNanos) {
    if (delayNanos < 0) {
      throw new IllegalArgumentException("negative delay: " + delayNanos);
    }
    Task entry = new Task(task, now + delayNanos, sequence++);
    tasks.add(entry);
    scheduled++;
    return entry;
  }

  /** Moves time forward by {@code duration}, running tasks as they come due. */
  public void advance(Duration duration) {
    long target;
    synchronized (this) {
      target = now + duration.toNanos();
    }
    for (;;) {
      Task next;
      synchronized (this) {
        next = tasks.peek();
        if (next == null || next.due > target) {
          now = target;
          return;
        }
        tasks.poll();
        now = Math.max(now, next.due);
      }
      next.run();
    }
  }

  /** Runs the tasks already due, without moving time. */
  public void runDue() {
    advance(Duration.ZERO);
  }

  /** The number of tasks not yet run or cancelled. */
  public synchronized int pendingTasks() {
    tasks.removeIf(Task::isCancelled);
    return tasks.size();
  }

  /** The number of tasks ever scheduled. */
  public synchronized long scheduledCount() {
    return scheduled;
  }

  private static final class Task implements Future<Object>, Comparable<Task> {
    final Runnable runnable;
    final long due;
    final long order;
    volatile int state; // 0 waiting, 1 done, 2 cancelled

    Task(Runnable runnable, long due, long order) {
      this.runnable = runnable;
      this.due = due;
      this.order = order;
    }

    void run() {
      synchronized (this) {
        if (state != 0) {
          return;
        }
        state = 1;
      }
      runnable.run();
    }

    @Override
    public int compareTo(Task other) {
      int byDue = Long.compare(due, other.due);
      return (byDue != 0) ? byDue : Long.compare(order, other.order);
    }

    @Override
    public synchronized boolean cancel(boolean mayInterruptIfRunning) {
      if (state != 0) {
        return false;
      }
      state = 2;
      return true;
    }

    @Override
    public boolean isCancelled() {
      return state == 2;
    }

    @Override
    public boolean isDone() {
      return state != 0;
    }

    @Override
    public Object get() {
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return null;
    }
  }
}
