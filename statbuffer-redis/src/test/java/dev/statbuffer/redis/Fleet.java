package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Writer processes ({@link RedisFleetWriter}) in JVMs of their own on the test class path, which
 * run until told to stop: the test reads what they print while they run ({@link #awaitProgress})
 * and after they exit ({@link #stop}); their standard error (logs) goes to a temporary file,
 * shown when a child fails. A child stops counting when a line or the end of its standard input
 * arrives, so a child whose test JVM dies stops too. (The same idea as
 * statbuffer-jdbc's test {@code Fleet}, which runs its writers for a fixed time.)
 */
final class Fleet implements AutoCloseable {
  /** The prefix of the progress lines a writer prints: {@code DELIVERED <sum>}. */
  static final String DELIVERED = "DELIVERED";

  private final List<Child> children;

  private Fleet(List<Child> children) {
    this.children = children;
  }

  /** One child process and the lines it printed so far. */
  private static final class Child {
    final Process process;
    /** Where its standard error goes (logs), apart from the lines the test parses. */
    final Path errors;
    final StringBuilder text = new StringBuilder();
    long delivered = -1;
    boolean ended;

    Child(Process process, Path errors) {
      this.process = process;
      this.errors = errors;
    }

    /** The last lines of its standard error. */
    String errorTail() {
      try {
        List<String> lines = Files.readAllLines(errors, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 200), lines.size()));
      } catch (IOException | UncheckedIOException e) {
        return "(standard error unreadable: " + e + ")";
      }
    }

    synchronized void line(String line) {
      text.append(line).append('\n');
      if (line.startsWith(DELIVERED + " ")) {
        delivered = Long.parseLong(line.substring(DELIVERED.length() + 1).trim());
      }
      notifyAll();
    }

    synchronized void end() {
      ended = true;
      notifyAll();
    }

    synchronized String text() {
      return text.toString();
    }
  }

  /** What one writer process printed. */
  record Output(String text) {
    /** The {@code SENT} line: increments counted per key. */
    long[] sent(int keys) {
      String[] counts = line("SENT").split(",");
      assertThat(counts).as(text).hasSize(keys);
      long[] sent = new long[keys];
      for (int k = 0; k < keys; k++) {
        sent[k] = Long.parseLong(counts[k]);
      }
      return sent;
    }

    /** The {@code RESULT} line as a map of its {@code key=value} fields. */
    Map<String, Long> result() {
      Map<String, Long> fields = new HashMap<>();
      for (String field : line("RESULT").split(" ")) {
        int eq = field.indexOf('=');
        fields.put(field.substring(0, eq), Long.parseLong(field.substring(eq + 1)));
      }
      return fields;
    }

    /** The {@code FAILED_PARTS {kind=count, ...}} line as a map. */
    Map<String, Long> failedParts() {
      String map = line("FAILED_PARTS");
      Map<String, Long> parts = new HashMap<>();
      for (String entry : map.substring(1, map.length() - 1).split(", ")) {
        int eq = entry.indexOf('=');
        if (eq > 0) {
          parts.put(entry.substring(0, eq), Long.parseLong(entry.substring(eq + 1)));
        }
      }
      return parts;
    }

    /** The first line tagged {@code tag}, without its tag. */
    String line(String tag) {
      return text.lines().filter(l -> l.startsWith(tag + " ") || l.equals(tag)).findFirst()
          .map(l -> l.substring(Math.min(l.length(), tag.length() + 1)))
          .orElseThrow(() -> new AssertionError("no " + tag + " line:\n" + text));
    }
  }

  /**
   * Starts {@code processes} JVMs running {@code main} with the arguments {@code args} gives for
   * each.
   */
  static Fleet start(Class<?> main, int processes, IntFunction<List<String>> args)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // Surefire puts the test classes and every test dependency on this class path.
    String classpath = System.getProperty("java.class.path");
    List<Child> children = new ArrayList<>();
    Fleet fleet = new Fleet(children);
    try {
      for (int p = 0; p < processes; p++) {
        List<String> command = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC", "-cp", classpath, main.getName()));
        command.addAll(args.apply(p));
        Path errors = Files.createTempFile("statbuffer-fleet-writer", ".err");
        Process process;
        try {
          process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
        } catch (IOException e) {
          Files.deleteIfExists(errors);
          throw e;
        }
        Child child = new Child(process, errors);
        children.add(child);
        Thread reader = new Thread(() -> read(child), "fleet-child-" + p + "-output");
        reader.setDaemon(true);
        reader.start();
      }
    } catch (IOException | RuntimeException e) {
      fleet.close();
      throw e;
    }
    return fleet;
  }

  private static void read(Child child) {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(
        child.process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        child.line(line);
      }
    } catch (IOException e) {
      child.line("(reading the output failed: " + e + ")");
    } finally {
      child.end();
    }
  }

  /**
   * Waits until every child has reported a delivery ({@code DELIVERED} line) with a larger sum
   * than when this was called: each one is flushing successfully now.
   *
   * @throws AssertionError if a child ends or does not progress within {@code limit}
   */
  void awaitProgress(Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    long[] before = new long[children.size()];
    for (int p = 0; p < children.size(); p++) {
      synchronized (children.get(p)) {
        before[p] = children.get(p).delivered;
      }
    }
    for (int p = 0; p < children.size(); p++) {
      Child child = children.get(p);
      synchronized (child) {
        for (;;) {
          if (child.delivered > before[p]) {
            break;
          }
          long left = deadline - System.nanoTime();
          if (child.ended || left <= 0) {
            throw new AssertionError("writer " + p + " made no progress past " + before[p]
                + (child.ended ? " and ended" : " within " + limit) + "; output:\n" + child.text
                + "\nstandard error:\n" + child.errorTail());
          }
          TimeUnit.NANOSECONDS.timedWait(child, left);
        }
      }
    }
  }

  /**
   * Tells every child to stop counting, waits up to {@code limit} for all of them to exit and
   * asserts that each exited with code 0.
   *
   * @return their outputs, in order
   */
  List<Output> stop(Duration limit) throws InterruptedException {
    for (Child child : children) {
      try (OutputStream in = child.process.getOutputStream()) {
        in.write("stop\n".getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        // It exited already: its exit code and output say why.
      }
    }
    long deadline = System.nanoTime() + limit.toNanos();
    List<Output> outputs = new ArrayList<>();
    for (int p = 0; p < children.size(); p++) {
      Child child = children.get(p);
      boolean finished = child.process.waitFor(Math.max(1, deadline - System.nanoTime()),
          TimeUnit.NANOSECONDS);
      if (!finished) {
        child.process.destroyForcibly();
      }
      synchronized (child) {
        // The reader has the output once the pipe ends, shortly after the process.
        while (!child.ended && System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(5)) {
          child.wait(100);
        }
      }
      String output = child.text();
      assertThat(finished).as("writer %d finished; output:%n%s%nstandard error:%n%s", p, output,
          child.errorTail()).isTrue();
      assertThat(child.process.exitValue()).as("writer %d exit; output:%n%s%nstandard error:%n%s",
          p, output, child.errorTail()).isZero();
      outputs.add(new Output(output));
    }
    return outputs;
  }

  /** Kills the children still running (after a failed test) and deletes their logs. */
  @Override
  public void close() {
    for (Child child : children) {
      child.process.destroyForcibly();
    }
    for (Child child : children) {
      try {
        child.process.waitFor(5, TimeUnit.SECONDS);
        Files.deleteIfExists(child.errors);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (IOException e) {
        // A leftover temporary file is harmless.
      }
    }
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

  /** Prints what a writer counted per key, as the line {@code SENT c0,c1,...}. */
  static void printSent(long[] sent) {
    StringBuilder line = new StringBuilder("SENT ");
    for (int k = 0; k < sent.length; k++) {
      line.append((k == 0) ? "" : ",").append(sent[k]);
    }
    System.out.println(line);
  }
}
