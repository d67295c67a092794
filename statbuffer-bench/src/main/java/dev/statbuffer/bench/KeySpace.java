package dev.statbuffer.bench;

import java.util.SplittableRandom;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The keys of a benchmark and how they are chosen: {@code keys} distinct pre-built {@code String}
 * keys, picked uniformly or by a Zipf law with exponent {@value #ZIPF_EXPONENT}.
 *
 * <p>Every key object is built in {@link #setUp()} and every thread gets its own pre-generated
 * {@link Cursor} of key indexes, so the measured loop allocates nothing and draws no random
 * number: it reads the next index and the key it names.
 *
 * <p>Thread-safety: built once per trial by JMH, then only read; safe to share.
 */
@State(Scope.Benchmark)
public class KeySpace {
  /** The exponent of the Zipf law. */
  public static final double ZIPF_EXPONENT = 1.1;
  /** Indexes pre-generated per thread; a power of two so the cursor wraps with a mask. */
  public static final int INDEXES = 1 << 20;

  /** How many distinct keys. */
  @Param({"1", "1000", "1000000"})
  public int keys;

  /** How keys are chosen: {@code uniform} or {@code zipf}. */
  @Param({"uniform", "zipf"})
  @SuppressWarnings("NullAway.Init") // JMH sets @Param fields before it calls any @Setup
  public String distribution;

  /** The key objects, built before measurement. */
  public String[] keyObjects;

  /** The Zipf law's cumulative probabilities by rank; null for {@code uniform}. */
  private double @Nullable [] zipfCumulative;

  /** Builds the keys (and the Zipf table); called by JMH once per trial. */
  @Setup(Level.Trial)
  public void setUp() {
    keyObjects = buildKeys(keys);
    if ("zipf".equals(distribution)) {
      zipfCumulative = zipfCumulative(keys, ZIPF_EXPONENT);
    } else if (!"uniform".equals(distribution)) {
      throw new IllegalArgumentException("distribution must be uniform or zipf: " + distribution);
    }
  }

  /**
   * Builds {@code count} distinct keys that look like what applications count ({@code "page:123"}).
   *
   * @param count how many keys
   * @return the keys; their hash codes are computed already
   */
  public static String[] buildKeys(int count) {
    String[] result = new String[count];
    for (int i = 0; i < count; i++) {
      result[i] = "page:" + i;
      int unused = result[i].hashCode(); // cache the hash, as a long-lived key has it
    }
    return result;
  }

  /**
   * Generates {@link #INDEXES} key indexes drawn from this key space's distribution.
   *
   * @param seed the random seed (one per thread, so threads do not walk in step)
   * @return the indexes, each in {@code [0, keys)}
   */
  public int[] indexes(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] cumulative = zipfCumulative;
    int[] result = new int[INDEXES];
    for (int i = 0; i < result.length; i++) {
      result[i] = (cumulative == null) ? random.nextInt(keys)
          : zipf(cumulative, random.nextDouble());
    }
    return result;
  }

  /** Rank 0 is the most frequent key; its probability is proportional to 1 / (rank + 1)^s. */
  private static int zipf(double[] cumulative, double u) {
    int low = 0;
    int high = cumulative.length - 1;
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (cumulative[middle] < u) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  private static double[] zipfCumulative(int count, double exponent) {
    double[] cumulative = new double[count];
    double total = 0;
    for (int rank = 0; rank < count; rank++) {
      total += 1.0 / Math.pow(rank + 1, exponent);
      cumulative[rank] = total;
    }
    for (int rank = 0; rank < count; rank++) {
      cumulative[rank] /= total;
    }
    cumulative[count - 1] = 1.0;
    return cumulative;
  }

  /**
   * One thread's walk over the keys: a pre-generated index array read in order, wrapping around.
   *
   * <p>Thread-safety: confined to one benchmark thread.
   */
  @State(Scope.Thread)
  public static class Cursor {
    /**
     * Consecutive seeds. Not seeds that differ by SplittableRandom's own gamma (0x9E3779B97F4A7C15):
     * those give the same sequence shifted by one draw, so two threads would walk the same keys in
     * step and contend on every one of them.
     */
    private static final java.util.concurrent.atomic.AtomicLong SEEDS =
        new java.util.concurrent.atomic.AtomicLong(0x5EEDL);

    private String[] keys;
    private int[] indexes;
    private int position;

    /**
     * Generates this thread's indexes; called by JMH once per trial.
     *
     * @param space the key space
     */
    @Setup(Level.Trial)
    public void setUp(KeySpace space) {
      keys = space.keyObjects;
      indexes = space.indexes(SEEDS.getAndIncrement());
      position = 0;
    }

    /**
     * Returns the next key; allocation-free.
     *
     * @return the key
     */
    public String next() {
      return keys[indexes[position++ & (INDEXES - 1)]];
    }

    /**
     * Returns the index of the next key, for benchmarks that walk something made per key (such as
     * counter handles) in the same order as {@link #next()} walks the keys; allocation-free.
     *
     * @return the index, in {@code [0, keys)}
     */
    public int nextIndex() {
      return indexes[position++ & (INDEXES - 1)];
    }
  }
}
