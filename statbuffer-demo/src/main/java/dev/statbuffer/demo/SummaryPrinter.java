package dev.statbuffer.demo;

import dev.statbuffer.BufferStats;
import java.io.PrintWriter;
import java.util.Locale;

/** Prints the summary at the end of a run, and what went wrong when it is not verified. */
final class SummaryPrinter {
  private SummaryPrinter() {}

  static void print(PrintWriter out, Summary s, Verification v,
      BufferStats stats, long refused) {
    out.println();
    out.println("Summary (" + s.store() + ", run " + s.run() + ")");
    out.printf(Locale.ROOT, "  increments accepted   %,d in %.1f s (%,.0f/s on %d thread%s)%n",
        s.increments(), s.seconds(), s.incrementsPerSecond(), s.threads(),
        (s.threads() == 1) ? "" : "s");
    out.printf(Locale.ROOT, "  distinct keys         %,d of %,d pages%n", s.keys(),
        s.keySpace());
    out.printf(Locale.ROOT, "  store writes          %,d %s: %,d batches, %,d rows"
            + " (closing the buffer took %.2f s)%n",
        s.storeWrites(), s.writeUnit(), s.batches(), s.rowsWritten(), s.dumpSeconds());
    out.printf(Locale.ROOT, "  increments per write  %,.1f (without a buffer: one write per"
            + " increment, %,d writes)%n",
        s.incrementsPerWrite(), s.increments());
    if (s.durable() != null) {
      s.durable().print(out, s.increments());
    }
    if (s.verified()) {
      out.printf(Locale.ROOT, "  verified              yes: the %,d totals read back from the"
          + " store equal the demo's counts%s%n", v.compared,
          (s.durable() != null) ? s.durable().verifiedNote() : "");
      return;
    }
    printProblems(out, s, v, stats, refused);
  }

  private static void printProblems(PrintWriter out, Summary s, Verification v,
      BufferStats stats, long refused) {
    out.println("  verified              NO");
    if (v.error != null) {
      out.println("    the totals could not be read back: " + v.error);
    }
    if (v.mismatches > 0) {
      out.printf(Locale.ROOT, "    %,d of %,d keys differ, such as:%n", v.mismatches,
          v.compared);
      for (String example : v.examples) {
        out.println("      " + example);
      }
    }
    if (stats.droppedSum() != 0) {
      out.printf(Locale.ROOT, "    the buffer dropped %,d increments it could not deliver%n",
          stats.droppedSum());
    }
    if (stats.deliveredSum() != s.increments() + stats.recoveredSum()) {
      out.printf(Locale.ROOT, "    the buffer delivered %,d increments of %,d accepted%s%n",
          stats.deliveredSum(), s.increments() + stats.recoveredSum(),
          (stats.recoveredSum() != 0) ? " and recovered" : "");
    }
    if (stats.keptSum() != 0) {
      out.printf(Locale.ROOT, "    the buffer could not deliver %,d increments by the end of"
          + " close(): they stay in its files for the next start%n", stats.keptSum());
    }
    if (refused != 0) {
      out.printf(Locale.ROOT, "    the buffer refused %,d increments%n", refused);
    }
  }
}
