package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ZipfSamplerTest {
  private static final int DRAWS = 2_000_000;

  @Test
  void sample_exponent11_frequenciesFollowZipfsLaw() {
    ZipfSampler sampler = new ZipfSampler(1_000, 1.1);
    long[] counts = draw(sampler, 42);

    // The most popular key is drawn as often as its probability says, within 2 %.
    double top = counts[0] / (double) DRAWS;
    assertThat(top).isCloseTo(sampler.probability(0), within(0.02 * sampler.probability(0)));
    // Rank 1 over rank 2 is 2^1.1 = 2.14, within 3 %.
    assertThat(counts[0] / (double) counts[1]).isCloseTo(Math.pow(2, 1.1), within(0.065));
    // The log-log slope between ranks 1 and 50 is the exponent.
    double slope = Math.log(counts[0] / (double) counts[49]) / Math.log(50);
    assertThat(slope).isCloseTo(1.1, within(0.03));
    // Heavy head: the top 1 % of keys take about 48 % of the draws, as the table says.
    long head = 0;
    double headProbability = 0;
    for (int i = 0; i < 10; i++) {
      head += counts[i];
      headProbability += sampler.probability(i);
    }
    assertThat(headProbability).isBetween(0.45, 0.5);
    assertThat(head / (double) DRAWS).isCloseTo(headProbability, within(0.005));
  }

  @Test
  void sample_exponentZero_isUniform() {
    ZipfSampler sampler = new ZipfSampler(10, 0);
    long[] counts = draw(sampler, 7);
    for (long count : counts) {
      assertThat(count / (double) DRAWS).isCloseTo(0.1, within(0.002));
    }
  }

  @Test
  void sample_anyExponent_staysInRangeAndProbabilitiesSumToOne() {
    for (double s : new double[] {0, 0.5, 1.1, 3}) {
      ZipfSampler sampler = new ZipfSampler(37, s);
      double sum = 0;
      for (int i = 0; i < sampler.size(); i++) {
        assertThat(sampler.probability(i)).isPositive();
        sum += sampler.probability(i);
      }
      assertThat(sum).isCloseTo(1.0, within(1e-9));
      SplittableRandom random = new SplittableRandom(s == 0 ? 1 : (long) (s * 100));
      for (int i = 0; i < 10_000; i++) {
        assertThat(sampler.sample(random)).isBetween(0, 36);
      }
    }
  }

  @Test
  void sample_oneKey_alwaysZero() {
    ZipfSampler sampler = new ZipfSampler(1, 1.1);
    SplittableRandom random = new SplittableRandom(3);
    for (int i = 0; i < 1_000; i++) {
      assertThat(sampler.sample(random)).isZero();
    }
  }

  @Test
  void constructor_badArguments_throwNamingThem() {
    assertThatThrownBy(() -> new ZipfSampler(0, 1.1)).hasMessageContaining("n must be at least 1");
    assertThatThrownBy(() -> new ZipfSampler(10, -0.1)).hasMessageContaining("exponent");
    assertThatThrownBy(() -> new ZipfSampler(10, Double.NaN)).hasMessageContaining("exponent");
  }

  private static long[] draw(ZipfSampler sampler, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int[] block = new int[10_000];
    long[] counts = new long[sampler.size()];
    for (int done = 0; done < DRAWS; done += block.length) {
      sampler.fill(random, block);
      for (int index : block) {
        counts[index]++;
      }
    }
    return counts;
  }
}
