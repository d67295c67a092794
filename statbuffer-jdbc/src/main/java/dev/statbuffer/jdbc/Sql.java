package dev.statbuffer.jdbc;

import dev.statbuffer.jdbc.Columns.Column;
import dev.statbuffer.jdbc.Rows.Row;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The statements of one sink in one dialect: their text, and how rows are bound to them. This
 * class holds what every dialect shares; each dialect is one subclass ({@link SqlPostgres},
 * {@link SqlMariaDb}, {@link SqlH2}, {@link SqlSqlite}) chosen by {@link #of}, whose
 * {@code switch} over {@link JdbcDialect} is the only one in the module and has no
 * {@code default}: a new dialect does not compile until it has its file. Every difference between
 * dialects is a method here that a subclass defines or overrides, never a test of the dialect.
 *
 * <p>Identifiers were validated by the builder (letters, digits and underscores only); they are
 * quoted after folding their case as the database folds unquoted names (see {@link Identifiers}),
 * so they mean what they would mean unquoted but may be keywords such as {@code day}.
 *
 * <p>Immutable apart from a cache of multi-row statements by row count; thread-safe.
 */
abstract class Sql {
  /** The longest batch id ({@code FlushBatch.id()}): the width of the ledger's batch_id column. */
  static final int MAX_BATCH_ID = 64;
  /** The longest counter table name: the width of the ledger's {@code sink} column. */
  static final int MAX_TABLE_NAME = 128;
  private static final Pattern CAST_TYPE = Pattern.compile("[A-Za-z_][A-Za-z0-9_ ]*");

  /**
   * The names of a sink's tables and columns as configured: unquoted, the table and the ledger
   * optionally qualified by a schema.
   *
   * @param table the counter table
   * @param keyColumns the key columns, in key mapper order
   * @param countColumn the count column
   * @param ledgerTable the ledger table
   */
  record Names(String table, List<String> keyColumns, String countColumn, String ledgerTable) {}

  /** The names as configured, for messages. */
  final Names names;
  /** The counter table, quoted. */
  final String table;
  /** The key columns, quoted. */
  final List<String> keyColumns;
  /** The count column, quoted. */
  final String countColumn;
  /** The ledger table, quoted. */
  final String ledgerTable;
  /** The ledger's {@code batch_id} column, quoted. */
  final String batchId;
  /** The ledger's {@code sink} column (the counter table of the batch), quoted. */
  final String sinkColumn;
  /** The ledger's {@code applied_at} column (epoch milliseconds), quoted. */
  final String appliedAt;
  /**
   * The ledger's {@code sink} value of this sink: its counter table name as configured, as an SQL
   * string literal (the builder allows only letters, digits, underscores and one dot).
   */
  final String sinkLiteral;
  /** The name of the ledger's index on {@code applied_at}, quoted and unqualified. */
  final String ledgerIndex;
  /** How the database quotes and folds names. */
  final Identifiers identifiers;
  /** Per key column, the SQL type a bind parameter is cast to, or null for no cast. */
  final @Nullable String[] keyCasts;
  /** The counter table's columns as checked; null in the statements made before the check. */
  final @Nullable Columns columns;
  private final ConcurrentHashMap<Integer, String> upserts = new ConcurrentHashMap<>();

  /**
   * Quotes the names.
   *
   * @param names the names as configured
   * @param identifiers the dialect's quoting of names
   * @param columns the checked columns, or null before the check
   * @param castType the type a key column's parameters are cast to, or null for none
   */
  Sql(Names names, Identifiers identifiers, @Nullable Columns columns,
      Function<Column, @Nullable String> castType) {
    this.names = names;
    this.identifiers = identifiers;
    this.table = identifiers.quote(names.table());
    List<String> keys = new ArrayList<>();
    for (String key : names.keyColumns()) {
      keys.add(identifiers.quote(key));
    }
    this.keyColumns = List.copyOf(keys);
    this.countColumn = identifiers.quote(names.countColumn());
    this.ledgerTable = identifiers.quote(names.ledgerTable());
    this.batchId = identifiers.quote("batch_id");
    this.sinkColumn = identifiers.quote("sink");
    this.appliedAt = identifiers.quote("applied_at");
    this.sinkLiteral = "'" + names.table() + "'";
    this.ledgerIndex = identifiers.quote(simpleName(names.ledgerTable()) + "_applied_at");
    this.columns = columns;
    this.keyCasts = new String[keys.size()];
    for (int i = 0; columns != null && i < keyCasts.length; i++) {
      keyCasts[i] = castType.apply(columns.keys.get(i));
    }
  }

  /**
   * The statements of {@code dialect}: the one place that maps a dialect to its class.
   *
   * @param dialect the dialect
   * @param names the sink's tables and columns
   * @param meta the database's metadata, for quoting names
   * @param columns the checked columns of the counter table, or null before the check
   * @return the statements
   * @throws SQLException if the metadata cannot be read
   */
  static Sql of(JdbcDialect dialect, Names names, DatabaseMetaData meta,
      @Nullable Columns columns)
      throws SQLException {
    return switch (dialect) {
      case POSTGRESQL -> new SqlPostgres(names, meta, columns);
      case MARIADB, MYSQL -> new SqlMariaDb(names, meta, columns);
      case H2 -> new SqlH2(names, meta, columns);
      case SQLITE -> new SqlSqlite(names, meta, columns);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // What each dialect says
  // ---------------------------------------------------------------------------------------------

  /**
   * Records a batch id unless the ledger holds it; an update count of 0 means it was there.
   * Parameters: batch id, applied at.
   *
   * @return the statement
   */
  abstract String ledgerInsert();

  /**
   * An additive upsert of {@code rows} rows bound as values. Parameters: per row, the key columns
   * then the count.
   *
   * @param rows the number of rows, at least 1
   * @return the statement
   */
  abstract String valuesUpsert(int rows);

  /**
   * The statement that gives a column {@code type}, or where the dialect cannot, what to do
   * instead.
   *
   * @param quotedTable the table, quoted
   * @param column the column as configured
   * @param type the SQL type
   * @return the statement or the advice
   */
  abstract String alterColumn(String quotedTable, String column, String type);

  /**
   * The DDL of the ledger table and its index on {@code applied_at}.
   *
   * @param ledgerColumns the column definitions and primary key, shared by every dialect
   * @return the statements, in order
   */
  abstract List<String> ledgerTableDdl(String ledgerColumns);

  /**
   * Rows per upsert statement when the builder does not say.
   *
   * @return a positive number
   */
  abstract int defaultRowsPerStatement();

  /**
   * The most rows one upsert statement can carry under the driver's limit of bind parameters.
   *
   * @return a positive number
   */
  abstract int maxRowsPerStatement();

  /**
   * Whether the counter upsert can insert the ledger row in the same statement
   * ({@link #upsertWithLedger}): a piece of up to {@link #rowsPerStatement} rows is then one
   * statement, its own transaction on an auto-commit connection. Otherwise the ledger insert is a
   * statement of its own ({@link #ledgerInsert}) in the piece's transaction.
   *
   * @return false unless the dialect overrides it
   */
  boolean upsertCarriesLedger() {
    return false;
  }

  /**
   * Inserts {@code id} into the ledger and, only if it was new, upserts {@code rows}, in one
   * statement. Only where {@link #upsertCarriesLedger()}.
   *
   * @return the update count: 0 if the ledger held the id (nothing written)
   * @throws UnsupportedOperationException where the dialect does not carry the ledger in the upsert
   */
  int upsertWithLedger(Connection connection, Jdbc jdbc, String id, long now, List<Row> rows)
      throws SQLException {
    throw new UnsupportedOperationException("the ledger insert is a statement of its own here");
  }

  /**
   * Writes {@code rows} (at most {@link #rowsPerStatement} of them) in one statement of the
   * current transaction, bound as values to {@link #upsert(int)}.
   *
   * @return the update count
   */
  int upsert(Connection connection, Jdbc jdbc, List<Row> rows) throws SQLException {
    try (PreparedStatement statement = jdbc.prepare(connection, upsert(rows.size()))) {
      int p = 1;
      for (Row row : rows) {
        for (Object value : row.key().values) {
          statement.setObject(p++, value);
        }
        statement.setLong(p++, row.count());
      }
      jdbc.statements.increment();
      return statement.executeUpdate();
    }
  }

  /**
   * Refuses key values this dialect cannot send as they are, before anything is written.
   *
   * @throws IllegalArgumentException naming the column and the type, where the dialect refuses one
   */
  void checkKeys(List<Row> rows) {
    // Every value is bound with setObject.
  }

  /**
   * The statement that makes the writers of this counter table take turns, run first in each of
   * their transactions, or null where the database needs none.
   *
   * @return the statement, or null
   */
  @Nullable String writerLock() {
    return null;
  }

  /**
   * Whether {@code e} says that a concurrent transaction inserted the same new key (or batch id)
   * first, so that applying the rows again, in a new transaction, is safe and likely to succeed.
   *
   * @return false unless the dialect overrides it
   */
  boolean isInsertRace(SQLException e) {
    return false;
  }

  /**
   * Whether the database reports the declared lengths of the ledger's columns and enforces them,
   * so that the sink checks that they hold its ids.
   *
   * @return true unless the dialect overrides it
   */
  boolean checksLedgerWidths() {
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // What every dialect shares
  // ---------------------------------------------------------------------------------------------

  /**
   * A data error: the database refused a row for what it holds (see {@link Errors#isDataError}),
   * and not because of an insert race, which is applied again.
   *
   * @return whether the sink isolates the refused keys rather than fail the call
   */
  final boolean isDataError(SQLException e) {
    return !isInsertRace(e) && Errors.isDataError(e);
  }

  /**
   * The rows one upsert statement carries: the configured number, else the dialect's default,
   * lowered to what the driver's parameter limit allows.
   *
   * @param configured the builder's {@code maxRowsPerStatement}, or 0 if unset
   * @return at least 1
   */
  final int rowsPerStatement(int configured) {
    int wanted = (configured > 0) ? configured : defaultRowsPerStatement();
    return Math.max(1, Math.min(wanted, maxRowsPerStatement()));
  }

  /**
   * An additive upsert of {@code rows} rows bound as values, cached by row count.
   *
   * @param rows the number of rows, at least 1
   * @return the statement
   */
  final String upsert(int rows) {
    return upserts.computeIfAbsent(rows, this::valuesUpsert);
  }

  /**
   * The single-row additive upsert a user would write by hand, with no ledger: parameters are the
   * key columns then the count.
   *
   * @return the statement
   */
  final String singleRowUpsert() {
    return upsert(1);
  }

  /**
   * The counter table's columns as checked, in the statements of a checked plan.
   *
   * @return the columns
   * @throws IllegalStateException in the statements made before the check, which have none
   */
  final Columns checkedColumns() {
    Columns checked = columns;
    if (checked == null) {
      throw new IllegalStateException("the statements made before the tables were checked have"
          + " no columns");
    }
    return checked;
  }

  /**
   * Selects every column the sink writes, and no row: proves that they exist.
   *
   * @return the statement
   */
  final String probeCounterTable() {
    return "SELECT " + String.join(", ", keyColumns) + ", " + countColumn + " FROM " + table
        + " WHERE 1 = 0";
  }

  /**
   * Selects the ledger's columns, and no row.
   *
   * @return the statement
   */
  final String probeLedgerTable() {
    return "SELECT " + sinkColumn + ", " + batchId + ", " + appliedAt + " FROM " + ledgerTable
        + " WHERE 1 = 0";
  }

  /**
   * Selects one column, and no row: finds which column is missing.
   *
   * @param column the column as configured
   * @return the statement
   */
  final String probeColumn(String column) {
    return "SELECT " + identifiers.quote(column) + " FROM " + table + " WHERE 1 = 0";
  }

  /**
   * Selects the batch ids, among {@code count} given ones, that the ledger holds for this sink.
   * Parameters: the ids.
   *
   * @param count how many ids, at least 1
   * @return the statement
   */
  final String ledgerFind(int count) {
    return "SELECT " + batchId + " FROM " + ledgerTable + " WHERE " + sinkColumn + " = "
        + sinkLiteral + " AND " + batchId + " IN (" + "?, ".repeat(count - 1) + "?)";
  }

  /**
   * Deletes this sink's ledger rows applied before the parameter (epoch milliseconds): sinks that
   * share a ledger prune their own rows, each by its own retention.
   *
   * @return the statement
   */
  final String pruneLedger() {
    return "DELETE FROM " + ledgerTable + " WHERE " + sinkColumn + " = " + sinkLiteral + " AND "
        + appliedAt + " < ?";
  }

  /**
   * The statement that widens the ledger's {@code column} to {@code width} characters.
   *
   * @param column the column as named in the ledger
   * @param width the characters it must hold
   * @return the statement
   */
  final String widenLedgerColumn(String column, int width) {
    return alterColumn(ledgerTable, column, "VARCHAR(" + width + ")");
  }

  /**
   * The statement that gives a column of the counter table {@code type} (NOT NULL), or where the
   * dialect cannot change a column's type, what to do instead.
   *
   * @param column the column as configured
   * @param type the SQL type
   * @return the statement or the advice
   */
  final String alterCounterColumn(String column, String type) {
    return alterColumn(table, column, type);
  }

  /**
   * The DDL that creates the counter table and, when {@code withLedger}, the ledger and its index.
   *
   * @param keyTypes the SQL type of each key column
   * @param withLedger whether to create the ledger too
   * @return the statements, in order
   */
  final List<String> createTables(List<String> keyTypes, boolean withLedger) {
    List<String> ddl = new ArrayList<>();
    StringBuilder counter = new StringBuilder("CREATE TABLE IF NOT EXISTS ").append(table)
        .append(" (");
    for (int i = 0; i < keyColumns.size(); i++) {
      counter.append(keyColumns.get(i)).append(' ').append(keyTypes.get(i))
          .append(" NOT NULL, ");
    }
    counter.append(countColumn).append(" BIGINT NOT NULL, PRIMARY KEY (")
        .append(String.join(", ", keyColumns)).append("))");
    ddl.add(counter.toString());
    if (withLedger) {
      // sink: the counter table the batch was applied to, so that sinks sharing one ledger (or
      // fed the same batch) never take each other's batch ids for their own.
      ddl.addAll(ledgerTableDdl(sinkColumn + " VARCHAR(" + MAX_TABLE_NAME + ") NOT NULL, "
          + batchId + " VARCHAR(" + MAX_BATCH_ID + ") NOT NULL, " + appliedAt
          + " BIGINT NOT NULL, PRIMARY KEY (" + sinkColumn + ", " + batchId + ")"));
    }
    return ddl;
  }

  /**
   * The ledger's DDL, for error messages.
   *
   * @return the statements, in order
   */
  final List<String> ledgerDdl() {
    List<String> ddl = createTables(Collections.nCopies(keyColumns.size(), "VARCHAR(255)"), true);
    return ddl.subList(1, ddl.size());
  }

  /**
   * The counter table's DDL with the given key types, for error messages.
   *
   * @param keyTypes the SQL type of each key column
   * @return the statement
   */
  final String counterTableDdl(List<String> keyTypes) {
    return createTables(keyTypes, false).get(0);
  }

  /**
   * The key columns then the count column, quoted, comma-separated.
   *
   * @return the list
   */
  final String columnList() {
    return String.join(", ", keyColumns) + ", " + countColumn;
  }

  /**
   * The type a column's parameters may be cast to: its type name, unless the name is unusual
   * (quoted, with a size or arguments), when the database's assignment conversion is relied on.
   *
   * @return the type name, or null
   */
  static @Nullable String plainTypeName(Column column) {
    String type = column.typeName();
    return (type.isEmpty() || !CAST_TYPE.matcher(type).matches()) ? null : type;
  }

  /**
   * The unqualified part of a possibly {@code schema.}-qualified name.
   *
   * @return the name after the last dot
   */
  static String simpleName(String qualified) {
    int dot = qualified.lastIndexOf('.');
    return (dot < 0) ? qualified : qualified.substring(dot + 1);
  }

  /**
   * The {@code schema.} prefix of a qualified name, dot included, or the empty string.
   *
   * @return the prefix
   */
  static String schemaPrefix(String qualified) {
    int dot = qualified.lastIndexOf('.');
    return (dot < 0) ? "" : qualified.substring(0, dot + 1);
  }
}
