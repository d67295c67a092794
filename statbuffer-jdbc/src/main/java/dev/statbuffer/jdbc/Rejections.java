package dev.statbuffer.jdbc;

import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.jdbc.Columns.Column;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns the rows a {@link Split} rejected into the report the buffer expects: one
 * {@link RejectedKeysException.Rejection} per key, under the ids the split derived, each with a
 * cause that names the key, its count, the table and the column, the database's message and the
 * fix. Immutable.
 *
 * @param <K> the buffer's key type
 */
final class Rejections<K> {
  private final String table;
  private final List<String> keyColumns;
  private final String countColumn;
  private final Rows<K> rows;

  Rejections(String table, List<String> keyColumns, String countColumn, Rows<K> rows) {
    this.table = table;
    this.keyColumns = keyColumns;
    this.countColumn = countColumn;
    this.rows = rows;
  }

  /** The report for {@code leaves}, not empty, of {@code batch}. */
  RejectedKeysException of(FlushBatch<K> batch, List<Split.Leaf> leaves, Sql sql) {
    List<RejectedKeysException.Rejection> rejections = new ArrayList<>();
    for (Split.Leaf leaf : leaves) {
      List<Map.Entry<K, Long>> keys = rows.keysOf(batch, leaf.row());
      for (int i = 0; i < keys.size(); i++) {
        K key = keys.get(i).getKey();
        String id = Split.rejectedId(leaf.id(), i);
        String row = leaf.row().key().toString();
        String what = "JdbcSink: table " + table + " refused key " + key + " (count "
            + keys.get(i).getValue()
            + (row.equals(String.valueOf(key)) ? "" : ", row " + row)
            + ((keys.size() > 1) ? ", which the row shares: " + leaf.row().count() + " in all" : "")
            + ") for good; its count is dropped under id " + id + ": ";
        rejections.add(new RejectedKeysException.Rejection(id, key,
            cause(what, batch.id(), leaf, sql)));
      }
    }
    return new RejectedKeysException(rejections);
  }

  private SQLException cause(String what, String batchId, Split.Leaf leaf, Sql sql) {
    SQLException store = leaf.cause();
    if (store == null) {
      return new SQLException(what + "an earlier call of batch " + batchId + " found the row"
          + " refused, and claimed it so that it is applied once; the database would accept it"
          + " now. Replay the dropped count (under its id) to apply it");
    }
    Object[] values = leaf.row().key().values;
    Columns columns = sql.checkedColumns(); // the plan the flush wrote with: checked
    if (Errors.isOutOfRange(store)) {
      Column key = columns.outOfRange(values);
      if (key != null) {
        return Errors.explained(what + "its value for key column " + key.name() + " ("
            + key.describe() + ") is outside that column's range. Widen the column ("
            + sql.alterCounterColumn(key.name(), "BIGINT") + ") or map keys to values that fit",
            store);
      }
      return Errors.explained(what + "the new total of count column " + countColumn + " ("
          + columns.count.describe() + ") would leave that column's range. Widen it: "
          + sql.alterCounterColumn(countColumn, columns.widerCountType()), store);
    }
    if (Errors.isTooLong(store)) {
      Column key = columns.tooLong(values);
      if (key != null) {
        int length = Columns.length(values[keyColumns.indexOf(key.name())]);
        return Errors.explained(what + "its value for key column " + key.name() + " has "
            + length + " characters, more than the column (" + key.describe() + ") holds."
            + " Widen it (" + sql.alterCounterColumn(key.name(), "VARCHAR(" + length + ")")
            + ") or shorten the keys", store);
      }
      return Errors.explained(what + "a value is longer than its column holds (key columns "
          + describe(columns.keys) + "). Widen the column or shorten the keys", store);
    }
    if (Errors.isConstraintViolation(store)) {
      return Errors.explained(what + "a constraint of the table refused the row. The sink writes"
          + " only the columns " + String.join(", ", keyColumns) + ", " + countColumn + ": give"
          + " the table's other columns defaults, check its CHECK, UNIQUE and FOREIGN KEY"
          + " constraints, and make sure (" + String.join(", ", keyColumns) + ") is its primary"
          + " key", store);
    }
    return Errors.explained(what + "the row does not fit the table's columns (key columns "
        + describe(columns.keys) + ", count column " + countColumn + " "
        + columns.count.describe() + "). Make the keyMapper return values of the columns' types,"
        + " or change the column types", store);
  }

  private static String describe(List<Column> columns) {
    List<String> described = new ArrayList<>();
    for (Column column : columns) {
      described.add(column.name() + " " + column.describe());
    }
    return String.join(", ", described);
  }
}
