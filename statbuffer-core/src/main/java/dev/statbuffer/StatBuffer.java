package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A buffer of per-key counters. Each {@link #increment} lands in the key's open window; an
 * {@code interval} (plus a random {@code jitter}) after a window's first increment, its sum is
 * handed to the flush handler as one count. Failed flushes are retried with exponential backoff
 * and are never discarded silently; {@link #close()} delivers everything still buffered.
 *
 * <pre>{@code
 * StatBuffer<String> views = StatBuffer.newBuilder()
 *     .interval(Duration.ofSeconds(5))
 *     .build((String page, long count) -> repository.addViews(page, count));
 * views.increment("/home");
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread. {@code increment} on a key that has
 * an open window takes no lock and allocates nothing.
 *
 * <h2>Design</h2>
 * <ul>
 *   <li><b>Windows.</b> A {@link ConcurrentHashMap} maps each key with an open window to its
 *   {@link Window}, a striped counter that can be retired exactly once (see its design comment).
 *   An increment reads the map and CASes one word of the window. A writer that finds the window
 *   retired removes it from the map ({@code remove(key, window)}, so only that window) and opens a
 *   new one.
 *   <li><b>Timing wheel.</b> A new window is pushed onto the wheel bucket of its due tick (a
 *   lock-free stack per bucket). One drain at a time (a small state machine, as in Caffeine's
 *   {@code drainStatus}) empties the buckets that are due, retires their windows and turns their
 *   sums into {@link Delivery deliveries} for the executor. The drain asks the {@link Scheduler}
 *   to wake it at the next non-empty bucket; when nothing is pending no wake-up is scheduled, so an
 *   idle buffer costs no CPU.
 *   <li><b>Lost wake-ups.</b> A writer pushes its window (a CAS) and then reads {@code wakeTick};
 *   the drain writes {@code wakeTick = NONE} and then scans the buckets. Both are sequentially
 *   consistent, so either the scan sees the window or the writer sees {@code NONE} and schedules a
 *   wake-up. Extra wake-ups are harmless.
 *   <li><b>Close.</b> {@code lifecycle} counts the writers inside the slow path (opening a window
 *   or handing one over) and carries the {@code CLOSED} bit. A slow-path writer increments the
 *   count and then reads the bit; {@code close()} sets the bit and then waits for the count to
 *   reach zero. Afterwards no window can be opened, every open window is in the map, and
 *   {@code close()} retires them all under {@code handOverLock}. A fast-path write either lands
 *   before its window is retired (and is delivered) or finds it retired, sees {@code CLOSED} and
 *   returns false. So an increment that returned true is delivered or dropped, never lost.
 *   <li><b>Conservation.</b> Every accepted delta is in exactly one window word until that window
 *   is retired by exactly one owner, which moves the sum into exactly one delivery (or discards a
 *   zero sum), whose outcome is decided by one CAS. Hence, once closed,
 *   {@code accepted == deliveredSum + droppedSum}.
 * </ul>
 *
 * @param <K> the key type: any object with {@code equals} and {@code hashCode}
 */
public final class StatBuffer<K> implements AutoCloseable {
  private static final Logger LOGGER = System.getLogger(StatBuffer.class.getName());

  /* Results of opening a window. */
  private static final int OPENED = 0;
  private static final int RETRY = 1;
  private static final int REFUSED = 2;
  private static final int CLOSED_NOW = 3;

  /* Drain status: a small state machine so that at most one drain runs at a time. */
  /** No drain is queued or running. */
  private static final int IDLE = 0;
  /** A drain is queued on the executor. */
  private static final int REQUIRED = 1;
  /** A drain runs, and nothing asked for another. */
  private static final int PROCESSING_TO_IDLE = 2;
  /** A drain runs, and another was asked for; it is queued when this one ends. */
  private static final int PROCESSING_TO_REQUIRED = 3;

  /** The {@code lifecycle} bit that closes the buffer; the bits below count slow-path writers. */
  private static final long CLOSED = 1L << 62;
  /** {@code wakeTick} when no wake-up is scheduled. */
  private static final long NONE = Long.MAX_VALUE;
  /** Buckets of the timing wheel; a window due beyond one turn waits in later rounds. */
  private static final int WHEEL_SIZE = 4096;
  private static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** The coarsest tick: how late a window may be handed over at most, when handlers keep up. */
  private static final long MAX_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private static final VarHandle LIFECYCLE;
  private static final VarHandle DRAIN_STATUS;
  private static final VarHandle WAKE_TICK;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      LIFECYCLE = lookup.findVarHandle(StatBuffer.class, "lifecycle", long.class);
      DRAIN_STATUS = lookup.findVarHandle(StatBuffer.class, "drainStatus", int.class);
      WAKE_TICK = lookup.findVarHandle(StatBuffer.class, "wakeTick", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String name;
  private final long intervalNanos;
  private final long jitterNanos;
  private final long backoffNanos;
  private final long maxBackoffNanos;
  private final int maxAttempts;
  private final long maxKeys;
  private final long pressureKeys;
  private final int maxBatchSize;
  private final long shutdownTimeoutNanos;
  private final Executor executor;
  private final ExecutorService ownedExecutor;
  private final Scheduler scheduler;
  private final Ticker ticker;
  private final FlushHandler<? super K> keyHandler;
  private final BatchFlushHandler<K> batchHandler;
  private final Thread shutdownHook;

  private final ConcurrentHashMap<K, Window<K>> windows = new ConcurrentHashMap<>();
  private final AtomicReferenceArray<Window<K>> wheel = new AtomicReferenceArray<>(WHEEL_SIZE);
  private final long origin;
  private final long tickNanos;
  /** The first tick the drain has not processed yet; written only by the drain. */
  private long cursor;

  private final Set<Delivery<K>> inFlight = ConcurrentHashMap.newKeySet();
  /** The delivery whose handler runs on this thread, so close() from a handler skips it. */
  private final ThreadLocal<Delivery<K>> running = new ThreadLocal<>();
  /** Held while windows are retired into deliveries, so close() never misses one in transit. */
  private final ReentrantLock handOverLock = new ReentrantLock();
  private final Runnable drainTask = this::runDrain;
  private final String idPrefix;
  private final AtomicLong idSequence = new AtomicLong();

  private final AtomicLong pendingKeys = new AtomicLong();
  private final AtomicLong openWindows = new AtomicLong();
  private final AtomicLong flushes = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final LongAdder rejected = new LongAdder();
  private final AtomicLong deliveredSum = new AtomicLong();
  private final AtomicLong droppedSum = new AtomicLong();

  private volatile long lifecycle;
  private volatile int drainStatus;
  private volatile long wakeTick = NONE;
  private volatile boolean pressure;
  private volatile Future<?> wakeFuture;
  /** Set by close(): retries stop waiting for their full backoff. */
  private volatile long closeDeadline;
  private volatile boolean closing;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final AtomicInteger closeCalls = new AtomicInteger();

  private StatBuffer(Builder builder, String name, FlushHandler<? super K> keyHandler,
      BatchFlushHandler<K> batchHandler) {
    this.name = name;
    this.intervalNanos = builder.interval.toNanos();
    this.jitterNanos = builder.jitter.toNanos();
    this.backoffNanos = builder.backoff.toNanos();
    this.maxBackoffNanos = Math.max(builder.maxBackoff.toNanos(), backoffNanos);
    this.maxAttempts = builder.maxAttempts;
    this.maxKeys = builder.maxKeys;
    this.pressureKeys = (maxKeys == Long.MAX_VALUE) ? Long.MAX_VALUE : maxKeys - (maxKeys / 8);
    this.maxBatchSize = builder.maxBatchSize;
    this.shutdownTimeoutNanos = builder.shutdownTimeout.toNanos();
    this.scheduler = builder.scheduler;
    this.ticker = builder.ticker;
    this.keyHandler = keyHandler;
    this.batchHandler = batchHandler;
    if (builder.executor == null) {
      ownedExecutor = newDefaultExecutor(name);
      executor = ownedExecutor;
    } else {
      ownedExecutor = null;
      executor = builder.executor;
    }
    long span = intervalNanos + jitterNanos;
    // Fine enough to hand windows over within 10 ms of their time; coarse enough that one turn of
    // the wheel (41 s at the coarsest) covers most intervals, so few windows wait extra rounds.
    // Half a turn covers the whole span, so a window is not seen a round early.
    this.tickNanos = Math.min(MAX_TICK_NANOS, Math.max(MIN_TICK_NANOS, span / (WHEEL_SIZE / 2)));
    this.origin = ticker.read();
    this.idPrefix = newIdPrefix();
    if (builder.shutdownHook) {
      shutdownHook = new Thread(this::close, "statbuffer-" + name + "-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    } else {
      shutdownHook = null;
    }
  }

  /**
   * Returns a builder with every option at its default.
   *
   * @return a new builder
   */
  public static Builder newBuilder() {
    return new Builder();
  }

  /**
   * Adds one to {@code key}'s count.
   *
   * @param key the key, not null
   * @return true if recorded; false if the buffer is closed, or the key has no open window and
   *     {@code maxKeys} windows are pending
   * @throws NullPointerException if {@code key} is null
   */
  public boolean increment(K key) {
    return increment(key, 1L);
  }

  /**
   * Adds {@code delta} (which may be negative) to {@code key}'s count.
   *
   * <p>On a key with an open window this takes no lock and allocates nothing. It never runs a
   * handler and never waits for one.
   *
   * @param key the key, not null
   * @param delta the amount to add
   * @return true if recorded; false if the buffer is closed, or the key has no open window and
   *     {@code maxKeys} windows are pending (counted in {@link BufferStats#rejected()})
   * @throws NullPointerException if {@code key} is null
   */
  public boolean increment(K key, long delta) {
    requireNonNull(key, "key");
    if (delta > Window.SLOT_LIMIT || delta < -Window.SLOT_LIMIT || delta == 0) {
      return incrementUnusual(key, delta);
    }
    for (;;) {
      // Not needed for conservation (close() retires every window, so a later add goes to the
      // slow path, which checks), but it makes the answer linearizable: once one increment has
      // returned false because of close(), no later one returns true. A plain load on x86.
      if ((lifecycle & CLOSED) != 0) {
        return false;
      }
      Window<K> window = windows.get(key);
      if (window == null) {
        int result = openWindow(key, delta);
        if (result == OPENED) {
          return true;
        } else if (result != RETRY) {
          return false;
        }
        continue;
      }
      int result = window.add(delta);
      if (result == Window.ADDED) {
        return true;
      } else if (result == Window.RETIRED_WINDOW) {
        // Help the owner: it removes the window too, but the writer need not wait for it.
        windows.remove(key, window);
      } else if (!handOverFull(window)) {
        return false;
      }
    }
  }

  /** Zero deltas record nothing; deltas too large for a window travel as their own delivery. */
  private boolean incrementUnusual(K key, long delta) {
    if (delta == 0) {
      return (lifecycle & CLOSED) == 0;
    }
    List<Delivery<K>> out;
    if (!enterSlowPath()) {
      return false;
    }
    try {
      if (!reservePendingKey()) {
        return false;
      }
      handOverLock.lock();
      try {
        out = List.of(newKeyDelivery(key, delta));
      } finally {
        handOverLock.unlock();
      }
    } finally {
      exitSlowPath();
    }
    submitNow(out); // outside the lock and the slow path: the executor may run it right here
    return true;
  }

  /** Counts one more pending window, unless maxKeys are pending (then counts a rejection). */
  private boolean reservePendingKey() {
    long pending = pendingKeys.incrementAndGet();
    if (pending > maxKeys) {
      pendingKeys.decrementAndGet();
      rejected.increment();
      requestPressureRelief();
      return false;
    } else if (pending >= pressureKeys) {
      requestPressureRelief();
    }
    return true;
  }

  /** Opens a window for {@code key} holding {@code delta}. */
  private int openWindow(K key, long delta) {
    if (!enterSlowPath()) {
      return CLOSED_NOW;
    }
    try {
      if (!reservePendingKey()) {
        return REFUSED;
      }
      long now = ticker.read();
      long jitter = (jitterNanos == 0) ? 0 : ThreadLocalRandom.current().nextLong(jitterNanos + 1);
      long due = now + intervalNanos + jitter - origin;
      long dueTick = (due + tickNanos - 1) / tickNanos; // ceil: never before its time
      // The window keeps the low 32 bits; the wheel compares ticks by their signed distance.
      Window<K> window = new Window<>(key, delta, (int) dueTick);
      if (windows.putIfAbsent(key, window) != null) {
        pendingKeys.decrementAndGet();
        return RETRY;
      }
      openWindows.incrementAndGet();
      push(window, dueTick);
      return OPENED;
    } finally {
      exitSlowPath();
    }
  }

  /** A word of {@code window} would overflow: hand it over now; the caller writes anew. */
  private boolean handOverFull(Window<K> window) {
    List<Delivery<K>> out = new ArrayList<>(1);
    if (!enterSlowPath()) {
      return false;
    }
    try {
      handOverLock.lock();
      try {
        Batcher batcher = new Batcher(out);
        retireInto(window, batcher);
        batcher.finish();
      } finally {
        handOverLock.unlock();
      }
    } finally {
      exitSlowPath();
    }
    submitNow(out);
    return true;
  }

  private boolean enterSlowPath() {
    long state = (long) LIFECYCLE.getAndAdd(this, 1L);
    if ((state & CLOSED) != 0) {
      LIFECYCLE.getAndAdd(this, -1L);
      return false;
    }
    return true;
  }

  private void exitSlowPath() {
    LIFECYCLE.getAndAdd(this, -1L);
  }

  /**
   * Returns the count buffered for {@code key} and not yet taken for flushing. The read is not
   * atomic with concurrent increments: it includes some subset of the writes that race with it.
   *
   * @param key the key, not null
   * @return the open window's sum (possibly zero), or empty when the key has no open window
   * @throws NullPointerException if {@code key} is null
   */
  public OptionalLong count(K key) {
    requireNonNull(key, "key");
    Window<K> window = windows.get(key);
    if (window == null) {
      return OptionalLong.empty();
    }
    long sum = window.sum();
    return window.isRetired() ? OptionalLong.empty() : OptionalLong.of(sum);
  }

  /**
   * Hands {@code key}'s open window to the handler now, without waiting for its interval.
   *
   * @param key the key, not null
   * @return a future that completes when the count is delivered (at once when the key has no
   *     open window or its sum is zero), or completes exceptionally when it is dropped
   * @throws NullPointerException if {@code key} is null
   */
  public CompletableFuture<Void> flush(K key) {
    requireNonNull(key, "key");
    List<Delivery<K>> out = new ArrayList<>(1);
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    List<Delivery<K>> retries = new ArrayList<>();
    handOverLock.lock();
    try {
      // Earlier counts of this key still on their way (awaiting a retry, or handed over by a
      // drain a moment ago) are part of "flush this key": wait for them too.
      for (Delivery<K> delivery : inFlight) {
        if (delivery.contains(key)) {
          waits.add(delivery.done);
          if (cancelRetryTimer(delivery)) {
            retries.add(delivery);
          }
        }
      }
      Window<K> window = windows.get(key);
      if (window != null) {
        Batcher batcher = new Batcher(out);
        retireInto(window, batcher);
        batcher.finish();
      }
    } finally {
      handOverLock.unlock();
    }
    submitNow(retries);
    submitNow(out);
    for (Delivery<K> delivery : out) {
      waits.add(delivery.done);
    }
    return CompletableFuture.allOf(waits.toArray(new CompletableFuture<?>[0]));
  }

  /** Cancels a pending retry timer; true if this call did, so the caller re-sends it now. */
  private static boolean cancelRetryTimer(Delivery<?> delivery) {
    Future<?> timer = delivery.retryTimer;
    if (timer != null && timer.cancel(/* mayInterruptIfRunning= */ false)) {
      delivery.retryTimer = null;
      return true;
    }
    return false;
  }

  /**
   * Hands every open window to the handler now.
   *
   * @return a future that completes when those counts, and every earlier count still awaiting
   *     delivery or retry, are delivered; it completes exceptionally if any of them is dropped
   */
  public CompletableFuture<Void> flushAll() {
    List<Delivery<K>> out = new ArrayList<>();
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    handOverLock.lock();
    try {
      for (Delivery<K> delivery : inFlight) {
        waits.add(delivery.done);
      }
      Batcher batcher = new Batcher(out);
      for (Window<K> window : windows.values()) {
        retireInto(window, batcher);
      }
      batcher.finish();
    } finally {
      handOverLock.unlock();
    }
    submitNow(out);
    for (Delivery<K> delivery : out) {
      waits.add(delivery.done);
    }
    return CompletableFuture.allOf(waits.toArray(new CompletableFuture<?>[0]));
  }

  /**
   * Returns a snapshot of the buffer's counters.
   *
   * @return the stats
   */
  public BufferStats stats() {
    return new BufferStats(pendingKeys.get(), flushes.get(), failures.get(), rejected.sum(),
        deliveredSum.get(), droppedSum.get());
  }

  /**
   * Returns the buffer's name, used in logs and thread names.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns whether {@link #close()} has begun.
   *
   * @return true once closing has begun
   */
  public boolean isClosed() {
    return (lifecycle & CLOSED) != 0;
  }

  /**
   * Closes the buffer and dumps it: later increments return false; every buffered count,
   * including those awaiting a retry, is delivered, retrying (without waiting out long backoffs)
   * until {@code shutdownTimeout}; what is still undelivered then goes to {@code onDrop}. Returns
   * when that is done. Idempotent: a second call waits for the first to finish.
   *
   * <p>A handler still running when the timeout ends is not interrupted; its count is reported to
   * {@code onDrop}, and if it later returns normally a warning is logged.
   */
  @Override
  public void close() {
    if (closeCalls.getAndIncrement() > 0) {
      if (running.get() == null) { // a handler must not wait for itself
        terminated.join();
      }
      return;
    }
    try {
      closeCounting();
      dumpWindows();
      awaitDeliveries();
    } finally {
      Future<?> wake = wakeFuture;
      if (wake != null) {
        wake.cancel(/* mayInterruptIfRunning= */ false);
      }
      if (ownedExecutor != null) {
        ownedExecutor.shutdown();
      }
      removeShutdownHook();
      terminated.complete(null);
    }
  }

  private void closeCounting() {
    closeDeadline = ticker.read() + shutdownTimeoutNanos;
    closing = true;
    LIFECYCLE.getAndBitwiseOr(this, CLOSED);
    // Slow-path writers are short and never block, so this wait is brief.
    while (((long) LIFECYCLE.getVolatile(this) & ~CLOSED) != 0) {
      Thread.onSpinWait();
    }
  }

  private void dumpWindows() {
    List<Delivery<K>> out = new ArrayList<>();
    handOverLock.lock();
    try {
      // Retries waiting out a backoff go again now. (A retry scheduled after this loop sees
      // `closing` and re-sends itself: see failed().)
      for (Delivery<K> delivery : inFlight) {
        if (cancelRetryTimer(delivery)) {
          out.add(delivery);
        }
      }
      Batcher batcher = new Batcher(out);
      for (Window<K> window : windows.values()) {
        retireInto(window, batcher);
      }
      batcher.finish();
    } finally {
      handOverLock.unlock();
    }
    submitNow(out);
  }

  private void awaitDeliveries() {
    Delivery<K> own = running.get(); // close() called by a handler: its own delivery runs on
    boolean interrupted = false;
    for (;;) {
      // Deliveries settle concurrently: take one with hasNext()/next() on one iterator, never
      // isEmpty() and then next() on another (the stress test caught that race).
      java.util.Iterator<Delivery<K>> iterator = inFlight.iterator();
      long remaining = closeDeadline - ticker.read();
      if (!iterator.hasNext() || remaining <= 0) {
        break;
      }
      Delivery<K> next = iterator.next();
      if (next == own) {
        if (!iterator.hasNext()) {
          break;
        }
        next = iterator.next();
      }
      try {
        next.done.get(Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(50)),
            TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // Waited or settled; loop to check the deadline and the rest.
      } catch (InterruptedException e) {
        // Shutdown code is often interrupted; giving up here would drop counts a healthy handler
        // is about to deliver. Keep waiting until the deadline and restore the flag after.
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    TimeoutException timeout = new TimeoutException(
        "StatBuffer '" + name + "' shutdown timeout elapsed before delivery");
    for (Delivery<K> delivery : inFlight) {
      if (delivery == own) {
        continue; // it settles when the handler that called close() returns
      }
      Future<?> timer = delivery.retryTimer;
      if (timer != null) {
        timer.cancel(/* mayInterruptIfRunning= */ false);
      }
      Exception last = delivery.lastError;
      if (last != null) {
        timeout.addSuppressed(last);
      }
      drop(delivery, (last != null) ? last : timeout);
    }
  }

  private void removeShutdownHook() {
    if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down: the hook is running or has run.
      }
    }
  }

  /* ---------------- Timing wheel and drain ---------------- */

  private void push(Window<K> window, long dueTick) {
    int index = (int) (dueTick & (WHEEL_SIZE - 1));
    for (;;) {
      Window<K> head = wheel.get(index);
      window.next = head;
      if (wheel.compareAndSet(index, head, window)) {
        break;
      }
    }
    // The CAS above precedes this read (see "Lost wake-ups" in the class comment).
    if (dueTick < wakeTick) {
      requestWake(dueTick);
    }
  }

  /** Lowers {@code wakeTick} to {@code tick} and, if this call lowered it, schedules a wake-up. */
  private void requestWake(long tick) {
    for (;;) {
      long current = wakeTick;
      if (tick >= current) {
        return;
      }
      if (WAKE_TICK.compareAndSet(this, current, tick)) {
        break;
      }
    }
    long delay = Math.max(0, origin + tick * tickNanos - ticker.read());
    try {
      // Kept so close() can cancel it: a pending wake-up would keep a closed buffer reachable
      // from the shared timer for up to an interval.
      wakeFuture = scheduler.schedule(this::scheduleDrain, delay);
    } catch (RuntimeException e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + name + "': the scheduler refused a wake-up; "
          + "draining now", e);
      scheduleDrain();
    }
  }

  private void requestPressureRelief() {
    if (!pressure) {
      pressure = true;
      scheduleDrain();
    }
  }

  /** Asks for a drain on the executor, unless one is queued or will be. */
  void scheduleDrain() {
    for (;;) {
      int status = drainStatus;
      switch (status) {
        case IDLE:
          if (DRAIN_STATUS.compareAndSet(this, IDLE, REQUIRED)) {
            executeDrain();
            return;
          }
          break;
        case REQUIRED:
        case PROCESSING_TO_REQUIRED:
          return;
        case PROCESSING_TO_IDLE:
          if (DRAIN_STATUS.compareAndSet(this, PROCESSING_TO_IDLE, PROCESSING_TO_REQUIRED)) {
            return;
          }
          break;
        default:
          throw new IllegalStateException("Invalid drain status: " + status);
      }
    }
  }

  private void executeDrain() {
    try {
      executor.execute(drainTask);
    } catch (RejectedExecutionException e) {
      DRAIN_STATUS.setVolatile(this, IDLE);
      if (isClosed()) {
        return; // close() dumps every window itself
      }
      LOGGER.log(Level.ERROR, "StatBuffer '" + name + "': the executor rejected the drain; "
          + "trying again after the backoff", e);
      scheduler.schedule(this::scheduleDrain, Math.max(backoffNanos, MIN_TICK_NANOS));
    }
  }

  private void runDrain() {
    DRAIN_STATUS.setVolatile(this, PROCESSING_TO_IDLE);
    try {
      drain();
    } catch (RuntimeException | Error e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + name + "': drain failed", e);
    } finally {
      if (!DRAIN_STATUS.compareAndSet(this, PROCESSING_TO_IDLE, IDLE)) {
        DRAIN_STATUS.setVolatile(this, REQUIRED);
        executeDrain();
      }
    }
  }

  /** Hands over every due window (and, under pressure, the oldest ones), then re-arms. */
  private void drain() {
    if (isClosed()) {
      return;
    }
    List<Delivery<K>> out = new ArrayList<>();
    handOverLock.lock();
    try {
      Batcher batcher = new Batcher(out);
      // Written before the scan below (see "Lost wake-ups"). A window pushed with a tick the
      // cursor already passed (interval 0, or a writer that was slow) asked for a wake-up at that
      // tick, so the scan starts there.
      long requested = (long) WAKE_TICK.getAndSet(this, NONE);
      long nowTick = (ticker.read() - origin) / tickNanos;
      long from = Math.min(cursor, requested);
      long to = Math.min(nowTick, from + WHEEL_SIZE - 1);
      for (long tick = from; tick <= to; tick++) {
        drainBucket(tick, nowTick, batcher);
      }
      cursor = Math.max(cursor, nowTick + 1);
      if (pressure) {
        pressure = false;
        relievePressure(nowTick, batcher);
      }
      batcher.finish();
      rearm();
    } finally {
      handOverLock.unlock();
    }
    submitNow(out);
  }

  private void drainBucket(long tick, long nowTick, Batcher batcher) {
    int index = (int) (tick & (WHEEL_SIZE - 1));
    Window<K> window = wheel.getAndSet(index, null);
    while (window != null) {
      Window<K> next = window.next;
      window.next = null;
      if (window.isRetired()) {
        // Handed over already (flush, close, overflow); the owner removed it from the map.
      } else if ((int) (window.dueTick() - nowTick) > 0) {
        relink(window); // a later round of the wheel
      } else {
        retireInto(window, batcher);
      }
      window = next;
    }
  }

  private void relink(Window<K> window) {
    int index = window.dueTick() & (WHEEL_SIZE - 1);
    for (;;) {
      Window<K> head = wheel.get(index);
      window.next = head;
      if (wheel.compareAndSet(index, head, window)) {
        return;
      }
    }
  }

  /** Hands over the oldest open windows, early, until at most half of maxKeys are open. */
  private void relievePressure(long nowTick, Batcher batcher) {
    long target = maxKeys / 2;
    if (pendingKeys.get() - openWindows.get() >= target) {
      // Half the bound is already on its way to a slow or failing handler: handing over more
      // would not make room, only turn keys that are counting now into refused keys.
      return;
    }
    for (long tick = nowTick + 1; tick <= nowTick + WHEEL_SIZE; tick++) {
      if (openWindows.get() <= target) {
        return;
      }
      int index = (int) (tick & (WHEEL_SIZE - 1));
      Window<K> window = wheel.getAndSet(index, null);
      while (window != null) {
        Window<K> next = window.next;
        window.next = null;
        if (window.isRetired()) {
          // handed over already
        } else if ((int) (window.dueTick() - tick) > 0 || openWindows.get() <= target) {
          relink(window); // due in a later turn (younger than what comes next), or enough room
        } else {
          retireInto(window, batcher);
        }
        window = next;
      }
    }
  }

  /** Schedules a wake-up at the earliest non-empty bucket, if any. */
  private void rearm() {
    for (long tick = cursor; tick < cursor + WHEEL_SIZE; tick++) {
      if (wheel.get((int) (tick & (WHEEL_SIZE - 1))) != null) {
        requestWake(tick);
        return;
      }
    }
  }

  /** Retires {@code window}, if no one else did, and adds its sum to {@code batcher}. */
  private void retireInto(Window<K> window, Batcher batcher) {
    long sum = window.retire();
    if (sum == Window.NOT_OWNER) {
      return;
    }
    windows.remove(window.key, window);
    openWindows.decrementAndGet();
    if (sum == 0) {
      pendingKeys.decrementAndGet(); // behaviour 3: a zero window is not handed over
    } else {
      batcher.add(window.key, sum);
    }
  }

  /* ---------------- Deliveries ---------------- */

  /** Groups handed-over windows into deliveries; used under {@code handOverLock}. */
  private final class Batcher {
    private final List<Delivery<K>> out;
    private HashMap<K, Long> counts;
    private long sum;
    private int merged;

    Batcher(List<Delivery<K>> out) {
      this.out = out;
    }

    void add(K key, long count) {
      if (batchHandler == null) {
        out.add(newKeyDelivery(key, count));
        return;
      }
      if (counts == null) {
        // Sized for a full batch: a drain of many keys fills it without rehashing.
        counts = new HashMap<>((int) Math.min(maxBatchSize, 1 << 16) * 4 / 3 + 1);
      }
      // A key may have had two windows due in one drain (interval 0): merge them.
      if (counts.merge(key, count, Long::sum) == 0L) {
        counts.remove(key);
      }
      sum += count;
      merged++;
      if (counts.size() >= maxBatchSize) {
        finish();
      }
    }

    void finish() {
      if (merged == 0) {
        return;
      }
      if (counts.isEmpty()) {
        pendingKeys.addAndGet(-merged); // the merged windows summed to zero
      } else {
        Delivery<K> delivery = new Delivery<>(nextId(), counts, sum, merged);
        inFlight.add(delivery);
        out.add(delivery);
      }
      counts = null;
      sum = 0;
      merged = 0;
    }
  }

  private Delivery<K> newKeyDelivery(K key, long count) {
    // A FlushHandler never sees an id, so its deliveries do not make one. (A batch handler gets
    // single-key deliveries from huge deltas; those need theirs.)
    Delivery<K> delivery = new Delivery<>((batchHandler != null) ? nextId() : null, key, count);
    inFlight.add(delivery);
    return delivery;
  }

  private String nextId() {
    return idPrefix + Long.toString(idSequence.incrementAndGet(), 36);
  }

  /** Submits deliveries to the executor, in tasks of up to maxBatchSize per-key deliveries. */
  private void submitNow(List<Delivery<K>> deliveries) {
    int chunk = (batchHandler == null) ? maxBatchSize : 1;
    for (int start = 0; start < deliveries.size(); start += chunk) {
      List<Delivery<K>> part =
          deliveries.subList(start, Math.min(deliveries.size(), start + chunk));
      List<Delivery<K>> task = (part.size() == deliveries.size()) ? deliveries : List.copyOf(part);
      try {
        executor.execute(() -> deliverAll(task));
      } catch (RejectedExecutionException e) {
        if (closing) {
          // A user executor shut down before us (frameworks stop pools before shutdown hooks):
          // deliver on this thread rather than wait out the shutdown timeout.
          deliverAll(task);
        } else {
          for (Delivery<K> delivery : task) {
            failed(delivery, e);
          }
        }
      }
    }
  }

  private void deliverAll(List<Delivery<K>> deliveries) {
    for (Delivery<K> delivery : deliveries) {
      deliver(delivery);
    }
  }

  private void deliver(Delivery<K> delivery) {
    if (!delivery.isPending()) {
      return;
    }
    delivery.attempt = delivery.attempt + 1;
    Delivery<K> outer = running.get();
    running.set(delivery);
    try {
      if (batchHandler != null) {
        batchHandler.flush(delivery);
      } else {
        keyHandler.flush(delivery.key, delivery.count);
      }
    } catch (Exception e) {
      failed(delivery, e);
      return;
    } catch (Error e) {
      failed(delivery, new RuntimeException("handler threw an Error", e));
      throw e;
    } finally {
      running.set(outer);
    }
    if (delivery.casState(Delivery.PENDING, Delivery.DELIVERED)) {
      deliveredSum.addAndGet(delivery.sum);
      flushes.incrementAndGet();
      settle(delivery);
      delivery.done.complete(null);
    } else {
      LOGGER.log(Level.WARNING, "StatBuffer '" + name + "': " + describe(delivery)
          + " was delivered after the shutdown timeout, when it had already been reported to "
          + "onDrop");
    }
  }

  private void failed(Delivery<K> delivery, Exception error) {
    if (!delivery.isPending()) {
      return;
    }
    failures.incrementAndGet();
    delivery.lastError = error;
    int attempts = ++delivery.failedCalls;
    if (attempts >= maxAttempts) {
      drop(delivery, error);
      return;
    }
    long delay = backoffNanos;
    for (int i = 1; i < attempts && delay < maxBackoffNanos; i++) {
      delay = (delay > maxBackoffNanos / 2) ? maxBackoffNanos : delay * 2;
    }
    delay = Math.min(delay, maxBackoffNanos);
    boolean closingAlready = closing;
    if (closingAlready) {
      long remaining = closeDeadline - ticker.read();
      if (remaining <= 0) {
        return; // close() drops it once its wait ends
      }
      delay = Math.min(delay, Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(100)));
    }
    Level level = (attempts <= 1) ? Level.WARNING : Level.DEBUG;
    LOGGER.log(level, "StatBuffer '" + name + "': " + describe(delivery) + " failed (call "
        + attempts + "); retrying in " + Duration.ofNanos(delay), error);
    if (!delivery.isPending()) {
      return;
    }
    try {
      delivery.retryTimer = scheduler.schedule(() -> {
        delivery.retryTimer = null;
        submitNow(List.of(delivery));
      }, delay);
    } catch (RuntimeException e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + name + "': the scheduler refused a retry", e);
      drop(delivery, error);
      return;
    }
    // close() may have looked for retry timers before this one was set: whoever cancels the
    // timer re-sends the delivery, so it is sent once, and without waiting out a long backoff.
    if (!closingAlready && closing && cancelRetryTimer(delivery)) {
      submitNow(List.of(delivery));
    }
  }

  private void drop(Delivery<K> delivery, Exception error) {
    if (!delivery.casState(Delivery.PENDING, Delivery.DROPPED)) {
      return;
    }
    droppedSum.addAndGet(delivery.sum);
    settle(delivery);
    try {
      if (batchHandler != null) {
        batchHandler.onDrop(delivery, error);
      } else {
        keyHandler.onDrop(delivery.key, delivery.count, error);
      }
    } catch (Exception | Error e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + name + "': onDrop threw for " + describe(delivery),
          e);
    }
    delivery.done.completeExceptionally(error);
  }

  private void settle(Delivery<K> delivery) {
    pendingKeys.addAndGet(-delivery.windows);
    inFlight.remove(delivery);
  }

  private String describe(Delivery<K> delivery) {
    return (batchHandler != null)
        ? "batch " + delivery.id + " (" + delivery.counts().size() + " keys)"
        : "count " + delivery.count + " for key " + delivery.key;
  }

  /* ---------------- Helpers ---------------- */

  private static String newIdPrefix() {
    byte[] bytes = new byte[12];
    new SecureRandom().nextBytes(bytes);
    StringBuilder prefix = new StringBuilder(26);
    for (byte b : bytes) {
      prefix.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
    }
    return prefix.append('-').toString();
  }

  private static ExecutorService newDefaultExecutor(String name) {
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    AtomicInteger count = new AtomicInteger();
    ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), runnable -> {
          Thread thread = new Thread(runnable, "statbuffer-" + name + "-" + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    pool.allowCoreThreadTimeOut(true); // an idle buffer keeps no threads
    return pool;
  }

  @Override
  public String toString() {
    return "StatBuffer[" + name + ", " + stats() + "]";
  }

  /**
   * Configures and builds a {@link StatBuffer}. Each option has one method; a bad value throws
   * {@link IllegalArgumentException} naming the option and the value, and a null throws
   * {@link NullPointerException} naming the parameter.
   *
   * <p>Defaults:
   * <ul>
   *   <li>{@code name}: {@code "statbuffer-N"}, N counting buffers in this JVM
   *   <li>{@code interval}: 5 s
   *   <li>{@code jitter}: 0
   *   <li>{@code backoff}: 1 s
   *   <li>{@code maxBackoff}: 30 s
   *   <li>{@code maxAttempts}: unlimited ({@link Integer#MAX_VALUE})
   *   <li>{@code maxKeys}: unlimited ({@link Long#MAX_VALUE})
   *   <li>{@code maxBatchSize}: 1000
   *   <li>{@code executor}: the buffer's own daemon threads (as many as cores, at least two,
   *       released when idle)
   *   <li>{@code shutdownTimeout}: 30 s
   *   <li>{@code shutdownHook}: true
   *   <li>{@code ticker}: {@link Ticker#system()}; {@code scheduler}: {@link Scheduler#system()}
   * </ul>
   *
   * <p>Not thread-safe: configure it on one thread. {@code build} copies the options, so a
   * builder may be reused.
   */
  public static final class Builder {
    private static final AtomicInteger NAMES = new AtomicInteger();
    /** The longest duration an option takes (about 73 years), so sums of them cannot overflow. */
    private static final Duration MAX_DURATION = Duration.ofNanos(Long.MAX_VALUE / 4);

    private String name;
    private Duration interval = Duration.ofSeconds(5);
    private Duration jitter = Duration.ZERO;
    private Duration backoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private int maxAttempts = Integer.MAX_VALUE;
    private long maxKeys = Long.MAX_VALUE;
    private int maxBatchSize = 1000;
    private Executor executor;
    private Duration shutdownTimeout = Duration.ofSeconds(30);
    private boolean shutdownHook = true;
    private Ticker ticker = Ticker.system();
    private Scheduler scheduler = Scheduler.system();

    private Builder() {}

    /**
     * Names the buffer in logs and thread names.
     *
     * @param name the name, not null or blank
     * @return this builder
     */
    public Builder name(String name) {
      requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name must not be blank");
      }
      this.name = name;
      return this;
    }

    /**
     * Sets how long after a window's first increment its count is handed over. Zero hands
     * windows over as soon as the buffer wakes (within a millisecond or so).
     *
     * @param interval at least zero; default 5 s
     * @return this builder
     */
    public Builder interval(Duration interval) {
      this.interval = requireNonNegative("interval", interval);
      return this;
    }

    /**
     * Sets the most random extra delay added to each window's interval, so that many processes
     * started together do not flush in step.
     *
     * @param jitter at least zero; default 0
     * @return this builder
     */
    public Builder jitter(Duration jitter) {
      this.jitter = requireNonNegative("jitter", jitter);
      return this;
    }

    /**
     * Sets the delay before the first retry of a failed flush; each later retry waits twice as
     * long, up to {@link #maxBackoff}.
     *
     * @param backoff at least zero; default 1 s
     * @return this builder
     */
    public Builder backoff(Duration backoff) {
      this.backoff = requireNonNegative("backoff", backoff);
      return this;
    }

    /**
     * Sets the longest delay between two retries.
     *
     * @param maxBackoff at least zero; default 30 s. If shorter than {@code backoff}, every
     *     retry waits {@code backoff}.
     * @return this builder
     */
    public Builder maxBackoff(Duration maxBackoff) {
      this.maxBackoff = requireNonNegative("maxBackoff", maxBackoff);
      return this;
    }

    /**
     * Sets how many failed calls a count survives before it goes to {@code onDrop}.
     *
     * @param maxAttempts at least 1; default unlimited
     * @return this builder
     */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1: " + maxAttempts);
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * Bounds the pending windows (open, or handed over and not yet delivered). Near the bound the
     * oldest windows are handed over early; at the bound, increments of keys without an open
     * window return false and count in {@link BufferStats#rejected()}.
     *
     * @param maxKeys at least 1; default unlimited
     * @return this builder
     */
    public Builder maxKeys(long maxKeys) {
      if (maxKeys < 1) {
        throw new IllegalArgumentException("maxKeys must be at least 1: " + maxKeys);
      }
      this.maxKeys = maxKeys;
      return this;
    }

    /**
     * Sets the most keys in one {@link FlushBatch} (batched handlers), and the most per-key
     * deliveries run by one executor task.
     *
     * @param maxBatchSize at least 1; default 1000
     * @return this builder
     */
    public Builder maxBatchSize(int maxBatchSize) {
      if (maxBatchSize < 1) {
        throw new IllegalArgumentException("maxBatchSize must be at least 1: " + maxBatchSize);
      }
      this.maxBatchSize = maxBatchSize;
      return this;
    }

    /**
     * Sets where handlers (and the buffer's drain) run. The buffer never shuts down an executor
     * it was given. A direct executor ({@code Runnable::run}) runs handlers on whichever thread
     * hands counts over: the scheduler's timer thread, or a thread calling {@code flush},
     * {@code flushAll} or {@code close}. That suits tests; in production a slow handler would then
     * hold up the timer that every buffer shares.
     *
     * @param executor the executor; default: the buffer's own daemon threads
     * @return this builder
     */
    public Builder executor(Executor executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Sets how long {@link StatBuffer#close()} keeps delivering before it drops what is left.
     *
     * @param timeout at least zero; default 30 s
     * @return this builder
     */
    public Builder shutdownTimeout(Duration timeout) {
      this.shutdownTimeout = requireNonNegative("shutdownTimeout", timeout);
      return this;
    }

    /**
     * Sets whether the buffer is closed (and so dumped) when the JVM shuts down.
     *
     * @param enabled default true
     * @return this builder
     */
    public Builder shutdownHook(boolean enabled) {
      this.shutdownHook = enabled;
      return this;
    }

    /**
     * Sets the time source; tests pass a fake one to drive windows without sleeping.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets what wakes the buffer when a window or retry is due.
     *
     * @param scheduler the scheduler; default {@link Scheduler#system()}
     * @return this builder
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Builds a buffer that hands each key's count to {@code handler} separately.
     *
     * @param handler the handler, not null
     * @param <K> the key type
     * @return a new buffer
     */
    public <K> StatBuffer<K> build(FlushHandler<? super K> handler) {
      requireNonNull(handler, "handler");
      return new StatBuffer<>(this, nameOrDefault(), handler, null);
    }

    /**
     * Builds a buffer that hands counts to {@code handler} in batches of up to
     * {@code maxBatchSize} keys.
     *
     * @param handler the handler, not null
     * @param <K> the key type
     * @return a new buffer
     */
    public <K> StatBuffer<K> buildBatched(BatchFlushHandler<K> handler) {
      requireNonNull(handler, "handler");
      return new StatBuffer<>(this, nameOrDefault(), null, handler);
    }

    private String nameOrDefault() {
      return (name != null) ? name : "statbuffer-" + NAMES.incrementAndGet();
    }

    private static Duration requireNonNegative(String option, Duration value) {
      requireNonNull(value, option);
      if (value.isNegative()) {
        throw new IllegalArgumentException(option + " must not be negative: " + value);
      }
      if (value.compareTo(MAX_DURATION) > 0) {
        throw new IllegalArgumentException(
            option + " must be at most " + MAX_DURATION + ": " + value);
      }
      return value;
    }
  }
}
