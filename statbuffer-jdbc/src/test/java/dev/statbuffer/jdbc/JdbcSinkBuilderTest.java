package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** One test per validation rule of {@link JdbcSink.Builder}. None connects. */
class JdbcSinkBuilderTest {
  private final DataSource ds = Databases.h2();

  private JdbcSink.Builder<String> valid() {
    return JdbcSink.<String>builder(ds).table("page_views").keyColumns("page").countColumn("views");
  }

  @Test
  void builder_nullDataSource_npeNamingIt() {
    assertThatThrownBy(() -> JdbcSink.builder(null))
        .isInstanceOf(NullPointerException.class).hasMessage("dataSource");
  }

  @Test
  void build_validOptions_doesNotConnect() {
    JdbcSink<String> sink = JdbcSink.<String>builder(new FailingDataSource())
        .table("page_views").keyColumns("page").countColumn("views").build();
    assertThat(sink.toString()).contains("page_views").contains("exactlyOnce=true");
  }

  @Test
  void table_notAnIdentifier_illegalArgumentNamingValue() {
    assertThatThrownBy(() -> valid().table("page views; DROP TABLE x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("table must be an SQL identifier")
        .hasMessageEndingWith(": page views; DROP TABLE x");
  }

  @Test
  void table_schemaQualified_accepted() {
    assertThat(valid().table("stats.page_views").build().toString()).contains("stats.page_views");
  }

  @Test
  void table_longerThanLedgerSinkColumn_illegalArgumentNamingLimit() {
    assertThatThrownBy(() -> valid().table("t".repeat(129)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("table must be at most 128 characters");
  }

  @Test
  void ledgerTable_default_counterTableFollowedByLedger() {
    assertThat(valid().build().toString()).contains("ledgerTable=page_views_ledger");
  }

  @Test
  void table_null_npeNamingIt() {
    assertThatThrownBy(() -> valid().table(null))
        .isInstanceOf(NullPointerException.class).hasMessage("table");
  }

  @Test
  void keyColumns_empty_illegalArgument() {
    assertThatThrownBy(() -> valid().keyColumns())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one");
  }

  @Test
  void keyColumns_repeated_illegalArgumentNamingColumn() {
    assertThatThrownBy(() -> valid().keyColumns("page", "PAGE"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage(
            "keyColumns must not repeat a column: PAGE");
  }

  @Test
  void keyColumns_notAnIdentifier_illegalArgument() {
    assertThatThrownBy(() -> valid().keyColumns("page-id"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageEndingWith(": page-id");
  }

  @Test
  void keyColumns_nullName_npe() {
    assertThatThrownBy(() -> valid().keyColumns("page", null))
        .isInstanceOf(NullPointerException.class).hasMessage("keyColumns");
  }

  @Test
  void countColumn_notAnIdentifier_illegalArgument() {
    assertThatThrownBy(() -> valid().countColumn("1views"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("countColumn must be an SQL identifier");
  }

  @Test
  void countColumn_alsoKeyColumn_illegalState() {
    assertThatThrownBy(() -> valid().countColumn("page").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("also a key column");
  }

  @Test
  void build_withoutTable_illegalState() {
    assertThatThrownBy(() -> JdbcSink.<String>builder(ds).keyColumns("k").countColumn("n")
        .build()).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("table");
  }

  @Test
  void build_withoutKeyColumns_illegalState() {
    assertThatThrownBy(() -> JdbcSink.<String>builder(ds).table("t").countColumn("n").build())
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("keyColumns");
  }

  @Test
  void build_withoutCountColumn_illegalState() {
    assertThatThrownBy(() -> JdbcSink.<String>builder(ds).table("t").keyColumns("k").build())
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("countColumn");
  }

  @Test
  void build_compositeKeysWithoutMapper_illegalState() {
    assertThatThrownBy(() -> valid().keyColumns("page_id", "day").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("keyMapper is required with 2 key columns");
  }

  @Test
  void keyMapper_null_npe() {
    assertThatThrownBy(() -> valid().keyMapper(null))
        .isInstanceOf(NullPointerException.class).hasMessage("keyMapper");
  }

  @Test
  void dialect_null_npe() {
    assertThatThrownBy(() -> valid().dialect(null))
        .isInstanceOf(NullPointerException.class).hasMessage("dialect");
  }

  @Test
  void dialect_explicit_usedWithoutDetection() throws Exception {
    assertThat(valid().dialect(JdbcDialect.MARIADB).build().dialect())
        .isEqualTo(JdbcDialect.MARIADB);
  }

  @Test
  void ledgerTable_sameAsTable_illegalState() {
    assertThatThrownBy(() -> valid().ledgerTable("page_views").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("ledgerTable");
  }

  @Test
  void ledgerTable_notAnIdentifier_illegalArgument() {
    assertThatThrownBy(() -> valid().ledgerTable("a.b.c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("ledgerTable must be an SQL identifier");
  }

  @Test
  void ledgerRetention_zero_illegalArgumentNamingValue() {
    assertThatThrownBy(() -> valid().ledgerRetention(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ledgerRetention must be positive: PT0S");
  }

  @Test
  void ledgerRetention_null_npe() {
    assertThatThrownBy(() -> valid().ledgerRetention(null))
        .isInstanceOf(NullPointerException.class).hasMessage("ledgerRetention");
  }

  @Test
  void ledgerPruneInterval_negative_illegalArgumentNamingValue() {
    assertThatThrownBy(() -> valid().ledgerPruneInterval(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ledgerPruneInterval must not be negative: PT-1S");
  }

  @Test
  void maxRowsPerStatement_zero_illegalArgumentNamingValue() {
    assertThatThrownBy(() -> valid().maxRowsPerStatement(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRowsPerStatement must be at least 1: 0");
  }

  @Test
  void keyColumnTypes_injection_illegalArgument() {
    assertThatThrownBy(() -> valid().keyColumnTypes("TEXT); DROP TABLE x; --"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("keyColumnTypes must be SQL type names");
  }

  @Test
  void keyColumnTypes_wrongCount_illegalState() {
    assertThatThrownBy(() -> valid().keyColumnTypes("BIGINT", "DATE").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("keyColumnTypes has 2 types but keyColumns has 1 columns");
  }

  @Test
  void queryTimeout_negative_illegalArgumentNamingValue() {
    assertThatThrownBy(() -> valid().queryTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("queryTimeout must not be negative: PT-1S");
  }

  @Test
  void queryTimeout_pastIntSeconds_illegalArgument() {
    assertThatThrownBy(() -> valid().queryTimeout(Duration.ofSeconds(Integer.MAX_VALUE + 1L)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("queryTimeout must be at most 2147483647 seconds");
  }

  @Test
  void queryTimeout_null_npe() {
    assertThatThrownBy(() -> valid().queryTimeout(null))
        .isInstanceOf(NullPointerException.class).hasMessage("queryTimeout");
  }

  @Test
  void queryTimeout_zeroAndFractions_accepted() {
    assertThat(valid().queryTimeout(Duration.ZERO).build()).isNotNull();
    assertThat(valid().queryTimeout(Duration.ofMillis(1)).build()).isNotNull();
  }

  @Test
  void flush_nullBatch_npe() {
    assertThatThrownBy(() -> valid().build().flush(null))
        .isInstanceOf(NullPointerException.class).hasMessage("batch");
  }

  @Test
  void compareValues_stringsCaseInsensitiveFirst_thenExact() {
    List<String> sorted = new java.util.ArrayList<>(List.of("b", "B", "a", "A", "c"));
    sorted.sort(Rows::compareValues);
    assertThat(sorted).containsExactly("A", "a", "B", "b", "c");
  }

  @Test
  void detect_unknownDatabase_saysSetDialect() {
    assertThatThrownBy(() -> JdbcDialect.detect(FailingDataSource.connectionTo("Oracle")))
        .isInstanceOf(java.sql.SQLFeatureNotSupportedException.class)
        .hasMessageContaining("\"Oracle\"").hasMessageContaining(".dialect(JdbcDialect.X)");
  }

  @Test
  void maxRowsPerTransaction_belowOne_illegalArgumentNamingValue() {
    assertThatThrownBy(() -> valid().maxRowsPerTransaction(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRowsPerTransaction must be at least 1: 0");
    assertThat(valid().maxRowsPerTransaction(1).build()).isNotNull();
    assertThat(valid().maxRowsPerTransaction(Integer.MAX_VALUE).build()).isNotNull();
  }
}
