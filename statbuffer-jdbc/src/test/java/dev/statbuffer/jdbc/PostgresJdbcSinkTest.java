package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.RejectedKeysException;
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
    RejectedKeysException report = org.assertj.core.api.Assertions.catchThrowableOfType(
        () -> sink.flush(TestBatch.of(Map.of("abcdef", 1L, "abc", 2L))),
        RejectedKeysException.class);
    String message = report.rejections().get(0).cause().getMessage();
    assertThat(message).contains("refused key abcdef (count 1)")
        .contains("key column k has 6 characters, more than the column (varchar(3)) holds");
    assertThat(readTotal(ns, "abc")).isEqualTo(2L);
    // The statement the message gives widens the column.
    execute(message.substring(message.indexOf("ALTER TABLE"), message.indexOf(") or shorten")));
    sink.flush(TestBatch.of(Map.of("abcdef", 1L)));
    assertThat(readTotal(ns, "abcdef")).isEqualTo(1L);
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

  @Test
  void byteArrayKey_flush_illegalArgumentNamingColumnAndType() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyColumnTypes("BYTEA")
        .keyMapper(k -> new Object[] {k.getBytes(java.nio.charset.StandardCharsets.UTF_8)})
        .build();
    sink.createTables();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("abc", 3L))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key column k").hasMessageContaining("[B");
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_counts")).isZero();
  }

  @Test
  void utilDateKey_flush_illegalArgumentNamingColumnAndType() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyColumnTypes("TIMESTAMP")
        .keyMapper(k -> new Object[] {new java.sql.Timestamp(0)}).build();
    sink.createTables();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key column k").hasMessageContaining("java.sql.Timestamp");
  }

  enum Kind { VIEW, CLICK }

  @Test
  void supportedKeyTypes_flush_writtenAsTheirValues() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_typed");
    tables.add(ns + "_ledger");
    java.util.UUID id = java.util.UUID.fromString("123e4567-e89b-12d3-a456-426614174000");
    JdbcSink<String> sink = JdbcSink.<String>builder(dataSource()).table(ns + "_typed")
        .keyColumns("u", "d", "amount", "kind", "flag").countColumn("n")
        .keyColumnTypes("UUID", "DATE", "BIGINT", "VARCHAR(10)", "BOOLEAN")
        .ledgerTable(ns + "_ledger")
        .keyMapper(k -> new Object[] {id, java.time.LocalDate.of(2024, 3, 4),
            new java.math.BigDecimal("1E+3"), Kind.CLICK, Boolean.TRUE})
        .build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 2L)));
    assertThat(query("SELECT n FROM " + ns + "_typed WHERE u = ? AND d = ? AND amount = 1000"
        + " AND kind = 'CLICK' AND flag", id, java.time.LocalDate.of(2024, 3, 4))).isEqualTo(2L);
  }
}
