package dev.statbuffer;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** The threads the library creates, named after their buffer. Stateless. */
final class Threads {
  private Threads() {}

  /**
   * The buffer's own executor when the user gives none: as many daemon threads as cores (at least
   * two), released after 30 s idle, so an idle buffer keeps no threads.
   */
  static ExecutorService newDefaultExecutor(String bufferName) {
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    AtomicInteger count = new AtomicInteger();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), runnable -> {
          Thread thread = new Thread(runnable,
              "statbuffer-" + bufferName + "-" + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * The handlers' pool as the flush timeout sees it: while calls are abandoned (still running, and
   * holding their threads), the buffer's own pool gets a thread for each, up to as many again as
   * it has, so a store that hangs some calls does not starve the rest. A user's executor is left
   * as it is. Thread-safe.
   */
  static final class Pool {
    private final @Nullable ThreadPoolExecutor owned;
    private final int base;
    private int abandoned;

    /** @param owned the buffer's own pool, or null for a user's executor */
    Pool(@Nullable ExecutorService owned) {
      this.owned = (owned instanceof ThreadPoolExecutor tpe) ? tpe : null;
      this.base = (this.owned != null) ? this.owned.getMaximumPoolSize() : 0;
    }

    synchronized void callAbandoned() {
      abandoned++;
      resize();
    }

    synchronized void abandonedCallReturned() {
      abandoned--;
      resize();
    }

    private void resize() {
      if (owned == null) {
        return;
      }
      int size = base + Math.min(base, Math.max(0, abandoned));
      if (size > owned.getMaximumPoolSize()) {
        owned.setMaximumPoolSize(size);
        owned.setCorePoolSize(size);
      } else if (size < owned.getMaximumPoolSize()) {
        owned.setCorePoolSize(size);
        owned.setMaximumPoolSize(size);
      }
    }
  }

  /** Adds (and returns) the JVM shutdown hook that closes a buffer. */
  static Thread addShutdownHook(String bufferName, Runnable close) {
    Thread hook = new Thread(close, "statbuffer-" + bufferName + "-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    return hook;
  }

  /** Removes a buffer's shutdown hook (null: none), unless it is the hook that is running. */
  static void removeShutdownHook(@Nullable Thread hook) {
    if (hook != null && Thread.currentThread() != hook) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down: the hook is running or has run.
      }
    }
  }
}
