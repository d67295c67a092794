package dev.statbuffer;

/**
 * A point-in-time snapshot of a buffer's counters. Each field is read separately, so under
 * concurrent use they may be a few operations apart from each other; once a buffer is closed they
 * are exact, and the sum of the deltas of every increment that returned true equals
 * {@code deliveredSum + droppedSum} (the buffer does not keep that sum itself: count what
 * {@code increment} accepted if you want to compare). The two sums stick at
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
 */
public record BufferStats(long pendingKeys, long flushes, long failures, long rejected,
                          long deliveredSum, long droppedSum) {}
