package dev.statbuffer.demo;

import java.util.SplittableRandom;

/**
 * Draws key indices {@code 0 .. n-1} with Zipf's law: index {@code i} has weight
 * {@code 1 / (i + 1)^s}, so index 0 is the most popular page, index 1 is {@code 2^s} times less
 * popular, and so on. An exponent of 0 draws uniformly.
 *
 * <p>The sampler holds the cumulative distribution as a table of {@code n} doubles and draws by
 * binary search over it: O(log n) per draw, exact for any exponent.
 *
 * <p>Immutable and thread-safe; each thread passes its own {@link SplittableRandom}.
 */
final class ZipfSampler {
  private final double[] cumulative;

  /**
   * Builds the table.
   *
   * @param n the number of keys, at least 1
   * @param exponent the skew {@code s}, finite and at least 0
   * @throws IllegalArgumentException if {@code n} or {@code exponent} is out of range
   */
  ZipfSampler(int n, double exponent) {
    if (n < 1) {
      throw new IllegalArgumentException("n must be at least 1: " + n);
    }
    if (!(exponent >= 0) || Double.isInfinite(exponent)) {
      throw new IllegalArgumentException("exponent must be finite and at least 0: " + exponent);
    }
    cumulative = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.pow(i + 1, -exponent);
      cumulative[i] = sum;
    }
    for (int i = 0; i < n; i++) {
      cumulative[i] /= sum;
    }
    cumulative[n - 1] = 1.0; // no rounding gap above the last entry
  }

  /**
   * The number of keys.
   *
   * @return n
   */
  int size() {
    return cumulative.length;
  }

  /**
   * The probability of drawing {@code index}.
   *
   * @param index from 0 to {@code size() - 1}
   * @return its probability
   */
  double probability(int index) {
    return (index == 0) ? cumulative[0] : cumulative[index] - cumulative[index - 1];
  }

  /**
   * Draws one index.
   *
   * @param random the caller's generator
   * @return an index from 0 to {@code size() - 1}
   */
  int sample(SplittableRandom random) {
    double u = random.nextDouble(); // [0, 1)
    // The first index whose cumulative probability exceeds u.
    int low = 0;
    int high = cumulative.length - 1;
    while (low < high) {
      int mid = (low + high) >>> 1;
      if (cumulative[mid] > u) {
        high = mid;
      } else {
        low = mid + 1;
      }
    }
    return low;
  }

  /**
   * Fills {@code out} with draws.
   *
   * @param random the caller's generator
   * @param out the array to fill
   */
  void fill(SplittableRandom random, int[] out) {
    for (int i = 0; i < out.length; i++) {
      out[i] = sample(random);
    }
  }
}
