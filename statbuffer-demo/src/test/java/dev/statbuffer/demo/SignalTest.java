package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stops a demo process with SIGINT, as Ctrl-C does, and with SIGTERM: it must dump the buffer,
 * verify, print the summary and exit 0.
 */
class SignalTest {
  @TempDir
  Path data;

  @Test
  void sigint_duringTraffic_dumpsVerifiesAndExitsZero() throws Exception {
    stopBySignal("INT");
  }

  @Test
  void sigterm_duringTraffic_dumpsVerifiesAndExitsZero() throws Exception {
    stopBySignal("TERM");
  }

  private void stopBySignal(String signal) throws Exception {
    Process process = startDemo();
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread reader = readLines(process, lines);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (lines.stream().noneMatch(l -> l.contains("increments/s"))
          && System.nanoTime() < deadline && process.isAlive()) {
        Thread.sleep(50);
      }
      assertThat(lines).as("a progress line within 30 s").anyMatch(l -> l.contains("increments/s"));

      // Process.destroy() would close our end of the pipes too; kill(1) only signals.
      Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid()))
          .inheritIO().start();
      assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0)
          .as("kill -" + signal).isTrue();

      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exited within 60 s").isTrue();
      reader.join(10_000);
      String output = String.join("\n", lines);
      assertThat(process.exitValue()).as(output).isZero();
      assertThat(output).contains("Stopped by a signal").contains("Summary (h2");
      Map<String, String> json = DemoRun.parseJson(lines.get(lines.size() - 1));
      assertThat(json.get("verified")).as(output).isEqualTo("true");
      assertThat(json.get("interrupted")).isEqualTo("true");
      assertThat(Long.parseLong(json.get("increments"))).isPositive();
    } finally {
      process.destroyForcibly();
    }
  }

  /** A demo process counting into H2 for 60 s, its stderr discarded. */
  private Process startDemo() throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        DemoCommand.class.getName(), "--data", data.toString(), "--duration", "60s", "--threads",
        "2", "--json")
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
  }

  /** A started thread that adds each line of the process's stdout to {@code lines}. */
  private static Thread readLines(Process process, List<String> lines) {
    return ProcessOutput.readLines(process, lines, "demo-output");
  }

}
