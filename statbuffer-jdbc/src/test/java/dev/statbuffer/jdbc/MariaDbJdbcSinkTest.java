package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.testing.TestBatch;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract against the MariaDB server, through a HikariCP pool. */
class MariaDbJdbcSinkTest extends JdbcSinkContractTest {
  private static HikariDataSource pool;

  @BeforeAll
  static void openPool() {
    pool = Databases.pool(Databases.MARIADB_URL, 8);
  }

  @AfterAll
  static void closePool() {
    pool.close();
  }

  @Override
  DataSource dataSource() {
    return pool;
  }

  @Override
  JdbcDialect expectedDialect() {
    return JdbcDialect.MARIADB;
  }

  @Override
  long statementsPerSmallBatch() {
    return 3; // ledger insert, upsert, commit
  }

  /**
   * The Java write order folds case but not accents, while MariaDB's default collations fold both
   * ("e" = "é"): {e, f} and {f, é} lock two rows in opposite orders. The connections pause both
   * writers after their first row, so the interleaving is deterministic. A deadlock may follow; it
   * is reported as transient, nothing of the victim's batch is written, and its retry (what the
   * buffer does) makes the totals exact.
   */
  @Test
  void accentInsensitiveCollation_overlappingBatches_deadlockRetriedExactly() throws Exception {
    String ns = newNamespace();
    CyclicBarrier afterFirstRow = new CyclicBarrier(2);
    JdbcSink<String> pausing = JdbcSink.<String>builder(pauseAfterFirstUpsert(pool, afterFirstRow))
        .table(ns + "_counts").keyColumns("k").countColumn("total").ledgerTable(ns + "_ledger")
        .maxRowsPerStatement(1).build();
    JdbcSink<String> plain = builder(ns).maxRowsPerStatement(1).build();
    plain.createTables();
    List<TestBatch<String>> batches = List.of(TestBatch.of(Map.of("e", 1L, "f", 1L)),
        TestBatch.of(Map.of("f", 1L, "\u00e9", 1L)));
    ExecutorService threads = Executors.newFixedThreadPool(2);
    List<TestBatch<String>> failed = new ArrayList<>();
    try {
      List<Future<?>> flushes = new ArrayList<>();
      for (TestBatch<String> batch : batches) {
        flushes.add(threads.submit(() -> {
          pausing.flush(batch);
          return null;
        }));
      }
      for (int i = 0; i < flushes.size(); i++) {
        try {
          flushes.get(i).get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          assertThat(e.getCause()).isInstanceOf(SQLException.class);
          assertThat(Errors.isTransient((SQLException) e.getCause()))
              .as("deadlock reported as transient: %s", e.getCause()).isTrue();
          failed.add(batches.get(i));
        }
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(failed).hasSizeLessThanOrEqualTo(1);
    for (TestBatch<String> batch : failed) {
      plain.flush(batch); // the buffer's retry
    }
    for (TestBatch<String> batch : batches) {
      plain.flush(batch); // any further retry is a duplicate
    }
    assertThat(query("SELECT total FROM " + ns + "_counts WHERE k = 'e'")).isEqualTo(2L);
    assertThat(query("SELECT total FROM " + ns + "_counts WHERE k = 'f'")).isEqualTo(2L);
  }

  /** Wraps connections so that the first counter upsert of each flush waits on the barrier. */
  static DataSource pauseAfterFirstUpsert(DataSource ds, CyclicBarrier barrier) {
    ClassLoader loader = MariaDbJdbcSinkTest.class.getClassLoader();
    return (DataSource) Proxy.newProxyInstance(loader, new Class<?>[] {DataSource.class},
        (proxy, method, args) -> {
          Object result = invoke(ds, method, args);
          if (!method.getName().equals("getConnection")) {
            return result;
          }
          Connection c = (Connection) result;
          AtomicInteger upserts = new AtomicInteger();
          return Proxy.newProxyInstance(loader, new Class<?>[] {Connection.class},
              (p2, m2, a2) -> {
                Object r = invoke(c, m2, a2);
                if (!m2.getName().equals("prepareStatement")
                    || !((String) a2[0]).contains("ON DUPLICATE KEY")) {
                  return r;
                }
                PreparedStatement ps = (PreparedStatement) r;
                return Proxy.newProxyInstance(loader, new Class<?>[] {PreparedStatement.class},
                    (p3, m3, a3) -> {
                      Object r3 = invoke(ps, m3, a3);
                      if (m3.getName().equals("executeUpdate")
                          && upserts.incrementAndGet() == 1) {
                        barrier.await(10, TimeUnit.SECONDS);
                      }
                      return r3;
                    });
              });
        });
  }

  private static Object invoke(Object target, Method m, Object[] args) throws Throwable {
    try {
      return m.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
