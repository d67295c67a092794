package dev.statbuffer.jdbc;

import dev.statbuffer.FlushBatch;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Turns a batch's keys into counter rows: each key mapped to its column values, keys that map to
 * the same values merged, rows whose counts cancel out left out, and the rest sorted in one fixed
 * order that every process computes alike (the write order, and the order in which a batch is
 * split when a row is refused). Immutable and thread-safe if the key mapper is.
 *
 * @param <K> the buffer's key type
 */
final class Rows<K> {
  private final String table;
  private final List<String> keyColumns;
  private final String countColumn;
  /** Maps a key to its column values; null with one key column (the key itself). */
  private final @Nullable Function<? super K, Object[]> keyMapper;

  Rows(String table, List<String> keyColumns, String countColumn,
      @Nullable Function<? super K, Object[]> keyMapper) {
    this.table = table;
    this.keyColumns = keyColumns;
    this.countColumn = countColumn;
    this.keyMapper = keyMapper;
  }

  /** One counter row to add to. */
  record Row(KeyValues key, long count) {}

  /** A key's column values, with equality and the fixed write order. */
  static final class KeyValues implements Comparable<KeyValues> {
    final Object[] values;
    private final int hash;

    KeyValues(Object[] values) {
      this.values = values;
      this.hash = Arrays.deepHashCode(values);
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return (o instanceof KeyValues other) && Arrays.deepEquals(values, other.values);
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public int compareTo(KeyValues other) {
      for (int i = 0; i < values.length; i++) {
        int c = compareValues(values[i], other.values[i]);
        if (c != 0) {
          return c;
        }
      }
      // Values that compare equal but are not (BigDecimal 1.0 and 1.00): still one fixed order.
      return Arrays.deepToString(values).compareTo(Arrays.deepToString(other.values));
    }

    @Override
    public String toString() {
      return (values.length == 1) ? String.valueOf(values[0]) : Arrays.deepToString(values);
    }
  }

  /**
   * A total order on column values that every process computes alike. Strings compare
   * case-insensitively first, so that rows that a case-insensitive collation treats as one (MySQL
   * and MariaDB's defaults) are still locked in one order.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static int compareValues(Object a, Object b) {
    if (a instanceof String x && b instanceof String y) {
      int c = x.compareToIgnoreCase(y);
      return (c != 0) ? c : x.compareTo(y);
    }
    if (a.getClass() == b.getClass() && a instanceof Comparable comparable) {
      return comparable.compareTo(b);
    }
    if (a instanceof Number && b instanceof Number) {
      int c = new BigDecimal(a.toString()).compareTo(new BigDecimal(b.toString()));
      if (c != 0) {
        return c;
      }
    }
    int c = a.getClass().getName().compareTo(b.getClass().getName());
    return (c != 0) ? c : a.toString().compareTo(b.toString());
  }

  /**
   * The batch's rows in the fixed order: the same rows in the same order on every call with the
   * same batch, in any process.
   *
   * @throws IllegalArgumentException if the mapper misbehaves or merged counts overflow
   */
  List<Row> of(FlushBatch<K> batch) {
    Map<K, Long> counts = batch.counts();
    Map<KeyValues, long[]> merged = new HashMap<>(counts.size() * 2);
    for (Map.Entry<K, Long> entry : counts.entrySet()) {
      KeyValues key = new KeyValues(valuesOf(entry.getKey()));
      long count = entry.getValue();
      long[] sum = merged.get(key);
      if (sum == null) {
        merged.put(key, new long[] {count});
      } else {
        try {
          sum[0] = Math.addExact(sum[0], count); // two keys the mapper sends to one row
        } catch (ArithmeticException e) {
          throw new IllegalArgumentException("The counts of the keys that map to row "
              + Arrays.toString(key.values) + " (key columns " + keyColumns + ", count column "
              + countColumn + ") of table " + table + " overflow a BIGINT when added; key "
              + entry.getKey() + " brought the sum past the range", e);
        }
      }
    }
    List<Row> rows = new ArrayList<>(merged.size());
    merged.forEach((key, sum) -> {
      if (sum[0] != 0) {
        rows.add(new Row(key, sum[0]));
      }
    });
    rows.sort((x, y) -> x.key.compareTo(y.key));
    return rows;
  }

  /**
   * The batch's keys that map to {@code row}, with their counts, in an order that depends only on
   * the counts and the keys' text: keys that tie have the same count on the same row, so which of
   * them comes first changes nothing that is written.
   */
  List<Map.Entry<K, Long>> keysOf(FlushBatch<K> batch, Row row) {
    List<Map.Entry<K, Long>> keys = new ArrayList<>();
    for (Map.Entry<K, Long> entry : batch.counts().entrySet()) {
      if (row.key.equals(new KeyValues(valuesOf(entry.getKey())))) {
        keys.add(entry);
      }
    }
    keys.sort(Comparator.<Map.Entry<K, Long>>comparingLong(Map.Entry::getValue)
        .thenComparing(e -> String.valueOf(e.getKey())));
    return keys;
  }

  private Object[] valuesOf(K key) {
    if (keyMapper == null) {
      return new Object[] {key};
    }
    Object[] values = keyMapper.apply(key);
    if (values == null || values.length != keyColumns.size()) {
      throw new IllegalArgumentException("keyMapper returned "
          + ((values == null) ? "null" : values.length + " values") + " for key " + key
          + " but table " + table + " has " + keyColumns.size() + " key columns " + keyColumns
          + ": return one value per key column, in that order");
    }
    for (int i = 0; i < values.length; i++) {
      if (values[i] == null) {
        throw new IllegalArgumentException("keyMapper returned null for column "
            + keyColumns.get(i) + " of table " + table + " for key " + key
            + ": key columns are part of the primary key and cannot be null");
      }
    }
    return values.clone();
  }
}
