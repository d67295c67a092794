package dev.statbuffer;

/**
 * A point-in-time snapshot of a buffer's counters. Each field is read separately, so under
 * concurrent use they may be a few operations apart from each other; once a buffer is closed they
 * are exact, and {@code acceptedSum == deliveredSum + droppedSum}.
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
