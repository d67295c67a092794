package dev.statbuffer.bench;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Retained heap per buffered key: for each implementation, builds the key objects first, reads
 * the used heap after a full GC, adds every key once (with a count of 1 000, beyond the
 * {@code Long} cache, as a real count would be), reads the used heap after a full GC again, and
 * divides the difference by the number of keys. The key objects exist before the first reading,
 * so they are excluded. Repeated, interleaving the implementations; the median is reported.
 *
 * <p>Run it in its own JVM with a collector whose post-GC heap reading is exact, for example:
 * <pre>{@code
 * java -XX:+UseSerialGC -Xmx4g -cp statbuffer-bench/target/benchmarks.jar \
 *     dev.statbuffer.bench.MemoryFootprint --keys 1000000 --repeats 5 --out memory.json
 * }</pre>
 *
 * <p>Thread-safety: a command-line program; single-threaded.
 */
public final class MemoryFootprint {
  /** The implementations measured, in the order they are reported. */
  public static final List<String> IMPLEMENTATIONS =
      List.of("statBuffer", "chmLongAdder", "chmMerge", "atomicLongMap", "syncHashMap");

  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private MemoryFootprint() {}

  /**
   * Runs the measurement.
   *
   * @param args {@code --keys N} (default 1 000 000), {@code --repeats R} (default 5),
   *     {@code --out FILE} (JSON; default: print only)
   * @throws IOException if the output cannot be written
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
    Map<String, double[]> samples = measureAll(keys, repeats);
    StringBuilder json = new StringBuilder();
    json.append("{\"keys\": ").append(keys).append(", \"repeats\": ").append(repeats)
        .append(", \"bytesPerKey\": {");
    String separator = "";
    for (Map.Entry<String, double[]> entry : samples.entrySet()) {
      double median = median(entry.getValue());
      System.out.printf(Locale.ROOT, "%-14s %8.1f bytes/key (median of %s)%n", entry.getKey(),
          median, Arrays.toString(entry.getValue()));
      json.append(separator).append('"').append(entry.getKey()).append("\": {\"median\": ")
          .append(String.format(Locale.ROOT, "%.2f", median)).append(", \"samples\": [");
      double[] values = entry.getValue();
      for (int i = 0; i < values.length; i++) {
        json.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", values[i]));
      }
      json.append("]}");
      separator = ", ";
    }
    json.append("}}\n");
    if (out != null) {
      Files.writeString(out, json, StandardCharsets.UTF_8);
    }
  }

  /**
   * Measures every implementation {@code repeats} times.
   *
   * @param keys how many keys
   * @param repeats how many measurements per implementation
   * @return bytes per key, per implementation, in measurement order
   * @throws InterruptedException if interrupted while letting the collector settle
   */
  public static Map<String, double[]> measureAll(int keys, int repeats)
      throws InterruptedException {
    Map<String, double[]> samples = new LinkedHashMap<>();
    for (String implementation : IMPLEMENTATIONS) {
      samples.put(implementation, new double[repeats]);
    }
    for (int round = 0; round < repeats; round++) {
      for (String implementation : IMPLEMENTATIONS) {
        requireNonNull(samples.get(implementation), "every implementation has its array")[round] =
            bytesPerKey(implementation, keys);
      }
    }
    return samples;
  }

  /**
   * Measures one implementation once.
   *
   * @param implementation one of {@link #IMPLEMENTATIONS}
   * @param keys how many keys
   * @return retained bytes per key, key objects excluded
   * @throws InterruptedException if interrupted while letting the collector settle
   */
  public static double bytesPerKey(String implementation, int keys) throws InterruptedException {
    String[] keyObjects = KeySpace.buildKeys(keys);
    long before = usedAfterGc();
    Object structure = fill(implementation, keyObjects);
    long after;
    try {
      after = usedAfterGc();
    } finally {
      Reference.reachabilityFence(structure);
      Reference.reachabilityFence(keyObjects);
    }
    if (structure instanceof StatBuffer<?> buffer) {
      buffer.close();
    }
    return (after - before) / (double) keys;
  }

  private static Object fill(String implementation, String[] keys) {
    long count = 1_000; // beyond the Long cache, as a real count is
    switch (implementation) {
      case "statBuffer" -> {
        StatBuffer<String> buffer = Peers.longIntervalBuffer("memory");
        for (String key : keys) {
          buffer.increment(key, count);
        }
        return buffer;
      }
      case "chmLongAdder" -> {
        Peers.ChmLongAdder<String> counter = new Peers.ChmLongAdder<>();
        for (String key : keys) {
          counter.add(key, count);
        }
        return counter;
      }
      case "chmMerge" -> {
        Peers.ChmMerge<String> counter = new Peers.ChmMerge<>();
        for (String key : keys) {
          counter.add(key, count);
        }
        return counter;
      }
      case "atomicLongMap" -> {
        Peers.GuavaAtomicLongMap<String> counter = new Peers.GuavaAtomicLongMap<>();
        for (String key : keys) {
          counter.add(key, count);
        }
        return counter;
      }
      case "syncHashMap" -> {
        Peers.SyncHashMap<String> counter = new Peers.SyncHashMap<>();
        for (String key : keys) {
          counter.add(key, count);
        }
        return counter;
      }
      default -> throw new IllegalArgumentException("unknown implementation: " + implementation);
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

  /**
   * Returns the median of {@code values}.
   *
   * @param values at least one value
   * @return the median
   */
  public static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int middle = sorted.length / 2;
    return (sorted.length % 2 == 1) ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}
