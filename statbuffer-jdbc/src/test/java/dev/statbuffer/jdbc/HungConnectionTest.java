package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BufferListener;
import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, finding 5, against the real PostgreSQL: a {@code DataSource} whose
 * {@code getConnection} hangs (and ignores interrupts) held every handler thread, and with them
 * all hand-over, forever. Now hand-over goes on, the flush timeout abandons the hung calls and
 * retries them on fresh ones, and when the hung calls finally return and commit, the ledger keeps
 * the totals exact.
 */
class HungConnectionTest {
  @Test
  void hungGetConnection_handOverGoesOn_timeoutRetries_lateCommitsCountOnce() throws Exception {
    String prefix = "hung_" + Long.toString(System.nanoTime(), 36);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger hung = new AtomicInteger();
    AtomicLong handedOver = new AtomicLong();
    try (HikariDataSource pool = Databases.pool(Databases.POSTGRES_URL, 8)) {
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      DataSource hanging = hangFirst(pool, threads, hung, release);
      JdbcSink<String> sink = JdbcSink.<String>builder(hanging)
          .table(prefix + "_counts").keyColumns("k").countColumn("total")
          .ledgerTable(prefix + "_ledger").build();
      JdbcSink.<String>builder(pool).table(prefix + "_counts").keyColumns("k")
          .countColumn("total").ledgerTable(prefix + "_ledger").build().createTables();
      StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
          .interval(Duration.ofMillis(20)).backoff(Duration.ofMillis(50))
          .maxBackoff(Duration.ofMillis(200)).flushTimeout(Duration.ofMillis(500))
          .maxBatchSize(10)
          .listener(new BufferListener() {
            @Override
            public void handedOver(String name, int keys, long sum) {
              handedOver.addAndGet(keys);
            }
          })
          .buildBatched(sink);
      long sent = 0;
      for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 50; k++) {
          buffer.increment("k" + k, round + 1);
          sent += round + 1;
        }
        Thread.sleep(25);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (total(pool, prefix) < sent && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(hung.get()).as("calls hung in getConnection").isEqualTo(threads);
      assertThat(handedOver.get()).as("hand-over went on").isGreaterThan(50);
      assertThat(total(pool, prefix)).as("delivered past the hung calls").isEqualTo(sent);
      assertThat(buffer.stats().failures()).as("the timeout fired").isGreaterThanOrEqualTo(1);

      release.countDown(); // the hung calls get their connections now, and commit late
      Thread.sleep(500);
      buffer.close();
      BufferStats stats = buffer.stats();
      assertThat(stats.deliveredSum()).isEqualTo(sent);
      assertThat(stats.droppedSum()).isZero();
      assertThat(total(pool, prefix)).as("late commits counted once (ledger)").isEqualTo(sent);
    }
  }

  /** {@code ds}, whose first {@code count} getConnection calls hang until released. */
  private static DataSource hangFirst(DataSource ds, int count, AtomicInteger hung,
      CountDownLatch release) {
    return (DataSource) Proxy.newProxyInstance(HungConnectionTest.class.getClassLoader(),
        new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
          if (method.getName().equals("getConnection") && hung.incrementAndGet() <= count) {
            boolean interrupted = false;
            while (true) {
              try {
                release.await(); // like a pool or network that never answers
                break;
              } catch (InterruptedException e) {
                interrupted = true; // and ignores interrupts
              }
            }
            if (interrupted) {
              Thread.currentThread().interrupt();
            }
          } else if (method.getName().equals("getConnection")) {
            hung.decrementAndGet();
          }
          try {
            return method.invoke(ds, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  private static long total(DataSource pool, String prefix) throws SQLException {
    try (Connection connection = pool.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(
            "SELECT COALESCE(SUM(total), 0) FROM " + prefix + "_counts")) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
