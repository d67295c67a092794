package dev.statbuffer;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * What the buffer tells the world about its deliveries: the outcome sums behind
 * {@link BufferStats}, and the {@link BufferListener}.
 *
 * <h2>Why the sums are exact</h2>
 * Each sum is an {@link AtomicLong} that only grows by what one decided outcome carries:
 * {@link Deliveries} adds a delivery's sum to {@code deliveredSum}, {@code droppedSum} or
 * {@code keptSum} only in the thread that won the delivery's state CAS, so an outcome is counted
 * once however many threads race to decide it (a late abandoned call, close, a retry). A stats
 * snapshot reads the sums one after another, so it may see one outcome and not the next, never a
 * count in two sums.
 *
 * <p>Thread-safe. The listener is called on whichever thread decided the outcome; what it throws
 * is logged (the first time at ERROR) and never reaches the delivery.
 */
final class Outcomes {
  private static final Logger LOGGER = System.getLogger(StatBuffer.class.getName());

  /** Handler calls that returned. */
  final AtomicLong flushes = new AtomicLong();
  /** Handler calls that failed (threw, or ran past the flush timeout). */
  final AtomicLong failures = new AtomicLong();
  final AtomicLong deliveredSum = new AtomicLong();
  final AtomicLong droppedSum = new AtomicLong();
  /** Counts an earlier process left in a durable buffer's directory, delivered by this one. */
  final AtomicLong recoveredSum = new AtomicLong();
  /** Counts close() left in a durable buffer's directory, out of time, for the next start. */
  final AtomicLong keptSum = new AtomicLong();

  private final String bufferName;
  private final @Nullable BufferListener listener;
  private final AtomicBoolean listenerFailed = new AtomicBoolean();

  Outcomes(String bufferName, @Nullable BufferListener listener) {
    this.bufferName = bufferName;
    this.listener = listener;
  }

  /**
   * Adds to an outcome sum, sticking at {@code Long.MAX_VALUE} or {@code MIN_VALUE} instead of
   * wrapping (huge deltas can carry a sum past the range of a long).
   */
  static void addSaturated(AtomicLong sum, long value) {
    sum.accumulateAndGet(value, (a, b) -> {
      long r = a + b;
      // Overflow iff both operands have the sign the result lacks (Math.addExact's test).
      return (((a ^ r) & (b ^ r)) < 0) ? ((a < 0) ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    });
  }

  /** Tells the listener, if any, guarding against what it throws. */
  void tell(Consumer<BufferListener> event) {
    if (listener != null) {
      try {
        event.accept(listener);
      } catch (RuntimeException | Error e) {
        listenerFailed(e);
      }
    }
  }

  private void listenerFailed(Throwable e) {
    boolean first = listenerFailed.compareAndSet(false, true);
    LOGGER.log(first ? Level.ERROR : Level.DEBUG, "StatBuffer '" + bufferName
        + "': the listener threw" + (first ? " (later failures are logged at DEBUG)" : ""), e);
  }

  /** A snapshot of the sums with the buffer's pending and rejected figures. */
  BufferStats stats(long pendingKeys, long rejected) {
    return new BufferStats(pendingKeys, flushes.get(), failures.get(), rejected,
        deliveredSum.get(), droppedSum.get(), recoveredSum.get(), keptSum.get());
  }
}
