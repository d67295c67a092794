package dev.statbuffer;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import org.jspecify.annotations.Nullable;

/**
 * A JFR event per handler call: which buffer, how many keys and how much, which attempt, and
 * whether it succeeded; its duration is the handler's time. Costs a check of a flag when no
 * recording asks for it. Thread-confined: one per call. Its fields are set only when a recording
 * commits it, so they may be null.
 */
@Name("dev.statbuffer.Flush")
@Label("StatBuffer Flush")
@Category({"StatBuffer"})
@Description("One call of a buffer's flush handler")
@StackTrace(false)
final class FlushEvent extends Event {
  @Label("Buffer")
  @Nullable String buffer;

  @Label("Batch Id")
  @Description("The batch id, or null for a per-key handler")
  @Nullable String batchId;

  @Label("Keys")
  int keys;

  @Label("Sum")
  @Description("The sum of the counts handed to the handler")
  long sum;

  @Label("Attempt")
  @Description("1 for the first call, 2 for the first retry, and so on")
  int attempt;

  @Label("Outcome")
  @Description("success, or failure with the exception's class")
  @Nullable String outcome;
}
