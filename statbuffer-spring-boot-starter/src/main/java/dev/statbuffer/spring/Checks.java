package dev.statbuffer.spring;

import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/** Turns the builders' argument errors into {@link StatBufferConfigurationException}s. */
final class Checks {
  private Checks() {}

  /**
   * Runs {@code call}, a builder call with the value of {@code property}; an argument error it
   * throws becomes a {@link StatBufferConfigurationException} naming the property and the fix.
   */
  static void option(String property, String fix, Runnable call) {
    value(property, fix, () -> {
      call.run();
      return null;
    });
  }

  /** {@link #option}, returning what {@code call} returns. */
  static <T> T value(String property, String fix, Supplier<T> call) {
    try {
      return call.get();
    } catch (StatBufferConfigurationException e) {
      throw e;
    } catch (NullPointerException e) {
      throw new StatBufferConfigurationException(property, "has no value.", fix, e);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new StatBufferConfigurationException(property, e.getMessage() + ".", fix, e);
    }
  }

  /** Fails unless {@code value} has text. */
  static String required(String property, @Nullable String value, String fix) {
    if (value == null || value.isBlank()) {
      throw new StatBufferConfigurationException(property, "is not set.", fix);
    }
    return value;
  }
}
