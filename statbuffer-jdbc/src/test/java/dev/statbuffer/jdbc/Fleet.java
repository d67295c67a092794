package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import javax.sql.DataSource;

/**
 * Runs writer processes ({@link ChildWriter}, {@link FleetWriter}) in JVMs of their own on the
 * test class path, and reads what they print.
 */
final class Fleet {
  private Fleet() {}

  /** What one writer process printed. */
  record Output(String text) {
    /** The {@code SENT} line: increments counted per key. */
    long[] sent(int keys) {
      String[] counts = line("SENT").split(",");
      long[] sent = new long[keys];
      for (int k = 0; k < keys; k++) {
        sent[k] = Long.parseLong(counts[k]);
      }
      return sent;
    }

    /** The {@code RESULT} line as a map of its {@code key=value} fields. */
    Map<String, Double> result() {
      Map<String, Double> fields = new HashMap<>();
      for (String field : line("RESULT").split(" ")) {
        int eq = field.indexOf('=');
        fields.put(field.substring(0, eq), Double.parseDouble(field.substring(eq + 1)));
      }
      return fields;
    }

    /** The {@code HANDLER_NANOS} line: every timed handler call. */
    long[] handlerNanos() {
      String times = line("HANDLER_NANOS");
      return times.isEmpty() ? new long[0]
          : java.util.Arrays.stream(times.split(",")).mapToLong(Long::parseLong).toArray();
    }

    /** The {@code STATS} line, without its tag. */
    String stats() {
      return line("STATS");
    }

    private String line(String tag) {
      return text.lines().filter(l -> l.startsWith(tag + " ") || l.equals(tag)).findFirst()
          .map(l -> l.substring(Math.min(l.length(), tag.length() + 1)))
          .orElseThrow(() -> new AssertionError("no " + tag + " line:\n" + text));
    }
  }

  /**
   * Starts {@code processes} JVMs running {@code main} with the arguments {@code args} gives for
   * each, waits up to {@code timeoutSeconds} for them, and asserts that each finished with exit
   * code 0.
   *
   * @return their outputs, in order
   */
  static List<Output> run(Class<?> main, int processes, IntFunction<List<String>> args,
      long timeoutSeconds) throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // Surefire puts the test classes and every test dependency on this class path.
    String classpath = System.getProperty("java.class.path");
    List<Process> children = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    for (int p = 0; p < processes; p++) {
      Path out = Files.createTempFile("statbuffer-child", ".out");
      files.add(out);
      List<String> command = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
          "-cp", classpath, main.getName()));
      command.addAll(args.apply(p));
      children.add(new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(out.toFile()).start());
    }
    List<Output> outputs = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    for (int p = 0; p < processes; p++) {
      Process child = children.get(p);
      boolean finished = child.waitFor(Math.max(1, deadline - System.nanoTime()),
          TimeUnit.NANOSECONDS);
      if (!finished) {
        child.destroyForcibly();
      }
      String output = Files.readString(files.get(p), StandardCharsets.UTF_8);
      Files.deleteIfExists(files.get(p));
      assertThat(finished).as("child %d finished; output:%n%s", p, output).isTrue();
      assertThat(child.exitValue()).as("child %d exit; output:%n%s", p, output).isZero();
      outputs.add(new Output(output));
    }
    return outputs;
  }

  /** Work on a fresh pair of tables {@code <ns>_counts (k, total)} and {@code <ns>_ledger}. */
  interface TablesBody {
    void run(DataSource pool, String ns) throws Exception;
  }

  /**
   * Creates the tables of a new namespace starting with {@code prefix} in the database at
   * {@code url}, runs {@code body} and drops them.
   */
  static void withTables(String url, String prefix, TablesBody body) throws Exception {
    String ns = prefix + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36);
    try (HikariDataSource pool = Databases.pool(url, 2)) {
      try {
        JdbcSink.<String>builder(pool).table(ns + "_counts").keyColumns("k")
            .countColumn("total").ledgerTable(ns + "_ledger").build().createTables();
        body.run(pool, ns);
      } finally {
        Databases.drop(pool, ns + "_counts", ns + "_ledger");
      }
    }
  }

  /** Prints what a writer counted per key, as the line {@code SENT c0,c1,...}. */
  static void printSent(long[] sent) {
    StringBuilder line = new StringBuilder("SENT ");
    for (int k = 0; k < sent.length; k++) {
      line.append((k == 0) ? "" : ",").append(sent[k]);
    }
    System.out.println(line);
  }

  /** The sum of the writers' {@code SENT} counts per key. */
  static long[] sent(List<Output> outputs, int keys) {
    long[] expected = new long[keys];
    for (Output output : outputs) {
      long[] sent = output.sent(keys);
      for (int k = 0; k < keys; k++) {
        expected[k] += sent[k];
      }
    }
    return expected;
  }

  /** The totals of keys {@code k0...} in {@code <ns>_counts}. */
  static long[] totals(DataSource ds, String ns, int keys) throws SQLException {
    long[] actual = new long[keys];
    try (Connection c = ds.getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT k, total FROM " + ns + "_counts")) {
      while (rs.next()) {
        actual[Integer.parseInt(rs.getString(1).substring(1))] = rs.getLong(2);
      }
    }
    return actual;
  }
}
