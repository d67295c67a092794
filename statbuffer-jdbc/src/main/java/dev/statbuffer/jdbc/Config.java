package dev.statbuffer.jdbc;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The options of one {@link JdbcSink}, frozen when the builder builds it: the builder checks each
 * option as it is set (with the checks here), this record checks that they fit together and
 * derives the defaults that depend on other options, and the sink's parts read it. Immutable, so
 * thread-safe if the key mapper and the clock are.
 *
 * @param dataSource where connections come from
 * @param table the counter table, optionally qualified by a schema
 * @param keyColumns the key columns, in key mapper order
 * @param countColumn the count column
 * @param keyMapper maps a key to its key column values; null with one key column (the key itself)
 * @param dialect the dialect set on the builder, or null to detect it
 * @param exactlyOnce whether batch ids are recorded in the ledger
 * @param ledgerTable the ledger table; derived from the counter table when the builder has none
 *     (see {@link #of})
 * @param ledgerRetention how long a batch id stays in the ledger
 * @param ledgerPruneInterval how often the sink prunes the ledger
 * @param maxRowsPerStatement rows per upsert statement, or 0 for the dialect's default
 * @param maxRowsPerTransaction the most rows one transaction writes
 * @param keyColumnTypes the key columns' SQL types for {@code createTables}; derived when unset
 *     (see {@link #of})
 * @param queryTimeout the query timeout, in whole seconds
 * @param clock the wall clock in epoch milliseconds, for the ledger's timestamps
 * @param <K> the buffer's key type
 */
record Config<K>(DataSource dataSource, String table, List<String> keyColumns, String countColumn,
    @Nullable Function<? super K, Object[]> keyMapper, @Nullable JdbcDialect dialect,
    boolean exactlyOnce,
    String ledgerTable, Duration ledgerRetention, Duration ledgerPruneInterval,
    int maxRowsPerStatement, int maxRowsPerTransaction, List<String> keyColumnTypes,
    Duration queryTimeout, LongSupplier clock) {

  /** The default of the builder's {@code maxRowsPerTransaction}. */
  static final int DEFAULT_ROWS_PER_TRANSACTION = 100;
  /** The default of the builder's {@code ledgerRetention}. */
  static final Duration DEFAULT_LEDGER_RETENTION = Duration.ofDays(7);
  /** The default of the builder's {@code ledgerPruneInterval}. */
  static final Duration DEFAULT_PRUNE_INTERVAL = Duration.ofMinutes(10);
  /** The default of the builder's {@code queryTimeout}. */
  static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(30);
  /** The type of every key column in {@code createTables} unless the builder says otherwise. */
  static final String DEFAULT_KEY_TYPE = "VARCHAR(255)";

  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern TABLE = Pattern.compile(
      "[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
  private static final Pattern SQL_TYPE =
      Pattern.compile("[A-Za-z][A-Za-z0-9_ ]*(\\([0-9, ]+\\))?");

  /**
   * The options as the builder holds them, where an option never set is null: checks that the
   * required ones are set, derives the defaults that depend on other options (the ledger table and
   * the key column types), and checks that they fit together.
   *
   * @return the options
   * @throws IllegalStateException if a required option is missing or options conflict
   */
  static <K> Config<K> of(DataSource dataSource, @Nullable String table,
      @Nullable List<String> keyColumns, @Nullable String countColumn,
      @Nullable Function<? super K, Object[]> keyMapper, @Nullable JdbcDialect dialect,
      boolean exactlyOnce, @Nullable String ledgerTable, Duration ledgerRetention,
      Duration ledgerPruneInterval, int maxRowsPerStatement, int maxRowsPerTransaction,
      @Nullable List<String> keyColumnTypes, Duration queryTimeout, LongSupplier clock) {
    if (table == null) {
      throw new IllegalStateException("table is required: call table(\"...\")");
    }
    if (keyColumns == null) {
      throw new IllegalStateException("keyColumns is required: call keyColumns(\"...\")");
    }
    if (countColumn == null) {
      throw new IllegalStateException("countColumn is required: call countColumn(\"...\")");
    }
    // The derived defaults always pass the constructor's checks: the ledger's name differs from
    // the table's, and there is one type per key column.
    return new Config<>(dataSource, table, keyColumns, countColumn, keyMapper, dialect,
        exactlyOnce, (ledgerTable == null) ? table + "_ledger" : ledgerTable, ledgerRetention,
        ledgerPruneInterval, maxRowsPerStatement, maxRowsPerTransaction,
        (keyColumnTypes == null)
            ? Collections.nCopies(keyColumns.size(), DEFAULT_KEY_TYPE) : keyColumnTypes,
        queryTimeout, clock);
  }

  /**
   * Checks that the options fit together.
   *
   * @throws IllegalStateException if options conflict
   */
  Config {
    for (String key : keyColumns) {
      if (key.equalsIgnoreCase(countColumn)) {
        throw new IllegalStateException("countColumn " + countColumn + " is also a key column");
      }
    }
    if (keyMapper == null && keyColumns.size() > 1) {
      throw new IllegalStateException("keyMapper is required with " + keyColumns.size()
          + " key columns " + keyColumns + ": map each key to one value per column");
    }
    if (keyColumnTypes.size() != keyColumns.size()) {
      throw new IllegalStateException("keyColumnTypes has " + keyColumnTypes.size()
          + " types but keyColumns has " + keyColumns.size() + " columns");
    }
    if (exactlyOnce && ledgerTable.equalsIgnoreCase(table)) {
      throw new IllegalStateException("ledgerTable must differ from table: " + table);
    }
  }

  /**
   * The names of the tables and columns, for the statements.
   *
   * @return the names as configured
   */
  Sql.Names names() {
    return new Sql.Names(table, keyColumns, countColumn, ledgerTable);
  }

  /**
   * The query timeout as JDBC takes it.
   *
   * @return whole seconds, 0 for none
   */
  int queryTimeoutSeconds() {
    return (int) queryTimeout.toSeconds();
  }

  // ---------------------------------------------------------------------------------------------
  // The builder's checks of single options
  // ---------------------------------------------------------------------------------------------

  /**
   * A counter or ledger table name: an identifier, optionally qualified by a schema.
   *
   * @param option the option, for the message
   * @param name the name
   * @return the name
   * @throws NullPointerException naming the option if {@code name} is null
   * @throws IllegalArgumentException if it is not an identifier
   */
  static String tableName(String option, String name) {
    requireNonNull(name, option);
    if (!TABLE.matcher(name).matches()) {
      throw new IllegalArgumentException(option + " must be an SQL identifier (letters, digits"
          + " and underscores, optionally schema.table): " + name);
    }
    return name;
  }

  /**
   * The counter table's name: a table name that fits the ledger's {@code sink} column.
   *
   * @param name the name
   * @return the name
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if it is not an identifier or too long
   */
  static String counterTableName(String name) {
    tableName("table", name);
    if (name.length() > Sql.MAX_TABLE_NAME) {
      throw new IllegalArgumentException("table must be at most " + Sql.MAX_TABLE_NAME
          + " characters long (the width of the ledger's sink column): " + name);
    }
    return name;
  }

  /**
   * A column name: an identifier.
   *
   * @param option the option, for the message
   * @param name the name
   * @return the name
   * @throws NullPointerException naming the option if {@code name} is null
   * @throws IllegalArgumentException if it is not an identifier
   */
  static String columnName(String option, String name) {
    requireNonNull(name, option);
    if (!IDENTIFIER.matcher(name).matches()) {
      throw new IllegalArgumentException(option + " must be an SQL identifier (letters, digits"
          + " and underscores): " + name);
    }
    return name;
  }

  /**
   * The key columns: at least one, each an identifier, none repeated (ignoring case).
   *
   * @param keyColumns the names
   * @return an immutable copy
   * @throws NullPointerException if the array or a name is null
   * @throws IllegalArgumentException if it is empty, repeats a name, or a name is not one
   */
  static List<String> keyColumns(String... keyColumns) {
    requireNonNull(keyColumns, "keyColumns");
    if (keyColumns.length == 0) {
      throw new IllegalArgumentException("keyColumns must name at least one column");
    }
    List<String> names = new ArrayList<>();
    for (String column : keyColumns) {
      String name = columnName("keyColumns", column);
      for (String seen : names) {
        if (seen.equalsIgnoreCase(name)) {
          throw new IllegalArgumentException("keyColumns must not repeat a column: " + name);
        }
      }
      names.add(name);
    }
    return List.copyOf(names);
  }

  /**
   * The key column types: plain SQL type names, optionally with a size.
   *
   * @param keyColumnTypes the types
   * @return an immutable copy
   * @throws NullPointerException if the array or a type is null
   * @throws IllegalArgumentException if a type is not a plain SQL type name
   */
  static List<String> keyColumnTypes(String... keyColumnTypes) {
    requireNonNull(keyColumnTypes, "keyColumnTypes");
    List<String> types = new ArrayList<>();
    for (String type : keyColumnTypes) {
      requireNonNull(type, "keyColumnTypes");
      if (!SQL_TYPE.matcher(type).matches()) {
        throw new IllegalArgumentException("keyColumnTypes must be SQL type names such as"
            + " VARCHAR(255) or BIGINT: " + type);
      }
      types.add(type);
    }
    return List.copyOf(types);
  }

  /**
   * A positive duration.
   *
   * @param option the option, for the messages
   * @param duration the duration
   * @return the duration
   * @throws NullPointerException naming the option if {@code duration} is null
   * @throws IllegalArgumentException if it is zero or negative
   */
  static Duration positive(String option, Duration duration) {
    requireNonNull(duration, option);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(option + " must be positive: " + duration);
    }
    return duration;
  }

  /**
   * A duration that is not negative.
   *
   * @param option the option, for the messages
   * @param duration the duration
   * @return the duration
   * @throws NullPointerException naming the option if {@code duration} is null
   * @throws IllegalArgumentException if it is negative
   */
  static Duration notNegative(String option, Duration duration) {
    requireNonNull(duration, option);
    if (duration.isNegative()) {
      throw new IllegalArgumentException(option + " must not be negative: " + duration);
    }
    return duration;
  }

  /**
   * A query timeout, rounded up to whole seconds (JDBC counts it in an {@code int} of seconds).
   *
   * @param queryTimeout the timeout, not negative
   * @return the whole seconds, as a duration
   * @throws NullPointerException if {@code queryTimeout} is null
   * @throws IllegalArgumentException if it is negative or too long
   */
  static Duration queryTimeout(Duration queryTimeout) {
    notNegative("queryTimeout", queryTimeout);
    long seconds = queryTimeout.getSeconds() + ((queryTimeout.getNano() > 0) ? 1 : 0);
    if (seconds > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("queryTimeout must be at most " + Integer.MAX_VALUE
          + " seconds (JDBC counts it in an int): " + queryTimeout);
    }
    return Duration.ofSeconds(seconds);
  }

  /**
   * A count of at least 1.
   *
   * @param option the option, for the message
   * @param value the count
   * @return the count
   * @throws IllegalArgumentException if it is less than 1
   */
  static int atLeastOne(String option, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(option + " must be at least 1: " + value);
    }
    return value;
  }
}
