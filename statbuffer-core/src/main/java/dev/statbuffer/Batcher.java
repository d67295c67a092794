package dev.statbuffer;

import java.util.HashMap;
import java.util.List;

/**
 * Turns handed-over counts into deliveries: one per key for a per-key handler, or batches of at
 * most {@code maxBatchSize} keys (a key handed over twice in one pass, as with interval 0, is
 * merged). Used by one thread, under the hand-over lock; {@link #finish} closes the last batch.
 * Each delivery is registered in flight before it leaves, so {@code close()} and
 * {@code flushAll()} never miss one in transit.
 */
final class Batcher<K> {
  private final Deliveries<K> deliveries;
  private final List<Delivery<K>> out;
  private final boolean batched;
  private final int maxBatchSize;
  private HashMap<K, Long> counts;
  private long sum;
  private int merged;

  Batcher(Deliveries<K> deliveries, List<Delivery<K>> out) {
    this.deliveries = deliveries;
    this.out = out;
    this.batched = deliveries.target().batched();
    this.maxBatchSize = deliveries.maxBatchSize();
  }

  /** Adds one window's non-zero count; the window's pending reservation moves with it. */
  void add(K key, long count) {
    if (!batched) {
      out.add(deliveries.newKeyDelivery(key, count));
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
    if (merged == 0) {
      return;
    }
    if (counts.isEmpty()) {
      deliveries.pending().release(merged); // the merged windows summed to zero
    } else {
      out.add(deliveries.newBatchDelivery(counts, sum, merged));
    }
    counts = null;
    sum = 0;
    merged = 0;
  }
}
