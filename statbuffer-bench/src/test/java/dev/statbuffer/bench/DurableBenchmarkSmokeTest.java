package dev.statbuffer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.StatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Keeps the durable benchmarks honest: the left-over directory holds what a killed process counted,
 * the memory harness gives plausible figures, and every durable benchmark runs one short
 * in-process iteration (recovery on 1 000 keys instead of 1 000 000). Needs no server.
 */
class DurableBenchmarkSmokeTest {

  @Test
  void leftOverDirectory_childHalts_nextBuildRecoversEveryCount(@TempDir Path dir)
      throws Exception {
    Path left = dir.resolve("left");
    long sum = LeftOverDirectory.leave(left, 5_000, 3);
    assertThat(sum).isEqualTo(15_000);
    assertThat(DurableFiles.files(left, DurableFiles.KEY_FILE_PREFIX)).isNotEmpty();
    Path copy = dir.resolve("copy");
    DurableFiles.copy(left, copy);
    StatBuffer<String> buffer = Peers.durableLongIntervalBuffer("smoke-recovery", copy);
    try {
      assertThat(buffer.stats().recoveredSum()).isEqualTo(sum);
      // Recovery journals the counts and deletes the copy's key files; the original stays whole.
      assertThat(DurableFiles.files(copy, DurableFiles.KEY_FILE_PREFIX)).isEmpty();
      assertThat(DurableFiles.files(left, DurableFiles.KEY_FILE_PREFIX)).isNotEmpty();
    } finally {
      buffer.close();
    }
    assertThat(buffer.stats().deliveredSum()).isEqualTo(sum);
  }

  @Test
  void durableFootprint_smallRun_reportsPlausibleBytesPerKey() throws Exception {
    DurableFootprint.Durable durable = DurableFootprint.durableBytesPerKey(100_000);
    // A cell and its map entry on the heap; a 64-byte slot per key in the files, plus the slots
    // the last file has beyond the keys (files grow by doubling).
    assertThat(durable.heapBytesPerKey()).isBetween(16.0, 400.0);
    assertThat(durable.fileBytesPerKey()).isBetween(64.0, 160.0);
  }

  @Test
  void durableBenchmarks_oneShortIterationEach_runWithoutError(@TempDir Path dir)
      throws Exception {
    // The three peers x 2 distributions, and one recovery per key count.
    Options options = new OptionsBuilder()
        .include(DurableBenchmark.class.getName())
        .include(RecoveryBenchmark.class.getName())
        .forks(0)
        .threads(1)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(50))
        .param("keys", "1000")
        .shouldFailOnError(true)
        .output(dir.resolve("durable.log").toString())
        .build();
    Collection<RunResult> results;
    try {
      results = new Runner(options).run();
    } catch (Exception e) {
      throw new AssertionError("JMH failed; log:\n"
          + Files.readString(dir.resolve("durable.log")), e);
    }
    assertThat(results).hasSize(7);
    for (RunResult result : results) {
      assertThat(result.getPrimaryResult().getScore())
          .as(result.getParams().getBenchmark() + " " + result.getParams().getParamsKeys())
          .isPositive();
    }
  }
}
