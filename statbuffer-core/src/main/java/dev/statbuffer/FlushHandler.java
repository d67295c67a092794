package dev.statbuffer;

/**
 * Receives one key's accumulated count when its window closes.
 *
 * <p>The buffer calls {@link #flush} on its executor, never on a thread that called
 * {@link StatBuffer#increment}. A handler may be called concurrently for different keys, and
 * for the same key when a retry of an older window overlaps a newer window, so an implementation
 * must be thread-safe and should apply counts additively.
 *
 * <p>Throwing from {@link #flush} marks the delivery as failed: the same key and count are retried
 * after the buffer's backoff until {@code maxAttempts} calls have failed, and then handed to
 * {@link #onDrop}. A count is never discarded without reaching either {@link #flush} (returning
 * normally) or {@link #onDrop}.
 *
 * @param <K> the key type
 */
@FunctionalInterface
public interface FlushHandler<K> {

  /**
   * Delivers {@code count} for {@code key}. Returning normally acknowledges the count.
   *
   * @param key the key, never null
   * @param count the window's sum, never zero (it may be negative)
   * @throws Exception to fail this attempt; it is retried after the backoff
   */
  void flush(K key, long count) throws Exception;

  /**
   * Called once for a count the buffer gives up on: after {@code maxAttempts} failed calls; when
   * {@link #flush} rejected its key for good (a {@link RejectedKeysException}; {@code lastError}
   * is then the cause it gave for the key); or when {@link StatBuffer#close()} runs out of its
   * shutdown timeout. The default reports the key, the
   * count and the reason at {@code ERROR} through {@link System.Logger}: the first drop with its
   * stack trace, later ones summed into at most one line every few seconds, and, while the JVM
   * shuts down (when the logging backend may be gone), on standard error as well. What this method
   * throws is logged and ignored.
   *
   * @param key the key
   * @param count the undelivered count
   * @param lastError the last failure, or a {@link java.util.concurrent.TimeoutException} when the
   *     shutdown timeout ran out
   */
  default void onDrop(K key, long count, Exception lastError) {
    DropLog.dropped(key, count, lastError);
  }
}
