package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.redis.RedisTestCluster;
import dev.statbuffer.testing.ReadmeBlocks;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the task guides in {@code docs/guides}: every {@code ```java} block of the plain Java,
 * per-day, Redis Cluster and testing guides compiles against the real modules as the complete
 * class it claims to be, and the examples run:
 *
 * <ul>
 *   <li>plain Java: both right ways to shut down ({@code closeAfterDump}, one hook of your own)
 *       run in a JVM of their own against the local PostgreSQL, get views over HTTP, are stopped
 *       with SIGTERM before their interval is up, and the table must then hold exactly the views
 *       sent;
 *   <li>per-day: views counted at 23:59:59.9 and 00:00:00.1 (Europe/Berlin) land in the rows of
 *       their own days and UTC hours, exactly, in columns of type {@code DATE} and
 *       {@code TIMESTAMP};
 *   <li>Redis Cluster: the example counts into a private three-node cluster, and every counter
 *       holds exactly its views, with all the days of a page in one slot and a TTL set;
 *   <li>testing: the guide's JUnit tests, including the inherited {@code SinkContract} tests,
 *       are run and must pass.
 * </ul>
 *
 * <p>Also: the guides' Maven coordinates name real modules at the project's version, and the
 * index links every guide. PostgreSQL (127.0.0.1:5432, database {@code test}, user
 * {@code postgres}) and {@code redis-server} on the {@code PATH} are required: without them the
 * tests fail, never skip. Tables have names unique to the run and are dropped afterwards.
 */
class GuidesTest {
  private static final String PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String PG_USER = "postgres";
  private static final String GUIDES = "docs/guides/";
  private static final Pattern PACKAGE = Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;");
  private static final Pattern PUBLIC_TYPE = Pattern.compile(
      "(?m)^(?:public\\s+)?(?:final\\s+|abstract\\s+)*(?:class|record|interface|enum)\\s+(\\w+)");

  /** A guide's Java blocks: compilation units by simple type name, and their package. */
  private record Units(Map<String, String> sources, String packageName) {
    String qualified(String simpleName) {
      assertThat(sources).as("a block declaring " + simpleName).containsKey(simpleName);
      return packageName + "." + simpleName;
    }

    /** Replaces a quoted string literal in every unit that has it; fails if none has it. */
    Units replaceLiteral(String literal, String replacement) {
      Map<String, String> replaced = new LinkedHashMap<>();
      boolean found = false;
      for (Map.Entry<String, String> unit : sources.entrySet()) {
        String quoted = "\"" + literal + "\"";
        found |= unit.getValue().contains(quoted);
        replaced.put(unit.getKey(), unit.getValue().replace(quoted, "\"" + replacement + "\""));
      }
      assertThat(found).as("the literal \"" + literal + "\" in the guide's code").isTrue();
      return new Units(replaced, packageName);
    }
  }

  /**
   * Reads a guide's Java blocks. Each must be a complete compilation unit: a package declaration
   * (the same in all blocks of a guide) and a top-level type, which names the unit.
   */
  private static Units units(String guide) throws IOException {
    List<String> blocks = ReadmeBlocks.javaBlocks(GUIDES + guide);
    assertThat(blocks).as("java blocks in " + guide).isNotEmpty();
    Map<String, String> sources = new LinkedHashMap<>();
    String packageName = null;
    for (String block : blocks) {
      Matcher pkg = PACKAGE.matcher(block);
      assertThat(pkg.find()).as("a package declaration in a block of " + guide + ":\n" + block)
          .isTrue();
      if (packageName == null) {
        packageName = pkg.group(1);
      }
      assertThat(pkg.group(1)).as("the package of every block of " + guide)
          .isEqualTo(packageName);
      Matcher type = PUBLIC_TYPE.matcher(block);
      assertThat(type.find()).as("a top-level type in a block of " + guide + ":\n" + block)
          .isTrue();
      assertThat(block.replaceAll("//[^\n]*", "")).as("a complete block, not a fragment")
          .doesNotContainPattern("(?<![\\w>\\]])\\.\\.\\.");
      assertThat(sources.put(type.group(1), block)).as("one block per type: " + type.group(1))
          .isNull();
    }
    return new Units(sources, packageName);
  }

  /** The Redis Cluster, started in the background while the other tests run. */
  private static CompletableFuture<RedisTestCluster> cluster;

  @BeforeAll
  static void startCluster() {
    cluster = CompletableFuture.supplyAsync(() -> {
      try {
        return RedisTestCluster.start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  @AfterAll
  static void stopCluster() {
    cluster.thenAccept(RedisTestCluster::close).exceptionally(e -> null).join();
  }

  private static String unique(String prefix) {
    return prefix + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36)
        + Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36 * 36), 36);
  }

  // ---------------------------------------------------------------------------------------------
  // docs/guides/plain-java-postgresql.md

  @Test
  void plainJava_bothRightShutdowns_storeEveryViewAfterSigterm(@TempDir Path out)
      throws Exception {
    String table = unique("guide_pv_");
    Units units = units("plain-java-postgresql.md").replaceLiteral("page_views", table);
    assertThat(units.sources()).containsKeys("PageViewService", "WrongShutdown",
        "PageViewServiceOneHook");
    assertThat(units.sources().get("WrongShutdown")).contains("WRONG");
    ReadmeBlocks.assertCompile(units.sources(), out);

    // Both services at once, into the same table, each on pages of its own.
    ExecutorService runners = Executors.newFixedThreadPool(2);
    try {
      Future<Map<String, Long>> closeAfterDump = runners.submit(
          () -> runServiceAndStop(units.qualified("PageViewService"), out, "a-"));
      Future<Map<String, Long>> oneHook = runners.submit(
          () -> runServiceAndStop(units.qualified("PageViewServiceOneHook"), out, "b-"));
      Map<String, Long> sent = new HashMap<>(closeAfterDump.get(120, TimeUnit.SECONDS));
      sent.putAll(oneHook.get(120, TimeUnit.SECONDS));
      assertThat(sent).hasSize(10);
      assertThat(readTotals(table, "page", "views")).as("the table after SIGTERM")
          .isEqualTo(sent);
    } finally {
      runners.shutdownNow();
      dropTables(table, table + "_ledger");
    }
  }

  /**
   * Starts a guide's service in a JVM of its own, sends it views over HTTP, stops it with SIGTERM
   * and returns the views it answered 204 to, per page.
   */
  private static Map<String, Long> runServiceAndStop(String mainClass, Path classes,
      String pagePrefix) throws Exception {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder = new ProcessBuilder(javaBin, "-Xmx128m", "-XX:TieredStopAtLevel=1",
        "-cp", classes + java.io.File.pathSeparator + System.getProperty("java.class.path"),
        mainClass).redirectErrorStream(true);
    builder.environment().put("JDBC_URL", PG_URL);
    builder.environment().put("DB_USER", PG_USER);
    builder.environment().remove("DB_PASSWORD");
    builder.environment().put("PORT", "0");
    Process process = builder.start();
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread reader = readLines(process, lines);
    try {
      int port = awaitPort(process, lines);
      Map<String, Long> sent = new HashMap<>();
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      for (int page = 0; page < 5; page++) {
        for (int view = 0; view <= page * 10; view++) {
          HttpResponse<Void> response = http.send(HttpRequest.newBuilder(
                  URI.create("http://127.0.0.1:" + port + "/views/" + pagePrefix + page))
              .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
          assertThat(response.statusCode()).as(mainClass + ": a view answered").isEqualTo(204);
          sent.merge(pagePrefix + page, 1L, Long::sum);
        }
      }
      // kill(1) only signals; Process.destroy() would also close our end of the pipes.
      Process kill = new ProcessBuilder("kill", "-TERM", String.valueOf(process.pid()))
          .inheritIO().start();
      assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0).as("kill -TERM")
          .isTrue();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(mainClass + " exited within 60 s")
          .isTrue();
      reader.join(10_000);
      String output = String.join("\n", lines);
      assertThat(process.exitValue()).as(output).isEqualTo(128 + 15); // ended by SIGTERM
      assertThat(output).as("no count dropped").doesNotContainIgnoringCase("dropped");
      return sent;
    } finally {
      process.destroyForcibly();
    }
  }

  private static int awaitPort(Process process, List<String> lines) throws InterruptedException {
    Pattern listening = Pattern.compile("listening on port (\\d+)");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      for (String line : lines) {
        Matcher m = listening.matcher(line);
        if (m.find()) {
          return Integer.parseInt(m.group(1));
        }
      }
      if (!process.isAlive()) {
        break;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("the service did not start within 30 s:\n"
        + String.join("\n", lines));
  }

  private static Thread readLines(Process process, List<String> lines) {
    return ProcessOutput.readLines(process, lines, "guide-service-output");
  }


  // ---------------------------------------------------------------------------------------------
  // docs/guides/per-day-counters.md

  /** A clock the test sets. */
  private static final class SettableClock extends Clock {
    private final ZoneId zone;
    private volatile Instant now;

    SettableClock(ZoneId zone, Instant now) {
      this.zone = zone;
      this.now = now;
    }

    void set(Instant instant) {
      now = instant;
    }

    @Override
    public ZoneId getZone() {
      return zone;
    }

    @Override
    public Clock withZone(ZoneId other) {
      return new SettableClock(other, now);
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void perDay_dayAndHourFixedAtIncrement_acrossMidnight_properColumnTypes(@TempDir Path out)
      throws Exception {
    String daily = unique("guide_daily_");
    String hourly = unique("guide_hourly_");
    Units units = units("per-day-counters.md")
        .replaceLiteral("daily_page_views", daily)
        .replaceLiteral("hourly_page_views", hourly);
    ZoneId berlin = ZoneId.of("Europe/Berlin");
    SettableClock clock = new SettableClock(berlin,
        LocalDateTime.parse("2026-01-14T23:59:59.900").atZone(berlin).toInstant());
    try (URLClassLoader loader = ReadmeBlocks.compileAndLoad(units.sources(), out);
        HikariDataSource pool = new HikariDataSource()) {
      pool.setJdbcUrl(PG_URL);
      pool.setUsername(PG_USER);
      pool.setMaximumPoolSize(4);
      Class<?> type = loader.loadClass(units.qualified("PageViewCounters"));
      Object counters = type.getConstructor(DataSource.class, Clock.class)
          .newInstance(pool, clock);
      Method viewed = type.getMethod("viewed", String.class);
      try {
        for (int i = 0; i < 7; i++) {
          viewed.invoke(counters, "/home");
        }
        for (int i = 0; i < 3; i++) {
          viewed.invoke(counters, "/pricing");
        }
        clock.set(LocalDateTime.parse("2026-01-15T00:00:00.100").atZone(berlin).toInstant());
        for (int i = 0; i < 5; i++) {
          viewed.invoke(counters, "/home");
        }
      } finally {
        ((AutoCloseable) counters).close();
      }

      assertThat(readTotals(daily, "page || ' ' || day", "views")).isEqualTo(Map.of(
          "/home 2026-01-14", 7L, "/pricing 2026-01-14", 3L, "/home 2026-01-15", 5L));
      // 23:59:59.9 in Berlin (UTC+1 in January) is 22:59:59.9 UTC; 00:00:00.1 is 23:00:00.1 UTC.
      assertThat(readTotals(hourly, "page || ' ' || hour", "views")).isEqualTo(Map.of(
          "/home 2026-01-14 22:00:00", 7L, "/pricing 2026-01-14 22:00:00", 3L,
          "/home 2026-01-14 23:00:00", 5L));
      assertThat(columnTypes(daily)).isEqualTo(Map.of(
          "page", "character varying", "day", "date", "views", "bigint"));
      assertThat(columnTypes(hourly)).isEqualTo(Map.of(
          "page", "character varying", "hour", "timestamp without time zone", "views", "bigint"));
    } finally {
      dropTables(daily, daily + "_ledger", hourly, hourly + "_ledger");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // docs/guides/redis-cluster.md

  @Test
  void redisCluster_everyCounterExact_daysOfAPageInOneSlot(@TempDir Path out) throws Exception {
    Units units = units("redis-cluster.md");
    ZoneId utc = ZoneOffset.UTC;
    SettableClock clock = new SettableClock(utc, Instant.parse("2026-01-14T12:00:00Z"));
    Map<String, Long> expected = new HashMap<>();
    try (URLClassLoader loader = ReadmeBlocks.compileAndLoad(units.sources(), out)) {
      RedisTestCluster cluster = GuidesTest.cluster.get(60, TimeUnit.SECONDS);
      Class<?> type = loader.loadClass(units.qualified("ClusterPageViews"));
      Object views = type.getConstructor(List.class, Clock.class)
          .newInstance(cluster.uris(), clock);
      Method viewed = type.getMethod("viewed", String.class);
      List<String> pages = List.of("/home", "/pricing", "/docs/start", "/blog/1", "/about");
      try {
        for (String day : List.of("2026-01-14", "2026-01-15")) {
          clock.set(Instant.parse(day + "T12:00:00Z"));
          for (int p = 0; p < pages.size(); p++) {
            for (int i = 0; i <= p * 7; i++) {
              assertThat(viewed.invoke(views, pages.get(p))).isEqualTo(true);
              expected.merge("views:{" + pages.get(p) + "}:" + day, 1L, Long::sum);
            }
          }
        }
      } finally {
        ((AutoCloseable) views).close();
      }

      RedisClusterClient client = cluster.newClient();
      try (StatefulRedisClusterConnection<String, String> connection = client.connect()) {
        RedisAdvancedClusterCommands<String, String> redis = connection.sync();
        for (Map.Entry<String, Long> counter : expected.entrySet()) {
          assertThat(redis.get(counter.getKey())).as(counter.getKey())
              .isEqualTo(String.valueOf(counter.getValue()));
          assertThat(redis.ttl(counter.getKey())).as("TTL of " + counter.getKey()).isPositive();
        }
        for (String page : pages) {
          assertThat(SlotHash.getSlot("views:{" + page + "}:2026-01-14"))
              .isEqualTo(SlotHash.getSlot("views:{" + page + "}:2026-01-15"));
        }
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
      }
    }
    assertThat(expected).hasSize(10);
  }

  // ---------------------------------------------------------------------------------------------
  // docs/guides/testing.md

  @Test
  void testing_guideTestsRunAndPass(@TempDir Path out) throws Exception {
    Units units = units("testing.md");
    assertThat(units.sources()).containsKeys("PageStats", "PageStatsTest",
        "TotalsSinkContractTest");
    List<String> passed = new ArrayList<>();
    try (URLClassLoader loader = ReadmeBlocks.compileAndLoad(units.sources(), out)) {
      for (String testClass : List.of("PageStatsTest", "TotalsSinkContractTest")) {
        passed.addAll(runTests(loader.loadClass(units.qualified(testClass))));
      }
    }
    assertThat(passed).as("tests run").contains(
        "PageStatsTest.countsReachTheSinkOneIntervalAfterTheFirstView",
        "PageStatsTest.flushAllDeliversWithoutWaitingForTheInterval",
        "PageStatsTest.closeDeliversWhatIsBuffered",
        "PageStatsTest.aFailedFlushIsRetriedAfterTheBackoff",
        "TotalsSinkContractTest.retriedBatchId_appliedOnce",
        "TotalsSinkContractTest.concurrentBuffers_overlappingKeys_exactAndNoDeadlock");
  }

  /**
   * Runs every {@code @Test} method of a class and its superclasses, each on a new instance, and
   * returns their names; fails with the first failure. The guide's tests use no lifecycle
   * methods, and this is checked, since this runner would not call them.
   */
  private static List<String> runTests(Class<?> testClass) throws Exception {
    List<String> passed = new ArrayList<>();
    for (Class<?> c = testClass; c != Object.class; c = c.getSuperclass()) {
      for (Method method : c.getDeclaredMethods()) {
        assertThat(method.isAnnotationPresent(BeforeEach.class)
            || method.isAnnotationPresent(AfterEach.class)
            || method.isAnnotationPresent(BeforeAll.class)
            || method.isAnnotationPresent(AfterAll.class))
            .as("a lifecycle method, which this runner does not call: " + method).isFalse();
        if (!method.isAnnotationPresent(Test.class) || Modifier.isStatic(method.getModifiers())) {
          continue;
        }
        var constructor = testClass.getDeclaredConstructor();
        constructor.setAccessible(true);
        Object instance = constructor.newInstance();
        method.setAccessible(true);
        String name = testClass.getSimpleName() + "." + method.getName();
        try {
          method.invoke(instance);
        } catch (InvocationTargetException e) {
          throw new AssertionError("the guide's test " + name + " failed", e.getCause());
        }
        passed.add(name);
      }
    }
    return passed;
  }

  // ---------------------------------------------------------------------------------------------
  // Every guide: the index and the Maven coordinates

  @Test
  void index_linksEveryGuide_andEveryLinkedFileExists() throws IOException {
    Path dir = ReadmeBlocks.root().resolve(GUIDES);
    String index = Files.readString(dir.resolve("README.md"), StandardCharsets.UTF_8);
    List<String> guides;
    try (var files = Files.list(dir)) {
      guides = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".md") && !n.equals("README.md")).sorted().toList();
    }
    assertThat(guides).contains("plain-java-postgresql.md", "per-day-counters.md",
        "redis-cluster.md", "testing.md", "spring-boot.md");
    for (String guide : guides) {
      assertThat(index).as("the index links " + guide).contains("(" + guide + ")");
      String text = Files.readString(dir.resolve(guide), StandardCharsets.UTF_8);
      Matcher link = Pattern.compile("\\]\\(([^)#:]+)(#[^)]*)?\\)").matcher(text);
      while (link.find()) {
        assertThat(dir.resolve(link.group(1)).normalize()).as(guide + " links " + link.group(1))
            .exists();
      }
    }
  }

  @Test
  void mavenCoordinates_nameRealModulesAtTheProjectVersion() throws IOException {
    Path root = ReadmeBlocks.root();
    String rootPom = Files.readString(root.resolve("pom.xml"), StandardCharsets.UTF_8);
    Matcher versionMatcher = Pattern.compile(
        "<artifactId>statbuffer-parent</artifactId>\\s*<version>([^<]+)</version>")
        .matcher(rootPom);
    assertThat(versionMatcher.find()).isTrue();
    String version = versionMatcher.group(1);
    Pattern dependency = Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL);
    int checked = 0;
    for (String guide : List.of("plain-java-postgresql.md", "per-day-counters.md",
        "redis-cluster.md", "testing.md", "spring-boot.md")) {
      String text = Files.readString(root.resolve(GUIDES + guide), StandardCharsets.UTF_8);
      Matcher m = dependency.matcher(text);
      while (m.find()) {
        String dep = m.group(1);
        if (!dep.contains("<groupId>dev.statbuffer</groupId>")) {
          continue;
        }
        String artifact = element(dep, "artifactId");
        assertThat(root.resolve(artifact).resolve("pom.xml")).as(guide + ": " + artifact)
            .exists();
        String modulePom = Files.readString(root.resolve(artifact).resolve("pom.xml"),
            StandardCharsets.UTF_8);
        String depVersion = element(dep, "version");
        if (depVersion != null) {
          assertThat(depVersion).as(guide + ": the version of " + artifact).isEqualTo(version);
        }
        if ("test-jar".equals(element(dep, "type"))) {
          assertThat(modulePom).as(artifact + " builds a test-jar").contains("<goal>test-jar</goal>");
        }
        checked++;
      }
    }
    assertThat(checked).as("dev.statbuffer dependencies in the guides").isGreaterThanOrEqualTo(7);
  }

  private static String element(String xml, String name) {
    Matcher m = Pattern.compile("<" + name + ">([^<]+)</" + name + ">").matcher(xml);
    return m.find() ? m.group(1).trim() : null;
  }

  // ---------------------------------------------------------------------------------------------
  // PostgreSQL

  /** The table's totals by the SQL expression {@code key}. */
  private static Map<String, Long> readTotals(String table, String key, String count)
      throws SQLException {
    Map<String, Long> totals = new HashMap<>();
    try (Connection connection = DriverManager.getConnection(PG_URL, PG_USER, "");
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(
            "SELECT " + key + ", " + count + " FROM " + table)) {
      while (rows.next()) {
        assertThat(totals.put(rows.getString(1), rows.getLong(2))).as("one row per key").isNull();
      }
    }
    return totals;
  }

  private static Map<String, String> columnTypes(String table) throws SQLException {
    Map<String, String> types = new HashMap<>();
    try (Connection connection = DriverManager.getConnection(PG_URL, PG_USER, "");
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT column_name, data_type FROM "
            + "information_schema.columns WHERE table_name = '" + table + "'")) {
      while (rows.next()) {
        types.put(rows.getString(1), rows.getString(2));
      }
    }
    return types;
  }

  private static void dropTables(String... tables) throws SQLException {
    try (Connection connection = DriverManager.getConnection(PG_URL, PG_USER, "");
        Statement statement = connection.createStatement()) {
      for (String table : tables) {
        statement.execute("DROP TABLE IF EXISTS " + table);
      }
    }
  }
}
