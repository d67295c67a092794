package dev.statbuffer.jdbc;

import dev.statbuffer.jdbc.Columns.Column;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * H2 2.x: {@code MERGE INTO ... USING (SELECT ..., SUM(n) FROM (VALUES ...) GROUP BY ...) WHEN
 * MATCHED THEN UPDATE ...} and a {@code MERGE ... WHEN NOT MATCHED THEN INSERT} into the ledger,
 * after updating the sink's lock row in the ledger ({@link #writerLock()}), so that the writers of
 * one table take turns. Immutable apart from the cache of upserts; thread-safe.
 */
final class SqlH2 extends Sql {
  /**
   * The statements of one sink.
   *
   * @param names the sink's tables and columns
   * @param meta the database's metadata, for quoting names
   * @param columns the checked columns, or null before the check
   * @throws SQLException if the metadata cannot be read
   */
  SqlH2(Names names, DatabaseMetaData meta, @Nullable Columns columns) throws SQLException {
    super(names, Identifiers.of(meta, "\""), columns, SqlH2::castType);
  }

  /**
   * The column's own type. A cast to {@code CHARACTER} without a length means one character, so
   * the declared sizes of characters and decimals are kept.
   */
  private static @Nullable String castType(Column column) {
    String type = plainTypeName(column);
    if (type == null) {
      return null;
    }
    String lower = type.toLowerCase(Locale.ROOT);
    if ((lower.equals("character") || lower.equals("char")) && column.precision() > 0) {
      return type + "(" + column.precision() + ")";
    }
    if ((lower.equals("numeric") || lower.equals("decimal")) && column.precision() > 0) {
      return type + "(" + column.precision() + ", " + Math.max(0, column.scale()) + ")";
    }
    return type;
  }

  /** {@code MERGE ... WHEN NOT MATCHED THEN INSERT}: update count 0 for a known id. */
  @Override
  String ledgerInsert() {
    return "MERGE INTO " + ledgerTable + " AS l USING (VALUES (CAST(? AS VARCHAR("
        + MAX_BATCH_ID + ")), CAST(? AS BIGINT))) AS s(i, a) ON l." + sinkColumn + " = "
        + sinkLiteral + " AND l." + batchId + " = s.i WHEN NOT MATCHED THEN INSERT ("
        + sinkColumn + ", " + batchId + ", " + appliedAt + ") VALUES (" + sinkLiteral
        + ", s.i, s.a)";
  }

  /** {@code MERGE INTO ... USING} the rows summed per key and sorted. */
  @Override
  String valuesUpsert(int rows) {
    StringBuilder sql = new StringBuilder(64 + rows * 4 * (keyColumns.size() + 1));
    // Rows that are one row once cast (1 and 01 into an INTEGER) are summed first: one MERGE
    // must not insert the same new key twice.
    sql.append("MERGE INTO ").append(table).append(" AS t USING (SELECT ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append("v.c").append(i).append(", ");
    }
    sql.append("CAST(SUM(v.n) AS BIGINT) AS n FROM (VALUES ");
    for (int r = 0; r < rows; r++) {
      sql.append((r == 0) ? "(" : ", (");
      for (int i = 0; i < keyColumns.size(); i++) {
        sql.append((keyCasts[i] == null) ? "?" : "CAST(? AS " + keyCasts[i] + ")")
            .append(", ");
      }
      sql.append("CAST(? AS BIGINT))");
    }
    sql.append(") AS v(");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append('c').append(i).append(", ");
    }
    sql.append("n) GROUP BY ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append((i == 0) ? "" : ", ").append("v.c").append(i);
    }
    sql.append(" ORDER BY ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append((i == 0) ? "" : ", ").append("v.c").append(i);
    }
    sql.append(") AS s(");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append('c').append(i).append(", ");
    }
    sql.append("n) ON ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append((i == 0) ? "" : " AND ").append("t.").append(keyColumns.get(i))
          .append(" = s.c").append(i);
    }
    sql.append(" WHEN MATCHED THEN UPDATE SET ").append(countColumn).append(" = t.")
        .append(countColumn).append(" + s.n WHEN NOT MATCHED THEN INSERT (")
        .append(columnList()).append(") VALUES (");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append("s.c").append(i).append(", ");
    }
    sql.append("s.n)");
    return sql.toString();
  }

  /**
   * Inserts or updates this sink's lock row in the ledger (batch id {@code ""}, which no batch
   * has, applied "never" so that pruning keeps it), taking its row lock until the transaction
   * ends. Concurrent MERGEs of the same new keys into one H2 table fail with unique-key
   * violations, and under that contention H2 was seen to keep effects of failed attempts (counts
   * added twice); one writer at a time avoids both.
   */
  @Override
  String writerLock() {
    return "MERGE INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", " + appliedAt
        + ") KEY (" + sinkColumn + ", " + batchId + ") VALUES (" + sinkLiteral + ", '', "
        + Long.MAX_VALUE + ")";
  }

  /**
   * A concurrent transaction inserted the same new key (or batch id) first: H2's MERGE reports
   * this as a violation of the primary key of the counter table or the ledger rather than waiting
   * for that transaction's row; this transaction rolled back and applying it again is safe. A
   * violation of any other unique index (one the sink cannot resolve by retrying) is not a race.
   */
  @Override
  boolean isInsertRace(SQLException e) {
    if (!"23505".equals(e.getSQLState())) {
      return false;
    }
    // "Unique index or primary key violation: "PUBLIC.PRIMARY_KEY_8 ON PUBLIC.T(K) VALUES ..."
    String message = (e.getMessage() == null) ? "" : e.getMessage().toLowerCase(Locale.ROOT);
    if (!message.contains("primary_key")) {
      return false;
    }
    for (String name : List.of(names.table(), names.ledgerTable())) {
      if (message.contains("." + simpleName(name).toLowerCase(Locale.ROOT) + "(")) {
        return true;
      }
    }
    return false;
  }

  /** {@code ALTER COLUMN ... SET DATA TYPE}. */
  @Override
  String alterColumn(String quotedTable, String column, String type) {
    return "ALTER TABLE " + quotedTable + " ALTER COLUMN " + identifiers.quote(column)
        + " SET DATA TYPE " + type;
  }

  /** The table, then its index, qualified like the table. */
  @Override
  List<String> ledgerTableDdl(String ledgerColumns) {
    return List.of("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns + ")",
        "CREATE INDEX IF NOT EXISTS " + schemaPrefix(ledgerTable) + ledgerIndex + " ON "
            + ledgerTable + " (" + appliedAt + ")");
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
