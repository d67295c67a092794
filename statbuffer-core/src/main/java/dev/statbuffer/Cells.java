package dev.statbuffer;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The key -> {@link Cell} table, the {@link TimingWheel} its cells wait in, and what happens to a
 * cell under the hand-over lock: hand-over (open -> dormant), idle removal (dormant -> dead) and
 * the final retirement on close.
 *
 * <h2>Design</h2>
 * A key keeps one cell while it counts. Writers find it in the {@link ConcurrentHashMap} and add
 * to it (see {@link Cell}); the first increment after a hand-over reopens the same cell. A cell is
 * removed from the map only by its owner after it died, with {@code remove(key, cell)}, so a
 * writer that already put a newer cell for the key is never undone. A writer that finds a dead
 * cell removes it too (the same conditional remove) and puts a new one.
 *
 * <h2>Why no count is lost</h2>
 * Every count is in a live cell until a hand-over or a retirement takes it, and each of those
 * runs under {@link #lock}, turns what it took into exactly one entry of a {@link Batcher} (or
 * gives back its window's reservation when the sum is zero), and leaves the cell in a state that
 * keeps the reservation accounting exact:
 * <ul>
 *   <li>{@link #handOver}: an open window's reservation moves to its delivery.
 *   <li>{@link #removeIfIdle}: a dormant cell holds no reservation; counts that raced the removal
 *   (the stripe remainder) get a reservation of their own and are handed over at once.
 *   <li>{@link #retire}: either of the two, whatever the state.
 * </ul>
 * {@code openWindows} counts open cells; it is raised before a window opens and lowered by the
 * hand-over that closes it, so it is never below the true number (the drain relies on that to
 * re-arm).
 *
 * <p>Thread-safe: the map and the wheel are concurrent; the hand-over methods require the lock.
 */
final class Cells<K> {
  /** Held while cells are handed over, so close() never misses a count in transit. */
  final ReentrantLock lock = new ReentrantLock();
  final ConcurrentHashMap<K, Cell<K>> map = new ConcurrentHashMap<>();
  final TimingWheel<K> wheel = new TimingWheel<>();
  private final AtomicLong openWindows = new AtomicLong();
  private final PendingKeys pending;

  Cells(PendingKeys pending) {
    this.pending = pending;
  }

  /** A window is about to open (before the CAS that opens it). */
  void opening() {
    openWindows.incrementAndGet();
  }

  /** A window that was about to open did not. */
  void notOpened() {
    openWindows.decrementAndGet();
  }

  long openWindows() {
    return openWindows.get();
  }

  /**
   * Hands {@code cell}'s open window over into {@code batcher}; the cell turns dormant, idle from
   * {@code idleTick}. Does not move the cell in the wheel. Under the lock.
   *
   * @return whether a window was open
   */
  boolean handOver(Cell<K> cell, long idleTick, Batcher<K> batcher) {
    long sum = cell.handOver(Cell.dormantStamp(idleTick));
    if (sum == Cell.NOT_OWNER) {
      return false;
    }
    openWindows.decrementAndGet();
    if (sum == 0) {
      pending.release(1); // a zero window is not handed over
      batcher.cancelled(cell); // but a durable cell's slots may have taken amounts that cancel
    } else {
      batcher.add(cell, sum);
    }
    return true;
  }

  /**
   * Removes a dormant cell whose base word is {@code word} (read by the caller), if it is still
   * dormant and empty. Under the lock.
   *
   * @return whether it was removed
   */
  boolean removeIfIdle(Cell<K> cell, long word, Batcher<K> batcher) {
    long remainder = cell.killIfIdle(word);
    if (remainder == Cell.NOT_OWNER) {
      return false;
    }
    map.remove(cell.key, cell);
    if (remainder != 0) {
      pending.force();
      batcher.add(cell, remainder);
    } else {
      batcher.cancelled(cell);
    }
    batcher.released(cell);
    return true;
  }

  /** Retires {@code cell} for good (close), handing over whatever it holds. Under the lock. */
  void retire(Cell<K> cell, Batcher<K> batcher) {
    long word = cell.kill();
    if (Cell.isDead(word)) {
      return;
    }
    long sum = Cell.count(word) + cell.retireStripes();
    map.remove(cell.key, cell);
    if (Cell.isOpen(word)) {
      openWindows.decrementAndGet();
      if (sum == 0) {
        pending.release(1);
        batcher.cancelled(cell);
      } else {
        batcher.add(cell, sum);
      }
    } else if (sum != 0) {
      pending.force();
      batcher.add(cell, sum);
    } else {
      batcher.cancelled(cell);
    }
    batcher.released(cell);
  }
}
