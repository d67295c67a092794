package dev.statbuffer.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The output of a child JVM, collected line by line by a thread of its own; for tests. */
final class ProcessOutput {
  private ProcessOutput() {}

  /**
   * Starts a daemon thread that adds each line of {@code process}'s standard output to
   * {@code lines} (a thread-safe list) until the stream ends.
   *
   * @return the started thread
   */
  static Thread readLines(Process process, List<String> lines, String threadName) {
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("(reading the output failed: " + e + ")");
      }
    }, threadName);
    reader.setDaemon(true);
    reader.start();
    return reader;
  }
}
