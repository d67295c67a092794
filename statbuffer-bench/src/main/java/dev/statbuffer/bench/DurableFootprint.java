package dev.statbuffer.bench;

import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Memory per buffered key of a durable StatBuffer (heap and file) beside the in-memory buffer's
 * heap, measured as {@link MemoryFootprint} measures it: key objects built first, used heap read
 * after a full GC, every key added once (with a count of 1 000), used heap read after a full GC
 * again, the difference divided by the number of keys. The durable buffer
 * ({@link Peers#durableLongIntervalBuffer}) also has its key files: their size divided by the
 * number of keys (which includes the slots the last file has beyond the keys: files grow by
 * doubling) is reported as file bytes per key, beside the slot size of 64 bytes. Its journal is
 * empty then, since nothing is handed over. A durable buffer's mapped files are not heap: their
 * pages are in the kernel's page cache (and count towards the process's resident set as they are
 * touched). Repeated, interleaving the two; medians reported.
 *
 * <p>Run it in its own JVM with a collector whose post-GC heap reading is exact, for example:
 * <pre>{@code
 * java -XX:+UseSerialGC -Xmx4g -cp statbuffer-bench/target/benchmarks.jar \
 *     dev.statbuffer.bench.DurableFootprint --keys 1000000 --repeats 5 --out durable-memory.json
 * }</pre>
 * Directories are made under the system property {@value Peers#DURABLE_DIR_PROPERTY} (default
 * {@code java.io.tmpdir}) and deleted afterwards.
 *
 * <p>Thread-safety: a command-line program; single-threaded.
 */
public final class DurableFootprint {
  /** The size of a durable key slot with the default {@code maxKeyBytes} (32). */
  public static final int SLOT_BYTES = 64;

  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  /**
   * One measurement of the durable buffer.
   *
   * @param heapBytesPerKey retained heap per key, key objects excluded
   * @param fileBytesPerKey the key files' size per key
   * @param journalBytes the journal files' size (header only: nothing was handed over)
   */
  public record Durable(double heapBytesPerKey, double fileBytesPerKey, long journalBytes) {}

  private DurableFootprint() {}

  /**
   * Runs the measurement.
   *
   * @param args {@code --keys N} (default 1 000 000), {@code --repeats R} (default 5),
   *     {@code --out FILE} (JSON; default: print only)
   * @throws IOException if a directory or the output cannot be written
   * @throws InterruptedException if interrupted while letting the collector settle
   */
  public static void main(String[] args) throws IOException, InterruptedException {
    int keys = 1_000_000;
    int repeats = 5;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--keys" -> keys = Integer.parseInt(args[++i]);
        case "--repeats" -> repeats = Integer.parseInt(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    double[] inMemory = new double[repeats];
    double[] heap = new double[repeats];
    double[] file = new double[repeats];
    double[] total = new double[repeats];
    long journal = 0;
    for (int round = 0; round < repeats; round++) {
      inMemory[round] = MemoryFootprint.bytesPerKey("statBuffer", keys);
      Durable durable = durableBytesPerKey(keys);
      heap[round] = durable.heapBytesPerKey();
      file[round] = durable.fileBytesPerKey();
      total[round] = heap[round] + file[round];
      journal = Math.max(journal, durable.journalBytes());
    }
    print("statBuffer", "heap", inMemory);
    print("durable", "heap", heap);
    print("durable", "key files", file);
    System.out.printf(Locale.ROOT, "%-14s %-10s %8d bytes/key (slot size)%n", "durable", "slot",
        SLOT_BYTES);
    print("durable", "heap+file", total);
    System.out.printf(Locale.ROOT, "%-14s %-10s %8d bytes in all (largest seen)%n", "durable",
        "journal", journal);
    if (out != null) {
      String json = String.format(Locale.ROOT, "{\"keys\": %d, \"repeats\": %d, \"bytesPerKey\": "
          + "{\"statBuffer\": %s, \"durableHeap\": %s, \"durableFile\": %s, \"durableTotal\": %s, "
          + "\"durableSlot\": %d}, \"durableJournalBytes\": %d}%n", keys, repeats, json(inMemory),
          json(heap), json(file), json(total), SLOT_BYTES, journal);
      Files.writeString(out, json, StandardCharsets.UTF_8);
    }
  }

  /**
   * Measures the durable buffer once, in a new directory, which is deleted afterwards.
   *
   * @param keys how many keys
   * @return heap and file bytes per key
   * @throws IOException if the directory cannot be made, read or deleted
   * @throws InterruptedException if interrupted while letting the collector settle
   */
  public static Durable durableBytesPerKey(int keys) throws IOException, InterruptedException {
    String[] keyObjects = KeySpace.buildKeys(keys);
    Path directory = Peers.newDurableDirectory("statbuffer-memory-");
    try {
      long before = usedAfterGc();
      StatBuffer<String> buffer = Peers.durableLongIntervalBuffer("memory-durable", directory);
      long count = 1_000; // as MemoryFootprint counts
      for (String key : keyObjects) {
        buffer.increment(key, count);
      }
      long after;
      long fileBytes;
      long journalBytes;
      try {
        after = usedAfterGc();
        fileBytes = DurableFiles.bytes(directory, DurableFiles.KEY_FILE_PREFIX);
        journalBytes = DurableFiles.bytes(directory, DurableFiles.JOURNAL_FILE_PREFIX);
      } finally {
        Reference.reachabilityFence(buffer);
        Reference.reachabilityFence(keyObjects);
      }
      buffer.close();
      return new Durable((after - before) / (double) keys, fileBytes / (double) keys,
          journalBytes);
    } finally {
      DurableFiles.deleteRecursively(directory);
    }
  }

  private static long usedAfterGc() throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(20);
      used = Math.min(used, MEMORY.getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  private static void print(String implementation, String what, double[] samples) {
    StringBuilder list = new StringBuilder();
    for (double sample : samples) {
      list.append(list.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", sample));
    }
    System.out.printf(Locale.ROOT, "%-14s %-10s %8.1f bytes/key (median of %s)%n",
        implementation, what, MemoryFootprint.median(samples), list);
  }

  private static String json(double[] samples) {
    StringBuilder json = new StringBuilder();
    json.append(String.format(Locale.ROOT, "{\"median\": %.2f, \"samples\": [",
        MemoryFootprint.median(samples)));
    for (int i = 0; i < samples.length; i++) {
      json.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", samples[i]));
    }
    return json.append("]}").toString();
  }
}
