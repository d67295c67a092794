package dev.statbuffer;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The options of one buffer, frozen by {@code build(...)}, plus what follows from them (the wheel's
 * tick, the pressure threshold, the retry policy). Immutable; the builder validated every value.
 */
final class Config {
  private static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** The coarsest tick: how late a window may be handed over at most, when handlers keep up. */
  static final long MAX_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  /** The most ticks an interval plus jitter may span: well within a stamp's exact range. */
  static final long MAX_SPAN_TICKS = 1L << 28;

  final String name;
  final long intervalNanos;
  final long jitterNanos;
  final Backoff backoff;
  final long maxKeys;
  /** Pending windows from which the oldest are handed over early: 7/8 of {@code maxKeys}. */
  final long pressureKeys;
  final int maxBatchSize;
  final long shutdownTimeoutNanos;
  /** How long one handler call may run before it is abandoned and retried; 0: no limit. */
  final long flushTimeoutNanos;
  /** Closed by close() after the dump, in order. */
  final List<AutoCloseable> closeAfterDump;
  /** The user's executor, or null for the buffer's own threads. */
  final @Nullable Executor executor;
  final Scheduler scheduler;
  final Ticker ticker;
  final boolean shutdownHook;
  /** The user's listener, or null. */
  final @Nullable BufferListener listener;
  /**
   * The timing wheel's tick: fine enough to hand windows over within 10 ms of their time, coarse
   * enough that one turn of the wheel (41 s at 10 ms) covers most intervals, so few windows wait
   * extra rounds. Half a turn covers the whole span, so a window is not seen a round early.
   * Spans of more than 31 days get a tick of {@code span / 2^28}.
   */
  final long tickNanos;

  Config(String name, long intervalNanos, long jitterNanos, long backoffNanos,
      long maxBackoffNanos, int maxAttempts, long maxKeys, int maxBatchSize,
      long shutdownTimeoutNanos, long flushTimeoutNanos, List<AutoCloseable> closeAfterDump,
      @Nullable Executor executor, Scheduler scheduler, Ticker ticker,
      boolean shutdownHook, @Nullable BufferListener listener) {
    this.name = name;
    this.intervalNanos = intervalNanos;
    this.jitterNanos = jitterNanos;
    this.backoff = new Backoff(backoffNanos, maxBackoffNanos, maxAttempts);
    this.maxKeys = maxKeys;
    this.pressureKeys = (maxKeys == Long.MAX_VALUE) ? Long.MAX_VALUE : maxKeys - (maxKeys / 8);
    this.maxBatchSize = maxBatchSize;
    this.shutdownTimeoutNanos = shutdownTimeoutNanos;
    this.flushTimeoutNanos = flushTimeoutNanos;
    this.closeAfterDump = closeAfterDump;
    this.executor = executor;
    this.scheduler = scheduler;
    this.ticker = ticker;
    this.shutdownHook = shutdownHook;
    this.listener = listener;
    long span = intervalNanos + jitterNanos;
    long tick = Math.min(MAX_TICK_NANOS,
        Math.max(MIN_TICK_NANOS, span / (TimingWheel.SIZE / 2)));
    // A cell's stamp compares ticks within 2^30 of each other (Cell.distance): spans beyond 2^28
    // ticks (31 days at 10 ms) get a coarser tick, so a window is never seen as due early.
    this.tickNanos = Math.max(tick, span / MAX_SPAN_TICKS + 1);
  }

  /** The smallest delay the buffer asks its scheduler for when it retries a refused drain. */
  long minDelayNanos() {
    return Math.max(backoff.initialNanos(), MIN_TICK_NANOS);
  }

  /** The longest duration an option takes (about 73 years), so sums of them cannot overflow. */
  static final Duration MAX_DURATION = Duration.ofNanos(Long.MAX_VALUE / 4);

  /** Checks a duration option: not null, not negative, at most {@link #MAX_DURATION}. */
  static Duration requireDuration(String option, Duration value) {
    Objects.requireNonNull(value, option);
    if (value.isNegative()) {
      throw new IllegalArgumentException(option + " must not be negative: " + value);
    }
    if (value.compareTo(MAX_DURATION) > 0) {
      throw new IllegalArgumentException(
          option + " must be at most " + MAX_DURATION + ": " + value);
    }
    return value;
  }

  /** Closes what {@code closeAfterDump} was given, in order; after the dump. */
  void closeResources() {
    for (AutoCloseable resource : closeAfterDump) {
      try {
        resource.close();
      } catch (Exception | Error e) {
        Logs.logger().log(System.Logger.Level.ERROR, "StatBuffer '" + name
            + "': closing " + resource + " after the dump failed", e);
      }
    }
  }
}
