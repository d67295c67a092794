package dev.statbuffer.demo;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.BufferStats;
import dev.statbuffer.KeyCodec;
import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Properties;

/**
 * A demo run that survives SIGKILL ({@code --durable DIR}): the directory holds the durable
 * buffer's files, the demo's own count of what the buffer accepted, and what the run is.
 *
 * <pre>
 * DIR/run.properties   the run id, the store and its URL, --keys, how many starts so far
 * DIR/expected.bin     the demo's counts ({@link ExpectedTotals}), locked while a demo runs
 * DIR/buffer/          the durable buffer's files (lock, keys-*.sb, journal-*.sb)
 * </pre>
 *
 * <p>The first start writes {@code run.properties} with a new run id; every later start on the
 * same directory continues that run: the same run id (so the same rows or Redis keys of the
 * same store), the buffer delivers what the killed process had accepted and not delivered, and
 * the demo's counts go on from the file. The store, its URL and {@code --keys} must be those of
 * the first start ({@link Mismatch} otherwise): the totals of one run live in one store.
 *
 * <p>Not thread-safe: used by the main thread (the columns go to the traffic threads).
 */
final class DurableRun implements AutoCloseable {
  static final String PROPERTIES = "run.properties";
  static final String EXPECTED = "expected.bin";
  static final String BUFFER = "buffer";

  private final Path dir;
  private final Properties run;
  private final ExpectedTotals expected;

  /** The options do not match the run the directory holds. */
  static final class Mismatch extends Exception {
    private static final long serialVersionUID = 1L;
    final String option;

    Mismatch(String option, String message) {
      super(message);
      this.option = option;
    }
  }

  private DurableRun(Path dir, Properties run, ExpectedTotals expected) {
    this.dir = dir;
    this.run = run;
    this.expected = expected;
  }

  /**
   * Opens {@code dir} for a start of the run it holds, or for a new run when it holds none.
   *
   * @param dir the {@code --durable} directory (created if missing)
   * @param store the store option
   * @param url the store's URL
   * @param keys the {@code --keys} option
   * @param newRunId the run id to use if this is the first start
   * @return the open run; its counts file is locked until {@link #close}
   * @throws Mismatch if the directory holds a run with another store, URL or key space
   * @throws IOException if the directory or its files cannot be read or written
   * @throws IllegalStateException if another demo is running on the directory
   */
  static DurableRun open(Path dir, String store, String url, int keys, String newRunId)
      throws Mismatch, IOException {
    Path directory = dir.toAbsolutePath().normalize();
    Files.createDirectories(directory);
    Path file = directory.resolve(PROPERTIES);
    Properties run = Files.exists(file) ? load(file) : null;
    if (run != null) {
      check(run, store, url, keys, directory);
    }
    ExpectedTotals expected = ExpectedTotals.open(directory.resolve(EXPECTED), keys);
    try {
      if (run == null) {
        run = describe(newRunId, store, url, keys);
      }
      run.setProperty("starts", Integer.toString(Integer.parseInt(run.getProperty("starts"))
          + 1));
      save(run, file);
      return new DurableRun(directory, run, expected);
    } catch (IOException | RuntimeException e) {
      expected.close();
      throw e;
    }
  }

  private static void check(Properties run, String store, String url, int keys, Path dir)
      throws Mismatch {
    String again = " (" + dir + " holds run " + run.getProperty("run") + "; give the options it"
        + " was started with, or another --durable directory)";
    if (!store.equals(run.getProperty("store"))) {
      throw new Mismatch("--store", "must be " + run.getProperty("store") + again);
    }
    if (!sha256(url).equals(run.getProperty("urlSha256"))) {
      throw new Mismatch("--url", "the store's URL must be " + run.getProperty("url")
          + " (with --data, the same directory)" + again);
    }
    if (!Integer.toString(keys).equals(run.getProperty("keys"))) {
      throw new Mismatch("--keys", "must be " + run.getProperty("keys") + again);
    }
  }

  private static Properties describe(String runId, String store, String url, int keys) {
    Properties run = new Properties();
    run.setProperty("run", runId);
    run.setProperty("store", store);
    run.setProperty("url", url.replaceAll("(?i)(password=)[^&;]*", "$1***"));
    run.setProperty("urlSha256", sha256(url));
    run.setProperty("keys", Integer.toString(keys));
    run.setProperty("starts", "0");
    return run;
  }

  private static Properties load(Path file) throws IOException {
    Properties run = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      run.load(in);
    }
    for (String name : new String[] {"run", "store", "url", "urlSha256", "keys", "starts"}) {
      if (run.getProperty(name) == null) {
        throw new IOException(file + " has no '" + name + "': not a demo run's file");
      }
    }
    return run;
  }

  /** Replaces the file at once: a kill leaves the old one or the new one. */
  private static void save(Properties run, Path file) throws IOException {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    try (OutputStream out = Files.newOutputStream(temporary)) {
      run.store(out, "statbuffer-demo --durable: the run this directory holds");
    }
    try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** The run id: that of the first start on the directory. */
  String runId() {
    return run.getProperty("run");
  }

  /** This start's number, 1 for the first. */
  int start() {
    return Integer.parseInt(run.getProperty("starts"));
  }

  /** The directory, absolute. */
  Path dir() {
    return dir;
  }

  /** What earlier starts counted and left in flight. */
  ExpectedTotals expected() {
    return expected;
  }

  /**
   * Builds the durable buffer in {@code DIR/buffer}, taking up what a killed start left there.
   * The page names ({@code /page/999999} at most) fit the default 40 key bytes.
   *
   * @param builder the buffer's options
   * @param sink where it delivers
   * @return the buffer, already delivering what it recovered
   * @throws IllegalStateException if its files are damaged, or another buffer holds them
   */
  StatBuffer<String> build(StatBuffer.Builder builder, BatchFlushHandler<String> sink) {
    return builder.durable(dir.resolve(BUFFER), KeyCodec.utf8()).buildBatched(sink);
  }

  /**
   * The totals over every start: the earlier starts' counts plus {@code thisStart}.
   *
   * @param thisStart this start's counts, per key
   * @return a new array
   */
  long[] totals(long[] thisStart) {
    long[] totals = thisStart.clone();
    long[] earlier = expected.earlier();
    for (int i = 0; i < totals.length; i++) {
      totals[i] += earlier[i];
    }
    return totals;
  }

  /** The sum of the earlier starts' counts. */
  long earlierSum() {
    return sum(expected.earlier());
  }

  /** How many increments were in flight when an earlier start was killed. */
  long inFlightSum() {
    return sum(expected.inFlight());
  }

  private static long sum(long[] values) {
    long sum = 0;
    for (long value : values) {
      sum += value;
    }
    return sum;
  }

  /**
   * What the summary says about this start and the earlier ones.
   *
   * @param stats the closed buffer's counters
   * @param inFlightStored how many increments in flight at a kill the store turned out to have
   * @return the durable part of the summary
   */
  Summary.Durable summary(BufferStats stats, long inFlightStored) {
    return new Summary.Durable(dir.toString(), start(), stats.recoveredSum(), stats.keptSum(),
        earlierSum(), inFlightSum(), inFlightStored);
  }

  /** The header line: which run, which start, what the earlier starts counted. */
  String describe() {
    String line = String.format(Locale.ROOT, "Durable: %s, run %s, start %d", dir, runId(),
        start());
    if (start() == 1) {
      return line + " (a new run)";
    }
    long inFlight = inFlightSum();
    return line + String.format(Locale.ROOT, " (earlier starts counted %,d increments; %d more"
        + " %s in flight when a start was killed)", earlierSum(), inFlight,
        (inFlight == 1) ? "was" : "were");
  }

  /** The line that says what the buffer took up at start. */
  String recovered(long sum) {
    return String.format(Locale.ROOT, "recovered %,d counts from %s", sum, dir);
  }

  /** The line printed once the traffic runs: how to kill this process. */
  String counting() {
    long pid = ProcessHandle.current().pid();
    return "counting in process " + pid + ": kill -9 " + pid + " at any moment, then start the"
        + " demo again with --durable " + dir;
  }

  /** Releases the counts file. */
  @Override
  public void close() throws IOException {
    expected.close();
  }
}
