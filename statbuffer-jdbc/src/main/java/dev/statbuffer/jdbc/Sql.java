package dev.statbuffer.jdbc;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The SQL text of one sink in one dialect. Identifiers were validated by the builder (letters,
 * digits and underscores only); they are quoted after folding their case as the database folds
 * unquoted names (see {@link Identifiers}), so they mean what they would mean unquoted but may be
 * keywords such as {@code day}. Immutable apart from a cache of multi-row statements by row count;
 * thread-safe.
 */
final class Sql {
  final JdbcDialect dialect;
  final String table;
  final List<String> keyColumns;
  final String countColumn;
  final String ledgerTable;
  private final String batchId;
  private final String sinkColumn;
  /**
   * The ledger's {@code sink} value of this sink: its counter table name as configured, as an SQL
   * string literal (the builder allows only letters, digits, underscores and one dot).
   */
  private final String sinkLiteral;
  private final String appliedAt;
  private final String ledgerIndex;
  private final Identifiers identifiers;
  /** Per key column, the SQL type a bind parameter is cast to, or null for no cast. */
  private final String[] keyCasts;
  /** The counter table's columns as checked; null in the statements made before the check. */
  final Columns columns;
  private final ConcurrentHashMap<Integer, String> upserts = new ConcurrentHashMap<>();
  private final String pgUpsertWithLedger;
  private final String pgUpsert;

  Sql(JdbcDialect dialect, Identifiers identifiers, String table, List<String> keyColumns,
      String countColumn, String ledgerTable, Columns columns) {
    this.dialect = dialect;
    this.table = identifiers.quote(table);
    List<String> keys = new ArrayList<>();
    for (String key : keyColumns) {
      keys.add(identifiers.quote(key));
    }
    this.keyColumns = List.copyOf(keys);
    this.countColumn = identifiers.quote(countColumn);
    this.ledgerTable = identifiers.quote(ledgerTable);
    this.batchId = identifiers.quote("batch_id");
    this.sinkColumn = identifiers.quote("sink");
    this.sinkLiteral = "'" + table + "'";
    this.appliedAt = identifiers.quote("applied_at");
    this.ledgerIndex = identifiers.quote(simpleName(ledgerTable) + "_applied_at");
    this.identifiers = identifiers;
    this.columns = columns;
    this.keyCasts = (columns == null) ? new String[keyColumns.size()] : columns.casts(dialect);
    this.pgUpsertWithLedger = (dialect == JdbcDialect.POSTGRESQL) ? postgresUpsert(true) : null;
    this.pgUpsert = (dialect == JdbcDialect.POSTGRESQL) ? postgresUpsert(false) : null;
  }

  /** Selects every column the sink writes, and no row: proves that they exist. */
  String probeCounterTable() {
    return "SELECT " + String.join(", ", keyColumns) + ", " + countColumn + " FROM " + table
        + " WHERE 1 = 0";
  }

  /** Selects the ledger's columns, and no row. */
  String probeLedgerTable() {
    return "SELECT " + sinkColumn + ", " + batchId + ", " + appliedAt + " FROM " + ledgerTable
        + " WHERE 1 = 0";
  }

  /** Selects one column, and no row: finds which column is missing. */
  String probeColumn(String column) {
    return "SELECT " + identifiers.quote(column) + " FROM " + table + " WHERE 1 = 0";
  }

  /**
   * PostgreSQL: one statement that upserts rows passed as one array per column,
   * summed per row (after the casts to the column types) and sorted by the database.
   * With the ledger, a CTE first inserts the batch id (ON CONFLICT DO NOTHING, so a duplicate
   * never aborts the transaction); the rows are written only if that insert returned a row, so an
   * update count of 0 means "already applied (or split)". Parameters: [batch id, applied at,] one
   * text[] per key column, bigint[] counts.
   */
  String postgresUpsert(boolean withLedger) {
    if (withLedger && pgUpsertWithLedger != null) {
      return pgUpsertWithLedger;
    } else if (!withLedger && pgUpsert != null) {
      return pgUpsert;
    }
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

  /**
   * Every dialect but PostgreSQL: records the batch id; an update count of 0 means the id was
   * already there. Parameters: batch id, applied at.
   */
  String ledgerInsert() {
    switch (dialect) {
      case MARIADB:
      case MYSQL:
        return "INSERT IGNORE INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", "
            + appliedAt + ") VALUES (" + sinkLiteral + ", ?, ?)";
      case H2:
        return "MERGE INTO " + ledgerTable + " AS l USING (VALUES (CAST(? AS VARCHAR(64)),"
            + " CAST(? AS BIGINT))) AS s(i, a) ON l." + sinkColumn + " = " + sinkLiteral
            + " AND l." + batchId + " = s.i WHEN NOT MATCHED THEN INSERT (" + sinkColumn + ", "
            + batchId + ", " + appliedAt + ") VALUES (" + sinkLiteral + ", s.i, s.a)";
      case SQLITE:
      case POSTGRESQL:
        return "INSERT INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", "
            + appliedAt + ") VALUES (" + sinkLiteral + ", ?, ?) ON CONFLICT (" + sinkColumn
            + ", " + batchId + ") DO NOTHING";
      default:
        throw new IllegalStateException("unknown dialect " + dialect);
    }
  }

  /**
   * Selects the batch ids, among {@code count} given ones, that the ledger holds for this sink.
   * Parameters: the ids.
   */
  String ledgerFind(int count) {
    return "SELECT " + batchId + " FROM " + ledgerTable + " WHERE " + sinkColumn + " = "
        + sinkLiteral + " AND " + batchId + " IN (" + "?, ".repeat(count - 1) + "?)";
  }

  /**
   * H2: inserts or updates this sink's lock row in the ledger (batch id {@code ""}, which no batch
   * has, applied "never" so that pruning keeps it), taking its row lock until the transaction
   * ends.
   */
  String h2LockRow() {
    return "MERGE INTO " + ledgerTable + " (" + sinkColumn + ", " + batchId + ", " + appliedAt
        + ") KEY (" + sinkColumn + ", " + batchId + ") VALUES (" + sinkLiteral + ", '', "
        + Long.MAX_VALUE + ")";
  }

  /**
   * Every dialect but PostgreSQL: an additive upsert of {@code rows} rows. Parameters: per row,
   * the key columns then the count.
   */
  String upsert(int rows) {
    return upserts.computeIfAbsent(rows, this::buildUpsert);
  }

  private String buildUpsert(int rows) {
    StringBuilder sql = new StringBuilder(64 + rows * 4 * (keyColumns.size() + 1));
    switch (dialect) {
      case MARIADB:
      case MYSQL:
        sql.append("INSERT INTO ").append(table).append(" (").append(columnList())
            .append(") VALUES ");
        appendPlainRows(sql, rows);
        sql.append(" ON DUPLICATE KEY UPDATE ").append(countColumn).append(" = ")
            .append(countColumn).append(" + VALUES(").append(countColumn).append(')');
        return sql.toString();
      case SQLITE:
      case POSTGRESQL:
        sql.append("INSERT INTO ").append(table).append(" (").append(columnList())
            .append(") VALUES ");
        appendPlainRows(sql, rows);
        sql.append(" ON CONFLICT (").append(String.join(", ", keyColumns))
            .append(") DO UPDATE SET ").append(countColumn).append(" = ").append(countColumn)
            .append(" + excluded.").append(countColumn);
        return sql.toString();
      case H2:
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
      default:
        throw new IllegalStateException("unknown dialect " + dialect);
    }
  }

  private void appendPlainRows(StringBuilder sql, int rows) {
    String row = "(" + "?, ".repeat(keyColumns.size()) + "?)";
    for (int r = 0; r < rows; r++) {
      if (r > 0) {
        sql.append(", ");
      }
      sql.append(row);
    }
  }

  /** The statement that widens the ledger's {@code column} to {@code width} characters. */
  String widenLedgerColumn(String column, int width) {
    return alterColumn(ledgerTable, identifiers.quote(column), "VARCHAR(" + width + ")");
  }

  /**
   * The statement that gives a column of the counter table {@code type} (NOT NULL), or for
   * SQLite, which cannot change a column's type, what to do instead.
   */
  String alterCounterColumn(String column, String type) {
    if (dialect == JdbcDialect.SQLITE) {
      return "SQLite cannot change a column's type: create a new table with " + column + " "
          + type + " NOT NULL, copy the rows into it and rename it";
    }
    return alterColumn(table, identifiers.quote(column), type);
  }

  private String alterColumn(String quotedTable, String quotedColumn, String type) {
    switch (dialect) {
      case MARIADB:
      case MYSQL:
        return "ALTER TABLE " + quotedTable + " MODIFY " + quotedColumn + " " + type + " NOT NULL";
      case H2:
        return "ALTER TABLE " + quotedTable + " ALTER COLUMN " + quotedColumn
            + " SET DATA TYPE " + type;
      default:
        return "ALTER TABLE " + quotedTable + " ALTER COLUMN " + quotedColumn + " TYPE " + type
            + " USING CAST(" + quotedColumn + " AS " + type + ")";
    }
  }

  /**
   * Deletes this sink's ledger rows applied before the parameter (epoch milliseconds): sinks that
   * share a ledger prune their own rows, each by its own retention.
   */
  String pruneLedger() {
    return "DELETE FROM " + ledgerTable + " WHERE " + sinkColumn + " = " + sinkLiteral + " AND "
        + appliedAt + " < ?";
  }

  /**
   * The single-row additive upsert a user would write by hand, with no ledger: parameters are the
   * key columns then the count.
   */
  String singleRowUpsert() {
    return (dialect == JdbcDialect.POSTGRESQL)
        ? "INSERT INTO " + table + " AS t (" + columnList() + ") VALUES ("
            + "?, ".repeat(keyColumns.size()) + "?) ON CONFLICT (" + String.join(", ", keyColumns)
            + ") DO UPDATE SET " + countColumn + " = t." + countColumn + " + EXCLUDED."
            + countColumn
        : upsert(1);
  }

  /** The DDL that creates the counter table and, when {@code withLedger}, the ledger. */
  List<String> createTables(List<String> keyTypes, boolean withLedger) {
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
    if (!withLedger) {
      return ddl;
    }
    // sink: the counter table the batch was applied to, so that sinks sharing one ledger (or
    // fed the same batch) never take each other's batch ids for their own.
    String ledgerColumns = sinkColumn + " VARCHAR(" + JdbcSink.MAX_TABLE_NAME + ") NOT NULL, "
        + batchId + " VARCHAR(64) NOT NULL, " + appliedAt + " BIGINT NOT NULL, PRIMARY KEY ("
        + sinkColumn + ", " + batchId + ")";
    String simpleLedger = simpleName(ledgerTable);
    String index = ledgerIndex;
    switch (dialect) {
      case MARIADB:
      case MYSQL:
        // MySQL has no CREATE INDEX IF NOT EXISTS: the index is part of the table.
        ddl.add("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns
            + ", INDEX " + index + " (" + appliedAt + "))");
        break;
      case POSTGRESQL:
        // The index lives in its table's schema and cannot be qualified.
        ddl.add("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns + ")");
        ddl.add("CREATE INDEX IF NOT EXISTS " + index + " ON " + ledgerTable + " (" + appliedAt + ")");
        break;
      case H2:
        ddl.add("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns + ")");
        ddl.add("CREATE INDEX IF NOT EXISTS " + schemaPrefix(ledgerTable) + index + " ON "
            + ledgerTable + " (" + appliedAt + ")");
        break;
      case SQLITE:
        // SQLite qualifies the index name and leaves the table unqualified.
        ddl.add("CREATE TABLE IF NOT EXISTS " + ledgerTable + " (" + ledgerColumns + ")");
        ddl.add("CREATE INDEX IF NOT EXISTS " + schemaPrefix(ledgerTable) + index + " ON "
            + simpleLedger + " (" + appliedAt + ")");
        break;
      default:
        throw new IllegalStateException("unknown dialect " + dialect);
    }
    return ddl;
  }

  /** The ledger's DDL, for error messages. */
  List<String> ledgerDdl() {
    List<String> ddl = createTables(List.copyOf(java.util.Collections.nCopies(keyColumns.size(),
        "VARCHAR(255)")), true);
    return ddl.subList(1, ddl.size());
  }

  /** The counter table's DDL with the given key types, for error messages. */
  String counterTableDdl(List<String> keyTypes) {
    return createTables(keyTypes, false).get(0);
  }

  private String columnList() {
    return String.join(", ", keyColumns) + ", " + countColumn;
  }

  private static String simpleName(String qualified) {
    int dot = qualified.lastIndexOf('.');
    return (dot < 0) ? qualified : qualified.substring(dot + 1);
  }

  private static String schemaPrefix(String qualified) {
    int dot = qualified.lastIndexOf('.');
    return (dot < 0) ? "" : qualified.substring(0, dot + 1);
  }
}
