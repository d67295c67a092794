package dev.statbuffer.jdbc;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The counter table's columns as the database describes them (read once, when the sink checks the
 * table): their types (which the dialects cast key parameters to), whether the count column can
 * hold counts, and which column a refused row does not fit. Immutable.
 */
final class Columns {
  /** One column: its name as configured and its type as the driver reports it. */
  record Column(String name, int jdbcType, String typeName, int precision, int scale) {
    /** The type as one would write it: {@code VARCHAR(3)}, {@code int4}, {@code DECIMAL(10,2)}. */
    String describe() {
      if (isText() && precision > 0 && precision < Integer.MAX_VALUE && !typeName.contains("(")) {
        return typeName + "(" + precision + ")";
      }
      if ((jdbcType == Types.NUMERIC || jdbcType == Types.DECIMAL) && precision > 0) {
        return typeName + "(" + precision + "," + Math.max(0, scale) + ")";
      }
      return typeName;
    }

    boolean isText() {
      return jdbcType == Types.CHAR || jdbcType == Types.VARCHAR || jdbcType == Types.NCHAR
          || jdbcType == Types.NVARCHAR || jdbcType == Types.LONGVARCHAR
          || jdbcType == Types.LONGNVARCHAR || jdbcType == Types.CLOB;
    }

    /** Whether the column holds integers only, exactly: integer types and decimals of scale 0. */
    boolean isInteger() {
      return switch (jdbcType) {
        case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> true;
        // H2 reports DECFLOAT (a floating decimal) as NUMERIC of scale 0.
        case Types.NUMERIC, Types.DECIMAL ->
            scale == 0 && !typeName.toUpperCase(Locale.ROOT).contains("FLOAT");
        default -> false;
      };
    }

    /** The smallest and largest value of an integer column, or null if unknown or unbounded. */
    BigInteger @Nullable [] range() {
      String upper = typeName.toUpperCase(Locale.ROOT);
      int bits;
      switch (jdbcType) {
        case Types.TINYINT -> bits = 8;
        case Types.SMALLINT -> bits = 16;
        case Types.INTEGER -> bits = upper.startsWith("MEDIUMINT") ? 24 : 32;
        case Types.BIGINT -> bits = 64;
        case Types.NUMERIC, Types.DECIMAL -> {
          if (scale != 0 || precision <= 0 || precision > 1000) {
            return null;
          }
          BigInteger limit = BigInteger.TEN.pow(precision).subtract(BigInteger.ONE);
          return new BigInteger[] {limit.negate(), limit};
        }
        default -> {
          return null;
        }
      }
      if (upper.contains("UNSIGNED")) {
        return new BigInteger[] {BigInteger.ZERO, BigInteger.ONE.shiftLeft(bits)
            .subtract(BigInteger.ONE)};
      }
      return new BigInteger[] {BigInteger.ONE.shiftLeft(bits - 1).negate(),
          BigInteger.ONE.shiftLeft(bits - 1).subtract(BigInteger.ONE)};
    }
  }

  final List<Column> keys;
  final Column count;

  private Columns(List<Column> keys, Column count) {
    this.keys = keys;
    this.count = count;
  }

  /**
   * Reads the columns of the counter table's probe, which selects the key columns then the count
   * column.
   */
  static Columns read(ResultSetMetaData meta, List<String> keyColumns, String countColumn)
      throws SQLException {
    List<Column> keys = new ArrayList<>();
    for (int i = 0; i < keyColumns.size(); i++) {
      keys.add(column(meta, i + 1, keyColumns.get(i)));
    }
    return new Columns(List.copyOf(keys), column(meta, keyColumns.size() + 1, countColumn));
  }

  private static Column column(ResultSetMetaData meta, int index, String name)
      throws SQLException {
    String type = meta.getColumnTypeName(index);
    return new Column(name, meta.getColumnType(index), (type == null) ? "" : type,
        meta.getPrecision(index), meta.getScale(index));
  }

  /**
   * Refuses a count column that does not hold integers exactly (text, floating point, decimals
   * with a fractional part): MariaDB would store a sum in a DOUBLE or TEXT column with lost
   * precision and report success, PostgreSQL fails every batch. Integer types narrower than
   * BIGINT are accepted; a total past their range is a refused key.
   */
  void checkCount(String table, Sql sql) throws SQLException {
    if (count.isInteger()) {
      return;
    }
    throw new SQLException("JdbcSink's count column " + count.name + " of table " + table
        + " is of type " + count.describe() + ", which does not hold integer counts exactly (sums"
        + " would lose precision or fail). Make it BIGINT: " + sql.alterCounterColumn(count.name,
            "BIGINT"));
  }

  /** The text key column that {@code values} holds more characters for than it fits, or null. */
  @Nullable Column tooLong(Object[] values) {
    for (int i = 0; i < keys.size(); i++) {
      Column key = keys.get(i);
      if (key.isText() && key.precision > 0 && length(values[i]) > key.precision) {
        return key;
      }
    }
    return null;
  }

  /** The integer key column whose value in {@code values} is outside its range, or null. */
  @Nullable Column outOfRange(Object[] values) {
    for (int i = 0; i < keys.size(); i++) {
      BigInteger[] range = keys.get(i).range();
      if (range == null) {
        continue;
      }
      try {
        BigInteger value = new BigDecimal(String.valueOf(values[i]).trim()).toBigInteger();
        if (value.compareTo(range[0]) < 0 || value.compareTo(range[1]) > 0) {
          return keys.get(i);
        }
      } catch (NumberFormatException notANumber) {
        // not this column's problem
      }
    }
    return null;
  }

  /** Characters of a key value as the sink sends it. */
  static int length(Object value) {
    String text = String.valueOf(value);
    return text.codePointCount(0, text.length());
  }

  /** A type that holds the totals this count column could not: BIGINT, or a wider decimal. */
  String widerCountType() {
    BigInteger[] range = count.range();
    boolean bigint = range != null && range[1].bitLength() >= 63 && range[0].signum() < 0;
    return bigint ? "NUMERIC(38, 0)" : "BIGINT";
  }
}
