package dev.statbuffer;

import java.util.Map;
import java.util.Optional;

/**
 * The counts of several keys handed to a {@link BatchFlushHandler} together. Immutable and safe to
 * share between threads.
 *
 * @param <K> the key type
 */
public interface FlushBatch<K> {

  /**
   * A string unique across buffers, processes and restarts, and the same on every retry of this
   * batch. Sinks record it to apply a batch exactly once. It is at most 64 ASCII characters drawn
   * from {@code [0-9a-z-]}.
   *
   * @return the batch id
   */
  String id();

  /**
   * The counts, by key: unmodifiable, never empty, and without zero counts.
   *
   * @return the counts
   */
  Map<K, Long> counts();

  /**
   * Which delivery this is: 1 on the first call, 2 on the first retry, and so on.
   *
   * @return the attempt number, at least 1
   */
  int attempt();

  /**
   * Who made this batch: one string per buffer instance (so different across buffers, processes
   * and restarts), at most 32 characters of {@code [0-9a-f]}. Together with {@link #sequence()} it
   * lets a sink remember what it applied per sender instead of per batch.
   *
   * @return the sender, or empty for a batch not numbered by a buffer (a rejected key's own
   *     batch, a dead-letter replay, a batch made by hand)
   */
  default Optional<String> sender() {
    return Optional.empty();
  }

  /**
   * This batch's number in its sender's sequence: batches are numbered 1, 2, 3, ... in the order
   * they are handed over, and a retry keeps its number.
   *
   * @return the sequence number, or -1 when {@link #sender()} is empty
   */
  default long sequence() {
    return -1;
  }

  /**
   * A watermark of the sender's settled batches, read when this call began: every batch of the
   * sender numbered below it has been delivered or dropped, no call of it is still running (an
   * abandoned call counts as running until it returns), and it is never handed to a handler
   * again, so a sink may forget it. It is at most {@link #sequence()}. Successive reads never
   * decrease, but calls may reach the handler in another order than they read it: a sink should
   * keep the highest watermark it has seen per sender.
   *
   * @return the watermark, or -1 when {@link #sender()} is empty
   */
  default long settledBelow() {
    return -1;
  }
}
