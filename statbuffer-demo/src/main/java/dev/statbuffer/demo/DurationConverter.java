package dev.statbuffer.demo;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a duration option: a number with a unit ({@code 500ms}, {@code 10s}, {@code 1.5s},
 * {@code 2m}, {@code 1h}), a bare number of seconds ({@code 10}), or ISO-8601 ({@code PT10S}).
 * Stateless and thread-safe.
 */
final class DurationConverter implements ITypeConverter<Duration> {
  private static final Pattern SIMPLE =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?", Pattern.CASE_INSENSITIVE);

  @Override
  public Duration convert(String value) {
    String text = value.trim();
    Matcher m = SIMPLE.matcher(text);
    if (m.matches()) {
      double amount = Double.parseDouble(m.group(1));
      String unit = (m.group(2) == null) ? "s" : m.group(2).toLowerCase(Locale.ROOT);
      double millis = switch (unit) {
        case "ms" -> amount;
        case "s" -> amount * 1_000;
        case "m" -> amount * 60_000;
        case "h" -> amount * 3_600_000;
        default -> throw new IllegalStateException(unit);
      };
      if (millis * 1_000_000 >= Long.MAX_VALUE) {
        throw new TypeConversionException("'" + value + "' is too long a duration");
      }
      return Duration.ofNanos(Math.round(millis * 1_000_000));
    }
    try {
      return Duration.parse(text);
    } catch (DateTimeParseException e) {
      throw new TypeConversionException("'" + value + "' is not a duration: use a number with"
          + " a unit, such as 500ms, 10s, 1.5s, 2m or 1h (or ISO-8601, such as PT10S)");
    }
  }

  /**
   * Formats a duration the way the options are written ({@code 10s}, {@code 500ms},
   * {@code 1.5s}).
   *
   * @param duration the duration
   * @return the text
   */
  static String format(Duration duration) {
    long millis = duration.toMillis();
    if (duration.isZero()) {
      return "0s";
    }
    if (millis < 1_000 && millis * 1_000_000 == duration.toNanos()) {
      return millis + "ms";
    }
    double seconds = duration.toNanos() / 1e9;
    if (seconds == Math.rint(seconds)) {
      return (long) seconds + "s";
    }
    return String.format(Locale.ROOT, "%.3fs", seconds).replaceAll("0+s$", "s");
  }
}
