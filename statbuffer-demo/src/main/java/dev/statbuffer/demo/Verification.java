package dev.statbuffer.demo;

import dev.statbuffer.BufferStats;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The outcome of reading the totals back, and how it is read. Not thread-safe. */
final class Verification {
  boolean ok;
  long compared;
  long mismatches;
  /** Increments in flight at a kill (--durable) that the store turned out to have. */
  long inFlightStored;
  final List<String> examples = new ArrayList<>();
  /** Why the totals could not be read back, or null when they were. */
  @Nullable String error;

  void mismatch(String example) {
    mismatches++;
    if (examples.size() < 5) {
      examples.add(example);
    }
  }

  /**
   * Reads every total back and compares it with the demo's count. With {@code --durable},
   * {@code inFlight} says per key how many increments were in flight when a start was killed:
   * each may or may not have reached the buffer, so the stored total may exceed the count by
   * at most that many (never fall short of it).
   */
  static Verification of(DemoStore store, List<String> pages, long[] expected,
      long @Nullable [] inFlight, PrintWriter err) {
    Verification v = new Verification();
    Map<String, Long> totals;
    try {
      totals = store.readTotals(pages);
    } catch (Exception e) {
      v.error = Errors.rootMessage(e);
      err.println("statbuffer-demo: cannot read the totals back: " + v.error);
      return v;
    }
    for (int i = 0; i < expected.length; i++) {
      Long stored = totals.remove(pages.get(i));
      long counted = expected[i];
      if (stored == null && counted == 0) {
        continue;
      }
      v.compared++;
      long excess = (stored == null) ? -1 : stored - counted;
      if (excess != 0 && (excess < 0 || inFlight == null || excess > inFlight[i])) {
        v.mismatch(pages.get(i) + ": stored " + stored + ", counted " + counted
            + ((inFlight != null && inFlight[i] != 0) ? " (+ " + inFlight[i] + " in flight)"
                : ""));
      } else if (excess > 0) {
        v.inFlightStored += excess;
      }
    }
    for (Map.Entry<String, Long> extra : totals.entrySet()) { // keys the demo never drew
      v.mismatch(extra.getKey() + ": stored " + extra.getValue() + ", never counted");
    }
    v.ok = v.mismatches == 0;
    return v;
  }

  /**
   * Whether the whole run verified: every stored total equals the demo's count (as
   * {@link #of} found), and the buffer delivered exactly what it accepted (and, when durable,
   * what it recovered), dropping, keeping and refusing nothing.
   *
   * @param stats the closed buffer's counters
   * @param accepted the increments the buffer accepted in this start
   * @param refused the increments the buffer refused
   * @return true if verified
   */
  boolean verified(BufferStats stats, long accepted, long refused) {
    return ok && stats.droppedSum() == 0 && stats.keptSum() == 0
        && stats.deliveredSum() == accepted + stats.recoveredSum() && refused == 0;
  }
}
