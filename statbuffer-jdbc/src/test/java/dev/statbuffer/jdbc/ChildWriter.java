package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.StatBuffer;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * A separate JVM process for {@link MultiProcessTest}: counts random overlapping keys into a
 * buffer over a {@link JdbcSink}, closes it, and prints what it counted as one line
 * {@code SENT c0,c1,...}.
 *
 * <p>Arguments: JDBC URL, namespace, seed, increments, keys.
 */
public final class ChildWriter {
  private ChildWriter() {}

  /**
   * Runs the writer.
   *
   * @param args URL, namespace, seed, increments, keys
   */
  @SuppressWarnings("try") // close() inside the block delivers everything before the check
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String ns = args[1];
    long seed = Long.parseLong(args[2]);
    int increments = Integer.parseInt(args[3]);
    int keys = Integer.parseInt(args[4]);
    long[] sent = new long[keys];
    try (HikariDataSource pool = Databases.pool(url, 4)) {
      JdbcSink<String> sink = JdbcSink.<String>builder(pool)
          .table(ns + "_counts").keyColumns("k").countColumn("total")
          .ledgerTable(ns + "_ledger").build();
      try (StatBuffer<String> buffer = StatBuffer.newBuilder()
          .name("child-" + seed)
          .interval(Duration.ofMillis(5))
          .backoff(Duration.ofMillis(5))
          .maxBatchSize(50)
          .shutdownHook(false)
          .buildBatched(sink)) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < increments; i++) {
          int k = random.nextInt(keys);
          if (buffer.increment("k" + k)) {
            sent[k]++;
          }
          if (i % 500 == 499) {
            Thread.sleep(1); // spread the work over several flush intervals
          }
        }
        buffer.close();
        if (buffer.stats().droppedSum() != 0) {
          throw new IllegalStateException("dropped: " + buffer.stats());
        }
      }
      Fleet.printSent(sent);
      System.out.println("STATS " + sink.stats());
    }
  }
}
