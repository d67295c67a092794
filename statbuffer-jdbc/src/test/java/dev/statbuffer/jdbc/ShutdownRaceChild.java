package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.DeadLetters;
import dev.statbuffer.KeyCodec;
import dev.statbuffer.StatBuffer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A separate JVM for {@link ShutdownRaceTest}: an application that counts into PostgreSQL through
 * a HikariCP pool and exits with counts still buffered, leaving the dump to the buffer's JVM
 * shutdown hook. Prints {@code SENT <sum>} before it exits.
 *
 * <p>Arguments: JDBC URL, table prefix, mode, dead-letter file, keys. Mode {@code race}: the
 * application closes its pool in a shutdown hook of its own, which races the buffer's (the
 * obvious code, issue 12 finding 2); the sink's first call is slowed down so that the pool is
 * closed by the time the dump reaches it. Mode {@code ordered}: the pool is handed to the buffer
 * with {@code closeAfterDump}, and the application adds no hook.
 */
public final class ShutdownRaceChild {
  private ShutdownRaceChild() {}

  /**
   * Runs the application.
   *
   * @param args URL, prefix, mode, dead-letter file, keys
   */
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String prefix = args[1];
    boolean race = args[2].equals("race");
    Path deadLetters = Path.of(args[3]);
    int keys = Integer.parseInt(args[4]);
    HikariDataSource pool = Databases.pool(url, 2);
    JdbcSink<String> sink = JdbcSink.<String>builder(pool)
        .table(prefix + "_counts").keyColumns("k").countColumn("total")
        .ledgerTable(prefix + "_ledger").build();
    BatchFlushHandler<String> handler = race
        ? batch -> {
          Thread.sleep(300); // the application's hook closes the pool meanwhile
          sink.flush(batch);
        }
        : sink;
    StatBuffer.Builder builder = StatBuffer.newBuilder().name("race-" + prefix)
        .interval(Duration.ofHours(1)).backoff(Duration.ofMillis(50))
        .shutdownTimeout(Duration.ofSeconds(2));
    if (race) {
      Runtime.getRuntime().addShutdownHook(new Thread(pool::close, "application-pool-close"));
    } else {
      builder.closeAfterDump(pool);
    }
    StatBuffer<String> buffer =
        builder.buildBatched(DeadLetters.recording(handler, deadLetters, KeyCodec.utf8()));
    long sent = 0;
    for (int i = 0; i < keys; i++) {
      if (buffer.increment("k" + i, i + 1)) {
        sent += i + 1;
      }
    }
    System.out.println("SENT " + sent);
    System.out.flush();
    System.exit(0); // the buffer's JVM shutdown hook dumps what is buffered
  }
}
