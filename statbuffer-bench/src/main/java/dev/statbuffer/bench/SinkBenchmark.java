package dev.statbuffer.bench;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.redis.RedisSink;
import dev.statbuffer.redis.RedisTestCluster;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Sink throughput: how fast StatBuffer's sinks write the distinct keys of a flush, against the
 * unbuffered code a user would otherwise write (one write per increment).
 *
 * <p>{@code jdbcBuffered} and {@code redisBuffered}: before each invocation, untimed,
 * {@code increments} increments over {@code keys} keys (uniform) go into a StatBuffer (interval
 * one hour, so nothing is flushed early; {@code maxBatchSize} keys per batch) in front of the
 * sink; the invocation times {@code flushAll().join()}, so the score is the time the sink takes to
 * write every distinct key: keys/s = keys / score. The fill is timed on the side and reported
 * with the statements, so a whole buffered run (fill + flush) can be set against the baseline.
 *
 * <p>{@code jdbcDirect} and {@code redisDirect}: one auto-commit single-row upsert
 * ({@link JdbcSink#singleRowUpsertSql()}) or one synchronous {@code INCRBY} per increment, for
 * {@code directIncrements} increments (fewer than {@code increments} in a quick run; its rate is
 * per increment either way, and the report extrapolates it to {@code increments}).
 *
 * <p>Stores ({@code database}, {@code redis}): H2 in memory (embedded, no network round trip,
 * which flatters the direct writes); PostgreSQL at 127.0.0.1:5432 (database {@code test}, user
 * {@code postgres}) and MariaDB at 127.0.0.1:3306 (database {@code test}, user {@code root}, no
 * password), through HikariCP; a {@code redis-server} started by the benchmark on a free loopback
 * port; a three-node Redis Cluster started with {@code RedisTestCluster} ({@code redis-server} and
 * {@code redis-cli} must be on the {@code PATH}). The database servers must be running: a missing
 * one fails the benchmark. Every trial writes to tables (or keys) of its own, with a random
 * suffix, emptied before every invocation and dropped at the end, so runs never interfere. After
 * every invocation, outside the timed region, the store's total must equal the increments made,
 * or the benchmark fails.
 *
 * <p>When the system property {@code statbuffer.bench.sinkStats} names a file, each invocation
 * appends one JSON object to it: benchmark, store, warm-up or not, increments, distinct keys in
 * the store, statements (JDBC) or round trips (Redis), and the fill time. bench/run reads them.
 *
 * <p>Thread-safety: the states are managed by JMH; one benchmark thread.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Threads(1)
public class SinkBenchmark {
  private static final String PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String MARIADB_URL = "jdbc:mariadb://127.0.0.1:3306/test";

  /** The workload: which keys are incremented, in which order, and the buffer's batch size. */
  @State(Scope.Benchmark)
  public static class Workload {
    /** Increments per buffered run. */
    @Param({"1000000"})
    public int increments;

    /**
     * Increments per direct run (one statement each; a few thousand per second into a database
     * server, so fewer than {@code increments}: its rate is extrapolated).
     */
    @Param({"100000"})
    public int directIncrements;

    /** Distinct keys. */
    @Param({"10000"})
    public int keys;

    /** Keys per batch handed to the sink ({@code StatBuffer.Builder.maxBatchSize}). */
    @Param({"5000"})
    public int maxBatchSize;

    String[] keyObjects;
    int[] order;

    /** Builds the keys and a uniform order of increments. */
    @Setup(Level.Trial)
    public void setUp() {
      keyObjects = KeySpace.buildKeys(keys);
      SplittableRandom random = new SplittableRandom(11);
      order = new int[Math.max(increments, directIncrements)];
      for (int i = 0; i < order.length; i++) {
        order[i] = random.nextInt(keys);
      }
    }

    /**
     * A buffer holding every increment of a buffered run, nothing flushed yet.
     *
     * @param sink the sink
     * @return the filled buffer; the caller flushes and closes it
     */
    StatBuffer<String> fill(BatchFlushHandler<String> sink) {
      StatBuffer<String> buffer = StatBuffer.newBuilder()
          .name("sink-bench")
          .interval(Duration.ofHours(1))
          .maxBatchSize(maxBatchSize)
          .shutdownHook(false)
          .buildBatched(sink);
      for (int i = 0; i < increments; i++) {
        buffer.increment(keyObjects[order[i]]);
      }
      return buffer;
    }
  }

  /** What one invocation did, filled in by the benchmark method and the fill. */
  static final class Run {
    /** The benchmark method that ran; null until one has, in this invocation. */
    @Nullable String benchmark;
    long expected;
    long fillNanos;

    void reset() {
      benchmark = null;
      expected = 0;
      fillNanos = 0;
    }
  }

  /** A counter table and a ledger of their own in one database, behind a small HikariCP pool. */
  @State(Scope.Benchmark)
  public static class Jdbc {
    /** {@code h2} (in memory), {@code postgresql} or {@code mariadb} (local servers). */
    @Param({"h2", "postgresql", "mariadb"})
    public String database;

    HikariDataSource dataSource;
    JdbcSink<String> sink;
    String table;
    String ledger;
    String upsertSql;
    long statementsBefore;
    final Run run = new Run();

    /**
     * Connects and creates this trial's tables.
     *
     * @throws SQLException if the database fails or does not answer
     */
    @Setup(Level.Trial)
    public void setUp() throws SQLException {
      String suffix = suffix();
      table = "bench_views_" + suffix;
      ledger = "bench_ledger_" + suffix;
      HikariConfig config = new HikariConfig();
      config.setPoolName("sink-bench-" + database);
      config.setMaximumPoolSize(4);
      config.setConnectionTimeout(5_000);
      switch (database) {
        case "h2" -> config.setJdbcUrl("jdbc:h2:mem:bench_" + suffix + ";DB_CLOSE_DELAY=-1");
        case "postgresql" -> {
          config.setJdbcUrl(PG_URL);
          config.setUsername("postgres");
        }
        case "mariadb" -> {
          config.setJdbcUrl(MARIADB_URL);
          config.setUsername("root");
          config.setPassword("");
        }
        default -> throw new IllegalArgumentException("unknown database: " + database);
      }
      try {
        dataSource = new HikariDataSource(config);
      } catch (RuntimeException e) {
        throw new IllegalStateException("cannot connect to " + database + " at "
            + config.getJdbcUrl() + "; is the server running?", e);
      }
      sink = JdbcSink.<String>builder(dataSource)
          .table(table)
          .ledgerTable(ledger)
          .keyColumns("page")
          .countColumn("views")
          .build();
      sink.createTables();
      @SuppressWarnings("deprecation") // the baseline statement exists for benchmarks only
      String baseline = sink.singleRowUpsertSql();
      upsertSql = baseline;
    }

    /**
     * Empties this trial's tables before each invocation, so every run writes the same rows.
     *
     * @throws SQLException if the database fails
     */
    @Setup(Level.Invocation)
    public void clear() throws SQLException {
      try (Connection connection = dataSource.getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("TRUNCATE TABLE " + table);
        statement.execute("TRUNCATE TABLE " + ledger);
      }
      statementsBefore = sink.stats().statements();
      run.reset();
    }

    /**
     * Checks, outside the timed region, that the table holds every increment; records the
     * statements sent.
     *
     * @param iteration warm-up or measurement
     * @throws SQLException if the database fails
     */
    @TearDown(Level.Invocation)
    public void check(IterationParams iteration) throws SQLException {
      String benchmark = run.benchmark;
      if (benchmark == null) {
        return;
      }
      long total;
      long rows;
      try (Connection connection = dataSource.getConnection();
          Statement statement = connection.createStatement();
          ResultSet result = statement.executeQuery(
              "SELECT COALESCE(SUM(views), 0), COUNT(*) FROM " + table)) {
        result.next();
        total = result.getLong(1);
        rows = result.getLong(2);
      }
      SinkBenchmark.check(benchmark, database, run.expected, total);
      long statements = benchmark.endsWith("Direct")
          ? run.expected : sink.stats().statements() - statementsBefore;
      record(run, database, iteration, rows, statements);
    }

    /**
     * Drops this trial's tables and closes the pool.
     *
     * @throws SQLException if the database fails
     */
    @TearDown(Level.Trial)
    public void tearDown() throws SQLException {
      try (Connection connection = dataSource.getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("DROP TABLE IF EXISTS " + table);
        statement.execute("DROP TABLE IF EXISTS " + ledger);
      } finally {
        dataSource.close();
      }
    }
  }

  /** A buffer filled before each {@code jdbcBuffered} invocation, not yet flushed. */
  @State(Scope.Benchmark)
  public static class JdbcFilled {
    StatBuffer<String> buffer;

    /**
     * Fills the buffer (untimed by JMH; the fill time goes to the run's record).
     *
     * @param workload the increments
     * @param jdbc the sink's database
     */
    @Setup(Level.Invocation)
    public void fill(Workload workload, Jdbc jdbc) {
      long start = System.nanoTime();
      buffer = workload.fill(jdbc.sink);
      jdbc.run.fillNanos = System.nanoTime() - start;
    }

    /** Closes the buffer (already flushed). */
    @TearDown(Level.Invocation)
    public void close() {
      buffer.close();
    }
  }

  /** A private {@code redis-server}, or a private three-node cluster, for the trial. */
  @State(Scope.Benchmark)
  public static class Redis {
    /** {@code standalone} (one private {@code redis-server}) or {@code cluster} (three nodes). */
    @Param({"standalone", "cluster"})
    public String redis;

    /** The standalone server; null with the cluster. */
    @Nullable Process server;
    /** The cluster; null with the standalone server. */
    @Nullable RedisTestCluster cluster;
    AbstractRedisClient client;
    StatefulConnection<String, String> connection;
    RedisClusterCommands<String, String> commands;
    RedisSink<String> sink;
    String prefix;
    long roundTripsBefore;
    final Run run = new Run();
    /** The workload's keys, set with {@code run.benchmark} by the Redis benchmark methods. */
    String @Nullable [] keys;

    /**
     * Starts the server or the cluster and connects.
     *
     * @throws Exception if the server does not start
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
      prefix = "bench:" + suffix() + ":";
      switch (redis) {
        case "standalone" -> {
          int port = startServer();
          RedisClient standalone = RedisClient.create("redis://127.0.0.1:" + port);
          StatefulRedisConnection<String, String> single = standalone.connect();
          client = standalone;
          connection = single;
          commands = single.sync();
          sink = RedisSink.<String>builder(standalone).keyMapper(key -> prefix + key).build();
        }
        case "cluster" -> {
          RedisTestCluster started = RedisTestCluster.start();
          cluster = started;
          RedisClusterClient clustered = started.newClient();
          StatefulRedisClusterConnection<String, String> multi = clustered.connect();
          client = clustered;
          connection = multi;
          commands = multi.sync();
          sink = RedisSink.<String>builder(clustered).keyMapper(key -> prefix + key).build();
        }
        default -> throw new IllegalArgumentException("unknown redis: " + redis);
      }
    }

    private int startServer() throws IOException, InterruptedException {
      int port;
      try (ServerSocket socket = new ServerSocket(0)) {
        port = socket.getLocalPort();
      }
      Process started = new ProcessBuilder("redis-server", "--port", Integer.toString(port),
          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      server = started;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!accepts(port)) {
        if (System.nanoTime() > deadline || !started.isAlive()) {
          started.destroyForcibly();
          throw new IllegalStateException("redis-server did not start on port " + port);
        }
        Thread.sleep(20);
      }
      return port;
    }

    private static boolean accepts(int port) {
      try {
        // The IPv4 loopback the server binds, whatever address family the JVM prefers.
        new Socket(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), port).close();
        return true;
      } catch (IOException e) {
        return false;
      }
    }

    /** Empties the (private) server or cluster before each invocation. */
    @Setup(Level.Invocation)
    public void clear() {
      commands.flushall();
      roundTripsBefore = sink.stats().roundTrips();
      run.reset();
    }

    /**
     * Checks, outside the timed region, that Redis holds every increment; records round trips.
     *
     * @param iteration warm-up or measurement
     */
    @TearDown(Level.Invocation)
    public void check(IterationParams iteration) {
      String benchmark = run.benchmark;
      if (benchmark == null) {
        return;
      }
      // Set with run.benchmark by both Redis benchmark methods.
      String[] keys = requireNonNull(this.keys, "keys");
      long total = 0;
      long present = 0;
      for (int from = 0; from < keys.length; from += 500) {
        String[] chunk = new String[Math.min(500, keys.length - from)];
        for (int i = 0; i < chunk.length; i++) {
          chunk[i] = prefix + keys[from + i];
        }
        List<KeyValue<String, String>> values = commands.mget(chunk);
        for (KeyValue<String, String> value : values) {
          if (value.hasValue()) {
            total += Long.parseLong(value.getValue());
            present++;
          }
        }
      }
      SinkBenchmark.check(benchmark, redis, run.expected, total);
      long trips = benchmark.endsWith("Direct")
          ? run.expected : sink.stats().roundTrips() - roundTripsBefore;
      record(run, "redis-" + redis, iteration, present, trips);
    }

    /** Closes the connections and stops the server or cluster. */
    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      try {
        sink.close();
        connection.close();
        client.shutdown();
      } finally {
        RedisTestCluster nodes = cluster;
        if (nodes != null) {
          nodes.close();
        }
        Process process = server;
        if (process != null) {
          process.destroy();
          if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
          }
        }
      }
    }
  }

  /** A buffer filled before each {@code redisBuffered} invocation, not yet flushed. */
  @State(Scope.Benchmark)
  public static class RedisFilled {
    StatBuffer<String> buffer;

    /**
     * Fills the buffer (untimed by JMH; the fill time goes to the run's record).
     *
     * @param workload the increments
     * @param redis the sink's server
     */
    @Setup(Level.Invocation)
    public void fill(Workload workload, Redis redis) {
      long start = System.nanoTime();
      buffer = workload.fill(redis.sink);
      redis.run.fillNanos = System.nanoTime() - start;
    }

    /** Closes the buffer (already flushed). */
    @TearDown(Level.Invocation)
    public void close() {
      buffer.close();
    }
  }

  /**
   * Flushes a buffer holding {@code increments} increments over {@code keys} keys through the JDBC
   * sink: the time the sink takes to write every distinct key.
   *
   * @param workload the keys
   * @param jdbc the database
   * @param filled the filled buffer
   * @return the buffer
   */
  @Benchmark
  public Object jdbcBuffered(Workload workload, Jdbc jdbc, JdbcFilled filled) {
    filled.buffer.flushAll().join();
    jdbc.run.benchmark = "jdbcBuffered";
    jdbc.run.expected = workload.increments;
    return filled.buffer;
  }

  /**
   * One auto-commit single-row upsert per increment, on one connection.
   *
   * @param workload the keys
   * @param jdbc the database
   * @return the last update count
   * @throws SQLException if the database fails
   */
  @Benchmark
  public int jdbcDirect(Workload workload, Jdbc jdbc) throws SQLException {
    int updated = 0;
    try (Connection connection = jdbc.dataSource.getConnection();
        PreparedStatement upsert = connection.prepareStatement(jdbc.upsertSql)) {
      connection.setAutoCommit(true);
      for (int i = 0; i < workload.directIncrements; i++) {
        upsert.setString(1, workload.keyObjects[workload.order[i]]);
        upsert.setLong(2, 1L);
        updated = upsert.executeUpdate();
      }
    }
    jdbc.run.benchmark = "jdbcDirect";
    jdbc.run.expected = workload.directIncrements;
    return updated;
  }

  /**
   * Flushes a buffer holding {@code increments} increments over {@code keys} keys through the
   * Redis sink: the time the sink takes to write every distinct key.
   *
   * @param workload the keys
   * @param redis the server
   * @param filled the filled buffer
   * @return the buffer
   */
  @Benchmark
  public Object redisBuffered(Workload workload, Redis redis, RedisFilled filled) {
    filled.buffer.flushAll().join();
    redis.run.benchmark = "redisBuffered";
    redis.run.expected = workload.increments;
    redis.keys = workload.keyObjects;
    return filled.buffer;
  }

  /**
   * One synchronous {@code INCRBY} per increment.
   *
   * @param workload the keys
   * @param redis the server
   * @return the last value
   */
  @Benchmark
  public long redisDirect(Workload workload, Redis redis) {
    long value = 0;
    for (int i = 0; i < workload.directIncrements; i++) {
      value = redis.commands.incrby(redis.prefix + workload.keyObjects[workload.order[i]], 1L);
    }
    redis.run.benchmark = "redisDirect";
    redis.run.expected = workload.directIncrements;
    redis.keys = workload.keyObjects;
    return value;
  }

  /** A random suffix for this trial's table and key names, so runs never share them. */
  static String suffix() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
  }

  static void check(String benchmark, String store, long expected, long actual) {
    if (expected != actual) {
      throw new IllegalStateException(benchmark + " (" + store + "): the store holds " + actual
          + " increments, expected " + expected);
    }
  }

  static void record(Run run, String store, IterationParams iteration, long keys,
      long statements) {
    String file = System.getProperty("statbuffer.bench.sinkStats");
    if (file == null) {
      return;
    }
    boolean warmup = iteration.getType() == IterationType.WARMUP;
    String line = String.format(Locale.ROOT,
        "{\"benchmark\": \"%s\", \"store\": \"%s\", \"warmup\": %b, \"increments\": %d, "
            + "\"keys\": %d, \"statements\": %d, \"fillMs\": %.3f}%n",
        run.benchmark, store, warmup, run.expected, keys, statements, run.fillNanos / 1e6);
    try {
      Files.writeString(Path.of(file), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write " + file, e);
    }
  }
}
