package dev.statbuffer.bench;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Leaves a durable buffer's directory as a killed process does: a child JVM builds a durable
 * buffer in the directory ({@link Peers#durableLongIntervalBuffer}: interval one hour, so nothing
 * is handed over), counts every one of {@code keys} keys ({@link KeySpace#buildKeys}) by
 * {@code count}, and calls {@code Runtime.getRuntime().halt(0)}. A halt runs no shutdown hook and
 * no {@code close()}, exactly as a SIGKILL; the counts are already in the mapped key files (in the
 * kernel's page cache, which outlives the process), and the journal holds no record. The next
 * buffer built on the directory must recover {@code keys * count}.
 *
 * <p>{@link #leave} is the parent's side (used by {@link RecoveryBenchmark}'s trial set-up);
 * {@link #main} is the child's. The child runs on this JVM's {@code java} and class path.
 *
 * <p>Thread-safety: {@link #leave} may be called from any thread, once per directory at a time.
 */
public final class LeftOverDirectory {
  /** The line the child prints, followed by keys and sum, once it has counted. */
  static final String COUNTED = "COUNTED";

  private LeftOverDirectory() {}

  /**
   * The child: counts and halts. Prints {@code COUNTED <keys> <sum> <millis>} before the halt;
   * exits with 2 if the buffer refused an increment.
   *
   * @param args the directory, the number of keys, the count per key
   */
  public static void main(String[] args) {
    Path directory = Path.of(args[0]);
    int keys = Integer.parseInt(args[1]);
    long count = Long.parseLong(args[2]);
    String[] keyObjects = KeySpace.buildKeys(keys);
    long start = System.nanoTime();
    StatBuffer<String> buffer = Peers.durableLongIntervalBuffer("left-over", directory);
    for (String key : keyObjects) {
      if (!buffer.increment(key, count)) {
        System.out.println("REFUSED " + key + " " + buffer.stats());
        System.out.flush();
        Runtime.getRuntime().halt(2);
      }
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    BufferStats stats = buffer.stats();
    System.out.println(COUNTED + " " + keys + " " + (keys * count) + " " + millis + " "
        + stats.pendingKeys());
    System.out.flush();
    // As a SIGKILL: no shutdown hook, no close; the mapped stores are in the page cache already.
    Runtime.getRuntime().halt(0);
  }

  /**
   * Runs the child on {@code directory} and waits for it to halt; checks that it counted every
   * key and left its key files behind, released (its file lock died with it).
   *
   * @param directory an empty directory (made if missing)
   * @param keys how many keys to count
   * @param count the count per key
   * @return the sum the next buffer built on the directory must recover ({@code keys * count})
   * @throws IOException if the child cannot be run, fails, or leaves no key file
   * @throws InterruptedException if interrupted while waiting for the child
   */
  public static long leave(Path directory, int keys, long count)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx1g");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(LeftOverDirectory.class.getName());
    command.add(directory.toString());
    command.add(Integer.toString(keys));
    command.add(Long.toString(count));
    Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output;
    try (InputStream in = child.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!child.waitFor(5, TimeUnit.MINUTES)) {
      child.destroyForcibly();
      throw new IOException("the counting child did not halt within 5 minutes:\n" + output);
    }
    long sum = keys * count;
    String expected = COUNTED + " " + keys + " " + sum + " ";
    if (child.exitValue() != 0 || !output.contains(expected)) {
      throw new IOException("the counting child exited with " + child.exitValue()
          + " without printing '" + expected + "...':\n" + output);
    }
    if (DurableFiles.files(directory, DurableFiles.KEY_FILE_PREFIX).isEmpty()) {
      throw new IOException("the counting child left no key file in " + directory + ":\n"
          + output);
    }
    System.out.print("left-over directory " + directory + ": " + output.strip() + " (keys, sum, "
        + "count millis, pending); key files "
        + DurableFiles.bytes(directory, DurableFiles.KEY_FILE_PREFIX) + " bytes, journal "
        + DurableFiles.bytes(directory, DurableFiles.JOURNAL_FILE_PREFIX) + " bytes\n");
    return sum;
  }
}
