package dev.statbuffer.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.redis.RedisSink;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
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
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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

/**
 * Sink throughput: {@code increments} increments over {@code keys} keys (uniform), written to a
 * store either through StatBuffer and its sink ({@code jdbcBuffered}, {@code redisBuffered}: the
 * increments, then {@code flushAll().join()}) or the way code without a buffer does it, one
 * auto-commit upsert or one {@code INCRBY} per increment ({@code jdbcDirect}, {@code redisDirect}).
 * Each invocation is one whole run, timed once; rate = increments / time.
 *
 * <p>The stores are local: an in-memory H2 database (embedded, so a statement costs no network
 * round trip, which flatters the direct writes) and a {@code redis-server} started by the
 * benchmark on a free loopback port ({@code redis-server} must be on the {@code PATH}). The direct
 * writes can use fewer increments ({@code directIncrements}) so a quick run stays quick; their rate
 * is per increment either way. Statements and round trips per invocation are appended, one JSON
 * object per line, to the file named by the system property {@code statbuffer.bench.sinkStats}
 * when it is set (bench/run reads them).
 *
 * <p>Thread-safety: the states are managed by JMH; one benchmark thread.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Threads(1)
public class SinkBenchmark {

  /** The workload: which keys are incremented, in which order. */
  @State(Scope.Benchmark)
  public static class Workload {
    /** Increments per buffered run. */
    @Param({"1000000"})
    public int increments;

    /** Increments per direct run (one statement each). */
    @Param({"1000000"})
    public int directIncrements;

    /** Distinct keys. */
    @Param({"10000"})
    public int keys;

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
  }

  /** An in-memory H2 database with a counter table, behind a small pool. */
  @State(Scope.Benchmark)
  public static class H2 {
    HikariDataSource dataSource;
    JdbcSink<String> sink;
    String upsertSql;
    long statementsBefore;
    /** Set by the benchmark method: what the store must hold after the run, and who ran. */
    String ran;
    long expected;
    long statements;

    /**
     * Creates the database and its tables.
     *
     * @throws SQLException if H2 fails
     */
    @Setup(Level.Trial)
    public void setUp() throws SQLException {
      HikariConfig config = new HikariConfig();
      config.setJdbcUrl("jdbc:h2:mem:bench;DB_CLOSE_DELAY=-1");
      config.setMaximumPoolSize(4);
      dataSource = new HikariDataSource(config);
      sink = JdbcSink.<String>builder(dataSource)
          .table("page_views")
          .keyColumns("page")
          .countColumn("views")
          .build();
      sink.createTables();
      upsertSql = sink.singleRowUpsertSql();
    }

    /**
     * Empties the tables before each run, so every run writes the same rows.
     *
     * @throws SQLException if H2 fails
     */
    @Setup(Level.Invocation)
    public void clear() throws SQLException {
      try (Connection connection = dataSource.getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("DELETE FROM page_views");
        statement.execute("DELETE FROM statbuffer_ledger");
      }
      statementsBefore = sink.stats().statements();
    }

    /**
     * Checks, outside the timed region, that the database holds every increment; records the
     * statement count.
     *
     * @throws SQLException if H2 fails
     */
    @TearDown(Level.Invocation)
    public void check() throws SQLException {
      long direct = "jdbcDirect".equals(ran)
          ? expected : sink.stats().statements() - statementsBefore;
      SinkBenchmark.check(ran, expected, total());
      record(ran, expected, direct);
    }

    long total() throws SQLException {
      try (Connection connection = dataSource.getConnection();
          Statement statement = connection.createStatement();
          ResultSet rows =
              statement.executeQuery("SELECT COALESCE(SUM(views), 0) FROM page_views")) {
        rows.next();
        return rows.getLong(1);
      }
    }

    /** Closes the pool (the database goes with its last connection). */
    @TearDown(Level.Trial)
    public void tearDown() {
      dataSource.close();
    }
  }

  /** A {@code redis-server} on a free loopback port, for the duration of the trial. */
  @State(Scope.Benchmark)
  public static class Redis {
    Process server;
    RedisClient client;
    StatefulRedisConnection<String, String> connection;
    RedisCommands<String, String> commands;
    RedisSink<String> sink;
    long roundTripsBefore;
    /** Set by the benchmark method: what the store must hold after the run, and who ran. */
    String ran;
    long expected;
    String[] keys;

    /**
     * Starts the server and connects.
     *
     * @throws Exception if the server does not start
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
      int port;
      try (ServerSocket socket = new ServerSocket(0)) {
        port = socket.getLocalPort();
      }
      server = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind",
          "127.0.0.1", "--save", "", "--appendonly", "no")
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!accepts(port)) {
        if (System.nanoTime() > deadline || !server.isAlive()) {
          server.destroyForcibly();
          throw new IllegalStateException("redis-server did not start on port " + port);
        }
        Thread.sleep(20);
      }
      client = RedisClient.create("redis://127.0.0.1:" + port);
      connection = client.connect();
      commands = connection.sync();
      sink = RedisSink.<String>builder(client).keyMapper(key -> "views:" + key).build();
    }

    private static boolean accepts(int port) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        return true;
      } catch (IOException e) {
        return false;
      }
    }

    /** Empties the database before each run. */
    @Setup(Level.Invocation)
    public void clear() {
      commands.flushdb();
      roundTripsBefore = sink.stats().roundTrips();
    }

    /** Checks, outside the timed region, that Redis holds every increment; records round trips. */
    @TearDown(Level.Invocation)
    public void check() {
      long trips = "redisDirect".equals(ran)
          ? expected : sink.stats().roundTrips() - roundTripsBefore;
      SinkBenchmark.check(ran, expected, total(keys));
      record(ran, expected, trips);
    }

    long total(String[] keys) {
      long sum = 0;
      for (String key : keys) {
        String value = commands.get("views:" + key);
        sum += (value == null) ? 0 : Long.parseLong(value);
      }
      return sum;
    }

    /** Closes the connections and stops the server. */
    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      sink.close();
      connection.close();
      client.shutdown();
      server.destroy();
      if (!server.waitFor(10, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  /**
   * Increments through StatBuffer with the JDBC sink, then flushes everything.
   *
   * @param workload the keys
   * @param h2 the database
   * @return the buffer's stats
   * @throws SQLException if the check fails
   */
  @Benchmark
  public Object jdbcBuffered(Workload workload, H2 h2) throws SQLException {
    StatBuffer<String> buffer = newBuffer(h2.sink);
    try {
      for (int i = 0; i < workload.increments; i++) {
        buffer.increment(workload.keyObjects[workload.order[i]]);
      }
      buffer.flushAll().join();
    } finally {
      buffer.close();
    }
    h2.ran = "jdbcBuffered";
    h2.expected = workload.increments;
    return buffer;
  }

  /**
   * One auto-commit single-row upsert per increment, on one connection.
   *
   * @param workload the keys
   * @param h2 the database
   * @return the last update count
   * @throws SQLException if H2 fails
   */
  @Benchmark
  public int jdbcDirect(Workload workload, H2 h2) throws SQLException {
    int updated = 0;
    try (Connection connection = h2.dataSource.getConnection();
        PreparedStatement upsert = connection.prepareStatement(h2.upsertSql)) {
      connection.setAutoCommit(true);
      for (int i = 0; i < workload.directIncrements; i++) {
        upsert.setString(1, workload.keyObjects[workload.order[i]]);
        upsert.setLong(2, 1L);
        updated = upsert.executeUpdate();
      }
    }
    h2.ran = "jdbcDirect";
    h2.expected = workload.directIncrements;
    return updated;
  }

  /**
   * Increments through StatBuffer with the Redis sink, then flushes everything.
   *
   * @param workload the keys
   * @param redis the server
   * @return the buffer's stats
   */
  @Benchmark
  public Object redisBuffered(Workload workload, Redis redis) {
    StatBuffer<String> buffer = newBuffer(redis.sink);
    try {
      for (int i = 0; i < workload.increments; i++) {
        buffer.increment(workload.keyObjects[workload.order[i]]);
      }
      buffer.flushAll().join();
    } finally {
      buffer.close();
    }
    redis.ran = "redisBuffered";
    redis.expected = workload.increments;
    redis.keys = workload.keyObjects;
    return buffer;
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
      value = redis.commands.incrby("views:" + workload.keyObjects[workload.order[i]], 1L);
    }
    redis.ran = "redisDirect";
    redis.expected = workload.directIncrements;
    redis.keys = workload.keyObjects;
    return value;
  }

  private static StatBuffer<String> newBuffer(dev.statbuffer.BatchFlushHandler<String> sink) {
    return StatBuffer.newBuilder()
        .name("sink-bench")
        .interval(Duration.ofSeconds(1))
        .shutdownHook(false)
        .buildBatched(sink);
  }

  static void check(String benchmark, long expected, long actual) {
    if (benchmark != null && expected != actual) {
      throw new IllegalStateException(
          benchmark + ": the store holds " + actual + " increments, expected " + expected);
    }
  }

  static void record(String benchmark, long increments, long statements) {
    String file = System.getProperty("statbuffer.bench.sinkStats");
    if (file == null) {
      return;
    }
    if (benchmark == null) {
      return;
    }
    String line = String.format(Locale.ROOT,
        "{\"benchmark\": \"%s\", \"increments\": %d, \"statements\": %d}%n",
        benchmark, increments, statements);
    try {
      Files.writeString(Path.of(file), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write " + file, e);
    }
  }
}
