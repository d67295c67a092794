package dev.statbuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Collections;
import java.util.Map;
import java.util.NavigableSet;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * Counts that were handed over and are on their way to the handler: one key for a
 * {@link FlushHandler}, up to {@code maxBatchSize} keys for a {@link BatchFlushHandler}.
 *
 * <p>Its id and counts never change after it is built, so every retry carries the same id and
 * counts; each handler call sees them through its own immutable {@link Target.Batch}. The outcome
 * is decided once, by a CAS of {@code state} from {@link #PENDING} to {@link #DELIVERED} (the
 * handler returned) or to {@link #DROPPED} (attempts exhausted, or the shutdown timeout ran out);
 * whichever CAS wins does the accounting, so a count is never both delivered and dropped, and
 * never accounted twice. {@code attempt}, {@code failedCalls} and {@code retryTimer} are written
 * by the one thread that runs or schedules the delivery at a time (a run and its retry are ordered
 * through the scheduler and executor hand-offs).
 */
final class Delivery<K> {
  static final int PENDING = 0;
  static final int DELIVERED = 1;
  static final int DROPPED = 2;
  /** Left in a durable buffer's journal by close() out of time, for the next start. */
  static final int KEPT = 3;

  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(Delivery.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** The batch id, or null when the delivery has none (a per-key handler's). */
  final @Nullable String id;
  /** The buffer's sender id, or null when the delivery has no id (a per-key handler's). */
  final @Nullable String sender;
  /** The number in the sender's sequence, or -1. */
  final long sequence;
  /** The sequence numbers of the sender's unsettled deliveries (shared by them), or null. */
  private final @Nullable NavigableSet<Long> unsettled;
  /** The single key of a per-key delivery, or null for a batch. */
  final @Nullable K key;
  /** The single count of a per-key delivery. */
  final long count;
  /** The counts of a batch, or null for a per-key delivery. */
  private final @Nullable Map<K, Long> counts;
  /** The sum of all counts; what goes to deliveredSum or droppedSum. */
  final long sum;
  /** How many windows were merged into this delivery; what leaves pendingKeys when it settles. */
  final int windows;
  /** When it was handed over ({@link Ticker} time): the age reported by {@code lag()}. */
  final long handedOverNanos;
  final CompletableFuture<Void> done = new CompletableFuture<>();

  /** Handler calls begun. */
  volatile int attempt;
  /** Failed calls, including submissions the executor rejected: drives backoff and maxAttempts. */
  volatile int failedCalls;
  /** The last failed call's error, or null before the first failure. */
  volatile @Nullable Exception lastError;
  /** The scheduled retry, or null when none waits. */
  volatile @Nullable Future<?> retryTimer;
  /**
   * A durable buffer's journal record of it, or null (in memory, or the journal failed); written
   * under the hand-over lock before it leaves.
   */
  Journal.@Nullable Ref record;
  private volatile int state;

  /** A per-key delivery; {@code sender} null for one without an id. */
  Delivery(@Nullable String sender, long sequence, @Nullable NavigableSet<Long> unsettled, K key,
      long count, long handedOverNanos) {
    this.sender = sender;
    this.sequence = sequence;
    this.unsettled = unsettled;
    this.id = (sender != null) ? idOf(sender, sequence) : null;
    this.key = key;
    this.count = count;
    this.counts = null;
    this.sum = count;
    this.windows = 1;
    this.handedOverNanos = handedOverNanos;
  }

  /** A batch delivery; {@code counts} must not be shared or changed afterwards. */
  Delivery(String sender, long sequence, @Nullable NavigableSet<Long> unsettled,
      Map<K, Long> counts, long sum, int windows, long handedOverNanos) {
    this.sender = sender;
    this.sequence = sequence;
    this.unsettled = unsettled;
    this.id = idOf(sender, sequence);
    this.key = null;
    this.count = 0;
    this.counts = Collections.unmodifiableMap(counts);
    this.sum = sum;
    this.windows = windows;
    this.handedOverNanos = handedOverNanos;
  }

  /** The batch id: the sender, a dash, and the sequence number in base 36. */
  static String idOf(String sender, long sequence) {
    return sender + '-' + Long.toString(sequence, 36);
  }

  /**
   * Every delivery of the sender numbered below the returned value is settled: the smallest
   * unsettled number (this delivery's own at most, while it is unsettled). -1 without a sender.
   */
  long settledBelow() {
    if (unsettled == null) {
      return -1;
    }
    try {
      return Math.min(sequence, unsettled.first());
    } catch (NoSuchElementException e) {
      return sequence; // settled meanwhile (a late abandoned call): nothing older is pending
    }
  }

  /** Takes its number out of its sender's unsettled set (its outcome is decided, no call runs). */
  void forgetNumber() {
    // A kept delivery comes back at the next start under the same number: settledBelow must
    // never pass it in this process.
    if (unsettled != null && sequence > 0 && state != KEPT) {
      unsettled.remove(sequence);
    }
  }

  /** Handler calls of this delivery running now (an abandoned call and its retry may overlap). */
  private final AtomicInteger callsRunning = new AtomicInteger();

  /** A handler call of this delivery begins (before it checks that the delivery is pending). */
  void callStarted() {
    callsRunning.incrementAndGet();
  }

  /** A call ended; true if no other runs and the outcome is decided (its number may go). */
  boolean callEnded() {
    return callsRunning.decrementAndGet() == 0 && !isPending();
  }

  /** Whether no handler call of this delivery runs (read after the outcome was decided). */
  boolean noCallRunning() {
    return callsRunning.get() == 0;
  }

  /** Cancels a pending retry timer; true if this call did, so the caller re-sends it now. */
  boolean cancelRetryTimer() {
    Future<?> timer = retryTimer;
    if (timer != null && timer.cancel(/* mayInterruptIfRunning= */ false)) {
      retryTimer = null;
      return true;
    }
    return false;
  }

  /** Whether this delivery carries a count for {@code key}. */
  boolean contains(Object key) {
    return (counts != null) ? counts.containsKey(key) : singleKey().equals(key);
  }

  /**
   * The key of a per-key delivery (every delivery without counts has one: see the constructors).
   *
   * @throws IllegalStateException for a batch
   */
  K singleKey() {
    K single = key;
    if (single == null) {
      throw new IllegalStateException("a batch delivery has no single key: " + this);
    }
    return single;
  }

  /**
   * The id of a delivery that has one: every delivery to a batch handler (see
   * {@code Deliveries.newKeyDelivery} and the batch constructor).
   *
   * @throws IllegalStateException for a per-key handler's delivery
   */
  String batchId() {
    String known = id;
    if (known == null) {
      throw new IllegalStateException("a per-key handler's delivery has no batch id: " + this);
    }
    return known;
  }

  /** The counts, by key: unmodifiable. */
  Map<K, Long> counts() {
    return (counts != null) ? counts : Map.of(key, count);
  }

  /** How many keys it carries. */
  int keys() {
    return (counts != null) ? counts.size() : 1;
  }

  boolean isPending() {
    return state == PENDING;
  }

  boolean isDropped() {
    return state == DROPPED;
  }

  boolean isKept() {
    return state == KEPT;
  }

  /** The sender's set of unsettled numbers this delivery's number lives in, or null. */
  @Nullable NavigableSet<Long> unsettled() {
    return unsettled;
  }

  /** Decides the outcome; returns true if this call did. */
  boolean casState(int expect, int update) {
    return STATE.compareAndSet(this, expect, update);
  }

  @Override
  public String toString() {
    return "Delivery[id=" + id + ", keys=" + keys() + ", attempt=" + attempt + "]";
  }
}
