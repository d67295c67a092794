package dev.statbuffer;

/**
 * Observes what happens to a buffer's counts, for metrics and tracing, without polling
 * {@link StatBuffer#stats()}. Set with {@link StatBuffer.Builder#listener}; every method has an
 * empty default, so an implementation overrides only what it needs. The buffer name comes first
 * in every call, so one listener can serve several buffers.
 *
 * <p>Calls come from the buffer's drain and executor threads, concurrently for different
 * deliveries, so an implementation must be thread-safe, quick, and must not block. A call never
 * comes from the increment fast path (an increment on a key with an open window); only
 * {@link #rejected} comes from an incrementing thread. What a method throws is caught: the first
 * such failure of a buffer is logged at {@code ERROR} with its stack trace, later ones at
 * {@code DEBUG}, and the buffer carries on as if the listener had returned.
 *
 * <p>Every count accepted by a buffer reaches exactly one {@link #delivered} or {@link #dropped}
 * call (as part of its delivery's {@code sum}), after exactly one {@link #handedOver} call; so
 * once a buffer is closed, the sums of {@code handedOver} equal those of {@code delivered} plus
 * {@code dropped}.
 */
public interface BufferListener {

  /**
   * Counts left their windows and became one delivery (a batch, or one key's count).
   *
   * @param buffer the buffer's name
   * @param keys the keys in the delivery
   * @param sum the sum of their counts
   */
  default void handedOver(String buffer, int keys, long sum) {}

  /**
   * A handler call returned normally: the delivery's counts are acknowledged.
   *
   * @param buffer the buffer's name
   * @param keys the keys in the delivery
   * @param sum the sum of their counts
   * @param attempt which call this was, 1 for the first
   * @param handlerNanos how long the handler call took
   */
  default void delivered(String buffer, int keys, long sum, int attempt, long handlerNanos) {}

  /**
   * A handler call threw (or the executor refused to run it).
   *
   * @param buffer the buffer's name
   * @param keys the keys in the delivery
   * @param sum the sum of their counts
   * @param attempt which call this was, 1 for the first
   * @param error what was thrown
   * @param handlerNanos how long the handler call took (0 when it never ran)
   * @param retryDelayNanos the wait before the next call, or -1 when there is none (the delivery
   *     is dropped: see {@link #dropped})
   */
  default void failed(String buffer, int keys, long sum, int attempt, Exception error,
      long handlerNanos, long retryDelayNanos) {}

  /**
   * A delivery was given up on and handed to {@code onDrop}.
   *
   * @param buffer the buffer's name
   * @param keys the keys in the delivery
   * @param sum the sum of their counts
   * @param lastError the last failure, or a {@link java.util.concurrent.TimeoutException} when
   *     the shutdown timeout ran out
   */
  default void dropped(String buffer, int keys, long sum, Exception lastError) {}

  /**
   * An increment was refused because {@code maxKeys} windows were pending. Called on the
   * incrementing thread.
   *
   * @param buffer the buffer's name
   * @param delta the refused amount
   */
  default void rejected(String buffer, long delta) {}
}
