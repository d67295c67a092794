package dev.statbuffer.redis;

/**
 * What a {@link RedisSink} has done since it was built: an immutable snapshot, taken by
 * {@link RedisSink#stats()}. Thread-safe (immutable).
 *
 * <p>A <em>part</em> is the share of one batch that is applied atomically: the whole batch on a
 * standalone server, one hash slot's share of it on Redis Cluster. Each part is one script call.
 *
 * @param batches calls of {@link RedisSink#flush}, successful or not
 * @param failedBatches calls of {@link RedisSink#flush} that failed (threw anything but a
 *     {@link dev.statbuffer.RejectedKeysException}), to be retried
 * @param roundTrips pipelined writes, each to one node, waited on together: one per node a batch
 *     touches, plus one per node for a part re-sent after the server had lost the script, plus
 *     one per node for a {@code WAIT} sent after the parts' replies (by default, when the node
 *     was found to have a replica during the flush)
 * @param commands script calls sent (one per part and attempt)
 * @param appliedParts parts applied by this sink
 * @param skippedParts parts found already applied (their batch marker existed) and acknowledged
 *     without applying them again
 * @param failedParts parts that failed (error reply, timeout, lost connection)
 * @param increments counters incremented by the applied parts ({@code INCRBY}/{@code HINCRBY})
 * @param rejectedIncrements counters of applied parts that Redis refused for good (wrong type,
 *     not an integer, overflow), each reported as rejected buffer keys; counted when refused, not
 *     again when a retry finds the refusal recorded in the part's marker
 * @param replicaWaits {@code WAIT} commands sent, one per node per batch when writes must reach
 *     replicas ({@link RedisSink.Builder#waitForReplicas})
 * @param replicaWaitFailures parts whose {@code WAIT} reported too few replicas (or no reply):
 *     applied on the master (and counted in {@code appliedParts}) but failed, so that the batch
 *     is retried; also counted in {@code failedParts}
 */
public record RedisSinkStats(long batches, long failedBatches, long roundTrips, long commands,
                             long appliedParts, long skippedParts, long failedParts,
                             long increments, long rejectedIncrements, long replicaWaits,
                             long replicaWaitFailures) {

  /**
   * Stats without replica waits: the shape this record had before the sink could wait for
   * replicas, kept so that code built against it still compiles.
   *
   * @param batches see the record
   * @param failedBatches see the record
   * @param roundTrips see the record
   * @param commands see the record
   * @param appliedParts see the record
   * @param skippedParts see the record
   * @param failedParts see the record
   * @param increments see the record
   * @param rejectedIncrements see the record
   */
  public RedisSinkStats(long batches, long failedBatches, long roundTrips, long commands,
      long appliedParts, long skippedParts, long failedParts, long increments,
      long rejectedIncrements) {
    this(batches, failedBatches, roundTrips, commands, appliedParts, skippedParts, failedParts,
        increments, rejectedIncrements, 0, 0);
  }

  /**
   * Stats without rejected increments: the shape this record had before sinks reported rejected
   * keys, kept so that code built against it still compiles.
   *
   * @param batches see the record
   * @param failedBatches see the record
   * @param roundTrips see the record
   * @param commands see the record
   * @param appliedParts see the record
   * @param skippedParts see the record
   * @param failedParts see the record
   * @param increments see the record
   */
  public RedisSinkStats(long batches, long failedBatches, long roundTrips, long commands,
      long appliedParts, long skippedParts, long failedParts, long increments) {
    this(batches, failedBatches, roundTrips, commands, appliedParts, skippedParts, failedParts,
        increments, 0, 0, 0);
  }
}
