package dev.statbuffer;

/**
 * A source of monotonic time in nanoseconds, so tests can drive a buffer's clock instead of
 * sleeping. Implementations must be thread-safe.
 */
@FunctionalInterface
public interface Ticker {

  /**
   * Returns the current time in nanoseconds from an arbitrary origin; only differences matter.
   *
   * @return the time in nanoseconds
   */
  long read();

  /**
   * The system ticker, backed by {@link System#nanoTime()}.
   *
   * @return the system ticker
   */
  static Ticker system() {
    return System::nanoTime;
  }
}
