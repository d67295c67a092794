package dev.statbuffer.jdbc;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.jdbc.Rows.Row;
import java.lang.System.Logger.Level;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.LongSupplier;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

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
  /*
   * Design. flush turns a batch into rows (Rows), takes the checked statements (Schema), writes
   * the rows on one borrowed connection as pieces (Split decides them, PieceWriter writes each in
   * one transaction), prunes the ledger now and then (LedgerPruner), and explains a failure
   * (Errors) or reports refused keys (Rejections). Any number of threads may call it at once, with
   * different batches or the same one (a retry overlapping an abandoned call). Each call has its
   * own connection; the calls share only the plan (checked once, see Schema), the time of the
   * last prune (see LedgerPruner) and the counters (see StatsCounter). No count is lost or applied
   * twice through that sharing: with the ledger, each piece's id is inserted in the transaction
   * that writes its rows, and the ledger's key lets one transaction of an id commit (see Split).
   */

  private final Config<K> config;
  private final Jdbc jdbc;
  private final Schema schema;
  private final Rows<K> rows;
  private final Split split;
  private final LedgerPruner pruner;
  private final Rejections<K> rejections;
  private final StatsCounter counter = new StatsCounter();

  private JdbcSink(Config<K> config) {
    this.config = config;
    this.jdbc = new Jdbc(config.queryTimeoutSeconds(), config.table());
    this.schema = new Schema(config, jdbc);
    this.rows = new Rows<>(config.table(), config.keyColumns(), config.countColumn(),
        config.keyMapper());
    Ledger ledger = new Ledger(jdbc);
    PieceWriter writer = new PieceWriter(jdbc, ledger, config);
    this.split = new Split(ledger, config.exactlyOnce(), config.maxRowsPerTransaction(),
        writer::apply, writer::tryRows, config.clock());
    this.pruner = new LedgerPruner(jdbc, config);
    this.rejections = new Rejections<>(config.table(), config.keyColumns(), config.countColumn(),
        rows);
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
   * that this batch id (or chunk) was applied before. If the database refuses the batch for a
   * data reason (a count past its column's range, a key longer than its column, a constraint:
   * SQLState classes 22 and 23), the sink finds the refused keys by bisection, applies all the
   * others in this call, and reports the refused ones in a {@link RejectedKeysException}; the
   * buffer drops each of them under its own id and does not retry the call (see
   * {@link JdbcSink}).
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
        counter.recordNothingToWrite(); // every count cancelled out on its row
        return;
      }
      sql = schema.plan();
      sql.checkKeys(rows);
      try (Connection connection = config.dataSource().getConnection()) {
        result = write(connection, sql, batch.id(), rows);
      } catch (SQLException e) {
        throw explain(e, batch.id());
      }
    } catch (SQLException | RuntimeException e) {
      counter.recordFailure();
      throw e;
    }
    if (counter.recordWritten(result.written, !result.rejected.isEmpty())) {
      Jdbc.LOGGER.log(Level.DEBUG, () -> "Batch " + batch.id() + " is already in ledger "
          + config.ledgerTable() + ": acknowledged without applying it again");
    }
    if (!result.rejected.isEmpty()) {
      RejectedKeysException report = rejections.of(batch, result.rejected, sql);
      counter.recordRejectedKeys(report.rejections().size());
      throw report;
    }
  }

  /** Writes the batch's rows on one connection, piece by piece, then prunes if it is time. */
  private Split.Result write(Connection connection, Sql sql, String batchId, List<Row> rows)
      throws SQLException {
    // Chunks commit one after another: switch auto-commit off once for all of them rather than
    // twice per chunk (a round trip each in some drivers). A dialect whose upsert carries the
    // ledger insert writes a chunk as one auto-committed statement.
    boolean chunked = !sql.upsertCarriesLedger() && rows.size() > config.maxRowsPerTransaction();
    return jdbc.manualCommits(connection, chunked, () -> {
      Split.Result result = split.run(connection, sql, batchId, rows);
      if (result.written > 0 && config.exactlyOnce()) {
        pruner.maybePrune(connection, sql);
      }
      return result;
    });
  }

  /**
   * Creates the counter table (and the ledger table with its index, when exactly-once is on) if
   * they do not exist. The key columns get the types of {@link Builder#keyColumnTypes} (default
   * {@code VARCHAR(255)}) and form the primary key; the count column is {@code BIGINT NOT NULL}.
   *
   * @throws SQLException if the tables cannot be created
   */
  public void createTables() throws SQLException {
    schema.createTables();
  }

  /**
   * Deletes the ledger rows older than the retention now, instead of waiting for the sink to do it
   * after a flush (it does so at most once per {@link Builder#ledgerPruneInterval}).
   *
   * @return the number of ledger rows deleted; 0 when exactly-once is off
   * @throws SQLException if the rows cannot be deleted
   */
  public long pruneLedger() throws SQLException {
    if (!config.exactlyOnce()) {
      return 0;
    }
    Sql sql = schema.plan();
    try (Connection connection = config.dataSource().getConnection()) {
      return pruner.prune(connection, sql);
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
    return schema.dialect();
  }

  /**
   * The single-row additive upsert that code without this sink would run once per increment, in
   * this sink's dialect, for this sink's table and with no ledger: the baseline to compare the sink
   * against in benchmarks. Its parameters are the key columns, then the count.
   *
   * @return the SQL text
   * @throws SQLException if the dialect has to be detected and no connection can be had
   * @deprecated Exists for benchmarks only and is not part of the supported API: it may change or
   *     go away in a later version. It stays public because removing a public method would break
   *     code compiled against it.
   */
  @Deprecated
  public String singleRowUpsertSql() throws SQLException {
    return schema.statements().singleRowUpsert();
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
    return config.exactlyOnce() ? Optional.of(config.ledgerRetention()) : Optional.empty();
  }

  /**
   * The counters since this sink was built.
   *
   * @return a snapshot of the counters
   */
  public JdbcSinkStats stats() {
    return counter.snapshot(jdbc.statements.sum(), pruner.pruned());
  }

  /**
   * Describes the sink's configuration (table, columns, dialect if known, exactly-once).
   *
   * @return a description
   */
  @Override
  public String toString() {
    return "JdbcSink{table=" + config.table() + ", keyColumns=" + config.keyColumns()
        + ", countColumn=" + config.countColumn() + ", dialect=" + schema.knownDialect()
        + ", exactlyOnce=" + config.exactlyOnce()
        + (config.exactlyOnce() ? ", ledgerTable=" + config.ledgerTable() : "") + "}";
  }

  /** Turns a failure of a batch into one whose message says what to do, when the sink knows. */
  private SQLException explain(SQLException e, String batchId) {
    Sql checked = schema.checkedPlan();
    boolean race = checked != null && checked.isInsertRace(e);
    return Errors.explainBatch(e, batchId, config, race ? PieceWriter.INSERT_RACE_ATTEMPTS : 0,
        schema::recheck);
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
    // Null until set: Config.of refuses a missing required option and derives the defaults.
    private @Nullable String table;
    private @Nullable List<String> keyColumns;
    private @Nullable String countColumn;
    private @Nullable Function<? super K, Object[]> keyMapper;
    private @Nullable JdbcDialect dialect;
    private boolean exactlyOnce = true;
    private @Nullable String ledgerTable;
    private Duration ledgerRetention = Config.DEFAULT_LEDGER_RETENTION;
    private Duration ledgerPruneInterval = Config.DEFAULT_PRUNE_INTERVAL;
    private int maxRowsPerStatement;
    private int maxRowsPerTransaction = Config.DEFAULT_ROWS_PER_TRANSACTION;
    private @Nullable List<String> keyColumnTypes;
    private Duration queryTimeout = Config.DEFAULT_QUERY_TIMEOUT;
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
      this.table = Config.counterTableName(table);
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
      this.keyColumns = Config.keyColumns(keyColumns);
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
      this.countColumn = Config.columnName("countColumn", countColumn);
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
      this.ledgerTable = Config.tableName("ledgerTable", ledgerTable);
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
      this.ledgerRetention = Config.positive("ledgerRetention", ledgerRetention);
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
      this.ledgerPruneInterval = Config.notNegative("ledgerPruneInterval", ledgerPruneInterval);
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
      this.maxRowsPerStatement = Config.atLeastOne("maxRowsPerStatement", maxRowsPerStatement);
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
      this.maxRowsPerTransaction = Config.atLeastOne("maxRowsPerTransaction",
          maxRowsPerTransaction);
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
      this.keyColumnTypes = Config.keyColumnTypes(keyColumnTypes);
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
      this.queryTimeout = Config.queryTimeout(queryTimeout);
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
      return new JdbcSink<>(Config.of(dataSource, table, keyColumns, countColumn, keyMapper,
          dialect, exactlyOnce, ledgerTable, ledgerRetention, ledgerPruneInterval,
          maxRowsPerStatement, maxRowsPerTransaction, keyColumnTypes, queryTimeout, clock));
    }
  }
}
