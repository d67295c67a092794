package dev.statbuffer;

/**
 * A point-in-time snapshot of a buffer's counters. Each field is read separately, so under
 * concurrent use they may be a few operations apart from each other; once a buffer is closed they
 * are exact, and the sum of the deltas of every increment that returned true equals
 * {@code deliveredSum + droppedSum} (the buffer does not keep that sum itself: count what
 * {@code increment} accepted if you want to compare). A durable buffer adds what an earlier
 * process left in its directory ({@code recoveredSum}) to what this one accepted, and may leave
 * counts for the next start ({@code keptSum}): accepted + recovered = delivered + dropped + kept. The two sums stick at
 * {@link Long#MAX_VALUE} or {@link Long#MIN_VALUE} rather than wrap, which only deltas near those
 * limits can reach.
 *
 * @param pendingKeys windows not yet delivered or dropped: open windows plus handed-over ones
 *     awaiting delivery or retry
 * @param flushes successful handler calls (one per key for {@link FlushHandler}, one per batch for
 *     {@link BatchFlushHandler})
 * @param failures handler calls that threw (or could not be submitted to the executor)
 * @param rejected increments refused because {@code maxKeys} windows were pending
 * @param deliveredSum the sum of all counts acknowledged by the handler
 * @param droppedSum the sum of all counts handed to {@code onDrop}
 * @param recoveredSum a durable buffer's counts left by an earlier process and taken up by this
 *     one at start (delivered again under their ids, or under new ones); 0 in memory
 * @param keptSum a durable buffer's counts that {@code close()} could not deliver in its
 *     shutdown timeout and left in the directory for the next start; 0 in memory
 */
public record BufferStats(long pendingKeys, long flushes, long failures, long rejected,
                          long deliveredSum, long droppedSum, long recoveredSum, long keptSum) {

  /**
   * A snapshot of an in-memory buffer's counters (no recovered or kept counts).
   *
   * @param pendingKeys see {@link #pendingKeys()}
   * @param flushes see {@link #flushes()}
   * @param failures see {@link #failures()}
   * @param rejected see {@link #rejected()}
   * @param deliveredSum see {@link #deliveredSum()}
   * @param droppedSum see {@link #droppedSum()}
   */
  public BufferStats(long pendingKeys, long flushes, long failures, long rejected,
      long deliveredSum, long droppedSum) {
    this(pendingKeys, flushes, failures, rejected, deliveredSum, droppedSum, 0, 0);
  }
}
