package dev.statbuffer.jdbc;

import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * SQLite 3.24 or later: multi-row {@code INSERT ... ON CONFLICT DO UPDATE} and
 * {@code INSERT ... ON CONFLICT DO NOTHING} into the ledger. Names are quoted with backquotes
 * whatever the driver reports: SQLite reads a double-quoted name that matches no column as a
 * string literal, which would hide a wrong column name. Immutable and thread-safe.
 */
final class SqlSqlite extends Sql {
  /**
   * The statements of one sink.
   *
   * @param names the sink's tables and columns
   * @param meta the database's metadata, for the case folding of names
   * @param columns the checked columns, or null before the check
   * @throws SQLException if the metadata cannot be read
   */
  SqlSqlite(Names names, DatabaseMetaData meta, @Nullable Columns columns) throws SQLException {
    super(names, Identifiers.quotedWith("`", meta), columns, column -> null);
  }

  /** {@code INSERT ... ON CONFLICT DO NOTHING}. */
  @Override
  String ledgerInsert() {
    return "INSERT INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", " + appliedAt
        + ") VALUES (" + sinkLiteral + ", ?, ?) ON CONFLICT (" + sinkColumn + ", " + batchId
        + ") DO NOTHING";
  }

  /** {@code INSERT ... VALUES ... ON CONFLICT DO UPDATE SET c = c + excluded.c}. */
  @Override
  String valuesUpsert(int rows) {
    String row = "(" + "?, ".repeat(keyColumns.size()) + "?)";
    StringBuilder sql = new StringBuilder(64 + rows * row.length());
    sql.append("INSERT INTO ").append(table).append(" (").append(columnList())
        .append(") VALUES ");
    for (int r = 0; r < rows; r++) {
      sql.append((r == 0) ? "" : ", ").append(row);
    }
    sql.append(" ON CONFLICT (").append(String.join(", ", keyColumns))
        .append(") DO UPDATE SET ").append(countColumn).append(" = ").append(countColumn)
        .append(" + excluded.").append(countColumn);
    return sql.toString();
  }

  /** SQLite cannot change a column's type: the advice names the way around. */
  @Override
  String alterColumn(String quotedTable, String column, String type) {
    return "SQLite cannot change a column's type: create a new table with " + column + " "
        + type + " NOT NULL, copy the rows into it and rename it";
  }

  /** The table, then its index, whose name is qualified and its table not. */
  @Override
  List<String> ledgerTableDdl(String ledgerColumns) {
    // SQLite qualifies the index name and leaves the table unqualified.
    return List.of("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns + ")",
        "CREATE INDEX IF NOT EXISTS " + schemaPrefix(ledgerTable) + ledgerIndex + " ON "
            + simpleName(ledgerTable) + " (" + appliedAt + ")");
  }

  /** 1 000 rows, lowered to the parameter limit. */
  @Override
  int defaultRowsPerStatement() {
    return 1_000;
  }

  /** Under 999 bind parameters, the limit of SQLite builds older than 3.32. */
  @Override
  int maxRowsPerStatement() {
    return 999 / (keyColumns.size() + 1);
  }

  /** SQLite neither enforces nor reliably reports declared lengths. */
  @Override
  boolean checksLedgerWidths() {
    return false;
  }
}
