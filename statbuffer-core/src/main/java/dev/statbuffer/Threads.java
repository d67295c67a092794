package dev.statbuffer;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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

  /** The (unstarted) JVM shutdown hook that closes a buffer. */
  static Thread newShutdownHook(String bufferName, Runnable close) {
    return new Thread(close, "statbuffer-" + bufferName + "-shutdown");
  }
}
