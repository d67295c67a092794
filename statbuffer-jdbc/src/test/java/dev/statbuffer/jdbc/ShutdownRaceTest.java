package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.DeadLetters;
import dev.statbuffer.KeyCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 2, against the real PostgreSQL: an application that closes its pool in a
 * shutdown hook of its own raced the buffer's dump, and lost the counts without printing a line.
 * Now nothing is lost silently: what the dump could not deliver is on standard error and in the
 * dead-letter file, and a replay (twice) makes the table exact. With {@code closeAfterDump(pool)}
 * the race is gone and every count is delivered.
 */
class ShutdownRaceTest {
  private static final int KEYS = 1_000;

  @TempDir Path dir;

  @Test
  void poolClosedByACompetingHook_nothingLostSilently_replayMakesTheTableExact()
      throws Exception {
    String prefix = "race_" + Long.toString(System.nanoTime(), 36);
    Path deadLetters = dir.resolve("race.dead");
    Child child = run(prefix, "race", deadLetters);

    long delivered = total(prefix);
    List<DeadLetters.DeadLetter<String>> letters = DeadLetters.read(deadLetters, KeyCodec.utf8());
    long deadLettered = letters.stream().flatMap(l -> l.counts().values().stream())
        .mapToLong(Long::longValue).sum();
    assertThat(delivered + deadLettered).as("delivered + dead-lettered = sent")
        .isEqualTo(child.sent);
    assertThat(deadLettered).as("the race was lost (the pool closed first)").isPositive();
    assertThat(child.stderr).as("the drop is printed, with its counts")
        .contains("StatBuffer dropped batch").contains("sum " + deadLettered);

    try (HikariDataSource pool = Databases.pool(Databases.POSTGRES_URL, 2)) {
      JdbcSink<String> sink = JdbcSink.<String>builder(pool)
          .table(prefix + "_counts").keyColumns("k").countColumn("total")
          .ledgerTable(prefix + "_ledger").build();
      DeadLetters.replay(deadLetters, KeyCodec.utf8(), sink);
      DeadLetters.replay(deadLetters, KeyCodec.utf8(), sink);
    }
    assertThat(total(prefix)).as("exact after replaying twice").isEqualTo(child.sent);
  }

  @Test
  void poolHandedToTheBuffer_closesAfterTheDump_everyCountDelivered() throws Exception {
    String prefix = "ordered_" + Long.toString(System.nanoTime(), 36);
    Path deadLetters = dir.resolve("ordered.dead");
    Child child = run(prefix, "ordered", deadLetters);
    assertThat(total(prefix)).isEqualTo(child.sent);
    assertThat(DeadLetters.read(deadLetters, KeyCodec.utf8())).isEmpty();
    assertThat(child.stderr).doesNotContain("StatBuffer dropped");
  }

  private record Child(long sent, String stderr) {}

  private Child run(String prefix, String mode, Path deadLetters) throws Exception {
    createTables(prefix);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path out = dir.resolve(mode + ".out");
    Path err = dir.resolve(mode + ".err");
    Process process = new ProcessBuilder(java, "-Xmx128m", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), ShutdownRaceChild.class.getName(),
        Databases.POSTGRES_URL, prefix, mode, deadLetters.toString(), Integer.toString(KEYS))
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the child exits").isTrue();
    String stdout = Files.readString(out, StandardCharsets.UTF_8);
    String stderr = Files.readString(err, StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as(stdout + stderr).isZero();
    String line = stdout.lines().filter(l -> l.startsWith("SENT ")).findFirst()
        .orElseThrow(() -> new AssertionError("no SENT line: " + stdout + stderr));
    long sent = Long.parseLong(line.substring(5).trim());
    assertThat(sent).isEqualTo((long) KEYS * (KEYS + 1) / 2);
    return new Child(sent, stderr);
  }

  private static void createTables(String prefix) throws SQLException, IOException {
    try (HikariDataSource pool = Databases.pool(Databases.POSTGRES_URL, 1)) {
      JdbcSink.<String>builder(pool).table(prefix + "_counts").keyColumns("k")
          .countColumn("total").ledgerTable(prefix + "_ledger").build().createTables();
    }
  }

  private static long total(String prefix) throws SQLException {
    try (HikariDataSource pool = Databases.pool(Databases.POSTGRES_URL, 1);
        Connection connection = pool.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(
            "SELECT COALESCE(SUM(total), 0) FROM " + prefix + "_counts")) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
