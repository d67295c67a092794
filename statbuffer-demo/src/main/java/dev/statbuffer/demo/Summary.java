package dev.statbuffer.demo;

import java.io.PrintWriter;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * What a demo run did, as printed at the end and as the {@code --json} line. Immutable.
 *
 * @param store the store option ({@code h2}, {@code postgres}, ...)
 * @param run the run id (the {@code run_id} column, or part of the Redis key names)
 * @param threads traffic threads
 * @param keySpace the {@code --keys} option: how many pages may be drawn
 * @param zipf the Zipf exponent
 * @param increments increments the buffer accepted
 * @param keys distinct keys among them
 * @param storeWrites SQL statements (JDBC) or round trips (Redis) the sink sent, from the sink's
 *     own counters, the one-time table creation excluded
 * @param writeUnit what {@code storeWrites} counts ("SQL statements", "round trips")
 * @param batches batches the sink acknowledged
 * @param rowsWritten counter rows (keys) the sink wrote, over all batches
 * @param seconds how long the traffic ran
 * @param dumpSeconds how long closing the buffer took (delivering what was still buffered)
 * @param verified whether every total read back from the store equals the demo's own count
 * @param mismatches keys whose stored total differs from the demo's count (or that the demo
 *     never wrote)
 * @param dropped the sum of counts the buffer gave up on (should be 0)
 * @param interrupted whether the run was stopped by a signal (Ctrl-C)
 * @param durable with {@code --durable}, what the earlier starts of the run did; else null
 */
record Summary(String store, String run, int threads, int keySpace, double zipf,
    long increments, long keys, long storeWrites, String writeUnit, long batches,
    long rowsWritten, double seconds, double dumpSeconds, boolean verified, long mismatches,
    long dropped, boolean interrupted, @Nullable Durable durable) {

  /**
   * A start of a durable run ({@code --durable}).
   *
   * @param directory the {@code --durable} directory
   * @param start this start's number, 1 for the first
   * @param recovered what the buffer took up at start: counts a killed start had accepted and
   *     not delivered
   * @param kept what close() could not deliver and left in the directory (should be 0)
   * @param earlierIncrements what the earlier starts counted
   * @param inFlight increments in flight when an earlier start was killed (each may or may not
   *     have reached the buffer)
   * @param inFlightStored how many of them the store has
   */
  record Durable(String directory, int start, long recovered, long kept,
      long earlierIncrements, long inFlight, long inFlightStored) {

    /** Prints the summary's lines about the run's starts. */
    void print(PrintWriter out, long increments) {
      out.printf(Locale.ROOT, "  durable               start %d in %s: recovered %,d counts at"
          + " start%n", start, directory, recovered);
      out.printf(Locale.ROOT, "  over all starts       %,d increments accepted (%,d by earlier"
          + " starts)%n", earlierIncrements + increments, earlierIncrements);
    }

    /** What the verified line adds. */
    String verifiedNote() {
      String note = " over all starts";
      if (inFlight == 0) {
        return note;
      }
      return note + String.format(Locale.ROOT, " (of %d increment%s in flight when a start was"
          + " killed, %d reached the buffer)", inFlight, (inFlight == 1) ? "" : "s",
          inFlightStored);
    }

    private void appendJson(StringBuilder json, long increments) {
      json.append(",\"durable\":").append(quote(directory))
          .append(",\"start\":").append(start)
          .append(",\"recovered\":").append(recovered)
          .append(",\"kept\":").append(kept)
          .append(",\"totalIncrements\":").append(earlierIncrements + increments)
          .append(",\"inFlight\":").append(inFlight)
          .append(",\"inFlightStored\":").append(inFlightStored);
    }
  }

  /**
   * Increments per second of traffic.
   *
   * @return the rate, 0 when no time passed
   */
  double incrementsPerSecond() {
    return (seconds > 0) ? increments / seconds : 0;
  }

  /**
   * How many increments each store write carried on average.
   *
   * @return the ratio, 0 when nothing was written
   */
  double incrementsPerWrite() {
    return (storeWrites > 0) ? (double) increments / storeWrites : 0;
  }

  /**
   * The summary as one line of JSON.
   *
   * @return a JSON object
   */
  String toJson() {
    StringBuilder json = new StringBuilder(600).append('{')
        .append("\"store\":").append(quote(store))
        .append(",\"run\":").append(quote(run))
        .append(",\"threads\":").append(threads)
        .append(",\"keySpace\":").append(keySpace)
        .append(",\"zipf\":").append(number(zipf))
        .append(",\"increments\":").append(increments)
        .append(",\"keys\":").append(keys)
        .append(",\"storeWrites\":").append(storeWrites)
        .append(",\"writeUnit\":").append(quote(writeUnit))
        .append(",\"batches\":").append(batches)
        .append(",\"rowsWritten\":").append(rowsWritten)
        .append(",\"incrementsPerWrite\":").append(number(incrementsPerWrite()))
        .append(",\"incrementsPerSecond\":").append(number(incrementsPerSecond()))
        .append(",\"seconds\":").append(number(seconds))
        .append(",\"dumpSeconds\":").append(number(dumpSeconds))
        .append(",\"verified\":").append(verified)
        .append(",\"mismatches\":").append(mismatches)
        .append(",\"dropped\":").append(dropped)
        .append(",\"interrupted\":").append(interrupted);
    if (durable != null) {
      durable.appendJson(json, increments);
    }
    return json.append('}').toString();
  }

  private static String number(double value) {
    if (!Double.isFinite(value)) {
      return "null";
    }
    return String.format(Locale.ROOT, "%.3f", value);
  }

  /** A JSON string literal; the values here are plain ASCII, but escape properly anyway. */
  static String quote(String value) {
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
