package dev.statbuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Hand-overs asked for rather than due: {@code flush(key)}, {@code flushAll()} and the dump that
 * {@code close()} makes. Each runs under the hand-over lock through
 * {@link Increments#underHandOverLock}, collects the deliveries of earlier counts still on their
 * way (so a caller waiting for its key waits for those too), and submits what it handed over once
 * the lock is released.
 *
 * <p>Thread-safe: any thread may call any method; the hand-over lock serializes them with the
 * drain.
 */
final class Flushes<K> {
  private final Cells<K> cells;
  private final Deliveries<K> deliveries;
  private final Drain<K> drain;
  private final Increments<K> increments;

  Flushes(Cells<K> cells, Deliveries<K> deliveries, Drain<K> drain, Increments<K> increments) {
    this.cells = cells;
    this.deliveries = deliveries;
    this.drain = drain;
    this.increments = increments;
  }

  /** Hands {@code key}'s open window over now; completes once it and earlier counts arrived. */
  CompletableFuture<Void> flush(K key) {
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    List<Delivery<K>> retries = new ArrayList<>();
    List<Delivery<K>> out = increments.underHandOverLock((batcher, list) -> {
      // Earlier counts of this key still on their way (awaiting a retry, or handed over by a
      // drain a moment ago) are part of "flush this key": wait for them too.
      deliveries.collect(key, waits, retries);
      Cell<K> cell = cells.map.get(key);
      if (cell != null) {
        cells.handOver(cell, drain.idleTick(drain.nowTick()), batcher);
      }
    });
    deliveries.submit(retries);
    deliveries.submit(out);
    deliveries.submitQueued();
    return completion(waits, out);
  }

  /** Hands every open window over now; completes once they and earlier counts arrived. */
  CompletableFuture<Void> flushAll() {
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    List<Delivery<K>> out = increments.underHandOverLock((batcher, list) -> {
      deliveries.collect(null, waits, null);
      long idle = drain.idleTick(drain.nowTick());
      for (Cell<K> cell : cells.map.values()) {
        cells.handOver(cell, idle, batcher);
      }
    });
    deliveries.submit(out);
    deliveries.submitQueued();
    return completion(waits, out);
  }

  /** Close's dump: retires every cell and re-sends retries waiting out a backoff. */
  void dump() {
    List<Delivery<K>> out = increments.underHandOverLock((batcher, list) -> {
      // Retries waiting out a backoff go again now. (A retry scheduled after this sees the
      // close and re-sends itself: see Deliveries.failed.)
      deliveries.collect(null, new ArrayList<>(), list);
      for (Cell<K> cell : cells.map.values()) {
        cells.retire(cell, batcher);
      }
    });
    deliveries.submit(out);
    deliveries.submitQueued();
  }

  /** A future completing when the deliveries of {@code waits} and {@code out} are delivered. */
  private static <K> CompletableFuture<Void> completion(List<CompletableFuture<Void>> waits,
      List<Delivery<K>> out) {
    for (Delivery<K> delivery : out) {
      waits.add(delivery.done);
    }
    return CompletableFuture.allOf(waits.toArray(new CompletableFuture<?>[0]));
  }
}
