package dev.statbuffer.jdbc;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.jdbc.Rows.Row;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * A {@link BatchFlushHandler} that adds each batch's counts to a counter table in a relational
 * database, exactly once, in one transaction per batch.
 *
 * <pre>{@code
 * JdbcSink<String> sink = JdbcSink.<String>builder(dataSource)
 *     .table("page_views").keyColumns("page").countColumn("views")
 *     .build();
 * sink.createTables();   // optional: CREATE TABLE IF NOT EXISTS for the counters and the ledger
 * StatBuffer<String> views = StatBuffer.newBuilder().buildBatched(sink);
 * }</pre>
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li><b>Additive.</b> Each key's count is added to its row with the dialect's native upsert
 *   (see {@link JdbcDialect}); a missing row is inserted with the count. Negative counts subtract.
 *   <li><b>Atomic per transaction.</b> A batch of up to {@link Builder#maxRowsPerTransaction}
 *   rows (100 unless set) is one transaction: all its keys are added, or none; unless the
 *   database refuses it for a data reason (below), when it is applied in pieces.
 *   <li><b>Large batches in chunks.</b> A larger batch is written as chunks of at most that many
 *   rows, each a transaction committed on its own, in the sink's fixed row order, so that
 *   writers of overlapping keys (a fleet of servers) do not queue behind each other's whole
 *   batches on row locks. With the ledger each chunk is applied exactly once under an id of its
 *   own, and the chunking is recorded with the batch id, so a retry applies only the chunks
 *   that had not committed, whatever its own {@code maxRowsPerTransaction} (see
 *   {@link Builder#maxRowsPerTransaction}).
 *   <li><b>Exactly once</b> (unless {@link Builder#exactlyOnce(boolean) turned off}). The batch's
 *   {@link FlushBatch#id()} is inserted into a ledger table in the same transaction, before the
 *   counters. A batch whose id is already in the ledger (a retry of a batch whose commit succeeded
 *   although the acknowledgement was lost) is acknowledged without being applied again. The insert
 *   never fails on a duplicate ({@code ON CONFLICT DO NOTHING}, {@code INSERT IGNORE},
 *   {@code MERGE}); its update count says whether the id was new, so a duplicate never aborts a
 *   PostgreSQL transaction. Ledger rows older than the {@link Builder#ledgerRetention retention}
 *   are pruned now and then; a batch retried after that long would be applied twice, so the
 *   sink reports the retention as its {@link #idempotencyHorizon()}, past which the buffer
 *   drops a batch instead of retrying it.
 *   <li><b>Bad keys do not block the others.</b> When the database refuses a batch for a data
 *   reason (SQLState class 22 or 23: a count past its column's range, a key longer than its
 *   column, a constraint), the transaction is rolled back and the refused keys are isolated by
 *   bisection: the batch's rows, in their fixed order, are split into halves, each applied in a
 *   transaction of its own, and a refused half is split again, down to single rows. Every other
 *   key is applied in the same call, and {@link #flush} throws a {@link RejectedKeysException}
 *   naming the refused keys; the buffer drops each at once (to {@code onDrop}) instead of
 *   retrying the batch. Each rejection's cause names the key, its count, the table and column,
 *   the database's message and the fix. With the ledger, a piece of rows {@code [lo, hi)} has the
 *   id {@code <batch id>-<lo>-<hi>} (base 36), and a ledger row {@code <id>-s}, written with the
 *   piece's id, marks a piece that was split rather than applied; so every piece is applied once
 *   across retries, concurrent calls of the same batch and crashes, and a batch that was split is
 *   split the same way on every retry, even if the whole would now be accepted. A refused key is
 *   dropped under the id {@code <piece id>-d}, so that replaying it through the sink under that
 *   id applies it once. Without the ledger the bisection is the same and nothing is exactly
 *   once. Other failures (connections, timeouts, deadlocks, serialization failures, missing
 *   tables) fail the call, and the buffer retries the whole batch.
 *   <li><b>Integer counts.</b> When the sink first checks the table, a count column that does not
 *   hold integers exactly (text, floating point, decimals with a fractional part) is refused with
 *   the {@code ALTER TABLE} that fixes it. Integer types narrower than {@code BIGINT} are
 *   accepted: a total past their range is a refused key.
 *   <li><b>Bounded statements.</b> Every statement has a {@link Builder#queryTimeout query
 *   timeout} (30 s unless set), so a held lock or a stuck database fails the call, which the
 *   buffer retries. Waiting for a connection is bounded by the pool (HikariCP's
 *   {@code connectionTimeout}, 30 s by default), and the whole call by the buffer's handler
 *   timeout ({@code flushTimeout}), which abandons a call that hangs and retries the batch.
 *   <li><b>Few deadlocks between writers.</b> PostgreSQL and H2 sort each statement's rows
 *   themselves (in the columns' own order and collation); the other dialects write rows in one
 *   fixed order computed in Java (by key, strings compared case-insensitively first so that
 *   case-insensitive collations agree), so threads and processes flushing overlapping keys
 *   mostly take row locks in the same order. That order does not match every collation: under
 *   accent-insensitive ones (MariaDB and MySQL's defaults, where "e" = "é") or with batches split
 *   into several statements, two writers can lock rows in opposite orders and deadlock; so can
 *   InnoDB gap locks. Deadlocks and serialization failures are thrown like any other failure
 *   (nothing of the batch is written); the buffer retries the batch, and the ledger makes the
 *   retry exact.
 *   <li><b>Few round trips.</b> PostgreSQL receives a batch as one array per column in one
 *   statement that also records the ledger row: on an auto-commit connection a batch of up to
 *   {@code maxRowsPerStatement} keys is a single round trip. The other dialects send the ledger
 *   insert, multi-row upserts of up to {@code maxRowsPerStatement} rows (and under the driver's
 *   parameter limit) and a commit; H2 first updates the sink's lock row in the ledger, so that the
 *   writers of one H2 table take turns (concurrent H2 MERGEs of the same new keys fail, and were
 *   seen to count a key twice under that contention).
 *   <li><b>Clear errors.</b> A missing table or column, a count column of the wrong type, a key set
 *   without a primary key or a statement past its timeout is thrown as an {@link SQLException}
 *   (with the original SQLState, vendor code and cause) whose message names the table and column
 *   and says what to do.
 * </ul>
 *
 * <p>Every flush borrows a connection from the {@link DataSource} (use a pool, such as HikariCP)
 * and returns it. The connection's auto-commit mode is switched off for a multi-statement batch and
 * restored afterwards. The first flush also checks that the tables and columns exist.
 *
 * <p>Thread-safe: batches may be flushed concurrently, each on its own connection.
 *
 * @param <K> the buffer's key type
 */
public final class JdbcSink<K> implements BatchFlushHandler<K> {
  /** How often one flush re-applies a batch that lost an insert race on H2. */
  private static final int INSERT_RACE_ATTEMPTS = 5;
  private static final Logger LOGGER = System.getLogger(JdbcSink.class.getName());
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern TABLE = Pattern.compile(
      "[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
  private static final Pattern SQL_TYPE = Pattern.compile("[A-Za-z][A-Za-z0-9_ ]*(\\([0-9, ]+\\))?");
  private static final String DEFAULT_KEY_TYPE = "VARCHAR(255)";
  /** The longest counter table name (the width of the ledger's {@code sink} column). */
  static final int MAX_TABLE_NAME = 128;
  /** The longest batch id ({@link FlushBatch#id()}), the width of the ledger's batch_id column. */
  static final int MAX_BATCH_ID = 64;
  /** The default of {@link Builder#maxRowsPerTransaction}. */
  static final int DEFAULT_ROWS_PER_TRANSACTION = 100;

  private final DataSource dataSource;
  private final String table;
  private final List<String> keyColumns;
  private final String countColumn;
  private final boolean exactlyOnce;
  private final String ledgerTable;
  private final Duration retention;
  private final long retentionMillis;
  private final long pruneIntervalMillis;
  private final int configuredRowsPerStatement;
  private final int maxRowsPerTransaction;
  private final List<String> keyColumnTypes;
  private final LongSupplier clock;
  private final Jdbc jdbc;
  private final Ledger ledger;
  private final Rows<K> rows;
  private final Split split;
  private final Rejections<K> rejections;

  private final Object planLock = new Object();
  /** The checked tables and their statements; null until the first flush succeeds in checking. */
  private volatile Sql plan;
  /** The detected (or configured) dialect; null until first needed. */
  private volatile JdbcDialect dialect;

  private final AtomicLong lastPruneMillis = new AtomicLong(Long.MIN_VALUE);
  private final LongAdder applied = new LongAdder();
  private final LongAdder duplicates = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private final LongAdder rowsWritten = new LongAdder();
  private final LongAdder rejectedKeys = new LongAdder();
  private final LongAdder pruned = new LongAdder();

  private JdbcSink(Builder<K> builder) {
    this.dataSource = builder.dataSource;
    this.table = builder.table;
    this.keyColumns = builder.keyColumns;
    this.countColumn = builder.countColumn;
    this.dialect = builder.dialect;
    this.exactlyOnce = builder.exactlyOnce;
    this.ledgerTable = (builder.ledgerTable != null) ? builder.ledgerTable
        : builder.table + "_ledger";
    this.retention = builder.ledgerRetention;
    this.retentionMillis = builder.ledgerRetention.toMillis();
    this.pruneIntervalMillis = builder.ledgerPruneInterval.toMillis();
    this.configuredRowsPerStatement = builder.maxRowsPerStatement;
    this.maxRowsPerTransaction = builder.maxRowsPerTransaction;
    this.keyColumnTypes = (builder.keyColumnTypes != null) ? builder.keyColumnTypes
        : Collections.nCopies(keyColumns.size(), DEFAULT_KEY_TYPE);
    this.clock = builder.clock;
    this.jdbc = new Jdbc((int) builder.queryTimeout.toSeconds(), table);
    this.ledger = new Ledger(jdbc);
    this.rows = new Rows<>(table, keyColumns, countColumn, builder.keyMapper);
    this.split = new Split(ledger, exactlyOnce, maxRowsPerTransaction, this::applyRacing,
        this::tryRows, clock, table, ledgerTable);
    this.rejections = new Rejections<>(table, keyColumns, countColumn, rows);
  }

  /**
   * Returns a builder for a sink writing through {@code dataSource}.
   *
   * @param dataSource where connections come from, typically a pool; not null
   * @param <K> the buffer's key type
   * @return a new builder
   * @throws NullPointerException if {@code dataSource} is null
   */
  public static <K> Builder<K> builder(DataSource dataSource) {
    return new Builder<>(requireNonNull(dataSource, "dataSource"));
  }

  /**
   * Adds the batch's counts to the counter table in one transaction, or in chunks of
   * {@link Builder#maxRowsPerTransaction} rows each committed on its own, unless the ledger shows
   * that this batch id (or chunk) was applied before. If the database refuses the batch for a data reason (a count
   * past its column's range, a key longer than its column, a constraint: SQLState classes 22 and
   * 23), the sink finds the refused keys by bisection, applies all the others in this call, and
   * reports the refused ones in a {@link RejectedKeysException}; the buffer drops each of them
   * under its own id and does not retry the call (see {@link JdbcSink}).
   *
   * @param batch the batch, not null
   * @throws RejectedKeysException if the database refused some keys for good: every other key was
   *     applied (or had been, by an earlier call of this batch)
   * @throws SQLException if the batch could not be applied for another reason (a connection, a
   *     timeout, a deadlock, a missing table); nothing of it was applied, unless the connection
   *     broke after the database committed, or the batch was written in chunks or split and some
   *     of them were committed: the retry finds those in the ledger
   * @throws IllegalArgumentException if the key mapper returned a wrong number of values or a
   *     null, or a value the PostgreSQL dialect cannot send, or if the counts of keys mapped to
   *     one row overflow a {@code long} when added
   */
  @Override
  public void flush(FlushBatch<K> batch) throws SQLException, RejectedKeysException {
    requireNonNull(batch, "batch");
    Sql sql;
    Split.Result result;
    try {
      List<Row> rows = this.rows.of(batch);
      if (rows.isEmpty()) {
        applied.increment(); // every count cancelled out against another key on the same row
        return;
      }
      sql = plan();
      if (sql.dialect == JdbcDialect.POSTGRESQL) {
        checkTextKeys(rows);
      }
      try (Connection connection = dataSource.getConnection()) {
        // Chunks commit one after another: switch auto-commit off once for all of them rather
        // than twice per chunk (a round trip each in some drivers). PostgreSQL writes a chunk as
        // one auto-committed statement.
        boolean manual = sql.dialect != JdbcDialect.POSTGRESQL
            && rows.size() > maxRowsPerTransaction && connection.getAutoCommit();
        if (manual) {
          connection.setAutoCommit(false);
        }
        try {
          result = split.run(connection, sql, batch.id(), rows);
          if (result.written > 0) {
            maybePrune(connection, sql);
          }
        } finally {
          if (manual) {
            jdbc.restoreAutoCommit(connection);
          }
        }
      } catch (SQLException e) {
        throw explain(e, batch.id());
      }
    } catch (SQLException | RuntimeException e) {
      failures.increment();
      throw e;
    }
    rowsWritten.add(result.written);
    if (result.written > 0) {
      applied.increment();
    } else if (result.rejected.isEmpty()) {
      duplicates.increment();
      LOGGER.log(Level.DEBUG, () -> "Batch " + batch.id() + " is already in ledger "
          + ledgerTable + ": acknowledged without applying it again");
    } else {
      failures.increment();
    }
    if (!result.rejected.isEmpty()) {
      RejectedKeysException report = rejections.of(batch, result.rejected, sql);
      rejectedKeys.add(report.rejections().size());
      throw report;
    }
  }

  /**
   * Creates the counter table (and the ledger table with its index, when exactly-once is on) if
   * they do not exist. The key columns get the types of {@link Builder#keyColumnTypes} (default
   * {@code VARCHAR(255)}) and form the primary key; the count column is {@code BIGINT NOT NULL}.
   *
   * @throws SQLException if the tables cannot be created
   */
  public void createTables() throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      JdbcDialect d = dialect(connection);
      Sql ddl = sql(connection, d, null);
      boolean autoCommit = connection.getAutoCommit();
      try (Statement statement = jdbc.create(connection)) {
        for (String sql : ddl.createTables(keyColumnTypes, exactlyOnce)) {
          try {
            statement.execute(sql);
          } catch (SQLException e) {
            // Two processes creating the same table at once: PostgreSQL may report a duplicate
            // type or relation. The table exists, which is what was asked.
            if (!Errors.isConstraintViolation(e) && !"42P07".equals(e.getSQLState())) {
              throw Errors.explained("Could not create the tables of JdbcSink with: " + sql, e);
            }
            if (!autoCommit) {
              connection.rollback();
            }
          }
          jdbc.statements.increment();
        }
        jdbc.commitUnlessAutoCommit(connection);
      }
    }
    plan = null; // check the tables again before the next flush
  }

  /**
   * Deletes the ledger rows older than the retention now, instead of waiting for the sink to do it
   * after a flush (it does so at most once per {@link Builder#ledgerPruneInterval}).
   *
   * @return the number of ledger rows deleted; 0 when exactly-once is off
   * @throws SQLException if the rows cannot be deleted
   */
  public long pruneLedger() throws SQLException {
    if (!exactlyOnce) {
      return 0;
    }
    Sql sql = plan();
    try (Connection connection = dataSource.getConnection()) {
      return prune(connection, sql);
    }
  }

  /**
   * The dialect in use: the one set on the builder, else detected from a connection (which is
   * borrowed once, the first time).
   *
   * @return the dialect
   * @throws SQLException if no connection can be had, or the database is not supported
   */
  public JdbcDialect dialect() throws SQLException {
    JdbcDialect d = dialect;
    if (d != null) {
      return d;
    }
    try (Connection connection = dataSource.getConnection()) {
      return dialect(connection);
    }
  }

  /**
   * The single-row additive upsert that code without this sink would run once per increment, in
   * this sink's dialect, for this sink's table and with no ledger: the baseline to compare the sink
   * against in benchmarks. Its parameters are the key columns, then the count.
   *
   * @return the SQL text
   * @throws SQLException if the dialect has to be detected and no connection can be had
   */
  public String singleRowUpsertSql() throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      return sql(connection, dialect(connection), null).singleRowUpsert();
    }
  }

  /**
   * How long this sink recognizes a batch it applied: the {@link Builder#ledgerRetention ledger
   * retention} (7 days unless set), or empty with {@link Builder#exactlyOnce exactlyOnce(false)},
   * where nothing is recognized. The buffer retries a batch only within this horizon of its
   * hand-over and drops it (to {@code onDrop}, with a {@code RetryHorizonException}) rather than
   * retry it later, when the ledger rows of its chunks or pieces may have been pruned and the
   * retry would apply them again. Every ledger row of a batch is written after its hand-over and
   * is pruned when it is older than the retention, so a retry within the horizon finds every row
   * an earlier call wrote. The ages are read from the clocks of the processes that write and
   * prune the ledger: clocks that disagree by more than a small fraction of the retention shorten
   * it by as much.
   *
   * @return the ledger retention, or empty when exactly-once is off
   */
  @Override
  public Optional<Duration> idempotencyHorizon() {
    return exactlyOnce ? Optional.of(retention) : Optional.empty();
  }

  /**
   * The counters since this sink was built.
   *
   * @return a snapshot of the counters
   */
  public JdbcSinkStats stats() {
    long appliedNow = applied.sum();
    long duplicatesNow = duplicates.sum();
    return new JdbcSinkStats(appliedNow + duplicatesNow, appliedNow, duplicatesNow,
        failures.sum(), rowsWritten.sum(), jdbc.statements.sum(), pruned.sum(),
        rejectedKeys.sum());
  }

  /**
   * Describes the sink's configuration (table, columns, dialect if known, exactly-once).
   *
   * @return a description
   */
  @Override
  public String toString() {
    return "JdbcSink{table=" + table + ", keyColumns=" + keyColumns + ", countColumn="
        + countColumn + ", dialect=" + dialect + ", exactlyOnce=" + exactlyOnce
        + (exactlyOnce ? ", ledgerTable=" + ledgerTable : "") + "}";
  }

  // ---------------------------------------------------------------------------------------------
  // Applying a batch
  // ---------------------------------------------------------------------------------------------

  /**
   * {@link #apply}, again when H2 reports that a concurrent writer inserted one of the same new
   * keys first. H2's {@code MERGE} does not wait for that writer's row the way the other
   * dialects' upserts do; it fails with a unique-key violation instead, and its transaction rolls
   * back, so the retry (which now finds the row, or the batch id in the ledger) is safe.
   */
  private boolean applyRacing(Connection connection, Sql sql, String id, List<Row> rows)
      throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        return apply(connection, sql, id, rows);
      } catch (SQLException e) {
        if (attempt >= INSERT_RACE_ATTEMPTS
            || !Errors.isInsertRace(e, sql.dialect, table, ledgerTable)) {
          throw e;
        }
        LOGGER.log(Level.DEBUG, () -> "Batch " + id + " raced a concurrent insert of the"
            + " same new key into " + table + "; applying it again");
      }
    }
  }

  /**
   * Writes the rows in one transaction (the whole batch, or a piece of it under its own id).
   *
   * @return true if applied, false if the ledger already held the id (nothing written)
   */
  private boolean apply(Connection connection, Sql sql, String id, List<Row> rows)
      throws SQLException {
    int perStatement = rowsPerStatement(sql.dialect);
    long now = clock.getAsLong();
    if (sql.dialect == JdbcDialect.POSTGRESQL && rows.size() <= perStatement
        && connection.getAutoCommit()) {
      // One statement is its own transaction: the ledger insert and the upsert commit together.
      return postgresUpsert(connection, sql, exactlyOnce, id, now, rows) > 0 || !exactlyOnce;
    }
    return jdbc.transaction(connection, () -> {
      int from = 0;
      if (exactlyOnce && sql.dialect == JdbcDialect.POSTGRESQL) {
        from = Math.min(rows.size(), perStatement);
        if (postgresUpsert(connection, sql, true, id, now, rows.subList(0, from)) == 0) {
          return false; // rolled back: nothing to undo
        }
      } else if (exactlyOnce) {
        ledger.lockIfH2(connection, sql);
        if (!ledger.insert(connection, sql, now, id)) {
          return false;
        }
      }
      writeRows(connection, sql, rows, from, perStatement);
      return true;
    });
  }

  /** The upserts of {@code rows} from {@code from} on, in the current transaction. */
  private void writeRows(Connection connection, Sql sql, List<Row> rows, int from,
      int perStatement) throws SQLException {
    for (int start = from; start < rows.size(); start += perStatement) {
      List<Row> chunk = rows.subList(start, Math.min(rows.size(), start + perStatement));
      if (sql.dialect == JdbcDialect.POSTGRESQL) {
        postgresUpsert(connection, sql, false, null, 0, chunk);
      } else {
        upsert(connection, sql, chunk);
      }
    }
  }

  /**
   * Writes {@code rows} without the ledger in a transaction that is rolled back, to learn why the
   * database refuses them.
   *
   * @return the data error, or null if the database accepts them now
   */
  private SQLException tryRows(Connection connection, Sql sql, List<Row> rows)
      throws SQLException {
    try {
      jdbc.transaction(connection, () -> {
        if (exactlyOnce) {
          ledger.lockIfH2(connection, sql);
        }
        writeRows(connection, sql, rows, 0, rowsPerStatement(sql.dialect));
        return false;
      });
      return null;
    } catch (SQLException e) {
      if (Errors.isDataError(e, sql.dialect, table, ledgerTable)) {
        return e;
      }
      throw e;
    }
  }

  private int postgresUpsert(Connection connection, Sql sql, boolean withLedger, String id,
      long now, List<Row> rows) throws SQLException {
    int keys = keyColumns.size();
    Object[][] columns = new Object[keys][rows.size()];
    Long[] counts = new Long[rows.size()];
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      for (int i = 0; i < keys; i++) {
        columns[i][r] = text(row.key().values[i]);
      }
      counts[r] = row.count();
    }
    Array[] arrays = new Array[keys + 1];
    try (PreparedStatement statement = jdbc.prepare(connection, sql.postgresUpsert(withLedger))) {
      int p = 1;
      if (withLedger) {
        statement.setString(p++, id);
        statement.setLong(p++, now);
      }
      for (int i = 0; i < keys; i++) {
        arrays[i] = connection.createArrayOf("text", columns[i]);
        statement.setArray(p++, arrays[i]);
      }
      arrays[keys] = connection.createArrayOf("bigint", counts);
      statement.setArray(p, arrays[keys]);
      jdbc.statements.increment();
      return statement.executeUpdate();
    } finally {
      for (Array array : arrays) {
        if (array != null) {
          array.free();
        }
      }
    }
  }

  /**
   * PostgreSQL receives key values as text cast to the column type: refuses the types whose
   * {@code toString()} is not their SQL text (byte arrays, {@link java.util.Date} and its
   * {@code java.sql} subclasses, arbitrary objects), which would silently write wrong rows.
   */
  private void checkTextKeys(List<Row> rows) {
    for (Row row : rows) {
      Object[] values = row.key().values;
      for (int i = 0; i < values.length; i++) {
        Object v = values[i];
        if (!(v instanceof String || v instanceof Number || v instanceof Boolean
            || v instanceof Character || v instanceof java.util.UUID || v instanceof Enum
            || v.getClass().getName().startsWith("java.time."))) {
          throw new IllegalArgumentException("keyMapper returned a " + v.getClass().getName()
              + " for key column " + keyColumns.get(i) + " of table " + table + ", which the"
              + " PostgreSQL dialect cannot send: it sends key values as text, so use String,"
              + " a Number, Boolean, Character, UUID, an enum or a java.time value (for example"
              + " LocalDate or Instant instead of java.util.Date, a hex or Base64 String instead"
              + " of byte[])");
        }
      }
    }
  }

  /** The SQL text of a key value that {@link #checkTextKeys} accepted. */
  private static String text(Object value) {
    if (value instanceof BigDecimal) {
      return ((BigDecimal) value).toPlainString();
    }
    return value.toString();
  }

  private void upsert(Connection connection, Sql sql, List<Row> rows) throws SQLException {
    try (PreparedStatement statement = jdbc.prepare(connection, sql.upsert(rows.size()))) {
      int p = 1;
      for (Row row : rows) {
        for (Object value : row.key().values) {
          statement.setObject(p++, value);
        }
        statement.setLong(p++, row.count());
      }
      jdbc.statements.increment();
      statement.executeUpdate();
    }
  }

  private int rowsPerStatement(JdbcDialect d) {
    int wanted = (configuredRowsPerStatement > 0)
        ? configuredRowsPerStatement : d.defaultRowsPerStatement();
    if (d == JdbcDialect.POSTGRESQL) {
      return wanted; // arrays: a handful of parameters whatever the row count
    }
    return Math.max(1, Math.min(wanted, d.maxParameters() / (keyColumns.size() + 1)));
  }

  // ---------------------------------------------------------------------------------------------
  // Ledger pruning
  // ---------------------------------------------------------------------------------------------

  /** Prunes after an applied batch, at most once per prune interval across threads. */
  private void maybePrune(Connection connection, Sql sql) {
    if (!exactlyOnce) {
      return;
    }
    long now = clock.getAsLong();
    long last = lastPruneMillis.get();
    if (last != Long.MIN_VALUE && now - last < pruneIntervalMillis) {
      return;
    }
    if (!lastPruneMillis.compareAndSet(last, now)) {
      return; // another thread prunes
    }
    try {
      prune(connection, sql);
    } catch (SQLException | RuntimeException e) {
      LOGGER.log(Level.WARNING, "JdbcSink could not prune ledger " + ledgerTable
          + "; it retries after the prune interval", e);
    }
  }

  private long prune(Connection connection, Sql sql) throws SQLException {
    long deleted;
    try (PreparedStatement statement = jdbc.prepare(connection, sql.pruneLedger())) {
      statement.setLong(1, clock.getAsLong() - retentionMillis);
      jdbc.statements.increment();
      deleted = statement.executeUpdate();
    }
    jdbc.commitUnlessAutoCommit(connection);
    pruned.add(deleted);
    if (deleted > 0) {
      LOGGER.log(Level.DEBUG, () -> "JdbcSink pruned " + deleted + " rows from ledger "
          + ledgerTable);
    }
    return deleted;
  }

  // ---------------------------------------------------------------------------------------------
  // Dialect detection, table checks and error messages
  // ---------------------------------------------------------------------------------------------

  private JdbcDialect dialect(Connection connection) throws SQLException {
    JdbcDialect d = dialect;
    if (d == null) {
      d = JdbcDialect.detect(connection);
      dialect = d;
    }
    return d;
  }

  /** The statements, with the checked {@code columns}, or null before the check. */
  private Sql sql(Connection connection, JdbcDialect d, Columns columns) throws SQLException {
    return new Sql(d, Identifiers.of(d, connection.getMetaData()), table, keyColumns, countColumn,
        ledgerTable, columns);
  }

  /**
   * The checked plan; checks the tables (once) on a borrowed connection. The connection is
   * borrowed before the lock is taken: a {@code getConnection} that hangs holds up only its own
   * call, never every other call waiting for the lock (issue 12, finding 5).
   */
  private Sql plan() throws SQLException {
    Sql sql = plan;
    if (sql != null) {
      return sql;
    }
    try (Connection connection = dataSource.getConnection()) {
      synchronized (planLock) {
        sql = plan;
        if (sql == null) {
          sql = check(connection);
          plan = sql;
        }
        return sql;
      }
    }
  }

  /**
   * Proves that the counter table, its columns and the ledger exist, that the count column holds
   * integers, and reads the key columns' types (PostgreSQL and H2 cast their parameters to them).
   */
  private Sql check(Connection connection) throws SQLException {
    JdbcDialect d = dialect(connection);
    Sql sql = sql(connection, d, null);
    boolean autoCommit = connection.getAutoCommit();
    Columns columns;
    try {
      try (Statement statement = jdbc.create(connection)) {
        jdbc.statements.increment();
        try (ResultSet rs = statement.executeQuery(sql.probeCounterTable())) {
          columns = Columns.read(rs.getMetaData(), keyColumns, countColumn);
        }
      } catch (SQLException e) {
        throw describeCounterTableProblem(connection, sql, e);
      }
      columns.checkCount(table, sql);
      if (exactlyOnce) {
        int sinkWidth;
        int batchIdWidth;
        try (Statement statement = jdbc.create(connection)) {
          jdbc.statements.increment();
          try (ResultSet rs = statement.executeQuery(sql.probeLedgerTable())) {
            sinkWidth = rs.getMetaData().getPrecision(1);
            batchIdWidth = rs.getMetaData().getPrecision(2);
          }
        } catch (SQLException e) {
          if (Errors.isMissingTable(e) || Errors.isMissingColumn(e)) {
            throw Errors.explained("JdbcSink's ledger table " + ledgerTable + " (columns sink,"
                + " batch_id, applied_at) is missing or incomplete. Call createTables() once, or"
                + " create it: " + String.join("; ", sql.ledgerDdl())
                + ". Or turn exactly-once off with exactlyOnce(false)", e);
          }
          throw e;
        }
        // MariaDB and MySQL's INSERT IGNORE truncates a value too long for its column: distinct
        // batch ids would collide and later batches be skipped as duplicates. (SQLite neither
        // enforces nor reliably reports declared lengths.)
        if (d != JdbcDialect.SQLITE) {
          checkLedgerWidth(sql, "batch_id", batchIdWidth, MAX_BATCH_ID);
          checkLedgerWidth(sql, "sink", sinkWidth, MAX_TABLE_NAME);
        }
      }
    } finally {
      if (!autoCommit) {
        jdbc.rollbackQuietly(connection); // end the read-only transaction the checks opened
      }
    }
    return sql(connection, d, columns);
  }

  /** Fails if the ledger's {@code column} holds fewer than {@code needed} characters. */
  private void checkLedgerWidth(Sql sql, String column, int width, int needed)
      throws SQLException {
    if (width > 0 && width < needed) {
      throw new SQLException("JdbcSink's ledger table " + ledgerTable + " has column " + column
          + " of " + width + " characters, but it must hold " + needed + " (batch ids are up to "
          + MAX_BATCH_ID + " characters, counter table names up to " + MAX_TABLE_NAME + "): a"
          + " shorter column would truncate or refuse them. Widen it: "
          + sql.widenLedgerColumn(column, needed));
    }
  }

  private SQLException describeCounterTableProblem(Connection connection, Sql sql,
      SQLException e) {
    if (Errors.isMissingTable(e)) {
      return Errors.explained("JdbcSink's table " + table + " does not exist (or this user cannot"
          + " see it). Call createTables() once, or create it: "
          + sql.counterTableDdl(keyColumnTypes), e);
    }
    if (Errors.isMissingColumn(e)) {
      List<String> missing = new ArrayList<>();
      List<String> all = new ArrayList<>(keyColumns);
      all.add(countColumn);
      try {
        if (!connection.getAutoCommit()) {
          connection.rollback(); // PostgreSQL refuses statements in a failed transaction
        }
        for (String column : all) {
          try (Statement statement = jdbc.create(connection)) {
            jdbc.statements.increment();
            statement.executeQuery(sql.probeColumn(column)).close();
          } catch (SQLException columnError) {
            missing.add(column);
            if (!connection.getAutoCommit()) {
              connection.rollback();
            }
          }
        }
      } catch (SQLException ignored) {
        // The message below still names the table and the expected columns.
      }
      String which = missing.isEmpty() ? "one of the columns " + all
          : (missing.size() == 1 ? "column " + missing.get(0) : "columns " + missing);
      return Errors.explained("JdbcSink's table " + table + " has no " + which + ". The sink"
          + " writes key columns " + keyColumns + " (set with keyColumns(...)) and the BIGINT count"
          + " column " + countColumn + " (set with countColumn(...)): rename them in the builder"
          + " to match the table, or add the columns", e);
    }
    return e;
  }

  /** Turns a failure of a batch into one whose message says what to do, when the sink knows. */
  private SQLException explain(SQLException e, String batchId) {
    Sql checked = plan;
    if (checked != null && Errors.isInsertRace(e, checked.dialect, table, ledgerTable)) {
      return Errors.explained("Batch " + batchId + " still violated the primary key of " + table
          + " or ledger " + ledgerTable + " after " + INSERT_RACE_ATTEMPTS + " attempts (a race"
          + " with concurrent inserts of the same new keys, or a database error below); nothing"
          + " of it was written and the buffer retries it", e);
    }
    if (Errors.isCardinalityViolation(e)) {
      return Errors.explained("Batch " + batchId + " has keys that are one row of table " + table
          + " only after conversion to the column types, and the database refused to update that"
          + " row twice in one statement; nothing of it was written. Make the keyMapper return"
          + " values of the columns' own types (for example Long for BIGINT, trimmed strings for"
          + " CHAR)", e);
    }
    if (Errors.isTimeout(e)) {
      return Errors.explained("A statement of JdbcSink on table " + table + " ran past the query"
          + " timeout of " + jdbc.timeoutSeconds + " s (a lock held by another transaction, or a"
          + " stuck database) and was cancelled; its transaction was rolled back and the buffer"
          + " retries the batch", e);
    }
    if (Errors.isTransient(e)) {
      return e; // deadlock, serialization failure, broken connection: the retry is the fix
    }
    if (Errors.isMissingTable(e) || Errors.isMissingColumn(e)) {
      plan = null; // the tables changed since they were checked: check again on the next flush
      try (Connection connection = dataSource.getConnection()) {
        check(connection);
      } catch (SQLException described) {
        return described;
      }
      return e;
    }
    if (Errors.isMissingUniqueConstraint(e)) {
      return Errors.explained("JdbcSink's table " + table + " has no PRIMARY KEY or UNIQUE"
          + " constraint on exactly its key columns (" + String.join(", ", keyColumns) + "), which"
          + " the additive upsert needs. Add one: ALTER TABLE " + table + " ADD PRIMARY KEY ("
          + String.join(", ", keyColumns) + ")", e);
    }
    return e;
  }

  /**
   * Builds a {@link JdbcSink}. Options and defaults:
   *
   * <ul>
   *   <li>{@link #table}, {@link #keyColumns}, {@link #countColumn}: required.
   *   <li>{@link #keyMapper}: required with more than one key column; with one, the key itself is
   *   the column value.
   *   <li>{@link #dialect}: detected from the connection's metadata.
   *   <li>{@link #exactlyOnce}: true.
   *   <li>{@link #ledgerTable}: the counter table's name followed by {@code _ledger}.
   *   <li>{@link #ledgerRetention}: 7 days.
   *   <li>{@link #ledgerPruneInterval}: 10 minutes.
   *   <li>{@link #maxRowsPerStatement}: 5000 for PostgreSQL, 1000 otherwise (always under the
   *   driver's parameter limit).
   *   <li>{@link #maxRowsPerTransaction}: 100.
   *   <li>{@link #keyColumnTypes}: {@code VARCHAR(255)} for every key column (used only by
   *   {@link JdbcSink#createTables()}).
   *   <li>{@link #queryTimeout}: 30 seconds.
   * </ul>
   *
   * <p>Table and column names are SQL identifiers (letters, digits and underscores; a table may be
   * qualified by a schema) and are used unquoted, so they fold case as the database folds
   * unquoted names.
   *
   * <p>Not thread-safe: configure it on one thread. {@link #build()} copies the options, so the
   * builder may be reused.
   *
   * @param <K> the buffer's key type
   */
  public static final class Builder<K> {
    private final DataSource dataSource;
    private String table;
    private List<String> keyColumns;
    private String countColumn;
    private Function<? super K, Object[]> keyMapper;
    private JdbcDialect dialect;
    private boolean exactlyOnce = true;
    private String ledgerTable;
    private Duration ledgerRetention = Duration.ofDays(7);
    private Duration ledgerPruneInterval = Duration.ofMinutes(10);
    private int maxRowsPerStatement;
    private int maxRowsPerTransaction = DEFAULT_ROWS_PER_TRANSACTION;
    private List<String> keyColumnTypes;
    private Duration queryTimeout = Duration.ofSeconds(30);
    private LongSupplier clock = System::currentTimeMillis;

    private Builder(DataSource dataSource) {
      this.dataSource = dataSource;
    }

    /**
     * The counter table, optionally qualified by a schema ({@code stats.page_views}).
     *
     * @param table the table name
     * @return this builder
     * @throws NullPointerException if {@code table} is null
     * @throws IllegalArgumentException if it is not an identifier or longer than 128 characters
     */
    public Builder<K> table(String table) {
      String name = tableName("table", table);
      if (name.length() > MAX_TABLE_NAME) {
        throw new IllegalArgumentException("table must be at most " + MAX_TABLE_NAME
            + " characters long (the width of the ledger's sink column): " + name);
      }
      this.table = name;
      return this;
    }

    /**
     * The columns that identify a counter row, in the order the {@link #keyMapper} returns their
     * values. They must be the table's primary key (or a unique key).
     *
     * @param keyColumns one or more column names
     * @return this builder
     * @throws NullPointerException if the array or a name is null
     * @throws IllegalArgumentException if it is empty, repeats a name, or a name is not an
     *     identifier
     */
    public Builder<K> keyColumns(String... keyColumns) {
      requireNonNull(keyColumns, "keyColumns");
      if (keyColumns.length == 0) {
        throw new IllegalArgumentException("keyColumns must name at least one column");
      }
      List<String> names = new ArrayList<>();
      for (String column : keyColumns) {
        String name = columnName("keyColumns", column);
        for (String seen : names) {
          if (seen.equalsIgnoreCase(name)) {
            throw new IllegalArgumentException("keyColumns must not repeat a column: " + name);
          }
        }
        names.add(name);
      }
      this.keyColumns = List.copyOf(names);
      return this;
    }

    /**
     * The column that accumulates the counts: an integer type, {@code BIGINT} recommended. The
     * sink refuses a column of another type (text, floating point, decimals with a fractional
     * part) when it first checks the table; with a narrower integer type, a total past its range
     * makes the key a rejected one (see {@link JdbcSink#flush}).
     *
     * @param countColumn the column name
     * @return this builder
     * @throws NullPointerException if {@code countColumn} is null
     * @throws IllegalArgumentException if it is not an identifier
     */
    public Builder<K> countColumn(String countColumn) {
      this.countColumn = columnName("countColumn", countColumn);
      return this;
    }

    /**
     * Maps a key to its key column values, one per {@link #keyColumns key column} in order, none
     * null. Values are bound with {@link PreparedStatement#setObject}; for PostgreSQL they are sent
     * as text ({@code toString()}, {@code toPlainString()} for {@link BigDecimal}) and cast to the
     * column's type, so there they must be strings, numbers, booleans, characters,
     * {@link java.util.UUID}s, enums or {@code java.time} values: other types (such as
     * {@code byte[]} or {@link java.util.Date}) make the flush throw
     * {@link IllegalArgumentException}. Keys that map to the same values are added together, in
     * the database when only it sees them as equal (an {@code Integer} and a {@code Long}, or
     * strings that differ in trailing spaces for a {@code CHAR} column).
     *
     * @param keyMapper the mapper; it must be thread-safe
     * @return this builder
     * @throws NullPointerException if {@code keyMapper} is null
     */
    public Builder<K> keyMapper(Function<? super K, Object[]> keyMapper) {
      this.keyMapper = requireNonNull(keyMapper, "keyMapper");
      return this;
    }

    /**
     * Sets the dialect instead of detecting it from the connection.
     *
     * @param dialect the dialect
     * @return this builder
     * @throws NullPointerException if {@code dialect} is null
     */
    public Builder<K> dialect(JdbcDialect dialect) {
      this.dialect = requireNonNull(dialect, "dialect");
      return this;
    }

    /**
     * Whether batch ids are recorded in the ledger so that a retried batch is applied once.
     * Turning it off saves the ledger write, and counts a batch twice when its commit succeeded
     * but the acknowledgement was lost.
     *
     * @param exactlyOnce true (the default) to use the ledger
     * @return this builder
     */
    public Builder<K> exactlyOnce(boolean exactlyOnce) {
      this.exactlyOnce = exactlyOnce;
      return this;
    }

    /**
     * The ledger table (columns {@code sink VARCHAR(128)}, {@code batch_id VARCHAR(64)},
     * {@code applied_at BIGINT} in epoch milliseconds, primary key {@code (sink, batch_id)}).
     * Default: the counter table's name followed by {@code _ledger}. Each row records the counter
     * table (the {@code sink} column) as well as the batch id, so sinks of different counter
     * tables may share one ledger, even when one batch is handed to several of them. Two sinks of
     * the <em>same</em> counter table must not both be fed the same batch: the second would find
     * the first's row and skip the batch (which is what makes a retry exact).
     *
     * @param ledgerTable the table name, optionally schema-qualified
     * @return this builder
     * @throws NullPointerException if {@code ledgerTable} is null
     * @throws IllegalArgumentException if it is not an identifier
     */
    public Builder<K> ledgerTable(String ledgerTable) {
      this.ledgerTable = tableName("ledgerTable", ledgerTable);
      return this;
    }

    /**
     * How long a batch id stays in the ledger: the sink prunes its own rows older than this. It is
     * the sink's {@link JdbcSink#idempotencyHorizon() idempotency horizon}: the buffer retries a
     * failing batch within it of the batch's hand-over and drops it after, so a retry never
     * outlives the ledger rows that make it exact.
     *
     * @param ledgerRetention a positive duration
     * @return this builder
     * @throws NullPointerException if {@code ledgerRetention} is null
     * @throws IllegalArgumentException if it is zero or negative
     */
    public Builder<K> ledgerRetention(Duration ledgerRetention) {
      requireNonNull(ledgerRetention, "ledgerRetention");
      if (ledgerRetention.isNegative() || ledgerRetention.isZero()) {
        throw new IllegalArgumentException("ledgerRetention must be positive: " + ledgerRetention);
      }
      this.ledgerRetention = ledgerRetention;
      return this;
    }

    /**
     * How often the sink deletes expired ledger rows, right after a batch it applied. Zero prunes
     * after every batch.
     *
     * @param ledgerPruneInterval a duration, not negative
     * @return this builder
     * @throws NullPointerException if {@code ledgerPruneInterval} is null
     * @throws IllegalArgumentException if it is negative
     */
    public Builder<K> ledgerPruneInterval(Duration ledgerPruneInterval) {
      requireNonNull(ledgerPruneInterval, "ledgerPruneInterval");
      if (ledgerPruneInterval.isNegative()) {
        throw new IllegalArgumentException("ledgerPruneInterval must not be negative: "
            + ledgerPruneInterval);
      }
      this.ledgerPruneInterval = ledgerPruneInterval;
      return this;
    }

    /**
     * The most rows one upsert statement carries. Larger batches take several statements in the
     * same transaction. The sink lowers it further where the driver's parameter limit requires.
     *
     * @param maxRowsPerStatement at least 1
     * @return this builder
     * @throws IllegalArgumentException if it is less than 1
     */
    public Builder<K> maxRowsPerStatement(int maxRowsPerStatement) {
      this.maxRowsPerStatement = atLeastOne("maxRowsPerStatement", maxRowsPerStatement);
      return this;
    }

    /**
     * The most rows one transaction writes. A batch with more rows (after keys that map to one
     * row are merged) is written as several transactions, each committed on its own, in the
     * sink's fixed row order: the batch's rows are halved until every piece holds at most this
     * many (so a piece holds between about half of it and all of it: 63 rows for a batch of
     * 1000 at the default of 100). A transaction holds its row locks until it commits, so with
     * large transactions, writers that flush overlapping keys (a fleet of servers counting the
     * same keys) queue behind each other's whole batches; with small ones they pass each other
     * chunk by chunk. A batch of at most this many rows is one transaction, as it always was.
     *
     * <p>With the ledger, each chunk is applied exactly once under an id of its own
     * ({@code <batch id>-<lo>-<hi>}), and the chunking is recorded with the batch id
     * ({@code <batch id>-c<depth>}); so a retry of a batch whose first chunks committed applies
     * only the rest, even when this option changed in between (the retry follows the recorded
     * chunking). A batch larger than this is therefore not atomic as a whole: a batch the buffer
     * drops after failures (see {@code maxAttempts}) may be partly applied, and replaying it under
     * its id applies the rest once. Without the ledger, a retry applies the chunks that had
     * committed again. {@link Integer#MAX_VALUE} keeps every batch in one transaction.
     *
     * @param maxRowsPerTransaction at least 1; default 100
     * @return this builder
     * @throws IllegalArgumentException if it is less than 1
     */
    public Builder<K> maxRowsPerTransaction(int maxRowsPerTransaction) {
      this.maxRowsPerTransaction = atLeastOne("maxRowsPerTransaction", maxRowsPerTransaction);
      return this;
    }

    /**
     * The SQL types {@link JdbcSink#createTables()} gives the key columns, one per key column
     * ({@code "BIGINT"}, {@code "DATE"}, {@code "VARCHAR(100)"}).
     *
     * @param keyColumnTypes one type per key column
     * @return this builder
     * @throws NullPointerException if the array or a type is null
     * @throws IllegalArgumentException if a type is not a plain SQL type name
     */
    public Builder<K> keyColumnTypes(String... keyColumnTypes) {
      requireNonNull(keyColumnTypes, "keyColumnTypes");
      List<String> types = new ArrayList<>();
      for (String type : keyColumnTypes) {
        requireNonNull(type, "keyColumnTypes");
        if (!SQL_TYPE.matcher(type).matches()) {
          throw new IllegalArgumentException("keyColumnTypes must be SQL type names such as"
              + " VARCHAR(255) or BIGINT: " + type);
        }
        types.add(type);
      }
      this.keyColumnTypes = List.copyOf(types);
      return this;
    }

    /**
     * The longest any one statement of the sink may run: JDBC's
     * {@link Statement#setQueryTimeout query timeout}, which counts whole seconds, so a duration
     * with a fraction of a second is rounded up. A statement that runs longer is cancelled and
     * the call fails (its transaction rolled back), so a lock held by another transaction or a
     * stuck database becomes a failure that the buffer retries rather than a call that never
     * returns. PostgreSQL and MariaDB cancel a statement that waits for a row lock; H2 bounds lock
     * waits by its own {@code LOCK_TIMEOUT} setting and SQLite by its busy timeout. It does not
     * bound the wait for a connection: that is the pool's (HikariCP's {@code connectionTimeout}).
     *
     * @param queryTimeout a duration of at most {@link Integer#MAX_VALUE} seconds, or
     *     {@link Duration#ZERO} for no timeout
     * @return this builder
     * @throws NullPointerException if {@code queryTimeout} is null
     * @throws IllegalArgumentException if it is negative or too long
     */
    public Builder<K> queryTimeout(Duration queryTimeout) {
      requireNonNull(queryTimeout, "queryTimeout");
      if (queryTimeout.isNegative()) {
        throw new IllegalArgumentException("queryTimeout must not be negative: " + queryTimeout);
      }
      long seconds = queryTimeout.getSeconds() + ((queryTimeout.getNano() > 0) ? 1 : 0);
      if (seconds > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("queryTimeout must be at most " + Integer.MAX_VALUE
            + " seconds (JDBC counts it in an int): " + queryTimeout);
      }
      this.queryTimeout = Duration.ofSeconds(seconds);
      return this;
    }

    /** Tests: the wall clock in epoch milliseconds, for the ledger's timestamps. */
    Builder<K> clock(LongSupplier clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the sink. It does not connect: the dialect and the tables are checked on first use.
     *
     * @return the sink
     * @throws IllegalStateException if a required option is missing or options conflict
     */
    public JdbcSink<K> build() {
      if (table == null) {
        throw new IllegalStateException("table is required: call table(\"...\")");
      }
      if (keyColumns == null) {
        throw new IllegalStateException("keyColumns is required: call keyColumns(\"...\")");
      }
      if (countColumn == null) {
        throw new IllegalStateException("countColumn is required: call countColumn(\"...\")");
      }
      for (String key : keyColumns) {
        if (key.equalsIgnoreCase(countColumn)) {
          throw new IllegalStateException("countColumn " + countColumn
              + " is also a key column");
        }
      }
      if (keyMapper == null && keyColumns.size() > 1) {
        throw new IllegalStateException("keyMapper is required with " + keyColumns.size()
            + " key columns " + keyColumns + ": map each key to one value per column");
      }
      if (keyColumnTypes != null && keyColumnTypes.size() != keyColumns.size()) {
        throw new IllegalStateException("keyColumnTypes has " + keyColumnTypes.size()
            + " types but keyColumns has " + keyColumns.size() + " columns");
      }
      if (exactlyOnce && ledgerTable != null && ledgerTable.equalsIgnoreCase(table)) {
        throw new IllegalStateException("ledgerTable must differ from table: " + table);
      }
      return new JdbcSink<>(this);
    }

    private static String tableName(String option, String name) {
      requireNonNull(name, option);
      if (!TABLE.matcher(name).matches()) {
        throw new IllegalArgumentException(option + " must be an SQL identifier (letters, digits"
            + " and underscores, optionally schema.table): " + name);
      }
      return name;
    }

    private static int atLeastOne(String option, int value) {
      if (value < 1) {
        throw new IllegalArgumentException(option + " must be at least 1: " + value);
      }
      return value;
    }

    private static String columnName(String option, String name) {
      requireNonNull(name, option);
      if (!IDENTIFIER.matcher(name).matches()) {
        throw new IllegalArgumentException(option + " must be an SQL identifier (letters, digits"
            + " and underscores): " + name);
      }
      return name;
    }
  }
}
