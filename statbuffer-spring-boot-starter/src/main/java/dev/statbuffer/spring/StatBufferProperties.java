package dev.statbuffer.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code statbuffer.*} properties: the declared buffers, the health threshold and the
 * shutdown phase.
 *
 * <pre>
 * statbuffer:
 *   buffers:
 *     page-views:
 *       interval: 5s
 *       sink:
 *         type: jdbc
 *         table: page_views
 *         key-columns: page
 *         count-column: views
 *         create-tables: true
 * </pre>
 *
 * <p>Durations take Spring Boot's forms ({@code 500ms}, {@code 5s}, {@code 1m}, ISO-8601
 * {@code PT5S}); a bare number means milliseconds. An option left out keeps the default shown,
 * which is the core builder's default.
 *
 * <p>Not thread-safe: a mutable bean that Spring binds once at start-up and that is only read
 * afterwards.
 */
@ConfigurationProperties("statbuffer")
public class StatBufferProperties {

  /**
   * The buffers, by name. Each becomes a StatBuffer bean with String keys, named after the
   * buffer: inject it by that name (a Qualifier annotation with the buffer's name).
   */
  private Map<String, Buffer> buffers = new LinkedHashMap<>();

  /** The actuator health indicator. */
  private final Health health = new Health();

  /** When the buffers are closed at shutdown. */
  private final Lifecycle lifecycle = new Lifecycle();

  /** Creates the properties with every option at its default. */
  public StatBufferProperties() {}

  /**
   * The buffers, by name.
   *
   * @return the live map (bound by Spring)
   */
  public Map<String, Buffer> getBuffers() {
    return buffers;
  }

  /**
   * Sets the buffers.
   *
   * @param buffers the buffers, by name
   */
  public void setBuffers(Map<String, Buffer> buffers) {
    this.buffers = buffers;
  }

  /**
   * The health indicator's options.
   *
   * @return the options
   */
  public Health getHealth() {
    return health;
  }

  /**
   * The shutdown options.
   *
   * @return the options
   */
  public Lifecycle getLifecycle() {
    return lifecycle;
  }

  /** One buffer: the options of {@code StatBuffer.Builder} and its sink. Not thread-safe. */
  public static class Buffer {

    /**
     * How long after a key's first increment its count is handed to the sink. At least 0.
     */
    private Duration interval = Duration.ofSeconds(5);

    /**
     * The most random extra delay added to each window, so that instances do not flush in step.
     * At least 0.
     */
    private Duration jitter = Duration.ZERO;

    /**
     * The delay before the first retry of a failed flush; it doubles per retry up to
     * max-backoff. At least 0.
     */
    private Duration backoff = Duration.ofSeconds(1);

    /** The longest delay between two retries. At least 0. */
    private Duration maxBackoff = Duration.ofSeconds(30);

    /**
     * Failed flush calls a count survives before it is dropped (logged and counted). At least 1;
     * unset means unlimited.
     */
    private @Nullable Integer maxAttempts;

    /**
     * The most pending windows; near it the oldest are handed over early, at it new keys are
     * refused. At least 1; unset means unlimited.
     */
    private @Nullable Long maxKeys;

    /** The most keys in one batch handed to the sink. At least 1. */
    private int maxBatchSize = 1000;

    /**
     * How long closing the buffer at shutdown keeps delivering before it drops what is left. At
     * least 0.
     */
    private Duration shutdownTimeout = Duration.ofSeconds(30);

    /**
     * How long one call of the sink may run before it is abandoned and retried on a fresh call.
     * At least 0; 0 for no limit.
     */
    private Duration flushTimeout = Duration.ofSeconds(30);

    /** Where the counts go. */
    private final Sink sink = new Sink();

    /** Creates a buffer declaration with the defaults. */
    public Buffer() {}

    /**
     * The interval.
     *
     * @return the interval
     */
    public Duration getInterval() {
      return interval;
    }

    /**
     * Sets the interval.
     *
     * @param interval the interval
     */
    public void setInterval(Duration interval) {
      this.interval = interval;
    }

    /**
     * The jitter.
     *
     * @return the jitter
     */
    public Duration getJitter() {
      return jitter;
    }

    /**
     * Sets the jitter.
     *
     * @param jitter the jitter
     */
    public void setJitter(Duration jitter) {
      this.jitter = jitter;
    }

    /**
     * The first retry delay.
     *
     * @return the backoff
     */
    public Duration getBackoff() {
      return backoff;
    }

    /**
     * Sets the first retry delay.
     *
     * @param backoff the backoff
     */
    public void setBackoff(Duration backoff) {
      this.backoff = backoff;
    }

    /**
     * The longest retry delay.
     *
     * @return the max backoff
     */
    public Duration getMaxBackoff() {
      return maxBackoff;
    }

    /**
     * Sets the longest retry delay.
     *
     * @param maxBackoff the max backoff
     */
    public void setMaxBackoff(Duration maxBackoff) {
      this.maxBackoff = maxBackoff;
    }

    /**
     * The failed calls a count survives, or null for unlimited.
     *
     * @return the max attempts, or null
     */
    public @Nullable Integer getMaxAttempts() {
      return maxAttempts;
    }

    /**
     * Sets the failed calls a count survives.
     *
     * @param maxAttempts the max attempts, or null for unlimited
     */
    public void setMaxAttempts(@Nullable Integer maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    /**
     * The most pending windows, or null for unlimited.
     *
     * @return the max keys, or null
     */
    public @Nullable Long getMaxKeys() {
      return maxKeys;
    }

    /**
     * Sets the most pending windows.
     *
     * @param maxKeys the max keys, or null for unlimited
     */
    public void setMaxKeys(@Nullable Long maxKeys) {
      this.maxKeys = maxKeys;
    }

    /**
     * The most keys per batch.
     *
     * @return the max batch size
     */
    public int getMaxBatchSize() {
      return maxBatchSize;
    }

    /**
     * Sets the most keys per batch.
     *
     * @param maxBatchSize the max batch size
     */
    public void setMaxBatchSize(int maxBatchSize) {
      this.maxBatchSize = maxBatchSize;
    }

    /**
     * How long closing keeps delivering.
     *
     * @return the shutdown timeout
     */
    public Duration getShutdownTimeout() {
      return shutdownTimeout;
    }

    /**
     * Sets how long closing keeps delivering.
     *
     * @param shutdownTimeout the shutdown timeout
     */
    public void setShutdownTimeout(Duration shutdownTimeout) {
      this.shutdownTimeout = shutdownTimeout;
    }

    /**
     * How long one call of the sink may run.
     *
     * @return the flush timeout
     */
    public Duration getFlushTimeout() {
      return flushTimeout;
    }

    /**
     * Sets how long one call of the sink may run; 0 for no limit.
     *
     * @param flushTimeout the flush timeout
     */
    public void setFlushTimeout(Duration flushTimeout) {
      this.flushTimeout = flushTimeout;
    }

    /**
     * The sink.
     *
     * @return the sink declaration
     */
    public Sink getSink() {
      return sink;
    }
  }

  /**
   * Where a buffer's counts go: {@code type} picks the sink, and only that type's options may be
   * set. Not thread-safe.
   */
  public static class Sink {

    /**
     * The sink: jdbc (the application's DataSource), redis (its Lettuce connection factory) or
     * handler (a FlushHandler or BatchFlushHandler bean). Required.
     */
    private @Nullable SinkType type;

    /** jdbc: the counter table, optionally schema-qualified (stats.page_views). */
    private @Nullable String table;

    /** jdbc: the key column, the table's primary key. Exactly one: keys are Strings. */
    private List<String> keyColumns = new ArrayList<>();

    /** jdbc: the BIGINT column the counts are added to. */
    private @Nullable String countColumn;

    /** jdbc: the key column's SQL type for create-tables (default VARCHAR(255)). */
    private List<String> keyColumnTypes = new ArrayList<>();

    /**
     * jdbc: create the counter table and its ledger (TABLE_ledger) at start-up if missing.
     * Without it, start-up fails when either is missing.
     */
    private boolean createTables;

    /**
     * redis: string counters; a key's counter is the Redis key key-prefix + key (INCRBY).
     * Set this or hash.
     */
    private @Nullable String keyPrefix;

    /** redis: one hash whose fields are the keys (HINCRBY). Set this or key-prefix. */
    private @Nullable String hash;

    /** redis: a TTL for each counter key (the whole hash), refreshed on every write. */
    private @Nullable Duration expireAfter;

    /** handler: the name of a FlushHandler or BatchFlushHandler bean taking String keys. */
    private @Nullable String handler;

    /** Creates a sink declaration with nothing set. */
    public Sink() {}

    /**
     * The sink type.
     *
     * @return the type, or null when not set
     */
    public @Nullable SinkType getType() {
      return type;
    }

    /**
     * Sets the sink type.
     *
     * @param type the type
     */
    public void setType(@Nullable SinkType type) {
      this.type = type;
    }

    /**
     * The counter table (jdbc).
     *
     * @return the table, or null
     */
    public @Nullable String getTable() {
      return table;
    }

    /**
     * Sets the counter table (jdbc).
     *
     * @param table the table
     */
    public void setTable(@Nullable String table) {
      this.table = table;
    }

    /**
     * The key columns (jdbc).
     *
     * @return the live list
     */
    public List<String> getKeyColumns() {
      return keyColumns;
    }

    /**
     * Sets the key columns (jdbc).
     *
     * @param keyColumns the columns
     */
    public void setKeyColumns(List<String> keyColumns) {
      this.keyColumns = keyColumns;
    }

    /**
     * The count column (jdbc).
     *
     * @return the column, or null
     */
    public @Nullable String getCountColumn() {
      return countColumn;
    }

    /**
     * Sets the count column (jdbc).
     *
     * @param countColumn the column
     */
    public void setCountColumn(@Nullable String countColumn) {
      this.countColumn = countColumn;
    }

    /**
     * The key column types for create-tables (jdbc).
     *
     * @return the live list
     */
    public List<String> getKeyColumnTypes() {
      return keyColumnTypes;
    }

    /**
     * Sets the key column types (jdbc).
     *
     * @param keyColumnTypes the SQL types
     */
    public void setKeyColumnTypes(List<String> keyColumnTypes) {
      this.keyColumnTypes = keyColumnTypes;
    }

    /**
     * Whether the tables are created at start-up (jdbc).
     *
     * @return true to create them
     */
    public boolean isCreateTables() {
      return createTables;
    }

    /**
     * Sets whether the tables are created at start-up (jdbc).
     *
     * @param createTables true to create them
     */
    public void setCreateTables(boolean createTables) {
      this.createTables = createTables;
    }

    /**
     * The Redis key prefix of string counters (redis).
     *
     * @return the prefix, or null
     */
    public @Nullable String getKeyPrefix() {
      return keyPrefix;
    }

    /**
     * Sets the Redis key prefix of string counters (redis).
     *
     * @param keyPrefix the prefix
     */
    public void setKeyPrefix(@Nullable String keyPrefix) {
      this.keyPrefix = keyPrefix;
    }

    /**
     * The Redis hash holding the counters (redis).
     *
     * @return the hash key, or null
     */
    public @Nullable String getHash() {
      return hash;
    }

    /**
     * Sets the Redis hash holding the counters (redis).
     *
     * @param hash the hash key
     */
    public void setHash(@Nullable String hash) {
      this.hash = hash;
    }

    /**
     * The TTL of counter keys (redis).
     *
     * @return the TTL, or null for none
     */
    public @Nullable Duration getExpireAfter() {
      return expireAfter;
    }

    /**
     * Sets the TTL of counter keys (redis).
     *
     * @param expireAfter the TTL
     */
    public void setExpireAfter(@Nullable Duration expireAfter) {
      this.expireAfter = expireAfter;
    }

    /**
     * The handler bean's name (handler).
     *
     * @return the bean name, or null
     */
    public @Nullable String getHandler() {
      return handler;
    }

    /**
     * Sets the handler bean's name (handler).
     *
     * @param handler the bean name
     */
    public void setHandler(@Nullable String handler) {
      this.handler = handler;
    }
  }

  /** The kinds of sink a declared buffer can flush to. Immutable. */
  public enum SinkType {
    /** {@code JdbcSink} on the application's {@code DataSource}. */
    JDBC,
    /** {@code RedisSink} on the application's Lettuce connection factory's client. */
    REDIS,
    /** A {@code FlushHandler} or {@code BatchFlushHandler} bean of the application. */
    HANDLER
  }

  /** The health indicator's options. Not thread-safe. */
  public static class Health {

    /**
     * The health is DOWN while a count has waited longer than this since it was handed to the
     * sink (a failing sink's retries). Positive.
     */
    private Duration maxLag = Duration.ofMinutes(1);

    /** Creates the options with the defaults. */
    public Health() {}

    /**
     * The lag threshold.
     *
     * @return the threshold
     */
    public Duration getMaxLag() {
      return maxLag;
    }

    /**
     * Sets the lag threshold.
     *
     * @param maxLag the threshold
     */
    public void setMaxLag(Duration maxLag) {
      this.maxLag = maxLag;
    }
  }

  /** The shutdown options. Not thread-safe. */
  public static class Lifecycle {

    /**
     * The SmartLifecycle phase in which the buffers are closed (and so delivered): after the web
     * server's graceful shutdown and stop, before the Redis client (phase 0) and the DataSource
     * (closed after every phase).
     */
    private int phase = StatBufferLifecycle.DEFAULT_PHASE;

    /** Creates the options with the defaults. */
    public Lifecycle() {}

    /**
     * The phase.
     *
     * @return the phase
     */
    public int getPhase() {
      return phase;
    }

    /**
     * Sets the phase.
     *
     * @param phase the phase
     */
    public void setPhase(int phase) {
      this.phase = phase;
    }
  }
}
