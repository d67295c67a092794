package dev.statbuffer;

import java.time.Duration;
import java.util.Optional;

/**
 * Receives many keys' accumulated counts in one call, as a {@link FlushBatch}.
 *
 * <p>A batch holds at most {@code maxBatchSize} keys, each at most once. Throwing from
 * {@link #flush} fails the whole batch: it is retried with the same {@link FlushBatch#id()} and
 * {@link FlushBatch#counts()}, and {@link FlushBatch#attempt()} one higher, so a sink that records
 * the id in the same transaction as the counts applies every batch exactly once. Batches may be
 * delivered concurrently on the buffer's executor; an implementation must be thread-safe.
 *
 * @param <K> the key type
 */
@FunctionalInterface
public interface BatchFlushHandler<K> {

  /**
   * Delivers a batch. Returning normally acknowledges every count in it.
   *
   * @param batch the batch, never null or empty
   * @throws Exception to fail this attempt; the same batch is retried after the backoff
   */
  void flush(FlushBatch<K> batch) throws Exception;

  /**
   * Called once for a batch the buffer gives up on: after {@code maxAttempts} failed calls; when its
   * next retry would run past {@link #idempotencyHorizon()} (with a
   * {@link RetryHorizonException}); for each key {@link #flush} rejected for good (a
   * {@link RejectedKeysException}: a batch of that key alone, under an id of its own, with the
   * cause given for it); or when {@link StatBuffer#close()} runs out of its shutdown timeout. The
   * default reports the batch id, its sum, its first keys with their counts and the reason at
   * {@code ERROR} through {@link System.Logger}: the first drop with its stack trace, later ones
   * summed into at most one line every few seconds, and, while the JVM shuts down (when the logging
   * backend may be gone),
   * on standard error as well. What this method throws is logged and ignored.
   *
   * @param batch the undelivered batch
   * @param lastError the last failure, or a {@link java.util.concurrent.TimeoutException} when the
   *     shutdown timeout ran out
   */
  default void onDrop(FlushBatch<K> batch, Exception lastError) {
    DropLog.dropped(batch, lastError);
  }

  /**
   * How long this handler remembers the id of a batch it applied, so that a retry of the batch is
   * recognized and not applied again (a sink's ledger retention, or its marker TTL). The buffer
   * retries a batch only within this horizon of its hand-over: a batch still failing when its
   * next retry would fall past it goes to {@link #onDrop} (with a {@link RetryHorizonException})
   * instead, because a retry the handler no longer recognizes could apply it twice.
   *
   * @return the horizon; empty (the default) for a handler without one
   */
  default Optional<Duration> idempotencyHorizon() {
    return Optional.empty();
  }
}
