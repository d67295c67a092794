package dev.statbuffer.jdbc;

import dev.statbuffer.jdbc.Columns.Column;
import dev.statbuffer.jdbc.Rows.Row;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * PostgreSQL 9.5 or later. A piece's rows go as one array per column (text, cast to the column
 * types) into one {@code INSERT ... SELECT ... FROM unnest(...) GROUP BY ... ORDER BY ... ON
 * CONFLICT DO UPDATE}, which with the ledger also inserts the piece's id in a CTE: on an
 * auto-commit connection a piece of up to {@code maxRowsPerStatement} rows is a single round trip.
 * The database sums the rows that are one row once cast and sorts them, so every writer locks them
 * in its order. Immutable and thread-safe.
 */
final class SqlPostgres extends Sql {
  private final String arrayUpsertWithLedger;
  private final String arrayUpsert;

  /**
   * The statements of one sink.
   *
   * @param names the sink's tables and columns
   * @param meta the database's metadata, for quoting names
   * @param columns the checked columns, or null before the check
   * @throws SQLException if the metadata cannot be read
   */
  SqlPostgres(Names names, DatabaseMetaData meta, @Nullable Columns columns) throws SQLException {
    super(names, Identifiers.of(meta, "\""), columns, SqlPostgres::castType);
    this.arrayUpsertWithLedger = buildArrayUpsert(true);
    this.arrayUpsert = buildArrayUpsert(false);
  }

  /** The column's own type, with the serial pseudo-types mapped to their integer types. */
  private static @Nullable String castType(Column column) {
    String type = plainTypeName(column);
    if (type == null) {
      return null;
    }
    return switch (type.toLowerCase(Locale.ROOT)) {
      case "serial" -> "int4";
      case "bigserial" -> "int8";
      case "smallserial" -> "int2";
      default -> type;
    };
  }

  /** {@code INSERT ... ON CONFLICT DO NOTHING}, for claims outside a piece's upsert. */
  @Override
  String ledgerInsert() {
    return "INSERT INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", " + appliedAt
        + ") VALUES (" + sinkLiteral + ", ?, ?) ON CONFLICT (" + sinkColumn + ", " + batchId
        + ") DO NOTHING";
  }

  /**
   * {@inheritDoc} PostgreSQL writes pieces with {@link #arrayUpsert}; this form is the single-row
   * upsert a user would write by hand ({@link #singleRowUpsert()}).
   */
  @Override
  String valuesUpsert(int rows) {
    String row = "(" + "?, ".repeat(keyColumns.size()) + "?)";
    return "INSERT INTO " + table + " AS t (" + columnList() + ") VALUES "
        + String.join(", ", Collections.nCopies(rows, row)) + " ON CONFLICT ("
        + String.join(", ", keyColumns) + ") DO UPDATE SET " + countColumn + " = t."
        + countColumn + " + EXCLUDED." + countColumn;
  }

  /**
   * One statement that upserts rows passed as one array per column, summed per row (after the
   * casts to the column types) and sorted by the database. With the ledger, a CTE first inserts
   * the batch id (ON CONFLICT DO NOTHING, so a duplicate never aborts the transaction); the rows
   * are written only if that insert returned a row, so an update count of 0 means "already
   * applied (or split)". Parameters: [batch id, applied at,] one text[] per key column, bigint[]
   * counts.
   *
   * @param withLedger whether the statement inserts the ledger row too
   * @return the statement
   */
  String arrayUpsert(boolean withLedger) {
    return withLedger ? arrayUpsertWithLedger : arrayUpsert;
  }

  private String buildArrayUpsert(boolean withLedger) {
    StringBuilder sql = new StringBuilder(256);
    if (withLedger) {
      sql.append("WITH ledger AS (INSERT INTO ").append(ledgerTable).append(" (")
          .append(sinkColumn).append(", ").append(batchId).append(", ").append(appliedAt)
          .append(") VALUES (").append(sinkLiteral).append(", ?, ?) ON CONFLICT (")
          .append(sinkColumn).append(", ").append(batchId).append(") DO NOTHING RETURNING 1) ");
    }
    // Rows that differ as text but are one row once cast to the column types (7 and 07 into an
    // INTEGER, "a" and "a " into a CHAR(n)) are summed here: ON CONFLICT DO UPDATE must not
    // affect one row twice. The database sorts the rows, so every writer locks them in its order.
    sql.append("INSERT INTO ").append(table).append(" AS t (").append(columnList())
        .append(") SELECT ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append("g.c").append(i).append(", ");
    }
    sql.append("g.n FROM (SELECT ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append((keyCasts[i] == null) ? "u.c" + i : "CAST(u.c" + i + " AS " + keyCasts[i] + ")")
          .append(" AS c").append(i).append(", ");
    }
    sql.append("CAST(sum(u.n) AS bigint) AS n FROM unnest(");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append("CAST(? AS text[]), ");
    }
    sql.append("CAST(? AS bigint[])) AS u(");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append('c').append(i).append(", ");
    }
    sql.append("n)");
    if (withLedger) {
      sql.append(" WHERE EXISTS (SELECT 1 FROM ledger)");
    }
    sql.append(" GROUP BY ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append((i == 0) ? "" : ", ").append(i + 1);
    }
    sql.append(") AS g ORDER BY ");
    for (int i = 0; i < keyColumns.size(); i++) {
      sql.append((i == 0) ? "" : ", ").append("g.c").append(i);
    }
    sql.append(" ON CONFLICT (").append(String.join(", ", keyColumns))
        .append(") DO UPDATE SET ").append(countColumn).append(" = t.").append(countColumn)
        .append(" + EXCLUDED.").append(countColumn);
    return sql.toString();
  }

  /** The array upsert inserts the ledger row in a CTE of its own statement. */
  @Override
  boolean upsertCarriesLedger() {
    return true;
  }

  /** Binds the id, the time and the arrays to {@link #arrayUpsert arrayUpsert(true)}. */
  @Override
  int upsertWithLedger(Connection connection, Jdbc jdbc, String id, long now, List<Row> rows)
      throws SQLException {
    return bindArrays(connection, jdbc, true, id, now, rows);
  }

  /** Binds one array per column to {@link #arrayUpsert arrayUpsert(false)}. */
  @Override
  int upsert(Connection connection, Jdbc jdbc, List<Row> rows) throws SQLException {
    return bindArrays(connection, jdbc, false, null, 0, rows);
  }

  private int bindArrays(Connection connection, Jdbc jdbc, boolean withLedger,
      @Nullable String id, long now, List<Row> rows) throws SQLException {
    int keys = keyColumns.size();
    Object[][] values = new Object[keys][rows.size()];
    Long[] counts = new Long[rows.size()];
    for (int r = 0; r < rows.size(); r++) {
      Row row = rows.get(r);
      for (int i = 0; i < keys; i++) {
        values[i][r] = text(row.key().values[i]);
      }
      counts[r] = row.count();
    }
    Array[] arrays = new Array[keys + 1];
    try (PreparedStatement statement = jdbc.prepare(connection, arrayUpsert(withLedger))) {
      int p = 1;
      if (withLedger) {
        statement.setString(p++, id);
        statement.setLong(p++, now);
      }
      for (int i = 0; i < keys; i++) {
        arrays[i] = connection.createArrayOf("text", values[i]);
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
   * Key values are sent as text cast to the column type: refuses the types whose
   * {@code toString()} is not their SQL text (byte arrays, {@link java.util.Date} and its
   * {@code java.sql} subclasses, arbitrary objects), which would silently write wrong rows.
   */
  @Override
  void checkKeys(List<Row> rows) {
    for (Row row : rows) {
      Object[] values = row.key().values;
      for (int i = 0; i < values.length; i++) {
        Object v = values[i];
        if (!(v instanceof String || v instanceof Number || v instanceof Boolean
            || v instanceof Character || v instanceof java.util.UUID || v instanceof Enum
            || v.getClass().getName().startsWith("java.time."))) {
          throw new IllegalArgumentException("keyMapper returned a " + v.getClass().getName()
              + " for key column " + names.keyColumns().get(i) + " of table " + names.table()
              + ", which the PostgreSQL dialect cannot send: it sends key values as text, so use"
              + " String, a Number, Boolean, Character, UUID, an enum or a java.time value (for"
              + " example LocalDate or Instant instead of java.util.Date, a hex or Base64 String"
              + " instead of byte[])");
        }
      }
    }
  }

  /** The SQL text of a key value that {@link #checkKeys} accepted. */
  private static String text(Object value) {
    if (value instanceof BigDecimal decimal) {
      return decimal.toPlainString();
    }
    return value.toString();
  }

  /** {@code ALTER COLUMN ... TYPE ... USING CAST(...)}. */
  @Override
  String alterColumn(String quotedTable, String column, String type) {
    String quoted = identifiers.quote(column);
    return "ALTER TABLE " + quotedTable + " ALTER COLUMN " + quoted + " TYPE " + type
        + " USING CAST(" + quoted + " AS " + type + ")";
  }

  /** The table, then its index, unqualified: it lives in the table's schema. */
  @Override
  List<String> ledgerTableDdl(String ledgerColumns) {
    // The index lives in its table's schema and cannot be qualified.
    return List.of("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns + ")",
        "CREATE INDEX IF NOT EXISTS " + ledgerIndex + " ON " + ledgerTable + " (" + appliedAt
            + ")");
  }

  /** 5 000 rows: one statement of a handful of arrays. */
  @Override
  int defaultRowsPerStatement() {
    return 5_000;
  }

  /** Arrays: a handful of parameters whatever the row count. */
  @Override
  int maxRowsPerStatement() {
    return Integer.MAX_VALUE;
  }
}
