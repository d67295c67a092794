package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10's scenario with a real SIGKILL: a demo process counting with {@code --durable DIR} into
 * H2 is killed while it counts, started again on the same DIR, and must end with the totals of
 * both starts verified, having recovered what the killed process had accepted and not delivered.
 */
class DurableKillTest {
  private static final Pattern RECOVERED = Pattern.compile("^recovered ([0-9,]+) counts from ");

  @TempDir
  Path dir;

  @Test
  void sigkillWhileCounting_restartOnSameDirectory_recoversAndVerifiesBothStarts()
      throws Exception {
    Path durable = dir.resolve("durable");
    List<String> killed = startAndKill(durable);

    Child second = Child.start(args(durable, "--duration", "1s"));
    boolean ended = second.process.waitFor(90, TimeUnit.SECONDS);
    if (!ended) {
      second.process.destroyForcibly();
    }
    List<String> lines = second.finish();
    String output = "first start:\n" + String.join("\n", killed) + "\nsecond start:\n"
        + String.join("\n", lines);
    assertThat(ended).as("the second start ends within 90 s:%n%s", output).isTrue();
    assertThat(second.process.exitValue()).as(output).isZero();
    assertThat(recovered(lines)).as("counts recovered from the killed start:%n%s", output)
        .isPositive();
    Map<String, String> json = DemoRun.parseJson(lines.get(lines.size() - 1));
    assertThat(json.get("verified")).as(output).isEqualTo("true");
    assertThat(json.get("mismatches")).isEqualTo("0");
    assertThat(json.get("kept")).isEqualTo("0");
    assertThat(json.get("start")).isEqualTo("2");
    assertThat(json.get("recovered")).isEqualTo(Long.toString(recovered(lines)));
    assertThat(Long.parseLong(json.get("totalIncrements")))
        .as("the killed start's increments count too").isGreaterThan(
            Long.parseLong(json.get("increments")));
    assertThat(String.join("\n", lines)).contains("verified              yes:")
        .contains("over all starts");
  }

  /** Starts a demo on {@code durable}, kills it with SIGKILL while it counts; its output. */
  private List<String> startAndKill(Path durable) throws Exception {
    Child first = Child.start(args(durable, "--duration", "60s"));
    try {
      assertThat(first.awaitLine("counting in process ", 60)).as("the first start counts:%n%s",
          first.output()).isTrue();
      Thread.sleep(1_500);
      assertThat(first.process.isAlive()).as("alive before the kill:%n%s", first.output())
          .isTrue();
    } finally {
      first.process.destroyForcibly(); // SIGKILL on Linux
    }
    assertThat(first.process.waitFor(30, TimeUnit.SECONDS)).as("the first start dies").isTrue();
    List<String> killed = first.finish();
    assertThat(first.process.exitValue()).as("ended by SIGKILL (128 + 9):%n%s", killed)
        .isEqualTo(137);
    assertThat(String.join("\n", killed)).doesNotContain("Summary");
    return killed;
  }

  private List<String> args(Path durable, String... more) {
    List<String> args = new ArrayList<>(List.of("--durable", durable.toString(), "--data",
        dir.resolve("data").toString(), "--keys", "1000", "--threads", "2", "--interval",
        "200ms", "--json"));
    args.addAll(List.of(more));
    return args;
  }

  private static long recovered(List<String> lines) {
    for (String line : lines) {
      Matcher m = RECOVERED.matcher(line);
      if (m.find()) {
        return Long.parseLong(m.group(1).replace(",", ""));
      }
    }
    throw new AssertionError("no 'recovered N counts' line:\n" + String.join("\n", lines));
  }

  /** A demo in a child JVM, and the thread that collects its output (stdout and stderr). */
  private record Child(Process process, Thread reader, List<String> lines) {
    static Child start(List<String> args) throws IOException {
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
          "-cp", System.getProperty("java.class.path"), DemoCommand.class.getName()));
      command.addAll(args);
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      List<String> lines = new CopyOnWriteArrayList<>();
      Thread reader = ProcessOutput.readLines(process, lines, "demo-output");
      return new Child(process, reader, lines);
    }

    boolean awaitLine(String prefix, int seconds) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() < deadline && process.isAlive()) {
        if (lines.stream().anyMatch(l -> l.startsWith(prefix))) {
          return true;
        }
        Thread.sleep(20);
      }
      return lines.stream().anyMatch(l -> l.startsWith(prefix));
    }

    String output() {
      return String.join("\n", lines);
    }

    /** The whole output, once the process has ended. */
    List<String> finish() throws InterruptedException {
      reader.join(10_000);
      return List.copyOf(lines);
    }
  }
}
