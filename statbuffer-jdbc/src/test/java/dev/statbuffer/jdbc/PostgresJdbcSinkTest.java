package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.testing.TestBatch;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract against the PostgreSQL server, through a HikariCP pool. */
class PostgresJdbcSinkTest extends JdbcSinkContractTest {
  private static HikariDataSource pool;

  @BeforeAll
  static void openPool() {
    pool = Databases.pool(Databases.POSTGRES_URL, 8);
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
    return JdbcDialect.POSTGRESQL;
  }

  @Override
  long statementsPerSmallBatch() {
    return 1; // ledger and upsert in one auto-committed statement
  }

  @Test
  void keyColumnsWithoutUniqueConstraint_errorSaysAddPrimaryKey() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables(); // creates the ledger
    execute("DROP TABLE " + ns + "_counts");
    execute("CREATE TABLE " + ns + "_counts (k VARCHAR(50) NOT NULL, total BIGINT NOT NULL)");
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("has no PRIMARY KEY or UNIQUE constraint")
        .hasMessageContaining("ALTER TABLE " + ns + "_counts ADD PRIMARY KEY (k)");
  }

  @Test
  void keyTooLongForColumn_errorSaysWiden() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyColumnTypes("VARCHAR(3)").build();
    sink.createTables();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("abcdef", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("does not fit the columns of table " + ns + "_counts")
        .hasMessageContaining("widen");
    assertThat(readTotal(ns, "abc")).isZero();
  }

  @Test
  void keysEqualAfterCharPadding_oneStatement_countsAdded() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyColumnTypes("CHAR(5)").build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 1L, "a ", 2L, "b", 4L)));
    assertThat(query("SELECT total FROM " + ns + "_counts WHERE k = 'a'")).isEqualTo(3L);
    assertThat(query("SELECT total FROM " + ns + "_counts WHERE k = 'b'")).isEqualTo(4L);
  }
}
