package dev.statbuffer;

import java.util.Map;

/**
 * Where handed-over counts go: a {@link FlushHandler} that takes one key at a time, or a
 * {@link BatchFlushHandler} that takes {@link FlushBatch}es. The one place that knows which; the
 * rest of the engine asks it. Immutable and thread-safe (the handlers must be thread-safe).
 *
 * @param <K> the key type
 */
sealed interface Target<K> permits Target.PerKey, Target.Batched {

  /** Whether counts are merged into batches (with ids) rather than delivered key by key. */
  boolean batched();

  /** Calls the handler for attempt number {@code attempt} (1-based) of {@code delivery}. */
  void flush(Delivery<K> delivery, int attempt) throws Exception;

  /** Calls the handler's {@code onDrop}; the caller guards what it throws. */
  void onDrop(Delivery<K> delivery, int attempts, Exception lastError);

  /** Names the delivery in log lines. */
  String describe(Delivery<K> delivery);

  /** Deliveries one executor task runs: per-key deliveries are grouped, batches go alone. */
  default int deliveriesPerTask(int maxBatchSize) {
    return batched() ? 1 : maxBatchSize;
  }

  /**
   * A per-key handler.
   *
   * @param handler the user's handler
   * @param <K> the key type
   */
  record PerKey<K>(FlushHandler<? super K> handler) implements Target<K> {
    @Override
    public boolean batched() {
      return false;
    }

    @Override
    public void flush(Delivery<K> delivery, int attempt) throws Exception {
      handler.flush(delivery.key, delivery.count);
    }

    @Override
    public void onDrop(Delivery<K> delivery, int attempts, Exception lastError) {
      handler.onDrop(delivery.key, delivery.count, lastError);
    }

    @Override
    public String describe(Delivery<K> delivery) {
      return "count " + delivery.count + " for key " + delivery.key;
    }
  }

  /**
   * A batch handler. Each call gets its own immutable {@link FlushBatch}, so a handler that keeps
   * a batch never sees its {@code attempt()} change when the batch is retried.
   *
   * @param handler the user's handler
   * @param <K> the key type
   */
  record Batched<K>(BatchFlushHandler<K> handler) implements Target<K> {
    @Override
    public boolean batched() {
      return true;
    }

    @Override
    public void flush(Delivery<K> delivery, int attempt) throws Exception {
      handler.flush(new Batch<>(delivery.id, delivery.counts(), attempt));
    }

    @Override
    public void onDrop(Delivery<K> delivery, int attempts, Exception lastError) {
      handler.onDrop(new Batch<>(delivery.id, delivery.counts(), Math.max(1, attempts)),
          lastError);
    }

    @Override
    public String describe(Delivery<K> delivery) {
      return "batch " + delivery.id + " (" + delivery.keys() + " "
          + FailureLog.plural(delivery.keys(), "key") + ")";
    }
  }

  /**
   * One call's view of a delivery: its id, counts and attempt number, none of which ever change.
   * Immutable and thread-safe.
   */
  record Batch<K>(String id, Map<K, Long> counts, int attempt) implements FlushBatch<K> {
    @Override
    public String toString() {
      return "FlushBatch[id=" + id + ", keys=" + counts.size() + ", attempt=" + attempt + "]";
    }
  }
}
