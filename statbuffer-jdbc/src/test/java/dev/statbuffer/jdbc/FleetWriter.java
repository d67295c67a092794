package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BufferListener;
import dev.statbuffer.StatBuffer;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * One server of a fleet, in a JVM of its own ({@link FleetTest}, {@link FleetBenchmark}): counts
 * uniformly random keys out of a shared key space at a set rate into a buffer with default
 * settings (but the interval, and a shutdown timeout of 3 minutes) over a {@link JdbcSink} with default settings (but, when given, its
 * {@code maxRowsPerTransaction}), closes it and prints:
 *
 * <ul>
 *   <li>{@code SENT c0,c1,...}: the increments it counted per key (accepted by the buffer);
 *   <li>{@code RESULT key=value ...}: what it measured between the warm-up and the end of counting
 *       (increments, keys handed over and delivered, handler times, failed calls by kind);
 *   <li>{@code STATS ...}: the sink's statistics.
 * </ul>
 *
 * <p>Arguments: JDBC URL, namespace, seed, keys, increments per second, seconds of counting,
 * interval in milliseconds, warm-up seconds, {@code maxRowsPerTransaction} (0 for the default),
 * and optionally a burst period in milliseconds: 0 (the default) spreads the increments evenly
 * (every 0.2 ms), a period {@code p} makes them all at the start of each period, as fast as the
 * thread can.
 */
public final class FleetWriter {
  /** Handler times kept (more deliveries than this are counted but not timed). */
  private static final int MAX_TIMES = 1 << 20;

  private FleetWriter() {}

  /** What the buffer reports during the measured window. */
  private static final class Recorder implements BufferListener {
    final long[] handlerNanos = new long[MAX_TIMES];
    final AtomicInteger timed = new AtomicInteger();
    final LongAdder handedOverKeys = new LongAdder();
    final LongAdder deliveredKeys = new LongAdder();
    final LongAdder failedCalls = new LongAdder();
    final LongAdder deadlocks = new LongAdder();
    final LongAdder lockTimeouts = new LongAdder();
    final LongAdder dropped = new LongAdder();
    volatile boolean measuring;

    @Override
    public void handedOver(String buffer, int keys, long sum) {
      if (measuring) {
        handedOverKeys.add(keys);
      }
    }

    @Override
    public void delivered(String buffer, int keys, long sum, int attempt, long nanos) {
      if (measuring) {
        deliveredKeys.add(keys);
        int i = timed.getAndIncrement();
        if (i < MAX_TIMES) {
          handlerNanos[i] = nanos;
        }
      }
    }

    @Override
    public void failed(String buffer, int keys, long sum, int attempt, Exception error,
        long nanos, long retryDelayNanos) {
      failedCalls.increment(); // counted over the whole run, not only the window
      for (Throwable t = error; t != null; t = t.getCause()) {
        if (t instanceof SQLException) {
          SQLException e = (SQLException) t;
          String state = String.valueOf(e.getSQLState());
          if (state.equals("40P01") || state.equals("40001") || e.getErrorCode() == 1213) {
            deadlocks.increment();
            break;
          }
          if (state.equals("55P03") || state.equals("57014") || e.getErrorCode() == 1205
              || Errors.isTimeout(e)) {
            lockTimeouts.increment();
            break;
          }
        }
      }
      System.err.println("FAILED attempt " + attempt + ": " + error);
    }

    @Override
    public void dropped(String buffer, int keys, long sum, Exception lastError) {
      dropped.add(sum);
    }

    /** The {@code q} quantile of the handler times, in milliseconds. */
    double quantileMillis(double q) {
      int n = Math.min(timed.get(), MAX_TIMES);
      if (n == 0) {
        return 0;
      }
      long[] sorted = Arrays.copyOf(handlerNanos, n);
      Arrays.sort(sorted);
      return sorted[Math.min(n - 1, (int) Math.ceil(q * n) - 1)] / 1e6;
    }
  }

  /**
   * Runs the writer.
   *
   * @param args URL, namespace, seed, keys, rate, seconds, interval ms, warm-up s, rows per
   *     transaction
   */
  @SuppressWarnings("try") // close() inside the block delivers everything before the report
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String ns = args[1];
    long seed = Long.parseLong(args[2]);
    int keys = Integer.parseInt(args[3]);
    long rate = Long.parseLong(args[4]);
    long runNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(args[5]));
    Duration interval = Duration.ofMillis(Long.parseLong(args[6]));
    long warmupNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(args[7]));
    int rowsPerTransaction = Integer.parseInt(args[8]);
    long burstNanos = TimeUnit.MILLISECONDS.toNanos((args.length > 9) ? Long.parseLong(args[9]) : 0);
    long[] sent = new long[keys];
    Recorder recorder = new Recorder();
    long measuredIncrements = 0;
    long measuredNanos;
    try (HikariDataSource pool = Databases.pool(url, 4)) {
      JdbcSink.Builder<String> builder = JdbcSink.<String>builder(pool)
          .table(ns + "_counts").keyColumns("k").countColumn("total")
          .ledgerTable(ns + "_ledger");
      if (rowsPerTransaction > 0) {
        builder.maxRowsPerTransaction(rowsPerTransaction);
      }
      JdbcSink<String> sink = builder.build();
      try (StatBuffer<String> buffer = StatBuffer.newBuilder()
          .name("fleet-" + seed)
          .interval(interval)
          .shutdownTimeout(Duration.ofMinutes(3)) // a store that fell behind catches up at close
          .shutdownHook(false)
          .listener(recorder)
          .buildBatched(sink)) {
        SplittableRandom random = new SplittableRandom(seed);
        String[] names = new String[keys];
        for (int k = 0; k < keys; k++) {
          names[k] = "k" + k;
        }
        long start = System.nanoTime();
        long measureFrom = start + warmupNanos;
        long end = start + runNanos;
        long done = 0;
        long measuredFromCount = -1;
        for (long now = start; now < end; now = System.nanoTime()) {
          if (measuredFromCount < 0 && now >= measureFrom) {
            measuredFromCount = done;
            recorder.measuring = true;
          }
          long elapsed = (burstNanos == 0) ? now - start
              : ((now - start) / burstNanos + 1) * burstNanos;
          long due = Math.min(elapsed, runNanos) * rate / 1_000_000_000L;
          while (done < due) {
            int k = random.nextInt(keys);
            if (buffer.increment(names[k])) {
              sent[k]++;
            }
            done++;
          }
          LockSupport.parkNanos(200_000);
        }
        recorder.measuring = false;
        measuredNanos = Math.max(1, end - Math.max(start, measureFrom));
        measuredIncrements = done - Math.max(0, measuredFromCount);
        buffer.close();
        if (buffer.stats().droppedSum() != 0) {
          throw new IllegalStateException("dropped: " + buffer.stats());
        }
      }
      Fleet.printSent(sent);
      double seconds = measuredNanos / 1e9;
      System.out.println("RESULT seconds=" + seconds
          + " increments=" + measuredIncrements
          + " handedOverKeys=" + recorder.handedOverKeys.sum()
          + " deliveredKeys=" + recorder.deliveredKeys.sum()
          + " deliveries=" + recorder.timed.get()
          + " p50ms=" + recorder.quantileMillis(0.50)
          + " p99ms=" + recorder.quantileMillis(0.99)
          + " maxms=" + recorder.quantileMillis(1.0)
          + " failedCalls=" + recorder.failedCalls.sum()
          + " deadlocks=" + recorder.deadlocks.sum()
          + " lockTimeouts=" + recorder.lockTimeouts.sum()
          + " dropped=" + recorder.dropped.sum());
      System.out.println("HANDLER_NANOS " + handlerTimes(recorder));
      System.out.println("STATS " + sink.stats());
    }
  }

  /** Every timed handler call, comma-separated, for quantiles over the whole fleet. */
  private static String handlerTimes(Recorder recorder) {
    int n = Math.min(recorder.timed.get(), MAX_TIMES);
    StringBuilder times = new StringBuilder();
    for (int i = 0; i < n; i++) {
      times.append((i == 0) ? "" : ",").append(recorder.handlerNanos[i]);
    }
    return times.toString();
  }
}
