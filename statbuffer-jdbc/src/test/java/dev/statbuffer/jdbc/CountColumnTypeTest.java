package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.statbuffer.testing.TestBatch;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The count column's type is checked when the sink first touches the table (issue 12, finding 8:
 * MariaDB stored 9007199254740993 + 1 into a DOUBLE or TEXT column as 9.007199254740992e15 and
 * reported success; PostgreSQL failed every batch with {@code operator does not exist}).
 */
class CountColumnTypeTest extends ServerTest {
  private static final long PAST_DOUBLE_PRECISION = 9_007_199_254_740_993L;

  /** Flushes into a count column of {@code type}: refused, naming the column, type and fix. */
  private void assertRefused(Server server, String type, String reportedType) throws Exception {
    String ns = newNamespace();
    createCounts(server, ns, type + " NOT NULL");
    JdbcSink<String> sink = builder(server, ns).build();
    sink.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("a", PAST_DOUBLE_PRECISION));

    Throwable error = catchThrowableOfType(() -> sink.flush(batch), SQLException.class);

    assertThat(error).hasMessageContaining("count column total of table " + ns + "_counts is of"
        + " type " + reportedType).hasMessageContaining("does not hold integer counts exactly");
    assertThat(query(server, "SELECT COUNT(*) FROM " + ns + "_counts")).isZero();
    if (server == Server.SQLITE) {
      assertThat(error).hasMessageContaining("SQLite cannot change a column's type");
      return;
    }
    // The statement the message gives fixes it, and the sink checks the table again.
    String alter = error.getMessage().substring(error.getMessage().indexOf("ALTER TABLE"));
    execute(server, alter);
    sink.flush(batch);
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    assertThat(total(server, ns, "a")).isEqualTo(PAST_DOUBLE_PRECISION + 1);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void textCountColumn_refusedNamingColumnTypeAndAlter(Server server) throws Exception {
    assertRefused(server, "TEXT", server.textType);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void doubleCountColumn_refusedNamingColumnTypeAndAlter(Server server) throws Exception {
    assertRefused(server, "DOUBLE PRECISION", server.doubleType);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void decimalWithScaleCountColumn_refused(Server server) throws Exception {
    String ns = newNamespace();
    createCounts(server, ns, "DECIMAL(12, 2) NOT NULL");
    JdbcSink<String> sink = builder(server, ns).exactlyOnce(false).build();
    assertThat((Throwable) catchThrowableOfType(() -> sink.flush(TestBatch.of(Map.of("a", 1L))),
        SQLException.class)).hasMessageContaining("count column total")
        .hasMessageContaining("(12,2)");
  }

  /** Narrower integer types are accepted; a total past their range is a refused key. */
  @ParameterizedTest
  @EnumSource(Server.class)
  void integerAndDecimalOfScaleZeroCountColumns_accepted(Server server) throws Exception {
    for (String type : new String[] {"SMALLINT", "INTEGER", "BIGINT", "NUMERIC(20, 0)"}) {
      String ns = newNamespace();
      createCounts(server, ns, type + " NOT NULL");
      JdbcSink<String> sink = builder(server, ns).exactlyOnce(false).build();
      sink.flush(TestBatch.of(Map.of("a", 30_000L)));
      sink.flush(TestBatch.of(Map.of("a", -1L)));
      assertThat(total(server, ns, "a")).as(type).isEqualTo(29_999L);
      dropTables();
    }
  }
}
