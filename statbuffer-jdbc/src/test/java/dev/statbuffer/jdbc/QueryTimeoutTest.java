package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.statbuffer.testing.TestBatch;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A row lock held by another transaction makes the sink's statement wait; the query timeout ends
 * the wait with a failure (which the buffer retries) instead of a call that hangs. PostgreSQL and
 * MariaDB cancel a statement that waits for a lock; H2 and SQLite have their own lock timeouts.
 */
class QueryTimeoutTest extends ServerTest {
  @ParameterizedTest
  @EnumSource(value = Server.class, names = {"POSTGRESQL", "MARIADB"})
  void rowLockHeldElsewhere_flushFailsAfterTheTimeout_retryAppliesOnce(Server server)
      throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(server, ns).queryTimeout(Duration.ofSeconds(1)).build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    TestBatch<String> batch = TestBatch.of(Map.of("a", 5L, "b", 7L));
    try (Connection holder = server.dataSource().getConnection()) {
      holder.setAutoCommit(false);
      try (Statement s = holder.createStatement()) {
        s.executeUpdate("UPDATE " + ns + "_counts SET total = total + 100 WHERE k = 'a'");
      }
      long started = System.nanoTime();

      Throwable error = catchThrowableOfType(() -> sink.flush(batch), SQLException.class);

      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(error).hasMessageContaining("ran past the query timeout of 1 s")
          .hasMessageContaining(ns + "_counts");
      assertThat(Errors.isTimeout((SQLException) error.getCause())).isTrue();
      assertThat(tookMillis).isLessThan(20_000); // bounded: the lock is held until rollback
      holder.rollback();
    }
    sink.flush(batch.retry()); // the buffer's retry, once the lock is gone
    sink.flush(batch.retry());
    assertThat(total(server, ns, "a")).isEqualTo(6L);
    assertThat(total(server, ns, "b")).isEqualTo(7L);
  }
}
