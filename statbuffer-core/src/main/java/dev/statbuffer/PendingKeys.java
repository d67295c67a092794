package dev.statbuffer;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code maxKeys} bound: counts pending windows (open, or handed over and not yet delivered or
 * dropped) and refuses a new window at the bound. Thread-safe: one atomic counter; a reservation
 * that overshoots the bound is taken back at once, so the count never stays above it (a forced
 * reservation, for counts that are already in a cell, may exceed it briefly).
 */
final class PendingKeys {
  /** Reserved. */
  static final int RESERVED = 0;
  /** Reserved, and at or above the pressure threshold: the oldest windows should go early. */
  static final int RESERVED_UNDER_PRESSURE = 1;
  /** Refused: {@code maxKeys} windows are pending. */
  static final int REFUSED = 2;

  private final AtomicLong pending = new AtomicLong();
  private final LongAdder rejected = new LongAdder();
  private final long maxKeys;
  private final long pressureKeys;

  PendingKeys(long maxKeys, long pressureKeys) {
    this.maxKeys = maxKeys;
    this.pressureKeys = pressureKeys;
  }

  /** Reserves one window, unless {@code maxKeys} are pending (then counts a rejection). */
  int reserve() {
    long now = pending.incrementAndGet();
    if (now > maxKeys) {
      pending.decrementAndGet();
      rejected.increment();
      return REFUSED;
    }
    return (now >= pressureKeys) ? RESERVED_UNDER_PRESSURE : RESERVED;
  }

  /** Reserves one window whatever the bound: its count is already in a cell. */
  void force() {
    pending.incrementAndGet();
  }

  /** Gives back {@code windows} reservations (delivered, dropped, or never used). */
  void release(long windows) {
    pending.addAndGet(-windows);
  }

  long get() {
    return pending.get();
  }

  long rejected() {
    return rejected.sum();
  }

  long maxKeys() {
    return maxKeys;
  }
}
