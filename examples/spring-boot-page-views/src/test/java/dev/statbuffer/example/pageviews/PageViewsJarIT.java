package dev.statbuffer.example.pageviews;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Starts the executable jar ({@code target/page-views.jar}) as its own process against the real
 * PostgreSQL, sends it traffic, stops it with SIGTERM and checks that every counted view reached
 * the table. The buffer's interval is set to an hour, so nothing is stored before the SIGTERM:
 * the shutdown alone must store it all.
 *
 * <p>Runs in {@code mvn verify} (failsafe), after the jar is built. The process's output goes to
 * {@code target/page-views-it.log}.
 */
class PageViewsJarIT {
  private static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String USER = "postgres";
  private static final int REQUESTS = 2_000;
  private static final int PAGES = 40;
  private static final int CLIENT_THREADS = 8;

  private final JsonMapper json = JsonMapper.builder().build();
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  @Test
  void sigtermStoresEveryCountedView() throws Exception {
    Path jar = Path.of(System.getProperty("page-views.jar", "target/page-views.jar"));
    assertThat(jar).as("the executable jar; run mvn verify (or package first)").isRegularFile();
    try (Connection connection = DriverManager.getConnection(URL, USER, null)) {
      assertThat(connection.isValid(5)).isTrue();
    }

    String table = "page_views_it_" + Long.toString(System.currentTimeMillis(), 36) + "_"
        + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
    int port = freePort();
    Path log = jar.resolveSibling("page-views-it.log");
    Process app = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", // starts faster on a small machine; the code is the same
        "-jar", jar.toString(),
        "--server.port=" + port,
        "--spring.datasource.url=" + URL,
        "--spring.datasource.username=" + USER,
        "--page-views.table=" + table,
        "--statbuffer.buffers.page-views.interval=1h")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    try {
      awaitHealthy(app, port, log);

      Map<String, Long> sent = sendViews(port);

      // Nothing is stored yet (the interval is an hour): every view is pending.
      JsonNode page0 = json.readTree(get(port, "/pages/page-0/views").body());
      assertThat(page0.get("stored").asLong()).isZero();
      assertThat(page0.get("pending").asLong()).isEqualTo(sent.get("page-0"));
      JsonNode keys = json.readTree(get(port, "/actuator/metrics/statbuffer.pending.keys").body());
      assertThat(keys.get("measurements").get(0).get("value").asDouble())
          .isEqualTo(sent.size());

      app.destroy(); // SIGTERM
      assertThat(app.waitFor(60, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
      System.out.println("page-views.jar exited with " + app.exitValue() + " after SIGTERM");

      assertThat(storedTotals(table)).as("stored after SIGTERM; log: %s", log).isEqualTo(sent);
    } finally {
      app.destroyForcibly();
      dropTables(table);
    }
  }

  private Map<String, Long> sendViews(int port) throws Exception {
    Map<String, Long> sent = new TreeMap<>();
    List<List<String>> perThread = new ArrayList<>();
    for (int t = 0; t < CLIENT_THREADS; t++) {
      perThread.add(new ArrayList<>());
    }
    for (int i = 0; i < REQUESTS; i++) {
      String page = "page-" + (i * 7 % PAGES == 0 ? 0 : i % PAGES);
      perThread.get(i % CLIENT_THREADS).add(page);
      sent.merge(page, 1L, Long::sum);
    }
    ExecutorService clients = Executors.newFixedThreadPool(CLIENT_THREADS);
    try {
      List<Future<Void>> results = new ArrayList<>();
      for (List<String> pages : perThread) {
        results.add(clients.submit(() -> {
          for (String page : pages) {
            HttpResponse<Void> response = http.send(
                request(port, "/pages/" + page + "/views")
                    .POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
            assertThat(response.statusCode()).as("POST %s", page).isEqualTo(202);
          }
          return null;
        }));
      }
      for (Future<Void> result : results) {
        result.get();
      }
    } finally {
      clients.shutdownNow();
    }
    return sent;
  }

  private void awaitHealthy(Process app, int port, Path log) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      assertThat(app.isAlive()).as("page-views.jar is running; log:%n%s", tail(log)).isTrue();
      try {
        if (get(port, "/actuator/health").statusCode() == 200) {
          return;
        }
      } catch (ConnectException e) {
        // not listening yet
      }
      Thread.sleep(250);
    }
    throw new AssertionError("page-views.jar did not become healthy in 90 s; log:\n" + tail(log));
  }

  private HttpResponse<String> get(int port, String path)
      throws IOException, InterruptedException {
    return http.send(request(port, path).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest.Builder request(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30));
  }

  private static Map<String, Long> storedTotals(String table) throws SQLException {
    Map<String, Long> totals = new TreeMap<>();
    try (Connection connection = DriverManager.getConnection(URL, USER, null);
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT page, views FROM " + table)) {
      while (rows.next()) {
        totals.put(rows.getString(1), rows.getLong(2));
      }
    }
    return totals;
  }

  private static void dropTables(String table) throws SQLException {
    try (Connection connection = DriverManager.getConnection(URL, USER, null);
        Statement statement = connection.createStatement()) {
      statement.execute("DROP TABLE IF EXISTS " + table);
      statement.execute("DROP TABLE IF EXISTS " + table + "_ledger");
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String tail(Path log) throws IOException {
    if (!Files.exists(log)) {
      return "(no log)";
    }
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }
}
