package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The packed base word of a {@link Window}: due tick in the high half, count in the low half. */
class WindowTest {

  @Test
  void add_keepsDueTick_andSums() {
    Window<String> window = new Window<>("k", 5, -123_456);
    assertThat(window.add(-7)).isEqualTo(Window.ADDED);
    assertThat(window.add(3)).isEqualTo(Window.ADDED);
    assertThat(window.dueTick()).isEqualTo(-123_456);
    assertThat(window.sum()).isEqualTo(1);
    assertThat(window.retire()).isEqualTo(1);
    assertThat(window.isRetired()).isTrue();
  }

  @Test
  void add_beyond32Bits_goesToStripes_exactSum() {
    Window<String> window = new Window<>("k", Integer.MAX_VALUE, 42);
    assertThat(window.add(Integer.MAX_VALUE)).isEqualTo(Window.ADDED);
    assertThat(window.add(-1L - Integer.MAX_VALUE)).isEqualTo(Window.ADDED);
    assertThat(window.add(10L * Integer.MAX_VALUE)).isEqualTo(Window.ADDED);
    long expected = 2L * Integer.MAX_VALUE + (-1L - Integer.MAX_VALUE) + 10L * Integer.MAX_VALUE;
    assertThat(window.dueTick()).isEqualTo(42);
    assertThat(window.sum()).isEqualTo(expected);
    assertThat(window.retire()).isEqualTo(expected);
  }

  @Test
  void firstDelta_beyond32Bits_kept() {
    long big = 3L * Integer.MAX_VALUE;
    Window<String> window = new Window<>("k", big, 7);
    assertThat(window.dueTick()).isEqualTo(7);
    assertThat(window.add(1)).isEqualTo(Window.ADDED);
    assertThat(window.retire()).isEqualTo(big + 1);
  }

  @Test
  void lowHalfNeverTakesTheRetiredValue() {
    Window<String> window = new Window<>("k", Integer.MIN_VALUE + 1L, 1);
    assertThat(window.isRetired()).isFalse();
    assertThat(window.add(-1)).isEqualTo(Window.ADDED); // would hit MIN_VALUE: goes to a stripe
    assertThat(window.isRetired()).isFalse();
    assertThat(window.retire()).isEqualTo((long) Integer.MIN_VALUE);
  }

  @Test
  void retire_twice_secondIsNotOwner_andAddsSeeRetired() {
    Window<String> window = new Window<>("k", 1, 0);
    assertThat(window.retire()).isEqualTo(1);
    assertThat(window.retire()).isEqualTo(Window.NOT_OWNER);
    assertThat(window.add(1)).isEqualTo(Window.RETIRED_WINDOW);
    assertThat(window.sum()).isZero();
  }
}
