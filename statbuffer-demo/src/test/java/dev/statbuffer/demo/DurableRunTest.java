package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --durable} without a kill (that is {@link DurableKillTest}): a run continued on the same
 * directory, the options that must not change, a directory in use, and the demo's counts file.
 */
class DurableRunTest {
  @TempDir
  Path dir;

  @Test
  void secondStartAfterCleanEnd_continuesTheRunAndVerifiesBothStarts() throws Exception {
    DemoRun first = run("--keys", "100");
    DemoRun second = run("--keys", "100");
    assertThat(first.exitCode()).as(first.toString()).isZero();
    assertThat(second.exitCode()).as(second.toString()).isZero();
    Map<String, String> one = first.json();
    Map<String, String> two = second.json();
    assertThat(one.get("start")).isEqualTo("1");
    assertThat(two.get("start")).isEqualTo("2");
    assertThat(two.get("run")).as("the same run, so the same rows").isEqualTo(one.get("run"));
    assertThat(two.get("verified")).isEqualTo("true");
    assertThat(two.get("recovered")).as("a clean close leaves nothing to recover").isEqualTo("0");
    assertThat(two.get("totalIncrements")).isEqualTo("40000");
    assertThat(two.get("inFlight")).isEqualTo("0");
    assertThat(first.out()).contains("recovered 0 counts from " + durable());
    assertThat(second.out()).contains("over all starts       40,000 increments accepted");
    try (Stream<Path> files = Files.list(durable().resolve(DurableRun.BUFFER))) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("lock");
    }
  }

  @Test
  void startWithOtherOptions_exitsTwoNamingWhatTheRunNeeds() {
    assertThat(run("--keys", "100").exitCode()).isZero();

    DemoRun keys = run("--keys", "200");
    assertThat(keys.exitCode()).as(keys.toString()).isEqualTo(2);
    assertThat(keys.err()).contains("'--keys' with --durable").contains("must be 100")
        .contains("another --durable directory");
    assertThat(keys.out()).isEmpty();

    DemoRun store = run("--keys", "100", "--store", "sqlite");
    assertThat(store.exitCode()).as(store.toString()).isEqualTo(2);
    assertThat(store.err()).contains("'--store' with --durable").contains("must be h2");

    DemoRun data = DemoRun.of("--durable", durable().toString(), "--data",
        dir.resolve("elsewhere").toString(), "--keys", "100", "--increments", "10");
    assertThat(data.exitCode()).as(data.toString()).isEqualTo(2);
    assertThat(data.err()).contains("'--url' with --durable")
        .contains(dir.resolve("data").toString());
  }

  @Test
  void directoryInUseByAnotherDemo_exitsOne() throws Exception {
    Files.createDirectories(durable());
    try (ExpectedTotals held = ExpectedTotals.open(durable().resolve(DurableRun.EXPECTED), 100)) {
      DemoRun run = run("--keys", "100");
      assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
      assertThat(run.err()).contains("cannot use the --durable directory")
          .contains("in use by another demo");
    }
  }

  @Test
  void expectedTotals_killBetweenMarkerAndCount_isInFlight_andCountsSurviveReopening()
      throws Exception {
    Path file = dir.resolve("expected.bin");
    try (ExpectedTotals totals = ExpectedTotals.open(file, 10);
        StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
            .buildBatched(batch -> { })) {
      ExpectedTotals.Column[] columns = totals.addColumns(2);
      for (long before = 0; before < 3; before++) {
        assertThat(columns[0].increment(buffer, "k4", 4, before)).isTrue();
      }
    }
    // Column 1 as a kill leaves it between the marker and the count: key 7, counted 0 before.
    long columnBytes = 11 * Long.BYTES;
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer marker = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.nativeOrder())
          .putLong(0, (1L << ExpectedTotals.KEY_BITS) | 7);
      channel.write(marker, columnBytes);
      channel.truncate(2 * columnBytes - Long.BYTES); // a kill while the file grew, too
    }
    try (ExpectedTotals totals = ExpectedTotals.open(file, 10)) {
      assertThat(totals.earlier()).containsExactly(0, 0, 0, 0, 3, 0, 0, 0, 0, 0);
      assertThat(totals.inFlight()).containsExactly(0, 0, 0, 0, 0, 0, 0, 1, 0, 0);
      totals.addColumns(1);
    }
    assertThat(Files.size(file)).as("the cut column completed, one more added")
        .isEqualTo(3 * columnBytes);
  }

  @Test
  void expectedTotals_refusedIncrement_leavesNothingInFlight() throws Exception {
    Path file = dir.resolve("expected.bin");
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .buildBatched(batch -> { });
    buffer.close();
    try (ExpectedTotals totals = ExpectedTotals.open(file, 10)) {
      assertThat(totals.addColumns(1)[0].increment(buffer, "k2", 2, 0)).isFalse();
    }
    try (ExpectedTotals totals = ExpectedTotals.open(file, 10)) {
      assertThat(totals.inFlight()).containsOnly(0);
      assertThat(totals.earlier()).containsOnly(0);
    }
  }

  private Path durable() {
    return dir.resolve("durable");
  }

  private DemoRun run(String... more) {
    String[] args = Stream.concat(Stream.of("--durable", durable().toString(), "--data",
        dir.resolve("data").toString(), "--increments", "20000", "--threads", "2",
        "--interval", "100ms", "--json"), Stream.of(more)).toArray(String[]::new);
    return DemoRun.of(args);
  }
}
