package dev.statbuffer.example.pageviews;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.annotation.DirtiesContext.MethodMode;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Drives the running application over real HTTP against the real PostgreSQL
 * ({@code jdbc:postgresql://127.0.0.1:5432/test}, user {@code postgres}; the test fails when it is
 * not there). Each run writes to a table of its own, dropped at the end.
 *
 * <p>The methods run in order on one application: the JSON of {@code GET}, the actuator's
 * metrics, and last 20 000 concurrent {@code POST}s over 200 pages from 16 client threads,
 * followed by closing the application context. After the close, the table must hold exactly the
 * views every {@code POST} of the class counted, page by page ({@link #closed()}).
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PageViewsApplicationTest {
  private static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String USER = "postgres";
  private static final String TABLE = "page_views_test_"
      + Long.toString(System.currentTimeMillis(), 36) + "_"
      + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);

  private static final int REQUESTS = 20_000;
  private static final int PAGES = 200;
  private static final int CLIENT_THREADS = 16;

  /** Every view a {@code POST} of this class had accepted (2xx), by page. */
  private static final Map<String, Long> counted = new ConcurrentHashMap<>();

  /** The application's buffer, once the load has been sent: checked after the context closed. */
  private static StatBuffer<String> closedBuffer;

  private static final JsonMapper json = JsonMapper.builder().build();
  private static HttpClient http;

  @LocalServerPort
  private int port;

  @Autowired
  @Qualifier("page-views")
  private StatBuffer<String> buffer;

  @DynamicPropertySource
  static void properties(DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", () -> URL);
    registry.add("spring.datasource.username", () -> USER);
    registry.add("page-views.table", () -> TABLE);
  }

  @BeforeAll
  static void postgresIsThere() {
    try (Connection connection = DriverManager.getConnection(URL, USER, null)) {
      assertThat(connection.isValid(5)).isTrue();
    } catch (SQLException e) {
      throw new AssertionError("this test needs PostgreSQL at " + URL + " (user " + USER
          + ", no password): " + e.getMessage(), e);
    }
    http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  @Test
  @Order(1)
  void getAnswersStoredAndPendingAsJson() throws Exception {
    JsonNode none = getJson("/pages/never-viewed/views");
    assertThat(none.get("page").asString()).isEqualTo("never-viewed");
    assertThat(none.get("stored").asLong()).isZero();
    assertThat(none.get("pending").asLong()).isZero();

    for (int i = 0; i < 3; i++) {
      assertThat(post("json-check")).isBetween(200, 299);
    }
    JsonNode first = getJson("/pages/json-check/views");
    assertThat(first.get("page").asString()).isEqualTo("json-check");
    // Read one after the other while the window may be handed over: each is 0 or 3.
    assertThat(first.get("pending").asLong()).isIn(0L, 3L);
    assertThat(first.get("stored").asLong()).isIn(0L, 3L);

    // The interval is 1 s: the views move from the buffer to the table.
    JsonNode settled = first;
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (!(settled.get("stored").asLong() == 3 && settled.get("pending").asLong() == 0)
        && System.nanoTime() < deadline) {
      Thread.sleep(100);
      settled = getJson("/pages/json-check/views");
    }
    assertThat(settled.get("stored").asLong()).as("stored after the interval").isEqualTo(3);
    assertThat(settled.get("pending").asLong()).as("pending after the interval").isZero();

    HttpResponse<String> tooLong = http.send(
        request("/pages/" + "x".repeat(PageViewsController.MAX_PAGE_LENGTH + 1) + "/views")
            .POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(tooLong.statusCode()).isEqualTo(400);
  }

  @Test
  @Order(2)
  void actuatorExposesHealthAndTheBufferMetrics() throws Exception {
    assertThat(post("metrics-check")).isBetween(200, 299);

    HttpResponse<String> health = get("/actuator/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(json.readTree(health.body()).get("status").asString()).isEqualTo("UP");

    HttpResponse<String> metric = get("/actuator/metrics/statbuffer.pending.keys");
    assertThat(metric.statusCode()).as(metric.body()).isEqualTo(200);
    JsonNode body = json.readTree(metric.body());
    assertThat(body.get("name").asString()).isEqualTo("statbuffer.pending.keys");
    JsonNode measurements = body.get("measurements");
    assertThat(measurements.isArray()).as(metric.body()).isTrue();
    assertThat(measurements.size()).as(metric.body()).isPositive();
    assertThat(measurements.get(0).get("value").asDouble()).isGreaterThanOrEqualTo(0);
  }

  @Test
  @Order(3)
  @DirtiesContext(methodMode = MethodMode.AFTER_METHOD) // closes the application: see closed()
  void twentyThousandConcurrentViews() throws Exception {
    List<String> pages = new ArrayList<>(REQUESTS);
    Random random = new Random(42);
    for (int i = 0; i < REQUESTS; i++) {
      // Skewed: low page numbers are viewed far more often than high ones.
      pages.add("page-" + (int) (PAGES * Math.pow(random.nextDouble(), 3)));
    }

    ExecutorService clients = Executors.newFixedThreadPool(CLIENT_THREADS);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Void>> results = new ArrayList<>();
    long began;
    try {
      for (int t = 0; t < CLIENT_THREADS; t++) {
        int first = t;
        results.add(clients.submit(() -> {
          start.await();
          for (int i = first; i < REQUESTS; i += CLIENT_THREADS) {
            int status = post(pages.get(i));
            assertThat(status).as("POST %s", pages.get(i)).isBetween(200, 299);
          }
          return null;
        }));
      }
      began = System.nanoTime();
      start.countDown();
      for (Future<Void> result : results) {
        result.get();
      }
    } finally {
      clients.shutdownNow();
    }
    long millis = (System.nanoTime() - began) / 1_000_000;
    System.out.printf("%d POSTs from %d threads in %d ms%n", REQUESTS, CLIENT_THREADS, millis);
    closedBuffer = buffer;
  }

  /**
   * After the last method the test framework closes the application context (the method's
   * {@code @DirtiesContext}), as a shutdown would: the buffer must then have stored every view
   * that was still pending. (Closing the context from inside a test method would leave a closed
   * context in the test framework's cache, which then fails to restart it.)
   */
  @AfterAll
  static void closed() throws SQLException {
    try {
      if (closedBuffer != null) {
        assertThat(closedBuffer.isClosed()).as("the context's close closed the buffer").isTrue();
        assertThat(closedBuffer.stats().droppedSum()).as("dropped views").isZero();
        assertThat(storedTotals()).as("stored views by page").isEqualTo(new TreeMap<>(counted));
        assertThat(counted.values().stream().mapToLong(Long::longValue).sum())
            .isGreaterThanOrEqualTo(REQUESTS);
      }
    } finally {
      try (Connection connection = DriverManager.getConnection(URL, USER, null);
          Statement statement = connection.createStatement()) {
        statement.execute("DROP TABLE IF EXISTS " + TABLE);
        statement.execute("DROP TABLE IF EXISTS " + TABLE + "_ledger");
      }
    }
  }

  private static Map<String, Long> storedTotals() throws SQLException {
    Map<String, Long> totals = new TreeMap<>();
    try (Connection connection = DriverManager.getConnection(URL, USER, null);
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT page, views FROM " + TABLE)) {
      while (rows.next()) {
        totals.put(rows.getString(1), rows.getLong(2));
      }
    }
    return totals;
  }

  /** POSTs one view and, when it was accepted, adds it to {@link #counted}. */
  private int post(String page) throws IOException, InterruptedException {
    HttpResponse<Void> response = http.send(
        request("/pages/" + page + "/views").POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() / 100 == 2) {
      counted.merge(page, 1L, Long::sum);
    }
    return response.statusCode();
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode getJson(String path) throws IOException, InterruptedException {
    HttpResponse<String> response = get(path);
    assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
        type -> assertThat(type).startsWith("application/json"));
    return json.readTree(response.body());
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30));
  }
}
