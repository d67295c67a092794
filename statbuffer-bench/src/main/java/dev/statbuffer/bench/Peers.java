package dev.statbuffer.bench;

import com.google.common.util.concurrent.AtomicLongMap;
import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.KeyCodec;
import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters StatBuffer is compared with, written the way users hand-roll them, plus the
 * StatBuffer configuration the increment benchmarks use. Each peer is a plain final class with one
 * {@code add} method so the benchmarks and the memory harness measure exactly the same code.
 *
 * <p>Thread-safety: every counter here is thread-safe, as its peer is, except
 * {@link PerThreadHashMap}, the limit, which each thread owns.
 */
public final class Peers {
  /** How long a StatBuffer window stays open in the increment benchmarks: longer than any run. */
  public static final Duration LONG_INTERVAL = Duration.ofHours(1);

  /** The system property naming where durable buffers' directories are made. */
  public static final String DURABLE_DIR_PROPERTY = "statbuffer.bench.dir";

  private Peers() {}

  /**
   * Builds a StatBuffer whose windows stay open for the whole measurement (interval one hour),
   * without a shutdown hook, that hands batches to a no-op handler.
   *
   * @param name the buffer's name
   * @return the buffer; close it after the run
   */
  public static StatBuffer<String> longIntervalBuffer(String name) {
    return StatBuffer.newBuilder()
        .name(name)
        .interval(LONG_INTERVAL)
        .shutdownHook(false)
        .buildBatched(noOpHandler());
  }

  /**
   * Builds a durable StatBuffer configured as {@link #longIntervalBuffer} (interval one hour, no
   * shutdown hook, no-op batch handler), its counts in memory-mapped files in {@code directory}
   * with UTF-8 keys and the default sync interval (1 s) and slot size (64 bytes). If the directory
   * holds what a killed process left, the build recovers it first.
   *
   * @param name the buffer's name
   * @param directory the buffer's directory (made if missing)
   * @return the buffer; close it after the run
   */
  public static StatBuffer<String> durableLongIntervalBuffer(String name, Path directory) {
    return StatBuffer.newBuilder()
        .name(name)
        .interval(LONG_INTERVAL)
        .shutdownHook(false)
        .durable(directory, KeyCodec.utf8())
        .buildBatched(noOpHandler());
  }

  /**
   * Makes a new, empty directory for a durable buffer under the directory named by the system
   * property {@value #DURABLE_DIR_PROPERTY} (default: {@code java.io.tmpdir}), which should be on
   * the file system being measured (not a tmpfs, unless that is the point).
   *
   * @param prefix the start of the directory's name
   * @return the new directory
   * @throws IOException if it cannot be made
   */
  public static Path newDurableDirectory(String prefix) throws IOException {
    Path base = Path.of(System.getProperty(DURABLE_DIR_PROPERTY,
        System.getProperty("java.io.tmpdir")));
    Files.createDirectories(base);
    return Files.createTempDirectory(base, prefix);
  }

  /**
   * A batch handler that accepts every batch and does nothing.
   *
   * @param <K> the key type
   * @return the handler
   */
  public static <K> BatchFlushHandler<K> noOpHandler() {
    return new BatchFlushHandler<K>() {
      @Override
      public void flush(FlushBatch<K> batch) {}

      @Override
      public void onDrop(FlushBatch<K> batch, Exception lastError) {}
    };
  }

  /**
   * {@code ConcurrentHashMap<K, LongAdder>} with {@code computeIfAbsent(key, ...).add(delta)}: the
   * usual hand-rolled counter map.
   *
   * <p>Thread-safe.
   *
   * @param <K> the key type
   */
  public static final class ChmLongAdder<K> {
    /** The map; public so that tests can read it. */
    public final ConcurrentHashMap<K, LongAdder> map = new ConcurrentHashMap<>();

    /**
     * Adds {@code delta} to {@code key}.
     *
     * @param key the key
     * @param delta the amount
     */
    public void add(K key, long delta) {
      map.computeIfAbsent(key, k -> new LongAdder()).add(delta);
    }

    /**
     * Returns the sum of all counts.
     *
     * @return the sum
     */
    public long total() {
      long sum = 0;
      for (LongAdder adder : map.values()) {
        sum += adder.sum();
      }
      return sum;
    }
  }

  /**
   * {@code ConcurrentHashMap<K, Long>} with {@code merge(key, delta, Long::sum)}.
   *
   * <p>Thread-safe.
   *
   * @param <K> the key type
   */
  public static final class ChmMerge<K> {
    /** The map; public so that tests can read it. */
    public final ConcurrentHashMap<K, Long> map = new ConcurrentHashMap<>();

    /**
     * Adds {@code delta} to {@code key}.
     *
     * @param key the key
     * @param delta the amount
     * @return the new count (returned so the JIT cannot drop the box)
     */
    public Long add(K key, long delta) {
      return map.merge(key, delta, Long::sum);
    }

    /**
     * Returns the sum of all counts.
     *
     * @return the sum
     */
    public long total() {
      return map.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /**
   * Guava's {@link AtomicLongMap}.
   *
   * <p>Thread-safe.
   *
   * @param <K> the key type
   */
  public static final class GuavaAtomicLongMap<K> {
    /** The map; public so that tests can read it. */
    public final AtomicLongMap<K> map = AtomicLongMap.create();

    /**
     * Adds {@code delta} to {@code key}.
     *
     * @param key the key
     * @param delta the amount
     * @return the new count
     */
    public long add(K key, long delta) {
      return map.addAndGet(key, delta);
    }

    /**
     * Returns the sum of all counts.
     *
     * @return the sum
     */
    public long total() {
      return map.sum();
    }
  }

  /**
   * A {@code HashMap<K, long[]>} guarded by one lock ({@code synchronized}); the count lives in a
   * one-element array so an existing key is updated in place, without boxing.
   *
   * <p>Thread-safe: every access holds the map's monitor.
   *
   * @param <K> the key type
   */
  public static final class SyncHashMap<K> {
    private final HashMap<K, long[]> map = new HashMap<>();

    /**
     * Adds {@code delta} to {@code key}.
     *
     * @param key the key
     * @param delta the amount
     * @return the new count
     */
    public long add(K key, long delta) {
      synchronized (map) {
        long[] cell = map.get(key);
        if (cell == null) {
          cell = new long[1];
          map.put(key, cell);
        }
        return cell[0] += delta;
      }
    }

    /**
     * Returns the sum of all counts.
     *
     * @return the sum
     */
    public long total() {
      synchronized (map) {
        long sum = 0;
        for (long[] cell : map.values()) {
          sum += cell[0];
        }
        return sum;
      }
    }

    /**
     * Returns how many keys are counted.
     *
     * @return the number of keys
     */
    public int size() {
      synchronized (map) {
        return map.size();
      }
    }
  }

  /**
   * An unsynchronized {@code HashMap<K, long[]>}, updated in place: the limit for counting on
   * existing keys, not a peer. Each benchmark thread owns one, so nothing is shared, nothing is
   * locked and no thread sees another's counts; what a shared counter can hope for is to come close
   * to it.
   *
   * <p>Not thread-safe: confine each instance to one thread.
   *
   * @param <K> the key type
   */
  public static final class PerThreadHashMap<K> {
    private final HashMap<K, long[]> map = new HashMap<>();

    /**
     * Adds {@code delta} to {@code key}.
     *
     * @param key the key
     * @param delta the amount
     * @return the new count
     */
    public long add(K key, long delta) {
      long[] cell = map.get(key);
      if (cell == null) {
        cell = new long[1];
        map.put(key, cell);
      }
      return cell[0] += delta;
    }

    /**
     * Returns the sum of all counts.
     *
     * @return the sum
     */
    public long total() {
      long sum = 0;
      for (long[] cell : map.values()) {
        sum += cell[0];
      }
      return sum;
    }

    /**
     * Returns how many keys are counted.
     *
     * @return the number of keys
     */
    public int size() {
      return map.size();
    }
  }
}
