package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.BufferStats;
import dev.statbuffer.KeyCodec;
import dev.statbuffer.StatBuffer;
import java.lang.invoke.MethodHandles;
import java.lang.management.ManagementFactory;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * A separate JVM for {@link DurableKillTest}: counts random keys {@code k0...} from several threads
 * through a durable buffer into an exactly-once {@link JdbcSink}, until it is killed, or, with a
 * positive count time, for that long and then closes the buffer normally.
 *
 * <p>Each thread keeps its own record of what it counted: after every increment that returned
 * true it adds one to its cell for the key in a memory-mapped file ({@code threads x keys} longs
 * in native order, thread-major), so the record survives a SIGKILL as the buffer's counts do. A
 * record can only lag the buffer, by the increment a thread was killed between its return and the
 * record's store.
 *
 * <p>Prints {@code RECOVERED <sum>} (what the buffer took up from the directory at start), then
 * {@code COUNTING} once every thread is started, {@code BATCH <id> <sum>} before each call of
 * the sink and {@code APPLIED <id>} after it returns (each with {@code @<JVM uptime ms>}). A clean
 * run ends with {@code STATS ...}, {@code SINKSTATS ...} and {@code CLOSED}, and exits 1 if
 * anything was dropped or kept.
 *
 * <p>The handler waits 0 to 3 ms before and after the sink's transaction (a remote database's
 * latency), so that kills often find a batch handed over and not yet acknowledged, applied or
 * not.
 *
 * <p>Arguments: JDBC URL, table namespace, durable directory, record file, threads, keys, count
 * milliseconds before a clean close ({@code -1}: count until killed), seed.
 */
public final class DurableKillChild {
  /** Native-order long view of the record file, for ordered stores. */
  private static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private static volatile boolean stop;

  private DurableKillChild() {}

  /**
   * Runs the counting process.
   *
   * @param args URL, namespace, durable directory, record file, threads, keys, count millis, seed
   */
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String ns = args[1];
    Path durable = Path.of(args[2]);
    Path recordFile = Path.of(args[3]);
    int threads = Integer.parseInt(args[4]);
    int keys = Integer.parseInt(args[5]);
    long countMillis = Long.parseLong(args[6]);
    long seed = Long.parseLong(args[7]);

    HikariDataSource pool = Databases.pool(url, 4);
    pool.getConnection().close(); // an application's pool is up before it counts
    JdbcSink<String> sink = JdbcSink.<String>builder(pool)
        .table(ns + "_counts").keyColumns("k").countColumn("total")
        .ledgerTable(ns + "_ledger").build();
    BatchFlushHandler<String> handler = batch -> {
      long sum = 0;
      for (long count : batch.counts().values()) {
        sum += count;
      }
      System.out.println("BATCH " + batch.id() + " " + sum + " @" + uptime());
      latency();
      sink.flush(batch);
      System.out.println("APPLIED " + batch.id() + " @" + uptime());
      latency();
    };
    StatBuffer<String> buffer = StatBuffer.newBuilder()
        .name("durable-kill")
        .interval(Duration.ofMillis(150))
        .backoff(Duration.ofMillis(50))
        .maxBatchSize(100)
        .shutdownHook(false)
        .shutdownTimeout(Duration.ofSeconds(30))
        .durable(durable, KeyCodec.utf8())
        .syncInterval(Duration.ofMillis(200))
        .buildBatched(handler);
    System.out.println("RECOVERED " + buffer.stats().recoveredSum() + " @" + uptime());

    try (FileChannel channel = FileChannel.open(recordFile, StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      MappedByteBuffer records = channel.map(FileChannel.MapMode.READ_WRITE, 0,
          (long) threads * keys * Long.BYTES);
      List<Thread> counters = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        SplittableRandom random = new SplittableRandom(seed * 31 + t);
        Thread counter = new Thread(() -> count(buffer, records, thread, keys, random),
            "counter-" + t);
        counters.add(counter);
        counter.start();
      }
      System.out.println("COUNTING @" + uptime());
      System.out.flush();
      if (countMillis < 0) {
        for (Thread counter : counters) {
          counter.join(); // never returns: the parent kills this process
        }
      }
      Thread.sleep(countMillis);
      stop = true;
      for (Thread counter : counters) {
        counter.join();
      }
      buffer.close();
      records.force();
      BufferStats stats = buffer.stats();
      System.out.println("STATS " + stats);
      System.out.println("SINKSTATS " + sink.stats());
      pool.close();
      if (stats.droppedSum() != 0 || stats.keptSum() != 0) {
        System.out.println("FAILED: dropped or kept counts at close");
        System.out.flush();
        System.exit(1);
      }
      System.out.println("CLOSED");
      System.out.flush();
    }
  }

  /** One thread's counting: increment, then record the increment that returned true. */
  private static void count(StatBuffer<String> buffer, MappedByteBuffer records, int thread,
      int keys, SplittableRandom random) {
    String[] names = new String[keys];
    for (int k = 0; k < keys; k++) {
      names[k] = "k" + k;
    }
    long refused = 0;
    for (long i = 1; !stop; i++) {
      int k = random.nextInt(keys);
      if (buffer.increment(names[k])) {
        int offset = (thread * keys + k) * Long.BYTES;
        // Only this thread writes its cells; the ordered store lands in the page cache, which a
        // SIGKILL does not discard.
        LONGS.setRelease(records, offset, (long) LONGS.get(records, offset) + 1);
      } else {
        refused++;
        if (refused == 1) {
          System.out.println("REFUSED " + names[k] + " (thread " + thread + ")");
        }
      }
      if ((i & 15) == 0) {
        LockSupport.parkNanos(200_000); // leave CPU to the flushes and to other builds
      }
    }
  }

  /** Milliseconds since this JVM started. */
  private static long uptime() {
    return ManagementFactory.getRuntimeMXBean().getUptime();
  }

  private static void latency() throws InterruptedException {
    Thread.sleep(ThreadLocalRandom.current().nextInt(4));
  }
}
