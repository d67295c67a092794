package dev.statbuffer;

import java.util.Map;

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
}
