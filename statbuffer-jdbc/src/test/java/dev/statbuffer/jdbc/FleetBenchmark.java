package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The fleet measurement of issue 14, not part of the suite (the class name does not match
 * Surefire's test patterns, so {@code verify} skips it). Run it explicitly:
 *
 * <pre>
 * ./mvnw -B test -pl statbuffer-jdbc -Dtest=FleetBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * <p>For each database and each {@code maxRowsPerTransaction} setting it runs
 * {@code fleet.writers} {@link FleetWriter} JVMs (8) that count uniformly random keys out of
 * {@code fleet.keys} shared ones (10 000) at {@code fleet.rate} increments per second each
 * (50 000), with interval {@code fleet.interval} ms (1 000) and otherwise default settings, for
 * {@code fleet.seconds} (40), of which the first {@code fleet.warmup} (10) are not measured. It
 * reports the rows per second delivered against the model of issue 14,
 * {@code W = sum_i L_i / (1 + L_i * T / N)} with the measured increment rates {@code L_i}; the
 * handler's p50, p99 and max over every writer's calls; on PostgreSQL the share of the sink's
 * busy backends that wait on a lock ({@code pg_stat_activity.wait_event_type = 'Lock'}, sampled
 * every 100 ms), on MariaDB the share of its running statements whose transaction is in
 * {@code LOCK WAIT}; the machine's load average before and after; and it checks that the totals
 * are exact. System properties:
 * {@code fleet.databases} ({@code postgresql,mariadb}), {@code fleet.rowsPerTransaction}
 * (comma-separated; {@code batch} keeps each batch in one transaction, the behaviour before
 * chunking; {@code default} is the sink's default; default {@code batch,default}),
 * {@code fleet.burst} (0: each writer spreads its increments evenly; {@code p}: it makes a
 * period's increments at once at the start of each period of {@code p} ms, so that many windows
 * close together and batches are large), and {@code fleet.out}, a file the Markdown table is
 * appended to. The writers' buffers have a shutdown timeout of 3 minutes, so that a store that
 * fell behind catches up before the totals are checked.
 */
class FleetBenchmark {
  private static final String APPLICATION = "statbuffer-fleet";

  @Test
  void fleet() throws Exception {
    int writers = Integer.getInteger("fleet.writers", 8);
    int keys = Integer.getInteger("fleet.keys", 10_000);
    int rate = Integer.getInteger("fleet.rate", 50_000);
    int seconds = Integer.getInteger("fleet.seconds", 40);
    int warmup = Integer.getInteger("fleet.warmup", 10);
    int interval = Integer.getInteger("fleet.interval", 1_000);
    int burst = Integer.getInteger("fleet.burst", 0);
    List<String> rows = List.of(System.getProperty("fleet.rowsPerTransaction", "batch,default")
        .split(","));
    StringBuilder table = new StringBuilder();
    table.append(String.format(Locale.ROOT, "%n%d writers x %d increments/s on %d uniform keys,"
        + " interval %d ms, %d s (first %d s not measured), default buffer and sink settings"
        + " but maxRowsPerTransaction; %s:%n%n", writers, rate, keys, interval, seconds, warmup,
        (burst == 0) ? "increments spread evenly (every 0.2 ms)"
            : "increments in one burst every " + burst + " ms"));
    table.append("| database | maxRowsPerTransaction | rows/s | modelled rows/s | % of model"
        + " | handed over rows/s | keys per call | handler p50 ms | p99 ms | max ms"
        + " | lock-wait share | failed calls | totals | load average |\n");
    table.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (String database : System.getProperty("fleet.databases", "postgresql,mariadb")
        .split(",")) {
      boolean postgres = database.equals("postgresql");
      String url = postgres ? Databases.POSTGRES_URL + "&ApplicationName=" + APPLICATION
          : Databases.MARIADB_URL;
      for (String setting : rows) {
        int perTransaction = setting.equals("batch") ? Integer.MAX_VALUE
            : setting.equals("default") ? 0 : Integer.parseInt(setting);
        String line = run(database, postgres, url, setting, perTransaction, writers, keys, rate,
            seconds, warmup, interval, burst);
        System.out.println(line);
        table.append(line).append('\n');
      }
    }
    System.out.println(table);
    String out = System.getProperty("fleet.out");
    if (out != null) {
      Files.writeString(Path.of(out), table, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
  }

  private static String run(String database, boolean postgres, String url, String setting,
      int perTransaction, int writers, int keys, int rate, int seconds, int warmup, int interval,
      int burst) throws Exception {
    String[] line = new String[1];
    Fleet.withTables(url, "fb", (pool, ns) -> {
      String loadBefore = loadAverage();
      LockSampler sampler = new LockSampler(pool, postgres, ns, warmup, seconds);
      sampler.start();
      List<Fleet.Output> outputs = Fleet.run(FleetWriter.class, writers,
          p -> List.of(url, ns, Integer.toString(p + 1), Integer.toString(keys),
              Integer.toString(rate), Integer.toString(seconds), Integer.toString(interval),
              Integer.toString(warmup), Integer.toString(perTransaction),
              Integer.toString(burst)),
          seconds + 600L);
      sampler.join();
      long[] actual = Fleet.totals(pool, ns, keys);
      boolean exact = Arrays.equals(actual, Fleet.sent(outputs, keys));
      double delivered = 0;
      double handedOver = 0;
      double modelled = 0;
      double failed = 0;
      double calls = 0;
      List<long[]> times = new ArrayList<>();
      for (Fleet.Output output : outputs) {
        Map<String, Double> r = output.result();
        double s = r.get("seconds");
        double l = r.get("increments") / s;
        delivered += r.get("deliveredKeys") / s;
        handedOver += r.get("handedOverKeys") / s;
        modelled += l / (1 + l * (interval / 1000.0) / keys);
        failed += r.get("failedCalls");
        calls += r.get("deliveries");
        times.add(output.handlerNanos());
        System.out.println("RESULT " + r + "\nSTATS " + output.stats());
      }
      long[] all = times.stream().flatMapToLong(Arrays::stream).sorted().toArray();
      assertThat(exact).as("totals exact").isTrue();
      double keysPerCall = outputs.stream().mapToDouble(o -> o.result().get("deliveredKeys"))
          .sum() / Math.max(1, calls);
      line[0] = String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.0f%% | %.0f | %.0f | %.1f"
          + " | %.1f | %.1f | %s | %.0f | %s | %s -> %s |", database,
          setting.equals("batch") ? "batch (one transaction)" : setting.equals("default")
              ? "default (" + Config.DEFAULT_ROWS_PER_TRANSACTION + ")" : setting,
          delivered, modelled, 100 * delivered / modelled, handedOver, keysPerCall,
          quantile(all, 0.5),
          quantile(all, 0.99), quantile(all, 1.0), sampler.share(), failed,
          exact ? "exact" : "WRONG", loadBefore, loadAverage());
    });
    return line[0];
  }

  /** The machine's 1-minute load average (other work on the machine skews the numbers). */
  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  private static double quantile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return 0;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }

  /** Samples, during the measured window, how many of the sink's busy sessions wait on locks. */
  private static final class LockSampler extends Thread {
    private final DataSource pool;
    private final boolean postgres;
    private final String ns;
    private final long fromNanos;
    private final long toNanos;
    private long waiting;
    private long busy;
    private long samples;
    private volatile String error;

    LockSampler(DataSource pool, boolean postgres, String ns, int warmup, int seconds) {
      super("fleet-lock-sampler");
      this.pool = pool;
      this.postgres = postgres;
      this.ns = ns;
      long start = System.nanoTime();
      this.fromNanos = start + TimeUnit.SECONDS.toNanos(warmup + 1); // JVMs start in about 1 s
      this.toNanos = start + TimeUnit.SECONDS.toNanos(seconds);
    }

    @Override
    public void run() {
      String sql = postgres
          ? "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE"
              + " state <> 'idle') FROM pg_stat_activity WHERE application_name = '"
              + APPLICATION + "'"
          : "SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN"
              + " information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
              + " WHERE t.trx_state = 'LOCK WAIT' AND p.INFO LIKE '%" + ns + "%'"
              + " AND p.ID <> CONNECTION_ID()), (SELECT COUNT(*) FROM"
              + " information_schema.PROCESSLIST p WHERE p.COMMAND = 'Query' AND p.INFO LIKE '%"
              + ns + "%' AND p.ID <> CONNECTION_ID())";
      try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
        while (System.nanoTime() < toNanos) {
          if (System.nanoTime() >= fromNanos) {
            try (ResultSet rs = s.executeQuery(sql)) {
              rs.next();
              waiting += rs.getLong(1);
              busy += rs.getLong(2);
              samples++;
            }
          }
          Thread.sleep(100);
        }
      } catch (SQLException | InterruptedException e) {
        error = e.toString();
      }
    }

    String share() {
      if (error != null) {
        return "n/a (" + error + ")";
      }
      return String.format(Locale.ROOT, "%.0f%% (%.1f of %.1f busy, %d samples)",
          (busy == 0) ? 0.0 : 100.0 * waiting / busy, (double) waiting / Math.max(1, samples),
          (double) busy / Math.max(1, samples), samples);
    }
  }
}
