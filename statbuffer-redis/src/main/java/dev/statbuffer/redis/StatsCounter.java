package dev.statbuffer.redis;

import java.util.concurrent.atomic.LongAdder;

/**
 * The running counts behind {@link RedisSinkStats}, one adder per field, written by the sink's
 * flushes and read by {@link #snapshot()}. Thread-safe.
 *
 * <h2>What may race, and why no count is lost or doubled</h2>
 * Concurrent flushes add to the same counters. Each event is counted once, by the thread that
 * saw it happen (a flush counts its own batch, parts, commands and round trips), and a
 * {@link LongAdder} never loses a concurrent add. A snapshot sums each adder separately, so it is
 * not atomic across fields: one taken while a flush runs may show its round trip but not yet its
 * applied parts. The race is benign, as in {@code LongAdder.sum()}: every count shows up exactly
 * once, in this snapshot or the next.
 */
final class StatsCounter {
  final LongAdder batches = new LongAdder();
  final LongAdder failedBatches = new LongAdder();
  final LongAdder roundTrips = new LongAdder();
  final LongAdder commands = new LongAdder();
  final LongAdder appliedParts = new LongAdder();
  final LongAdder skippedParts = new LongAdder();
  final LongAdder failedParts = new LongAdder();
  final LongAdder increments = new LongAdder();
  final LongAdder rejectedIncrements = new LongAdder();
  final LongAdder replicaWaits = new LongAdder();
  final LongAdder replicaWaitFailures = new LongAdder();

  /**
   * The counts now, as an immutable value.
   *
   * @return the snapshot
   */
  RedisSinkStats snapshot() {
    return new RedisSinkStats(batches.sum(), failedBatches.sum(), roundTrips.sum(),
        commands.sum(), appliedParts.sum(), skippedParts.sum(), failedParts.sum(),
        increments.sum(), rejectedIncrements.sum(), replicaWaits.sum(),
        replicaWaitFailures.sum());
  }
}
