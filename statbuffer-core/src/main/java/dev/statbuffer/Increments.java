package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * Every increment but an add to an open window: making a cell, opening a window on a dormant
 * cell, replacing a dead cell, handing a full one over, deltas too large for a cell; and the
 * {@link StatBuffer.Counter} handles, which share these paths. The fast path (a table lookup and
 * an add to an open window) stays in {@link StatBuffer#increment(Object, long)}, which comes here
 * only when that add did not succeed.
 *
 * <h2>Why no increment that returned true is lost</h2>
 * Paths that make something {@code close()} must see (a new cell in the table, a delivery of a
 * huge delta) run inside the buffer's lifecycle {@link Gate}: {@code close()} sets the closed bit
 * and then waits until no writer is inside, so afterwards every cell is in the table and
 * {@code close()} retires it. Opening a window on an existing cell needs no gate: it is a CAS on
 * the cell, and a cell retired by {@code close()} fails that CAS (see {@link Cell}). A reservation
 * of a pending window ({@code maxKeys}) is taken before a window opens and given back whenever
 * the window does not open, so the count of pending windows stays exact.
 *
 * <p>Thread-safe: called by any number of incrementing threads; the state it touches is the
 * concurrent table, the cells, and the atomic counters of {@link PendingKeys} and {@link Cells}.
 */
final class Increments<K> {
  /** The buffer's lifecycle gate: the closed bit and the count of writers inside. */
  interface Gate {
    /** Whether {@code close()} has begun. */
    boolean isClosed();

    /** Counts this writer in, unless closed (then returns false and counts nothing). */
    boolean enter();

    /** Counts this writer out. */
    void exit();
  }

  /* Results of making a cell. */
  private static final int MADE = 0;
  private static final int RETRY = 1;
  private static final int REFUSED = 2;
  private static final int CLOSED_NOW = 3;
  /** A durable buffer could not bind a slot for a new key (a full disk). */
  private static final int NO_SLOT = 4;
  /** From {@link #open}: refused at {@code maxKeys}; distinct from every {@link Cell} result. */
  private static final int REFUSED_NOW = -2;

  private final String name;
  private final Gate gate;
  private final ConcurrentHashMap<K, Cell<K>> table;
  private final Cells<K> cells;
  private final PendingKeys pending;
  private final Drain<K> drain;
  private final Deliveries<K> deliveries;
  private final RefusalLog refusals;
  /** A durable buffer's directory, or null. */
  private final @Nullable Durability<K> durable;

  Increments(String name, Gate gate, Cells<K> cells, PendingKeys pending, Drain<K> drain,
      Deliveries<K> deliveries) {
    this.name = name;
    this.gate = gate;
    this.table = cells.map;
    this.cells = cells;
    this.pending = pending;
    this.drain = drain;
    this.deliveries = deliveries;
    this.refusals = new RefusalLog(name, pending.maxKeys(), deliveries.ticker());
    this.durable = deliveries.durable();
  }

  /**
   * Everything but an add to an open window: making a cell, opening a window on a dormant cell,
   * replacing a dead one, handing a full one over. {@code result} is what {@code cell.add} said
   * ({@link Cell#DEAD} when there was no cell). {@code cell} is null only with {@link Cell#DEAD}:
   * every other result comes from {@code cell.add}.
   */
  boolean slow(K key, long delta, @Nullable Cell<K> cell, int result) {
    boolean waited = false;
    for (;;) {
      switch (result) {
        case Cell.ADDED -> {
          return true;
        }
        case Cell.ADDED_UNOPENED -> {
          openAfterRace(requireNonNull(cell, "cell")); // the result came from cell.add
          return true;
        }
        case Cell.UNOPENED -> {
          int opened = open(requireNonNull(cell, "cell"), delta); // the result came from cell.add
          if (opened == Cell.ADDED) {
            return true;
          } else if (opened == REFUSED_NOW) {
            if (waited || !pending.awaitRoom()) {
              return refused(delta);
            }
            waited = true;
          } else if (opened == Cell.DEAD) {
            result = Cell.DEAD;
            continue;
          }
          // opened without the delta, or opened by another writer: add it
        }
        case Cell.FULL -> {
          if (!handOverFull(requireNonNull(cell, "cell"))) { // the result came from cell.add
            return false;
          }
        }
        case Cell.DEAD -> {
          if (cell != null) {
            table.remove(key, cell); // help its remover; only this dead cell goes
          }
          if (gate.isClosed()) {
            return false;
          }
          cell = table.get(key);
          if (cell == null) {
            int made = makeCell(key, delta);
            if (made == MADE) {
              return true;
            } else if (made == REFUSED) {
              if (waited || !pending.awaitRoom()) {
                return refused(delta);
              }
              waited = true; // outside the gate: close() never waits for this
            } else if (made == NO_SLOT) {
              pending.refused(); // logged by Durability, not as a maxKeys refusal
              deliveries.rejected(delta);
              return false;
            } else if (made != RETRY) {
              return false;
            }
            continue; // another writer made one (or room was made): look it up
          }
        }
        default -> throw new IllegalStateException("Invalid add result: " + result);
      }
      result = cell.add(delta);
    }
  }

  /**
   * Opens a window on a dormant {@code cell} holding {@code delta}.
   *
   * @return {@link Cell#ADDED} when the delta is in; {@link #REFUSED_NOW} at {@code maxKeys};
   *     {@link Cell#UNOPENED} (opened without the delta) or {@link Cell#ALREADY_OPEN} when the
   *     caller should add it; {@link Cell#DEAD}
   */
  private int open(Cell<K> cell, long delta) {
    if (!reserve()) {
      return REFUSED_NOW;
    }
    cells.opening();
    long due = drain.newDueTick();
    int result = cell.open(delta, due);
    if (result == Cell.ADDED || result == Cell.UNOPENED) {
      drain.opened(due); // after the CAS (see "Wake-ups" in Drain)
      return result;
    }
    cells.notOpened();
    pending.release(1);
    return result;
  }

  /** A striped add landed while a hand-over raced it: open a window for it, whatever the bound. */
  private void openAfterRace(Cell<K> cell) {
    pending.force();
    cells.opening();
    long due = drain.newDueTick();
    if (cell.open(0, due) == Cell.ADDED) {
      drain.opened(due);
    } else {
      cells.notOpened();
      pending.release(1);
    }
  }

  /**
   * Reserves a pending window for a new one; false at {@code maxKeys}, after asking for relief
   * (the caller may wait for room, outside the gate, and try again, or call {@link #refused}).
   */
  private boolean reserve() {
    return switch (pending.reserve()) {
      case PendingKeys.RESERVED -> true;
      case PendingKeys.RESERVED_UNDER_PRESSURE -> {
        drain.requestRelief();
        yield true;
      }
      case PendingKeys.REFUSED -> {
        drain.requestRelief();
        yield false;
      }
      default -> throw new IllegalStateException("Invalid reservation");
    };
  }

  /** Refuses an increment for good at {@code maxKeys}: counted, logged, reported; false. */
  private boolean refused(long delta) {
    pending.refused();
    refusals.refused(delta);
    deliveries.rejected(delta);
    return false;
  }

  /**
   * Makes a cell for {@code key} holding {@code delta}. A durable buffer's cell is made empty,
   * bound to a slot: this returns {@link #RETRY}, and the caller adds the delta to it.
   */
  private int makeCell(K key, long delta) {
    if (!gate.enter()) {
      return CLOSED_NOW;
    }
    try {
      if (!reserve()) {
        return REFUSED;
      }
      cells.opening();
      long due = drain.newDueTick();
      Cell<K> cell;
      if (durable == null) {
        cell = new Cell<>(key, delta, due);
      } else {
        try {
          cell = durable.newCell(key, due);
        } catch (RuntimeException e) {
          cells.notOpened();
          pending.release(1);
          throw e;
        }
        if (cell == null) {
          cells.notOpened();
          pending.release(1);
          return NO_SLOT;
        }
      }
      if (table.putIfAbsent(key, cell) != null) {
        cells.notOpened();
        pending.release(1);
        if (durable != null) {
          durable.unused((DurableCell<K>) cell);
        }
        return RETRY;
      }
      cells.wheel.push(cell, due);
      drain.opened(due); // after the push (see "Wake-ups" in Drain)
      return (durable == null) ? MADE : RETRY;
    } finally {
      gate.exit();
    }
  }

  /** Zero deltas record nothing; deltas too large for a cell travel as their own delivery. */
  boolean unusual(K key, long delta) {
    if (delta == 0) {
      return !gate.isClosed();
    }
    if (durable != null) {
      throw new IllegalArgumentException("a durable buffer's increment must be within +-2^40: "
          + delta + " for key " + key);
    }
    List<Delivery<K>> out = null;
    for (boolean waited = false; out == null; waited = true) {
      if (!gate.enter()) {
        return false;
      }
      try {
        if (reserve()) {
          out = underHandOverLock(
              (batcher, list) -> list.add(deliveries.newKeyDelivery(key, delta)));
        }
      } finally {
        gate.exit();
      }
      if (out == null && (waited || !pending.awaitRoom())) {
        return refused(delta);
      }
    }
    deliveries.submitLater(out); // never the handler on the caller's thread (finding 9)
    return true;
  }

  /** A stripe of {@code cell} would overflow: hand the window over now; the caller adds anew. */
  private boolean handOverFull(Cell<K> cell) {
    List<Delivery<K>> out;
    if (!gate.enter()) {
      return false;
    }
    try {
      out = underHandOverLock((batcher, list) ->
          cells.handOver(cell, drain.idleTick(drain.nowTick()), batcher));
    } finally {
      gate.exit();
    }
    deliveries.submitLater(out);
    return true;
  }

  /**
   * The hand-over sequence, in one place: under the hand-over lock, {@code work} hands cells over
   * into a batcher (or adds deliveries to the list itself); the last batch is closed, and the
   * deliveries are returned for the caller to submit once it holds no lock.
   */
  List<Delivery<K>> underHandOverLock(
      BiConsumer<Batcher<K>, List<Delivery<K>>> work) {
    List<Delivery<K>> out = new ArrayList<>();
    cells.lock.lock();
    try {
      Batcher<K> batcher = deliveries.newBatcher(out);
      work.accept(batcher, out);
      batcher.finish();
    } finally {
      cells.lock.unlock();
    }
    return out;
  }

  /**
   * The {@link StatBuffer.Counter} implementation: the key and the last cell seen for it. The cell field is
   * racy, and benignly so: a stale cell is dead (its add reports {@link Cell#DEAD}, and the slow
   * path looks the key up again) or still the key's live cell; a cell is never reused for
   * another key. It is volatile because a cell's constructor publishes its words with plain
   * stores (the map's publication orders them for map readers; this field must do the same for
   * handle readers). Written only on the slow path; a volatile read costs a plain load on x86.
   */
  final class Handle implements StatBuffer.Counter {
    private final K key;
    /**
     * The buffer, for its closed check: {@link StatBuffer#isClosed()} reads the lifecycle word
     * with as few loads as the fast path does (through the {@link Gate} the hot-key handle
     * benchmark ran 10-18% slower).
     */
    private final StatBuffer<K> buffer;
    private volatile @Nullable Cell<K> cell;

    Handle(K key, StatBuffer<K> buffer) {
      this.key = key;
      this.buffer = buffer;
    }

    @Override
    public boolean increment() {
      return increment(1L);
    }

    @Override
    public boolean increment(long delta) {
      if (delta > Cell.SLOT_LIMIT || delta < -Cell.SLOT_LIMIT || delta == 0) {
        return unusual(key, delta);
      }
      if (buffer.isClosed()) {
        return false;
      }
      Cell<K> current = cell;
      if (current != null) {
        int result = current.add(delta);
        if (result == Cell.ADDED) {
          return true;
        }
        boolean recorded = slow(key, delta, current, result);
        cell = table.get(key);
        return recorded;
      }
      boolean recorded = slow(key, delta, null, Cell.DEAD);
      cell = table.get(key);
      return recorded;
    }

    @Override
    public String toString() {
      return "StatBuffer.Counter[" + name + ", " + key + "]";
    }
  }
}
