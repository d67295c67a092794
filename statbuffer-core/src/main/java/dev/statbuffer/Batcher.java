package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Turns handed-over counts into deliveries: one per key for a per-key handler, or batches of at
 * most {@code maxBatchSize} keys (a key handed over twice in one pass, as with interval 0, is
 * merged). Used by one thread, under the hand-over lock; {@link #finish} closes the last batch.
 * Each delivery is registered in flight before it leaves, so {@code close()} and
 * {@code flushAll()} never miss one in transit. In a durable buffer each delivery is also
 * recorded in the journal before it leaves, with each key's take ({@link Durability}), and the
 * slots of cells that died are freed once their last take is recorded.
 */
final class Batcher<K> {
  private final Deliveries<K> deliveries;
  private final List<Delivery<K>> out;
  private final boolean batched;
  private final int maxBatchSize;
  /** A durable buffer's directory, or null in memory. */
  private final @Nullable Durability<K> durable;
  /** The batch being filled, or null before its first count. */
  private @Nullable HashMap<K, Long> counts;
  /** A durable buffer's takes in the batch being filled, by slot binding (the last of each). */
  private @Nullable HashMap<Long, Durability.Mark<K>> marks;
  /** Cells that died, whose slots go once their last take is recorded. */
  private @Nullable List<DurableCell<K>> released;
  private long sum;
  private int merged;

  Batcher(Deliveries<K> deliveries, List<Delivery<K>> out) {
    this.deliveries = deliveries;
    this.out = out;
    this.batched = deliveries.target().batched();
    this.maxBatchSize = deliveries.maxBatchSize();
    this.durable = deliveries.durable();
  }

  /** Adds one window's non-zero count taken from {@code cell}. */
  void add(Cell<K> cell, long count) {
    if (durable != null && cell instanceof DurableCell<K> taken) {
      if (!batched) {
        List<Durability.Mark<K>> slots = new ArrayList<>(1);
        taken.lastTakes(slots::add);
        Delivery<K> delivery = deliveries.newKeyDelivery(cell.key, count);
        durable.recorded(delivery, slots);
        out.add(delivery);
        return;
      }
      mark(taken);
    }
    add(cell.key, count);
  }

  /**
   * A window of {@code cell} taken with a sum of zero: nothing to deliver, but a durable cell's
   * slots may have taken amounts that cancel (+5 on one stripe, -5 on another), and those takes
   * need a record like any other ({@link Durability#recordCancelled}).
   */
  void cancelled(Cell<K> cell) {
    if (durable == null || !(cell instanceof DurableCell<K> taken)) {
      return;
    }
    if (!batched) {
      List<Durability.Mark<K>> slots = new ArrayList<>(2);
      taken.lastTakes(slots::add);
      durable.recordCancelled(slots);
      return;
    }
    mark(taken);
  }

  /** Adds a durable cell's slot takes to the batch being filled, by slot binding. */
  private void mark(DurableCell<K> taken) {
    HashMap<Long, Durability.Mark<K>> batch = (marks != null) ? marks : new HashMap<>();
    marks = batch;
    // By slot binding, not key: a contended key has several slots, and two cells of one key
    // (one dying, one new) may meet in a batch; each slot needs its own entry. A slot taken
    // twice keeps its last hAfter.
    taken.lastTakes(mark -> batch.merge(mark.ref() * 0x8000L + mark.gen(), mark,
        (earlier, later) -> new Durability.Mark<>(later.key(), later.slots(), later.offset(),
            later.ref(), later.gen(), later.hAfter(), earlier.count() + later.count())));
  }

  /** {@code cell} died under this hand-over; a durable cell's slot goes after its last record. */
  void released(Cell<K> cell) {
    if (cell instanceof DurableCell<K> dead && dead.slotRetired) {
      if (released == null) {
        released = new ArrayList<>();
      }
      released.add(dead);
    }
  }

  /** Adds one window's non-zero count; the window's pending reservation moves with it. */
  void add(K key, long count) {
    if (!batched) {
      Delivery<K> delivery = deliveries.newKeyDelivery(key, count);
      if (durable != null) {
        durable.recorded(delivery, null);
      }
      out.add(delivery);
      return;
    }
    if (counts == null) {
      // Sized for a full batch: a drain of many keys fills it without rehashing.
      counts = new HashMap<>(Math.min(maxBatchSize, 1 << 16) * 4 / 3 + 1);
    }
    if (counts.merge(key, count, Long::sum) == 0L) {
      counts.remove(key);
    }
    sum += count;
    merged++;
    if (counts.size() >= maxBatchSize) {
      finish();
    }
  }

  /** Closes the batch being filled, if any. */
  void finish() {
    if (merged > 0) {
      // Made by the add that merged the first window of this batch.
      HashMap<K, Long> batch = requireNonNull(counts, "counts");
      if (batch.isEmpty()) {
        deliveries.pending().release(merged); // the merged windows summed to zero
        if (marks != null && durable != null) { // marks are made only in a durable buffer
          durable.recordCancelled(marks.values());
        }
      } else {
        Delivery<K> delivery = deliveries.newBatchDelivery(batch, sum, merged);
        if (durable != null) {
          durable.recorded(delivery, (marks != null) ? marks.values() : null);
        }
        out.add(delivery);
      }
      counts = null;
      marks = null;
      sum = 0;
      merged = 0;
    } else if (marks != null && durable != null) {
      durable.recordCancelled(marks.values()); // only cancelled takes since the last batch
      marks = null;
    }
    if (released != null && durable != null) { // only a durable buffer's cells are released
      for (DurableCell<K> cell : released) {
        durable.free(cell); // every take of it is in a record closed by now
      }
      released = null;
    }
  }
}
