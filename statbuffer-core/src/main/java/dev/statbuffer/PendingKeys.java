package dev.statbuffer;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

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

  /**
   * How long an increment refused at the bound waits for handlers to make room before it gives
   * up: a healthy handler frees room well within it, so a burst of new keys is slowed down to
   * what the handler takes instead of refused.
   */
  static final long ROOM_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /**
   * After a wait ran out, refusals stop waiting once nothing has been delivered or dropped for
   * this long: the handler is stuck or failing, and waiting would only slow the callers down.
   */
  static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final AtomicLong pending = new AtomicLong();
  /** When a reservation was last given back ({@code System.nanoTime}): handlers make progress. */
  private volatile long lastRelease = System.nanoTime();
  /** Whether the last wait ran out. */
  private volatile boolean waitRanOut;
  private final LongAdder rejected = new LongAdder();
  private final long maxKeys;
  private final long pressureKeys;

  PendingKeys(long maxKeys, long pressureKeys) {
    this.maxKeys = maxKeys;
    this.pressureKeys = pressureKeys;
  }

  /** Reserves one window, unless {@code maxKeys} are pending. */
  int reserve() {
    long now = pending.incrementAndGet();
    if (now > maxKeys) {
      pending.decrementAndGet();
      return REFUSED;
    }
    return (now >= pressureKeys) ? RESERVED_UNDER_PRESSURE : RESERVED;
  }

  /** Counts an increment refused for good. */
  void refused() {
    rejected.increment();
  }

  /**
   * After a refusal, waits (at most {@link #ROOM_WAIT_NANOS}, in real time) for a delivery to make
   * room; but not when the last wait ran out and nothing was delivered or dropped for
   * {@link #STUCK_NANOS} (a stuck or failing handler: refusals are then immediate). A healthy
   * handler on a busy machine can take longer than one wait, and still makes progress. Never
   * called inside the lifecycle gate.
   *
   * @return true if there is room now (the caller tries again), false to refuse
   */
  boolean awaitRoom() {
    long start = System.nanoTime();
    if (waitRanOut && start - lastRelease > STUCK_NANOS) {
      return false;
    }
    long deadline = start + ROOM_WAIT_NANOS;
    while (pending.get() >= maxKeys) {
      if (System.nanoTime() - deadline >= 0) {
        waitRanOut = true;
        return false;
      }
      LockSupport.parkNanos(20_000);
    }
    waitRanOut = false;
    return true;
  }

  /** Reserves one window whatever the bound: its count is already in a cell. */
  void force() {
    pending.incrementAndGet();
  }

  /** Reserves {@code windows} whatever the bound (recovered counts of a durable buffer). */
  void force(long windows) {
    pending.addAndGet(windows);
  }

  /** Gives back {@code windows} reservations (delivered, dropped, or never used). */
  void release(long windows) {
    pending.addAndGet(-windows);
    lastRelease = System.nanoTime();
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
