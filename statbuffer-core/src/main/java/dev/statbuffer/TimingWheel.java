package dev.statbuffer;

import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * Where cells wait for their tick: {@link #SIZE} buckets, each a lock-free stack of cells linked
 * through {@link Cell#next}; a tick's bucket is {@code tick mod SIZE}, so a cell due more than one
 * turn ahead waits in a bucket that the drain passes earlier and relinks (Caffeine's
 * {@code TimerWheel} keeps several such wheels; one suffices here because the tick grows with the
 * interval).
 *
 * <h2>Who may call what</h2>
 * Incrementing threads {@link #push} new cells (a CAS on the bucket head, so pushes never block
 * each other). Only the holder of the buffer's hand-over lock calls {@link #take},
 * {@link #relink} and the walks ({@link #firstNonEmpty}, {@link #earliestOpen}); it is the only
 * writer of a linked cell's {@code next}, so a walk under the lock sees consistent lists, while a
 * concurrent push only adds a new head in front of what it walks.
 *
 * <h2>Invariant</h2>
 * Every live cell is in exactly one bucket: pushed once by the writer that created it, and after
 * that moved only by the drain, which takes a bucket whole and relinks each live cell it does not
 * retire. A cell's bucket tick is never later than the tick in its stamp (its due tick when open,
 * its idle tick when dormant), so the drain reaches it in time; with one exception: a cell handed
 * over outside the drain ({@code flush}, {@code flushAll}, a full stripe) stays in the bucket of
 * its old due tick, which may be up to {@code jitter} later than its next window's due tick. Dead
 * cells are dropped when their bucket is taken.
 */
final class TimingWheel<K> {
  /** Buckets of the wheel; a power of two. */
  static final int SIZE = 4096;

  private final AtomicReferenceArray<Cell<K>> buckets = new AtomicReferenceArray<>(SIZE);

  private static int index(long tick) {
    return (int) (tick & (SIZE - 1));
  }

  /** Links {@code cell} into the bucket of {@code tick}; any thread. */
  void push(Cell<K> cell, long tick) {
    int index = index(tick);
    for (;;) {
      Cell<K> head = buckets.get(index);
      cell.next = head;
      if (buckets.compareAndSet(index, head, cell)) {
        return;
      }
    }
  }

  /** Links a cell taken from a bucket into the bucket of {@code tick}; under the lock. */
  void relink(Cell<K> cell, long tick) {
    push(cell, tick);
  }

  /** Empties the bucket of {@code tick} and returns its list (null when empty); under the lock. */
  @Nullable Cell<K> take(long tick) {
    return buckets.getAndSet(index(tick), null);
  }

  /** The first tick from {@code from} on, within one turn, whose bucket holds a cell; or -1. */
  long firstNonEmpty(long from) {
    for (long tick = from; tick < from + SIZE; tick++) {
      if (buckets.get(index(tick)) != null) {
        return tick;
      }
    }
    return -1;
  }

  /**
   * The earliest due tick of an open cell, looking one turn from {@code from}; or
   * {@link Long#MAX_VALUE} when no cell is open. Walks buckets in tick order and stops once the
   * bucket tick passes the best due tick found (a cell's bucket tick is not later than its due
   * tick, but for the jitter exception above, so the answer is exact to within the jitter). Under
   * the lock.
   */
  long earliestOpen(long from) {
    long best = Long.MAX_VALUE;
    for (long tick = from; tick < from + SIZE && tick <= best; tick++) {
      for (Cell<K> cell = buckets.get(index(tick)); cell != null; cell = cell.next) {
        long word = cell.word();
        if (Cell.isOpen(word)) {
          best = Math.min(best, tick + Cell.distance(word, tick));
        }
      }
    }
    return best;
  }
}
