package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How far behind a buffer is, from {@link StatBuffer#lag()}: the age of the oldest count that has
 * not been delivered yet. Immutable.
 *
 * <p>A buffer that keeps up shows an {@code oldestWindow} of at most about {@code interval} (plus
 * jitter) and an {@code oldestHandedOver} of about one handler call. Growth beyond that means the
 * drain or the handler is behind; a growing {@code oldestHandedOver} means counts wait for
 * retries.
 *
 * @param oldestWindow the age of the oldest open window (counts not handed over yet), measured
 *     from its first increment to within the jitter and one tick; zero when no window is open
 * @param oldestHandedOver the time since the oldest count still awaiting its handler (running,
 *     queued, or waiting for a retry) was handed over; zero when none is
 */
public record BufferLag(Duration oldestWindow, Duration oldestHandedOver) {

  /**
   * Checks the arguments.
   *
   * @param oldestWindow the age of the oldest open window, not null
   * @param oldestHandedOver the age of the oldest count awaiting its handler, not null
   * @throws NullPointerException if either is null
   */
  public BufferLag {
    requireNonNull(oldestWindow, "oldestWindow");
    requireNonNull(oldestHandedOver, "oldestHandedOver");
  }

  /**
   * The larger of the two ages: how long the oldest undelivered count has waited at least.
   *
   * @return the larger age
   */
  public Duration max() {
    return (oldestWindow.compareTo(oldestHandedOver) >= 0) ? oldestWindow : oldestHandedOver;
  }
}
