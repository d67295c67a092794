package dev.statbuffer;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import org.jspecify.annotations.Nullable;

/**
 * A JFR event per delivery given up on and handed to {@code onDrop}. Costs a check of a flag when
 * no recording asks for it. Thread-confined: one per drop. Its fields are set only when a
 * recording commits it, so they may be null.
 */
@Name("dev.statbuffer.Drop")
@Label("StatBuffer Drop")
@Category({"StatBuffer"})
@Description("Counts a buffer gave up on and handed to onDrop")
@StackTrace(false)
final class DropEvent extends Event {
  @Label("Buffer")
  @Nullable String buffer;

  @Label("Batch Id")
  @Description("The batch id, or null for a per-key handler")
  @Nullable String batchId;

  @Label("Keys")
  int keys;

  @Label("Sum")
  @Description("The sum of the dropped counts")
  long sum;

  @Label("Attempts")
  @Description("Handler calls made before the drop")
  int attempts;

  @Label("Reason")
  @Description("The last error's class and message, or the shutdown timeout")
  @Nullable String reason;
}
