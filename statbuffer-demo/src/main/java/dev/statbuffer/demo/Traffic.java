package dev.statbuffer.demo;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.StatBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;

/**
 * The simulated page-view traffic: a few threads, each incrementing Zipf-distributed page keys in
 * a {@link StatBuffer} as fast as it can, and counting what the buffer accepted, per key.
 *
 * <h2>Design</h2>
 * Before the clock starts, each thread draws its own table of {@value #TABLE_SIZE} key indices
 * from the {@link ZipfSampler} with its own {@link SplittableRandom} (split from one seeded root,
 * so a seed reproduces the traffic), and the page names are built once. The hot loop then replays
 * the table: an array read, {@code buffer.increment(key)} and a plain {@code counts[index]++} in
 * the thread's own array, so the measurement is of the buffer, not of the sampler or of
 * {@code String} building. With {@code --durable} ({@link #recordTo}) each increment also writes
 * two longs to the thread's column of the demo's mapped counts file, around the increment, so
 * that the counts survive a SIGKILL. Every {@value #CHUNK} increments a thread publishes its
 * running total ({@code setRelease}, read by the progress line) and checks the stop flag.
 *
 * <p>Who calls what: one thread calls {@link #prepare}, {@link #recordTo} (if at all),
 * {@link #start}, {@link #stop}, {@link #join} and {@link #expectedCounts} in that order;
 * {@link #accepted()} may be called from any thread at any time (it is a racy, monotonic
 * snapshot: each worker's total is at most {@value #CHUNK} behind). {@link #join} establishes
 * happens-before with everything the workers wrote, so {@link #expectedCounts} reads their arrays
 * without further synchronisation.
 */
final class Traffic {
  /** Pre-drawn indices per thread (a power of two). */
  static final int TABLE_SIZE = 1 << 17;
  /** Increments between two looks at the stop flag. */
  static final int CHUNK = 1024;

  private final String[] keys;
  private final ZipfSampler sampler;
  private final int threads;
  private final long seed;
  private final Worker[] workers;
  private final CountDownLatch finished;
  private volatile boolean stopped;

  /**
   * Creates the traffic, without drawing anything yet.
   *
   * @param keys the page names, indexed as the sampler draws them
   * @param sampler the key distribution
   * @param threads how many threads, at least 1
   * @param increments the total increments to make, spread over the threads; or a negative
   *     number to run until {@link #stop}
   * @param seed the seed of all the threads' generators
   */
  Traffic(String[] keys, ZipfSampler sampler, int threads, long increments, long seed) {
    this.keys = keys;
    this.sampler = sampler;
    this.threads = threads;
    this.seed = seed;
    this.workers = new Worker[threads];
    this.finished = new CountDownLatch(threads);
    for (int t = 0; t < threads; t++) {
      long quota = (increments < 0) ? Long.MAX_VALUE
          : increments / threads + ((t < increments % threads) ? 1 : 0);
      workers[t] = new Worker(t, quota);
    }
  }

  /** Draws every thread's table of key indices (before the clock starts). */
  void prepare() {
    SplittableRandom root = new SplittableRandom(seed);
    for (Worker worker : workers) {
      SplittableRandom random = root.split();
      worker.table = new int[TABLE_SIZE];
      sampler.fill(random, worker.table);
      worker.position = random.nextInt(TABLE_SIZE);
      worker.counts = new long[keys.length];
    }
  }

  /**
   * Makes every thread also write its counts to a column of the demo's counts file, as each
   * increment is accepted (for {@code --durable}; see {@link ExpectedTotals}). Call after
   * {@link #prepare} and before {@link #start}.
   *
   * @param columns one per thread
   */
  void recordTo(ExpectedTotals.Column[] columns) {
    for (int t = 0; t < threads; t++) {
      workers[t].column = columns[t];
    }
  }

  /**
   * Starts the threads.
   *
   * @param buffer where the increments go
   * @param whenDone run (on a worker thread) once every thread has finished its quota or stopped
   */
  void start(StatBuffer<String> buffer, Runnable whenDone) {
    for (Worker worker : workers) {
      Thread thread = new Thread(() -> {
        try {
          worker.run(buffer);
        } finally {
          finished.countDown();
          if (finished.getCount() == 0) {
            whenDone.run();
          }
        }
      }, "statbuffer-demo-traffic-" + worker.id);
      thread.setDaemon(true);
      worker.thread = thread;
      thread.start();
    }
  }

  /** Asks the threads to stop after their current chunk. */
  void stop() {
    stopped = true;
  }

  /**
   * Waits for every thread to end.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  void join() throws InterruptedException {
    for (Worker worker : workers) {
      if (worker.thread != null) {
        worker.thread.join();
      }
    }
  }

  /**
   * The increments accepted so far, summed over the threads (each at most one chunk behind).
   *
   * @return the total
   */
  long accepted() {
    long sum = 0;
    for (Worker worker : workers) {
      sum += (long) Worker.ACCEPTED.getAcquire(worker);
    }
    return sum;
  }

  /**
   * The increments the buffer refused (it refuses only once closed, which the demo does after
   * the traffic has stopped, so this is 0 unless something went wrong). Call after {@link #join}.
   *
   * @return the total
   */
  long refused() {
    long sum = 0;
    for (Worker worker : workers) {
      sum += worker.refused;
    }
    return sum;
  }

  /**
   * The accepted increments per key index, summed over the threads. Call after {@link #join}.
   *
   * @return a new array indexed like the keys
   */
  long[] expectedCounts() {
    long[] total = new long[keys.length];
    for (Worker worker : workers) {
      if (worker.counts == null) {
        continue;
      }
      for (int i = 0; i < total.length; i++) {
        total[i] += worker.counts[i];
      }
    }
    return total;
  }

  /**
   * The page names, indexed like {@link #expectedCounts}.
   *
   * @return an unmodifiable view
   */
  List<String> keys() {
    return Collections.unmodifiableList(Arrays.asList(keys));
  }

  /** The number of threads. */
  int threads() {
    return threads;
  }

  private final class Worker {
    static final java.lang.invoke.VarHandle ACCEPTED;

    static {
      try {
        ACCEPTED = java.lang.invoke.MethodHandles.lookup()
            .findVarHandle(Worker.class, "accepted", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    final int id;
    final long quota;
    /** Drawn by {@link Traffic#prepare}; null before. */
    int @Nullable [] table;
    int position;
    /** Made by {@link Traffic#prepare}; null before. */
    long @Nullable [] counts;
    long refused;
    /** Where the counts are recorded too (--durable), or null. */
    ExpectedTotals.@Nullable Column column;
    /** Made by {@link Traffic#start}; null before. */
    @Nullable Thread thread;
    /** Published with setRelease every chunk; read with getAcquire by the progress line. */
    @SuppressWarnings("unused")
    private long accepted;

    Worker(int id, long quota) {
      this.id = id;
      this.quota = quota;
    }

    void run(StatBuffer<String> buffer) {
      final int[] table = requireNonNull(this.table, "prepare() comes before start()");
      final long[] counts = requireNonNull(this.counts, "prepare() comes before start()");
      final String[] keys = Traffic.this.keys;
      final ExpectedTotals.Column column = this.column;
      final int mask = TABLE_SIZE - 1;
      int position = this.position;
      long done = 0;
      long refusedHere = 0;
      while (done + refusedHere < quota && !stopped) {
        long chunk = Math.min(CHUNK, quota - done - refusedHere);
        for (long i = 0; i < chunk; i++) {
          int index = table[position];
          position = (position + 1) & mask;
          boolean accepted = (column == null) ? buffer.increment(keys[index])
              : column.increment(buffer, keys[index], index, counts[index]);
          if (accepted) {
            counts[index]++;
            done++;
          } else {
            refusedHere++;
          }
        }
        ACCEPTED.setRelease(this, done);
      }
      this.refused = refusedHere;
      this.position = position;
    }
  }
}
