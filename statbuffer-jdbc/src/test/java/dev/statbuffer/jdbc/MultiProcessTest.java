package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Three JVM processes flush overlapping keys into the same table at once: the totals are exact
 * and no process deadlocks (a deadlock the database breaks is retried and stays exact).
 */
class MultiProcessTest {
  private static final int PROCESSES = 3;
  private static final int KEYS = 100;
  private static final int INCREMENTS = 100_000;

  @ParameterizedTest
  @ValueSource(strings = {Databases.POSTGRES_URL, Databases.MARIADB_URL})
  void processes_overlappingKeys_totalsExact(String url) throws Exception {
    String ns = "mp" + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36);
    try (HikariDataSource pool = Databases.pool(url, 2)) {
      try {
        JdbcSink.<String>builder(pool).table(ns + "_counts").keyColumns("k")
            .countColumn("total").ledgerTable(ns + "_ledger").build().createTables();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // Surefire puts the test classes and every test dependency on this class path.
        String classpath = System.getProperty("java.class.path");
        List<Process> children = new ArrayList<>();
        List<Path> outputs = new ArrayList<>();
        for (int p = 0; p < PROCESSES; p++) {
          Path out = Files.createTempFile("statbuffer-child", ".out");
          outputs.add(out);
          children.add(new ProcessBuilder(java, "-Xmx128m", "-XX:TieredStopAtLevel=1",
              "-cp", classpath, ChildWriter.class.getName(), url, ns, Integer.toString(p + 1),
              Integer.toString(INCREMENTS), Integer.toString(KEYS))
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start());
        }
        long[] expected = new long[KEYS];
        for (int p = 0; p < PROCESSES; p++) {
          Process child = children.get(p);
          boolean finished = child.waitFor(90, TimeUnit.SECONDS);
          String output = Files.readString(outputs.get(p), StandardCharsets.UTF_8);
          if (!finished) {
            child.destroyForcibly();
          }
          assertThat(finished).as("child %d finished; output:%n%s", p, output).isTrue();
          assertThat(child.exitValue()).as("child %d exit; output:%n%s", p, output).isZero();
          String sent = output.lines().filter(l -> l.startsWith("SENT ")).findFirst()
              .orElseThrow(() -> new AssertionError("no SENT line:\n" + output));
          String[] counts = sent.substring(5).split(",");
          for (int k = 0; k < KEYS; k++) {
            expected[k] += Long.parseLong(counts[k]);
          }
          output.lines().filter(l -> l.startsWith("STATS ")).forEach(System.out::println);
          Files.deleteIfExists(outputs.get(p));
        }
        long[] actual = new long[KEYS];
        try (Connection c = pool.getConnection(); Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT k, total FROM " + ns + "_counts")) {
          while (rs.next()) {
            actual[Integer.parseInt(rs.getString(1).substring(1))] = rs.getLong(2);
          }
        }
        assertThat(actual).isEqualTo(expected);
        assertThat(Arrays.stream(actual).sum()).isEqualTo((long) PROCESSES * INCREMENTS);
      } finally {
        Databases.drop(pool, ns + "_counts", ns + "_ledger");
      }
    }
  }
}
