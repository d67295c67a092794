package dev.statbuffer.jdbc;

import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * MariaDB 10.1 or later, and MySQL 5.7 or later, which accepts the same statements: multi-row
 * {@code INSERT ... ON DUPLICATE KEY UPDATE c = c + VALUES(c)} and {@code INSERT IGNORE} into the
 * ledger. Key parameters are not cast: the database converts them to the column types. Immutable
 * and thread-safe.
 */
final class SqlMariaDb extends Sql {
  /**
   * The statements of one sink.
   *
   * @param names the sink's tables and columns
   * @param meta the database's metadata, for quoting names
   * @param columns the checked columns, or null before the check
   * @throws SQLException if the metadata cannot be read
   */
  SqlMariaDb(Names names, DatabaseMetaData meta, @Nullable Columns columns) throws SQLException {
    super(names, Identifiers.of(meta, "`"), columns, column -> null);
  }

  /** {@code INSERT IGNORE}, whose update count is 0 for an id already there. */
  @Override
  String ledgerInsert() {
    return "INSERT IGNORE INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", "
        + appliedAt + ") VALUES (" + sinkLiteral + ", ?, ?)";
  }

  /** {@code INSERT ... VALUES ... ON DUPLICATE KEY UPDATE c = c + VALUES(c)}. */
  @Override
  String valuesUpsert(int rows) {
    String row = "(" + "?, ".repeat(keyColumns.size()) + "?)";
    StringBuilder sql = new StringBuilder(64 + rows * row.length());
    sql.append("INSERT INTO ").append(table).append(" (").append(columnList())
        .append(") VALUES ");
    for (int r = 0; r < rows; r++) {
      sql.append((r == 0) ? "" : ", ").append(row);
    }
    sql.append(" ON DUPLICATE KEY UPDATE ").append(countColumn).append(" = ")
        .append(countColumn).append(" + VALUES(").append(countColumn).append(')');
    return sql.toString();
  }

  /** {@code ALTER TABLE ... MODIFY ... NOT NULL}. */
  @Override
  String alterColumn(String quotedTable, String column, String type) {
    return "ALTER TABLE " + quotedTable + " MODIFY " + identifiers.quote(column) + " " + type
        + " NOT NULL";
  }

  /** One statement: the index is part of the table. */
  @Override
  List<String> ledgerTableDdl(String ledgerColumns) {
    // MySQL has no CREATE INDEX IF NOT EXISTS: the index is part of the table.
    return List.of("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns
        + ", INDEX " + ledgerIndex + " (" + appliedAt + "))");
  }

  /** 1 000 rows. */
  @Override
  int defaultRowsPerStatement() {
    return 1_000;
  }

  /** Up to 65 535 bind parameters per statement. */
  @Override
  int maxRowsPerStatement() {
    return 65_535 / (keyColumns.size() + 1);
  }
}
