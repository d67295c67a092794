package dev.statbuffer;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

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

  /**
   * The keys a handler reported as {@linkplain RejectedKeysException rejected for good}, with
   * their counts and the ids they are dropped under.
   *
   * @throws IllegalArgumentException if the report names a key the call did not carry, or an id
   *     twice, or the batch's own id
   */
  List<Rejected<K>> rejected(Delivery<K> delivery, RejectedKeysException report);

  /** Calls the handler's {@code onDrop} for one rejected key; the caller guards what it throws. */
  void onDropRejected(Rejected<K> rejected, int attempts);

  /**
   * The handler's idempotency horizon in nanoseconds, {@code Long.MAX_VALUE} when it has none: no
   * retry may come later than this after the hand-over.
   */
  default long horizonNanos() {
    return Long.MAX_VALUE;
  }

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
      handler.flush(delivery.singleKey(), delivery.count);
    }

    @Override
    public void onDrop(Delivery<K> delivery, int attempts, Exception lastError) {
      handler.onDrop(delivery.singleKey(), delivery.count, lastError);
    }

    @Override
    public List<Rejected<K>> rejected(Delivery<K> delivery, RejectedKeysException report) {
      // A per-key call carries one key: the report is about it, whatever key it names.
      K key = delivery.singleKey();
      Exception cause = report.rejections().get(0).cause();
      for (RejectedKeysException.Rejection rejection : report.rejections()) {
        if (key.equals(rejection.key())) {
          cause = rejection.cause();
        }
      }
      return List.of(new Rejected<>(null, key, delivery.count, cause));
    }

    @Override
    public void onDropRejected(Rejected<K> rejected, int attempts) {
      handler.onDrop(rejected.key(), rejected.count(), rejected.cause());
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
      handler.flush(new Batch<>(delivery.batchId(), delivery.counts(), attempt, delivery.sender,
          delivery.sequence, delivery.settledBelow()));
    }

    @Override
    public void onDrop(Delivery<K> delivery, int attempts, Exception lastError) {
      handler.onDrop(new Batch<>(delivery.batchId(), delivery.counts(), Math.max(1, attempts),
          delivery.sender, delivery.sequence, delivery.settledBelow()),
          lastError);
    }

    @Override
    public long horizonNanos() {
      return handler.idempotencyHorizon().map(Duration::toNanos).orElse(Long.MAX_VALUE);
    }

    @Override
    public List<Rejected<K>> rejected(Delivery<K> delivery, RejectedKeysException report) {
      String batchId = delivery.batchId();
      Map<K, Long> counts = delivery.counts();
      List<RejectedKeysException.Rejection> rejections = report.rejections();
      List<Rejected<K>> out = new ArrayList<>(rejections.size());
      Set<String> ids = new HashSet<>();
      for (int i = 0; i < rejections.size(); i++) {
        RejectedKeysException.Rejection rejection = rejections.get(i);
        Long count = counts.get(rejection.key());
        if (count == null) {
          throw new IllegalArgumentException("the handler reported key " + rejection.key()
              + " rejected, but batch " + batchId + " does not carry it", report);
        }
        String given = rejection.id();
        String id = (given != null) ? given : derivedId(batchId, i);
        if (id.equals(batchId) || !ids.add(id)) {
          throw new IllegalArgumentException("the handler reported key " + rejection.key()
              + " rejected under id " + id + ", which is the batch's own id or another"
              + " rejection's", report);
        }
        @SuppressWarnings("unchecked") // the key is one of the batch's (counts.get found it)
        K key = (K) rejection.key();
        out.add(new Rejected<>(id, key, count, rejection.cause()));
      }
      return out;
    }

    @Override
    public void onDropRejected(Rejected<K> rejected, int attempts) {
      String id = rejected.id();
      if (id == null) { // rejected() above gives every key of a batch an id
        throw new IllegalStateException("a batch handler's rejected key has no id: " + rejected);
      }
      handler.onDrop(Batch.of(id, Map.of(rejected.key(), rejected.count()),
          Math.max(1, attempts)), rejected.cause());
    }

    /**
     * The id a rejected key is dropped under when the handler gives none: the batch id and the
     * key's place in the report, so the same report gives the same ids.
     */
    static String derivedId(String batchId, int index) {
      String id = batchId + "-x" + Integer.toString(index, 36);
      if (id.length() <= 64) {
        return id;
      }
      // Only ids from elsewhere (a replay) are this long: keep a digest of the batch id instead.
      try {
        byte[] digest = MessageDigest.getInstance("SHA-256")
            .digest(batchId.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest, 0, 24) + "-x" + Integer.toString(index, 36);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is missing", e);
      }
    }

    @Override
    public String describe(Delivery<K> delivery) {
      return "batch " + delivery.id + " (" + delivery.keys() + " "
          + FailureLog.plural(delivery.keys(), "key") + ")";
    }
  }

  /**
   * One key a handler rejected for good: the id its count is dropped under (null for a per-key
   * handler), the key, its count and the store's reason.
   *
   * @param id the id of the drop, or null
   * @param key the key
   * @param count its count
   * @param cause the store's reason
   * @param <K> the key type
   */
  record Rejected<K>(@Nullable String id, K key, long count, Exception cause) {}

  /**
   * One call's view of a delivery: its id, counts and attempt number, none of which ever change.
   * Immutable and thread-safe.
   */
  record Batch<K>(String id, Map<K, Long> counts, int attempt, @Nullable String senderOrNull,
      long sequence, long settledBelow) implements FlushBatch<K> {
    /** A batch not numbered by a buffer. */
    static <K> Batch<K> of(String id, Map<K, Long> counts, int attempt) {
      return new Batch<>(id, counts, attempt, null, -1, -1);
    }

    @Override
    public Optional<String> sender() {
      return Optional.ofNullable(senderOrNull);
    }

    @Override
    public String toString() {
      return "FlushBatch[id=" + id + ", keys=" + counts.size() + ", attempt=" + attempt + "]";
    }
  }
}
