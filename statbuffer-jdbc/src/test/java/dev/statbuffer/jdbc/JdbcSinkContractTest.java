package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.testing.SinkContract;
import dev.statbuffer.testing.TestBatch;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sink contract and the JDBC sink's own behaviour, run once per dialect by the subclasses.
 * Each namespace gets its own tables {@code <ns>_counts} and {@code <ns>_ledger}, dropped after
 * the test.
 */
abstract class JdbcSinkContractTest extends SinkContract {
  final List<String> tables = Collections.synchronizedList(new ArrayList<>());

  /** Selects the ledger's batch rows, not H2's lock row (batch id ""). */
  static final String BATCH_ROWS = " WHERE batch_id <> ''";

  /** Statements per flush that lock the table before the ledger insert (H2). */
  long lockStatementsPerFlush() {
    return 0;
  }

  /** The database under test. */
  abstract DataSource dataSource();

  /** The dialect the sink must detect. */
  abstract JdbcDialect expectedDialect();

  /** A sink over {@code <ns>_counts (k, total)} with the ledger {@code <ns>_ledger}. */
  JdbcSink.Builder<String> builder(String ns) {
    tables.add(ns + "_counts");
    tables.add(ns + "_ledger");
    return JdbcSink.<String>builder(dataSource())
        .table(ns + "_counts").keyColumns("k").countColumn("total")
        .ledgerTable(ns + "_ledger");
  }

  @Override
  protected BatchFlushHandler<String> newSink(String namespace) throws Exception {
    JdbcSink<String> sink = builder(namespace).build();
    sink.createTables();
    return sink;
  }

  @Override
  protected long readTotal(String namespace, String key) throws Exception {
    return query("SELECT total FROM " + namespace + "_counts WHERE k = ?", key);
  }

  @AfterEach
  void dropTables() {
    synchronized (tables) {
      Databases.drop(dataSource(), tables.toArray(new String[0]));
      tables.clear();
    }
  }

  /** The single long the query returns; 0 when it returns no row. */
  long query(String sql, Object... parameters) throws SQLException {
    return Databases.query(dataSource(), sql, parameters);
  }

  void execute(String sql) throws SQLException {
    Databases.execute(dataSource(), sql);
  }

  /**
   * Regression: on H2, two MERGEs inserting the same new key at once failed one of them with a
   * unique-key violation (23505), reported as a schema problem. Found by the demo at close.
   */
  @Test
  void concurrentFlushes_sameNewKeys_noFailureAndExactTotals() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = (JdbcSink<String>) newSink(ns);
    int rounds = 20;
    java.util.concurrent.CyclicBarrier barrier = new java.util.concurrent.CyclicBarrier(2);
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        writers.add(pool.submit(() -> {
          for (int round = 0; round < rounds; round++) {
            java.util.Map<String, Long> counts = new java.util.LinkedHashMap<>();
            for (int i = 0; i < 200; i++) {
              counts.put("r" + round + "-k" + i, 1L);
            }
            barrier.await();
            sink.flush(dev.statbuffer.testing.TestBatch.of(counts));
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> writer : writers) {
        writer.get(120, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    for (int round = 0; round < rounds; round += 7) {
      assertThat(readTotal(ns, "r" + round + "-k" + (round * 13 % 200))).isEqualTo(2L);
    }
    assertThat(query("SELECT SUM(total) FROM " + ns + "_counts")).isEqualTo(2L * rounds * 200);
  }

  /** The statements one small batch costs after the first (which also checks the tables). */
  abstract long statementsPerSmallBatch();

  @Test
  void dialect_detectedFromConnection() throws Exception {
    JdbcSink<String> sink = builder(newNamespace()).build();
    assertThat(sink.dialect()).isEqualTo(expectedDialect());
  }

  /** The column {@code day} in a hand-written query. */
  String dayColumn() {
    return "day";
  }

  record PageDay(long pageId, LocalDate day) {}

  @Test
  void compositeKeys_keyMapper_totalsPerColumnTuple() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_views");
    tables.add(ns + "_ledger");
    JdbcSink<PageDay> sink = JdbcSink.<PageDay>builder(dataSource())
        .table(ns + "_views").keyColumns("page_id", "day").countColumn("views")
        .keyMapper(k -> new Object[] {k.pageId(), k.day()})
        .keyColumnTypes("BIGINT", "DATE")
        .ledgerTable(ns + "_ledger")
        .build();
    sink.createTables();
    LocalDate monday = LocalDate.of(2024, 3, 4);
    LocalDate tuesday = monday.plusDays(1);
    sink.flush(TestBatch.of(Map.of(new PageDay(1, monday), 5L, new PageDay(1, tuesday), 7L,
        new PageDay(2, monday), -3L)));
    sink.flush(TestBatch.of(Map.of(new PageDay(1, monday), 10L, new PageDay(2, monday), 1L)));
    String read = "SELECT views FROM " + ns + "_views WHERE page_id = ? AND " + dayColumn()
        + " = ?";
    assertThat(query(read, 1L, monday)).isEqualTo(15L);
    assertThat(query(read, 1L, tuesday)).isEqualTo(7L);
    assertThat(query(read, 2L, monday)).isEqualTo(-2L);
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_views")).isEqualTo(3L);
  }

  @Test
  void keysMappedToOneRow_countsAdded() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns)
        .keyMapper(k -> new Object[] {k.toLowerCase(java.util.Locale.ROOT)}).build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("home", 1L, "HOME", 2L, "Home", 4L, "about", 3L)));
    assertThat(readTotal(ns, "home")).isEqualTo(7L);
    assertThat(readTotal(ns, "about")).isEqualTo(3L);
  }

  @Test
  void keysEqualOnlyInDatabase_integerAndLongForOneRow_countsAdded() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_mixed");
    tables.add(ns + "_ledger");
    // A composite mapper that boxes the same id sometimes as Integer, sometimes as Long: two keys
    // in Java, one row in the database.
    JdbcSink<String> sink = JdbcSink.<String>builder(dataSource())
        .table(ns + "_mixed").keyColumns("page_id", "slot").countColumn("n")
        .keyColumnTypes("BIGINT", "INTEGER").ledgerTable(ns + "_ledger")
        .keyMapper(k -> new Object[] {k.startsWith("i") ? (Object) 7 : (Object) 7L, 1})
        .build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("i-page7", 1L, "l-page7", 2L)));
    sink.flush(TestBatch.of(Map.of("i-page7", 4L, "l-page7", 8L)));
    assertThat(query("SELECT n FROM " + ns + "_mixed WHERE page_id = 7")).isEqualTo(15L);
  }

  @Test
  void keysEqualOnlyAfterCast_textIntoIntegerColumn_countsAdded() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyColumnTypes("INTEGER").build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("1", 1L, "01", 2L, "001", 4L, "2", 8L)));
    assertThat(query("SELECT total FROM " + ns + "_counts WHERE k = 1")).isEqualTo(7L);
    assertThat(query("SELECT total FROM " + ns + "_counts WHERE k = 2")).isEqualTo(8L);
  }

  @Test
  void keysMappedToOneRow_sumOverflows_illegalArgumentNamingKeyAndNothingWritten()
      throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyMapper(k -> new Object[] {"same"}).build();
    sink.createTables();
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("a", Long.MAX_VALUE);
    counts.put("b", 1L);
    assertThatThrownBy(() -> sink.flush(TestBatch.of(counts)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(ns + "_counts").hasMessageContaining("k")
        .hasMessageContaining("same").hasMessageContaining("overflow");
    assertThat(readTotal(ns, "same")).isZero();
  }

  @Test
  void keyMapper_wrongNumberOfValues_illegalArgumentNamingColumns() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).keyMapper(k -> new Object[] {k, k}).build();
    sink.createTables();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2 values").hasMessageContaining("[k]");
    assertThat(sink.stats().failures()).isEqualTo(1);
  }

  @Test
  void exactlyOnceOff_retriedBatch_countedTwice() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).exactlyOnce(false).build();
    sink.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("x", 7L));
    sink.flush(batch);
    sink.flush(batch.retry());
    assertThat(readTotal(ns, "x")).isEqualTo(14L);
    assertThat(sink.stats().duplicates()).isZero();
  }

  @Test
  void retriedBatch_acknowledgedAsDuplicate() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("x", 7L, "y", 1L));
    sink.flush(batch);
    sink.flush(batch.retry());
    JdbcSinkStats stats = sink.stats();
    assertThat(stats.batches()).isEqualTo(2);
    assertThat(stats.applied()).isEqualTo(1);
    assertThat(stats.duplicates()).isEqualTo(1);
    assertThat(stats.rows()).isEqualTo(2);
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_ledger" + BATCH_ROWS)).isEqualTo(1L);
  }

  @Test
  void smallBatch_fewStatements() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("warm", 1L))); // checks the tables and prunes the ledger
    Map<String, Long> counts = new LinkedHashMap<>();
    int keys = Config.DEFAULT_ROWS_PER_TRANSACTION; // the largest batch written in one transaction
    for (int i = 0; i < keys; i++) {
      counts.put("key" + i, (long) i + 1);
    }
    long before = sink.stats().statements();
    sink.flush(TestBatch.of(counts));
    assertThat(sink.stats().statements() - before).isEqualTo(statementsPerSmallBatch());
    assertThat(readTotal(ns, "key" + (keys - 1))).isEqualTo(keys);
  }

  @Test
  void largeBatch_splitIntoStatementsOfMaxRows_totalsExact() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).maxRowsPerStatement(10).build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("warm", 1L)));
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 95; i++) {
      counts.put("key" + i, (long) (i % 2 == 0 ? i + 1 : -i));
    }
    long before = sink.stats().statements();
    TestBatch<String> batch = TestBatch.of(counts);
    sink.flush(batch);
    sink.flush(batch.retry());
    // 10 upserts (the first carries the ledger on PostgreSQL) + commit, plus a ledger insert
    // elsewhere; the duplicate costs a ledger insert, a rollback and the look-up that tells an
    // applied batch from a split one.
    long expected = ((expectedDialect() == JdbcDialect.POSTGRESQL) ? 11 + 3 : 12 + 3)
        + 2 * lockStatementsPerFlush();
    assertThat(sink.stats().statements() - before).isEqualTo(expected);
    for (int i = 0; i < 95; i++) {
      assertThat(readTotal(ns, "key" + i)).as("key" + i).isEqualTo(counts.get("key" + i));
    }
  }

  @Test
  void sameBatchFromManyThreads_appliedOnce() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("a", 3L, "b", 4L, "c", 5L));
    Concurrent.atOnce(4, t -> () -> {
      Concurrent.flushRetrying(sink, batch);
      return null;
    });
    assertThat(readTotal(ns, "a")).isEqualTo(3L);
    assertThat(readTotal(ns, "b")).isEqualTo(4L);
    assertThat(readTotal(ns, "c")).isEqualTo(5L);
    assertThat(sink.stats().applied()).isEqualTo(1);
  }

  @Test
  void ledger_rowsOlderThanRetention_pruned() throws Exception {
    String ns = newNamespace();
    AtomicLong now = new AtomicLong(1_000_000);
    JdbcSink<String> sink = builder(ns).ledgerRetention(Duration.ofSeconds(10))
        .ledgerPruneInterval(Duration.ofDays(1)).clock(now::get).build();
    sink.createTables();
    for (int i = 0; i < 3; i++) {
      sink.flush(TestBatch.of(Map.of("k" + i, 1L)));
      now.addAndGet(1_000);
    }
    sink.flush(TestBatch.of(Map.of("recent", 1L)));
    now.addAndGet(10_000);
    // The first flush pruned an empty ledger; the next two did not prune (interval of a day).
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_ledger" + BATCH_ROWS)).isEqualTo(4L);
    assertThat(sink.pruneLedger()).isEqualTo(3L);
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_ledger" + BATCH_ROWS)).isEqualTo(1L);
    assertThat(sink.stats().prunedLedgerRows()).isEqualTo(3L);
  }

  /**
   * Sinks of two tables share one ledger with different retentions: each prunes only its own
   * rows, so the longer retention (and the idempotency horizon it promises) holds.
   */
  @Test
  void sharedLedger_differentRetentions_eachSinkPrunesOnlyItsOwnRows() throws Exception {
    String ns = newNamespace();
    AtomicLong now = new AtomicLong(1_000_000);
    JdbcSink<String> shortLived = builder(ns).ledgerRetention(Duration.ofSeconds(10))
        .clock(now::get).build();
    tables.add(ns + "_other");
    JdbcSink<String> longLived = JdbcSink.<String>builder(dataSource()).table(ns + "_other")
        .keyColumns("k").countColumn("total").ledgerTable(ns + "_ledger")
        .ledgerRetention(Duration.ofDays(1)).clock(now::get).build();
    shortLived.createTables();
    longLived.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("a", 1L));
    shortLived.flush(batch);
    longLived.flush(batch);
    now.addAndGet(60_000);
    assertThat(shortLived.pruneLedger()).isEqualTo(1L);
    assertThat(longLived.idempotencyHorizon()).contains(Duration.ofDays(1));
    longLived.flush(batch.retry()); // still recognized: its row was not pruned by the other sink
    assertThat(query("SELECT total FROM " + ns + "_other WHERE k = 'a'")).isEqualTo(1L);
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_ledger" + BATCH_ROWS)).isEqualTo(1L);
  }

  @Test
  void ledger_pruneIntervalZero_prunesAfterEveryBatch() throws Exception {
    String ns = newNamespace();
    AtomicLong now = new AtomicLong(1_000_000);
    JdbcSink<String> sink = builder(ns).ledgerRetention(Duration.ofSeconds(10))
        .ledgerPruneInterval(Duration.ZERO).clock(now::get).build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    now.addAndGet(10_001);
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_ledger" + BATCH_ROWS)).isEqualTo(1L);
    assertThat(readTotal(ns, "a")).isEqualTo(2L);
  }

  @Test
  void missingTable_flush_errorNamesTableAndCreateTables() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining(ns + "_counts")
        .hasMessageContaining("does not exist")
        .hasMessageContaining("createTables()")
        .hasMessageContaining("CREATE TABLE IF NOT EXISTS ")
        .hasMessageContaining("PRIMARY KEY");
    assertThat(sink.stats().failures()).isEqualTo(1);
    // The fix works without a new sink: the tables are checked again.
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    assertThat(readTotal(ns, "a")).isEqualTo(1L);
  }

  @Test
  void twoSinksSharingOneLedger_sameBatch_bothTablesApplied() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_a");
    tables.add(ns + "_b");
    tables.add(ns + "_ledger");
    JdbcSink<String> a = JdbcSink.<String>builder(dataSource()).table(ns + "_a").keyColumns("k")
        .countColumn("n").ledgerTable(ns + "_ledger").build();
    JdbcSink<String> b = JdbcSink.<String>builder(dataSource()).table(ns + "_b").keyColumns("k")
        .countColumn("n").ledgerTable(ns + "_ledger").build();
    a.createTables();
    b.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("x", 4L));
    a.flush(batch);
    b.flush(batch);
    b.flush(batch); // a retry of b's batch is still a duplicate
    assertThat(query("SELECT n FROM " + ns + "_a WHERE k = 'x'")).isEqualTo(4L);
    assertThat(query("SELECT n FROM " + ns + "_b WHERE k = 'x'")).isEqualTo(4L);
    assertThat(b.stats().duplicates()).isEqualTo(1L);
  }

  @Test
  void defaultLedger_namedAfterCounterTable() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_c");
    tables.add(ns + "_c_ledger");
    JdbcSink<String> sink = JdbcSink.<String>builder(dataSource()).table(ns + "_c")
        .keyColumns("k").countColumn("n").build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("x", 2L)));
    assertThat(query("SELECT COUNT(*) FROM " + ns + "_c_ledger" + BATCH_ROWS)).isEqualTo(1L);
    assertThat(sink.toString()).contains("ledgerTable=" + ns + "_c_ledger");
  }

  @Test
  void ledgerWithoutSinkColumn_flush_errorNamesLedgerColumns() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    execute("DROP TABLE " + ns + "_ledger");
    execute("CREATE TABLE " + ns + "_ledger (batch_id VARCHAR(64) NOT NULL PRIMARY KEY,"
        + " applied_at BIGINT NOT NULL)");
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("ledger table " + ns + "_ledger (columns sink, batch_id,"
            + " applied_at)");
  }

  /** Whether the sink checks the ledger's column widths (not SQLite, which ignores them). */
  boolean checksLedgerWidths() {
    return true;
  }

  @Test
  void ledgerBatchIdNarrowerThanIds_flush_errorNamesColumnAndAlter() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_counts");
    tables.add(ns + "_ledger");
    execute("CREATE TABLE " + ns + "_counts (k VARCHAR(50) NOT NULL PRIMARY KEY,"
        + " total BIGINT NOT NULL)");
    execute("CREATE TABLE " + ns + "_ledger (sink VARCHAR(128) NOT NULL, batch_id VARCHAR(30)"
        + " NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (sink, batch_id))");
    JdbcSink<String> sink = builder(ns).build();
    String prefix = "0123456789abcdef01234567-"; // ids of one buffer share a 25-character prefix
    TestBatch<String> first = new TestBatch<>(prefix + "1000001", Map.of("a", 1L), 1);
    TestBatch<String> second = new TestBatch<>(prefix + "1000002", Map.of("a", 1L), 1);
    if (checksLedgerWidths()) {
      Throwable error = org.assertj.core.api.Assertions.catchThrowable(() -> sink.flush(first));
      assertThat(error).isInstanceOf(SQLException.class)
          .hasMessageContaining("ledger table " + ns + "_ledger has column batch_id of 30")
          .hasMessageContaining("ALTER TABLE");
      String alter = error.getMessage().substring(error.getMessage().indexOf("ALTER TABLE"));
      execute(alter); // the statement the message gives works
    }
    sink.flush(first);
    sink.flush(second);
    assertThat(readTotal(ns, "a")).isEqualTo(2L);
  }

  @Test
  void missingLedger_flush_errorNamesLedger() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    execute("DROP TABLE " + ns + "_ledger");
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("ledger table " + ns + "_ledger")
        .hasMessageContaining("createTables()")
        .hasMessageContaining("exactlyOnce(false)");
  }

  @Test
  void wrongCountColumn_flush_errorNamesColumn() throws Exception {
    String ns = newNamespace();
    builder(ns).build().createTables();
    JdbcSink<String> sink = builder(ns).countColumn("hits").build();
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("table " + ns + "_counts has no column hits")
        .hasMessageContaining("countColumn(...)");
  }

  @Test
  void tableDroppedAfterFirstFlush_errorNamesTable() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 1L)));
    execute("DROP TABLE " + ns + "_counts");
    assertThatThrownBy(() -> sink.flush(TestBatch.of(Map.of("a", 1L))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining(ns + "_counts")
        .hasMessageContaining("createTables()");
  }

  @Test
  void constraintViolation_errorNamesTableAndSaysWhatToDo() throws Exception {
    String ns = newNamespace();
    tables.add(ns + "_counts");
    tables.add(ns + "_ledger");
    execute("CREATE TABLE " + ns + "_counts (k VARCHAR(50) NOT NULL PRIMARY KEY,"
        + " total BIGINT NOT NULL, label VARCHAR(20) NOT NULL)");
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    TestBatch<String> batch = TestBatch.of(Map.of("a", 1L));
    Throwable error = org.assertj.core.api.Assertions.catchThrowable(() -> sink.flush(batch));
    assertThat(error).isInstanceOf(RejectedKeysException.class);
    RejectedKeysException.Rejection rejection =
        ((RejectedKeysException) error).rejections().get(0);
    assertThat(rejection.key()).isEqualTo("a");
    assertThat(rejection.id()).isEqualTo(batch.id() + "-d");
    assertThat(rejection.cause()).isInstanceOf(SQLException.class)
        .hasMessageContaining("table " + ns + "_counts refused key a (count 1")
        .hasMessageContaining("a constraint of the table refused the row")
        .hasMessageContaining("defaults");
  }

  @Test
  void createTables_twice_idempotent() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    sink.createTables();
    sink.flush(TestBatch.of(Map.of("a", 2L)));
    assertThat(readTotal(ns, "a")).isEqualTo(2L);
  }

  @Test
  void singleRowUpsertSql_addsOneCount() throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(ns).build();
    sink.createTables();
    try (Connection c = dataSource().getConnection();
        PreparedStatement s = c.prepareStatement(sink.singleRowUpsertSql())) {
      for (int i = 0; i < 3; i++) {
        s.setString(1, "a");
        s.setLong(2, 5);
        s.executeUpdate();
      }
    }
    assertThat(readTotal(ns, "a")).isEqualTo(15L);
  }
}
