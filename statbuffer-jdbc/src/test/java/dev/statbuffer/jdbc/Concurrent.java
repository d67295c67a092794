package dev.statbuffer.jdbc;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/** Helpers for tests that call sinks from several threads at once. */
final class Concurrent {
  private Concurrent() {}

  /**
   * Runs {@code task.apply(i)} for each {@code i} below {@code threads}, each on a thread of its
   * own, all released at once; waits up to two minutes for them and rethrows the first failure.
   */
  static void atOnce(int threads, IntFunction<Callable<?>> task) throws Exception {
    CyclicBarrier barrier = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        Callable<?> body = task.apply(t);
        results.add(pool.submit(() -> {
          barrier.await();
          return body.call();
        }));
      }
      for (Future<?> result : results) {
        result.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Flushes as the buffer would: a failed call (a busy embedded database, a deadlock) is retried,
   * up to 20 calls in all. What else the sink throws is thrown.
   */
  static <K> void flushRetrying(BatchFlushHandler<K> sink, FlushBatch<K> batch) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        sink.flush(batch);
        return;
      } catch (SQLException e) {
        if (attempt == 20) {
          throw e;
        }
        Thread.sleep(10);
      }
    }
  }
}
