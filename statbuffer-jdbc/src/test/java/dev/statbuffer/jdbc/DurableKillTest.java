package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, against the real PostgreSQL with real SIGKILLs: a durable buffer loses no increment
 * that returned true and applies nothing twice, however often its process is killed.
 *
 * <p>A child JVM ({@link DurableKillChild}) counts random keys out of {@value #KEYS} from
 * {@value #THREADS} threads through a durable buffer into an exactly-once {@link JdbcSink}
 * (flushing every 150 ms, so kills land during flushes too), and after each increment that
 * returned true bumps that thread's cell for the key in a memory-mapped record file of its own.
 * The test kills it with SIGKILL {@value #KILLS} times, 0.2 to 1.5 s after it starts counting, and
 * restarts it each time on the same durable directory and record file; the last run counts for a
 * moment and closes the buffer normally.
 *
 * <p>Then, per key, the table holds at least what the records say (nothing lost), and more only by
 * increments killed after they reached the buffer and before their record was written: at most
 * one per thread per kill across all keys. Nothing is doubled: the ledger has one row per batch
 * id, every id the children handed to the sink more than once (re-delivered after a kill, some of
 * them applied before it) carried the same sum each time, and the table's total is exactly the sum
 * of the ledger's batches. At least half the restarts took up counts the dead process left, some
 * batches were handed to the sink again under their ids, and the clean close leaves no data file
 * in the durable directory (only its {@code lock}).
 *
 * <p>Each run's output (its {@code BATCH}/{@code APPLIED} lines) goes to
 * {@code target/durable-kill/run-NN.log}; the tables are dropped when the test passes and kept,
 * named in the failure, when it fails.
 */
class DurableKillTest {
  private static final int THREADS = 4;
  private static final int KEYS = 200;
  private static final int KILLS = 20;

  @TempDir Path dir;

  /** What one child process printed, and how it ended. */
  private record Run(int index, List<String> lines, long killDelayMillis, long startMillis) {
    long recovered() {
      return lines.stream().filter(l -> l.startsWith("RECOVERED ")).findFirst()
          .map(l -> Long.parseLong(l.split(" ")[1]))
          .orElseThrow(() -> new AssertionError("run " + index + ": no RECOVERED line:\n"
              + String.join("\n", lines)));
    }

    /** The {@code BATCH <id> <sum>} lines: each call of the sink, in order. */
    List<String[]> calls() {
      return lines.stream().filter(l -> l.startsWith("BATCH ")).map(l -> l.split(" "))
          .collect(Collectors.toList());
    }

    /** Batch ids the sink returned for (applied, or skipped as already in the ledger). */
    Set<String> applied() {
      return lines.stream().filter(l -> l.startsWith("APPLIED ")).map(l -> l.split(" ")[1])
          .collect(Collectors.toSet());
    }

    /** Batch ids handed to the sink and not returned when the process died. */
    Set<String> inFlight() {
      Set<String> ids = calls().stream().map(c -> c[1]).collect(Collectors.toSet());
      ids.removeAll(applied());
      return ids;
    }
  }

  @Test
  void durableBuffer_sigkilledTwentyTimesWhileCounting_nothingLostNothingDoubled()
      throws Exception {
    String ns = "dkill_" + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36);
    Path durable = dir.resolve("durable");
    Path recordFile = dir.resolve("records.bin");
    long seed = System.nanoTime();
    SplittableRandom random = new SplittableRandom(seed);
    try (HikariDataSource pool = Databases.pool(Databases.POSTGRES_URL, 2)) {
      JdbcSink.<String>builder(pool).table(ns + "_counts").keyColumns("k")
          .countColumn("total").ledgerTable(ns + "_ledger").build().createTables();

      List<Run> runs = new ArrayList<>();
      for (int kill = 0; kill < KILLS; kill++) {
        long delay = 200 + random.nextInt(1_301);
        runs.add(keepLog(killed(kill, ns, durable, recordFile, random.nextLong(), delay)));
      }
      runs.add(keepLog(closed(KILLS, ns, durable, recordFile, random.nextLong())));

      long[] records = records(recordFile);
      long[] table = totals(pool, ns);
      Set<String> ledger = ledger(pool, ns);
      Evidence evidence = new Evidence(runs);
      String context = "namespace " + ns + ", seed " + seed + "\n"
          + evidence.summary(records, table, ledger);
      System.out.println(context);

      // Nothing lost: per key, the table holds at least what the threads recorded.
      List<String> lost = new ArrayList<>();
      long excess = 0;
      for (int k = 0; k < KEYS; k++) {
        long difference = table[k] - records[k];
        excess += difference;
        if (difference < 0) {
          lost.add("k" + k + ": table " + table[k] + " < records " + records[k]);
        }
      }
      assertThat(LongStream.of(records).sum()).as("the children counted").isPositive();
      assertThat(lost).as("keys whose table total is below the records (counts lost); %s",
          context).isEmpty();
      // Nothing doubled: more only by increments killed between the buffer and the record.
      assertThat(excess)
          .as("table minus records over all keys: at most one increment per thread per kill "
              + "(%d); %s", THREADS * KILLS, context)
          .isBetween(0L, (long) THREADS * KILLS);

      // The ledger: one row per batch id, each id applied once with the same counts.
      assertThat(Databases.query(pool, "SELECT COUNT(*) - COUNT(DISTINCT batch_id) FROM "
          + ns + "_ledger")).as("duplicate batch ids in the ledger").isZero();
      assertThat(evidence.conflicting).as("batch ids handed to the sink with different sums; %s",
          context).isEmpty();
      assertThat(ledger).as("batch ids the sink returned for are in the ledger")
          .containsAll(evidence.applied);
      assertThat(evidence.sums.keySet()).as("the ledger holds only batches handed to the sink")
          .containsAll(ledger);
      assertThat(LongStream.of(table).sum())
          .as("the table is the sum of the ledger's batches, each applied once; %s", context)
          .isEqualTo(ledger.stream().mapToLong(evidence.sums::get).sum());

      // Restarts took up what the killed processes left, some of it under the dead ones' ids.
      long recovering = runs.stream().skip(1).filter(r -> r.recovered() > 0).count();
      assertThat(recovering).as("restarts that took up counts the killed process left; %s",
          context).isGreaterThanOrEqualTo(KILLS / 2);
      assertThat(evidence.handedAgain).as("batch ids handed to the sink again after a kill; %s",
          context).isPositive();

      // The clean close leaves nothing pending.
      try (Stream<Path> files = Files.list(durable)) {
        assertThat(files.map(p -> p.getFileName().toString()))
            .as("the durable directory after the clean close").isSubsetOf("lock");
      }
      Databases.drop(pool, ns + "_counts", ns + "_ledger");
    }
  }

  /** Runs a child until it counts, lets it count for {@code delayMillis}, and SIGKILLs it. */
  private Run killed(int index, String ns, Path durable, Path recordFile, long seed,
      long delayMillis) throws Exception {
    long started = System.nanoTime();
    Child child = start(ns, durable, recordFile, seed, -1);
    long startMillis;
    try {
      assertThat(child.awaitCounting(60))
          .as("run %d starts counting:%n%s", index, child.output()).isTrue();
      startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      Thread.sleep(delayMillis);
      assertThat(child.process.isAlive()).as("run %d is alive before its kill:%n%s", index,
          child.output()).isTrue();
    } finally {
      child.process.destroyForcibly(); // SIGKILL on Linux
    }
    assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("run %d dies", index).isTrue();
    int exit = child.process.exitValue();
    assertThat(exit).as("run %d ended by SIGKILL (128 + 9):%n%s", index, child.output())
        .isEqualTo(137);
    return new Run(index, child.output(), delayMillis, startMillis);
  }

  /** Runs a child that counts for a moment, closes its buffer and exits. */
  private Run closed(int index, String ns, Path durable, Path recordFile, long seed)
      throws Exception {
    long started = System.nanoTime();
    Child child = start(ns, durable, recordFile, seed, 500);
    boolean finished = child.process.waitFor(60, TimeUnit.SECONDS);
    if (!finished) {
      child.process.destroyForcibly();
      child.process.waitFor(30, TimeUnit.SECONDS);
    }
    assertThat(finished).as("the last run closes and exits:%n%s", child.output()).isTrue();
    assertThat(child.process.exitValue()).as("the last run's exit:%n%s", child.output())
        .isZero();
    assertThat(child.output()).as("the last run closed cleanly").contains("CLOSED");
    return new Run(index, child.output(), -1,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  /**
   * A running child. Its output goes to a file, not a pipe: {@code destroyForcibly} closes the
   * pipe, losing what the parent had not read yet, while the file keeps every line the child
   * wrote before it died.
   */
  private record Child(Process process, Path out) {
    List<String> output() throws IOException {
      return Files.readAllLines(out, StandardCharsets.UTF_8);
    }

    /** Waits until the child prints {@code COUNTING}, or dies, or the time is up. */
    boolean awaitCounting(long seconds) throws IOException, InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() - deadline < 0) {
        String text = Files.readString(out, StandardCharsets.UTF_8);
        if (text.contains("\nCOUNTING") || text.startsWith("COUNTING")) {
          return true;
        }
        if (!process.isAlive()) {
          return false;
        }
        Thread.sleep(10);
      }
      return false;
    }
  }

  private Child start(String ns, Path durable, Path recordFile, long seed, long countMillis)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path out = Files.createTempFile(dir, "child", ".out");
    // Surefire puts the test classes and every test dependency on this class path.
    Process process = new ProcessBuilder(java, "-Xmx128m", "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        DurableKillChild.class.getName(), Databases.POSTGRES_URL, ns, durable.toString(),
        recordFile.toString(), Integer.toString(THREADS), Integer.toString(KEYS),
        Long.toString(countMillis), Long.toString(seed))
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    return new Child(process, out);
  }

  /**
   * Writes a run's output to {@code target/durable-kill/run-NN.log} (replacing the last test's),
   * the evidence to read when the totals are wrong.
   */
  private static Run keepLog(Run run) throws IOException {
    Path logs = Path.of("target", "durable-kill");
    Files.createDirectories(logs);
    Files.write(logs.resolve(String.format("run-%02d.log", run.index())), run.lines(),
        StandardCharsets.UTF_8);
    return run;
  }

  /** The records summed over threads, per key. */
  private static long[] records(Path file) throws IOException {
    ByteBuffer bytes = ByteBuffer.allocate(THREADS * KEYS * Long.BYTES)
        .order(ByteOrder.nativeOrder());
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      while (bytes.hasRemaining() && channel.read(bytes) >= 0) {
        // read it all
      }
    }
    assertThat(bytes.hasRemaining()).as("the record file is whole").isFalse();
    long[] sums = new long[KEYS];
    for (int t = 0; t < THREADS; t++) {
      for (int k = 0; k < KEYS; k++) {
        sums[k] += bytes.getLong((t * KEYS + k) * Long.BYTES);
      }
    }
    return sums;
  }

  private static long[] totals(DataSource ds, String ns) throws SQLException {
    long[] totals = new long[KEYS];
    try (Connection c = ds.getConnection(); Statement s = c.createStatement();
        ResultSet rows = s.executeQuery("SELECT k, total FROM " + ns + "_counts")) {
      while (rows.next()) {
        totals[Integer.parseInt(rows.getString(1).substring(1))] = rows.getLong(2);
      }
    }
    return totals;
  }

  /** The batch ids in the ledger. */
  private static Set<String> ledger(DataSource ds, String ns) throws SQLException {
    Set<String> ids = new HashSet<>();
    try (Connection c = ds.getConnection(); Statement s = c.createStatement();
        ResultSet rows = s.executeQuery("SELECT batch_id FROM " + ns + "_ledger")) {
      while (rows.next()) {
        ids.add(rows.getString(1));
      }
    }
    return ids;
  }

  /** What the children's output says about the batches they handed to the sink. */
  private static final class Evidence {
    final List<Run> runs;
    /** Each batch id's sum, as first handed. */
    final Map<String, Long> sums = new HashMap<>();
    /** Batch ids handed again with another sum. */
    final List<String> conflicting = new ArrayList<>();
    /** Batch ids the sink returned for, in any run. */
    final Set<String> applied = new HashSet<>();
    /** Calls of the sink with an id handed to it in an earlier run. */
    long handedAgain;
    /** Of those, calls with an id the sink had returned for in an earlier run (a duplicate). */
    long appliedAgain;
    /**
     * Calls with an id of a sender seen in an earlier run: a lower bound of the calls under a
     * dead process's ids (a process killed before it called the sink shows its sender later).
     */
    long oldSender;

    private final Map<Integer, String> perRun = new HashMap<>();

    Evidence(List<Run> runs) {
      this.runs = runs;
      Map<String, Integer> firstRun = new HashMap<>();
      Map<String, Integer> senderRun = new HashMap<>();
      for (Run run : runs) {
        int again = 0;
        int duplicates = 0;
        int old = 0;
        for (String[] call : run.calls()) {
          String id = call[1];
          long sum = Long.parseLong(call[2]);
          Long before = sums.putIfAbsent(id, sum);
          if (before != null && before != sum) {
            conflicting.add(id + ": " + before + " then " + sum + " (run " + run.index() + ")");
          }
          Integer first = firstRun.putIfAbsent(id, run.index());
          if (first != null && first != run.index()) {
            again++;
            if (applied.contains(id)) {
              duplicates++;
            }
          }
          Integer sender = senderRun.putIfAbsent(id.substring(0, id.lastIndexOf('-')),
              run.index());
          if (sender != null && sender != run.index()) {
            old++;
          }
        }
        applied.addAll(run.applied());
        handedAgain += again;
        appliedAgain += duplicates;
        oldSender += old;
        perRun.put(run.index(), String.format("calls %d (again %d, of them applied before %d; "
                + "old senders %d), returned %d, in flight at the end %d", run.calls().size(),
            again, duplicates, old, run.applied().size(), run.inFlight().size()));
      }
    }

    /**
     * What happened, for the log and for failures: each run's start and kill, recovered sum and
     * calls of the sink; totals; and the keys where the table and the records differ.
     */
    String summary(long[] records, long[] table, Set<String> ledger) {
      StringBuilder out = new StringBuilder();
      for (Run run : runs) {
        out.append(String.format("run %2d: %s, recovered %d, %s%n", run.index(),
            run.killDelayMillis() < 0 ? "closed after " + run.startMillis() + " ms in all"
                : "counting after " + run.startMillis() + " ms, killed " + run.killDelayMillis()
                    + " ms later",
            run.recovered(), perRun.get(run.index())));
      }
      long killedInFlight = runs.stream().filter(r -> r.killDelayMillis() >= 0)
          .filter(r -> !r.inFlight().isEmpty()).count();
      out.append(String.format("kills with a batch in the sink: %d of %d; calls with an id "
              + "handed in an earlier run: %d (returned for before: %d); with an earlier "
              + "sender's id: at least %d; distinct batch ids %d, in the ledger %d%n",
          killedInFlight, KILLS, handedAgain, appliedAgain, oldSender, sums.size(),
          ledger.size()));
      long excess = 0;
      StringBuilder keys = new StringBuilder();
      for (int k = 0; k < KEYS; k++) {
        long difference = table[k] - records[k];
        excess += difference;
        if (difference != 0) {
          keys.append(" k").append(k).append(difference > 0 ? "+" : "").append(difference);
        }
      }
      out.append(String.format("records %d, table %d, table - records %d, keys that differ:%s",
          LongStream.of(records).sum(), LongStream.of(table).sum(), excess,
          keys.length() == 0 ? " none" : keys));
      return out.toString();
    }
  }
}
