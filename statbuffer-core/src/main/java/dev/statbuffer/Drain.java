package dev.statbuffer;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * When cells are handed over: the buffer's clock in ticks, the wake-ups, and the drain that walks
 * the {@link TimingWheel}.
 *
 * <h2>One drain at a time</h2>
 * {@code status} is a small state machine, as Caffeine's {@code drainStatus}: {@link #IDLE} ->
 * {@link #REQUIRED} (queued on the scheduler) -> {@link #PROCESSING_TO_IDLE} (running) ->
 * {@link #IDLE}; a request while running moves it to {@link #PROCESSING_TO_REQUIRED}, and the
 * running drain queues another when it ends. So at most one drain runs, and a request is never
 * lost.
 *
 * <h2>What a drain does</h2>
 * Under the hand-over lock it takes every bucket from its cursor to now. For each live cell: a
 * stamp tick still ahead (a later turn of the wheel, or a window reopened after the cell was
 * linked at its idle tick) is relinked there; an open window that is due is handed over and the
 * now dormant cell relinked at its idle tick, one interval on; a dormant cell past its idle tick
 * with nothing in it is removed ("dead counters are removed"). Under pressure ({@code maxKeys}
 * nearly reached) it then hands over the oldest open windows early. Deliveries go to the executor
 * after the lock is released.
 *
 * <h2>Where it runs</h2>
 * On the {@link Scheduler}'s thread (a wake-up runs it in place; a request from another thread
 * queues it there with no delay), never in the handlers' executor: hand-over and {@code maxKeys}
 * relief never wait behind handlers that hang (issue 12, finding 5), and never run on a thread
 * that increments.
 *
 * <h2>Wake-ups, and why none is lost</h2>
 * The drain asks the {@link Scheduler} to wake it at the first non-empty bucket, but only while a
 * window is open: dormant cells never cause a wake-up, so an idle buffer costs no CPU, and they
 * are removed by the next drain that runs for another reason (or by close). A writer that opens a
 * window raises {@code openWindows}, makes the window open (a CAS) and then reads
 * {@code wakeTick}; the drain writes {@code wakeTick = NONE} and then, after its scan, reads
 * {@code openWindows}. All four are sequentially consistent, so either the writer sees
 * {@code NONE} (or a later tick) and asks for its own wake-up, or the drain sees the window
 * counted and re-arms at the first non-empty bucket, which is no later than the window's due
 * tick. Extra wake-ups are harmless.
 *
 * <h2>Coalescing while the handlers are behind</h2>
 * When executor tasks are waiting to start ({@link TaskQueue#handlersBehind}), handing over
 * more only lengthens the queue with small batches, one store transaction each. The drain then
 * leaves the due windows open instead: they keep counting, and go out together in one larger
 * batch when the handlers catch up, so a store that cannot keep up with many small commits gets
 * fewer, larger ones (issue 14: a fleet of writers on MariaDB). What bounds it, and why nothing is
 * lost or stranded:
 * <ul>
 *   <li>Deferring changes no count: the windows stay open in the wheel, where the next drain (or
 *       {@code flush}, {@code flushAll}, {@code close}, which do not go through the drain) finds
 *       them; writers keep adding to them as to any open window.</li>
 *   <li>The drain sets {@code deferred} and then reads the queue again; a task that starts
 *       leaves the queue and then reads {@code deferred} (both sequentially consistent). So
 *       either the drain sees the queue empty and hands over at once, or the task that emptied it
 *       sees the flag and asks for a drain. A task submitted in between refills the queue, and
 *       its own start repeats the check. Either way the due windows go out when the handlers catch
 *       up.</li>
 *   <li>Handlers that never catch up (stuck threads, a user executor that holds tasks) cannot
 *       hold windows back for long: a deferral lasts at most one interval from the first tick it
 *       began, after which the drain hands over as usual. The bound's wake-up is armed once per
 *       deferral ({@code armedBound}); if the scheduler refuses it, the drain does not defer. A
 *       due window thus waits at most one more interval.</li>
 *   <li>A task that has waited an interval no longer counts as "behind" and is forgotten
 *       ({@link TaskQueue#handlersBehind}): an executor that accepted a task and never ran it,
 *       or one that threw from {@code execute}, cannot leave coalescing on for good.</li>
 *   <li>Under {@code maxKeys} pressure the drain never defers: relief must free room.</li>
 *   <li>The scan position a writer asked for ({@code wakeTick} below the cursor) is kept across
 *       a deferral in {@code scanFrom}, so no bucket is skipped.</li>
 * </ul>
 *
 * <p>Thread-safe; {@code cursor}, {@code scanFrom} and {@code deferredSince} are touched only
 * under the hand-over lock.
 */
final class Drain<K> {
  private static final Logger LOGGER = System.getLogger(StatBuffer.class.getName());

  /** No drain is queued or running. */
  static final int IDLE = 0;
  /** A drain is queued on the scheduler. */
  static final int REQUIRED = 1;
  /** A drain runs, and nothing asked for another. */
  static final int PROCESSING_TO_IDLE = 2;
  /** A drain runs, and another was asked for; it is queued when this one ends. */
  static final int PROCESSING_TO_REQUIRED = 3;

  /** {@code wakeTick} when no wake-up is scheduled. */
  private static final long NONE = Long.MAX_VALUE;

  private static final VarHandle STATUS;
  private static final VarHandle WAKE_TICK;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATUS = lookup.findVarHandle(Drain.class, "status", int.class);
      WAKE_TICK = lookup.findVarHandle(Drain.class, "wakeTick", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Config config;
  private final Cells<K> cells;
  private final Deliveries<K> deliveries;
  private final BooleanSupplier closed;
  private final Runnable task = this::run;
  private final long origin;
  private final long tickNanos;
  /** Ticks from a hand-over until the cell counts as idle: one interval, at least one tick. */
  private final long idleTicks;

  /** The first tick the drain has not processed yet; under the lock. */
  private long cursor;
  /** The earliest tick a wake-up asked to scan from while the drain deferred; under the lock. */
  private long scanFrom = NONE;
  /** The tick the current deferral began, or {@code NONE}; under the lock. */
  private long deferredSince = NONE;
  /** Set while due windows wait for the handlers to catch up (see "Coalescing"). */
  private volatile boolean deferred;
  /** The tick of the deferral bound's scheduled wake-up, or {@code NONE}; under the lock. */
  private long armedBound = NONE;
  /** The deferral bound's wake-up, so close() can cancel it. */
  private volatile @Nullable Future<?> boundFuture;
  private volatile int status;
  private volatile long wakeTick = NONE;
  private volatile boolean pressure;
  /** The last wake-up scheduled, or null before the first. */
  private volatile @Nullable Future<?> wakeFuture;

  Drain(Config config, Cells<K> cells, Deliveries<K> deliveries, BooleanSupplier closed) {
    this.config = config;
    this.cells = cells;
    this.deliveries = deliveries;
    this.closed = closed;
    this.tickNanos = config.tickNanos;
    this.origin = config.ticker.read();
    this.idleTicks = Math.max(1, (config.intervalNanos + tickNanos - 1) / tickNanos);
    deliveries.tasks().whenEmpty(this::handlersCaughtUp);
  }

  /** The executor started its last queued task: a deferred hand-over can go now. */
  private void handlersCaughtUp() {
    if (deferred) {
      deferred = false;
      schedule();
    }
  }

  /** The tick of the buffer's clock now. */
  long nowTick() {
    return (config.ticker.read() - origin) / tickNanos;
  }

  /** The tick at which a window opened now is due: never before interval (plus jitter). */
  long newDueTick() {
    long jitter = (config.jitterNanos == 0)
        ? 0 : ThreadLocalRandom.current().nextLong(config.jitterNanos + 1);
    long due = config.ticker.read() + config.intervalNanos + jitter - origin;
    return (due + tickNanos - 1) / tickNanos; // ceil: never before its time
  }

  /** The tick from which a cell handed over now counts as idle. */
  long idleTick(long nowTick) {
    return nowTick + idleTicks;
  }

  /** A window due at {@code dueTick} was opened (after the CAS that opened it). */
  void opened(long dueTick) {
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
    long delay = Math.max(0, origin + tick * tickNanos - config.ticker.read());
    try {
      // Kept so close() can cancel it: a pending wake-up would keep a closed buffer reachable
      // from the shared timer for up to an interval.
      wakeFuture = config.scheduler.schedule(this::wake, delay);
    } catch (RuntimeException e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + config.name + "': the scheduler refused a wake-up; "
          + "draining now", e);
      schedule();
    }
  }

  /** Asks for the oldest windows to be handed over early. */
  void requestRelief() {
    if (!pressure) {
      pressure = true;
      schedule();
    }
  }

  /** A wake-up: drains on the scheduler's thread, unless a drain is queued or running. */
  private void wake() {
    if (STATUS.compareAndSet(this, IDLE, REQUIRED)) {
      run();
    } else {
      schedule();
    }
  }

  /** Asks for a drain on the scheduler, unless one is queued or will be. */
  void schedule() {
    for (;;) {
      int current = status;
      switch (current) {
        case IDLE -> {
          if (STATUS.compareAndSet(this, IDLE, REQUIRED)) {
            execute();
            return;
          }
        }
        case REQUIRED, PROCESSING_TO_REQUIRED -> {
          return;
        }
        case PROCESSING_TO_IDLE -> {
          if (STATUS.compareAndSet(this, PROCESSING_TO_IDLE, PROCESSING_TO_REQUIRED)) {
            return;
          }
        }
        default -> throw new IllegalStateException("Invalid drain status: " + current);
      }
    }
  }

  // The drain is never cancelled (close() checks `closed` in drain() instead), and run() logs what
  // it throws, so the future holds nothing to wait for or read.
  @SuppressWarnings("FutureReturnValueIgnored")
  private void execute() {
    try {
      config.scheduler.schedule(task, 0);
    } catch (RuntimeException e) {
      if (closed.getAsBoolean()) {
        STATUS.setVolatile(this, IDLE);
        return; // close() dumps every cell itself
      }
      LOGGER.log(Level.ERROR, "StatBuffer '" + config.name + "': the scheduler refused the "
          + "drain; draining on this thread", e);
      run();
    }
  }

  private void run() {
    STATUS.setVolatile(this, PROCESSING_TO_IDLE);
    try {
      drain();
    } catch (RuntimeException | Error e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + config.name + "': drain failed", e);
    } finally {
      if (!STATUS.compareAndSet(this, PROCESSING_TO_IDLE, IDLE)) {
        STATUS.setVolatile(this, REQUIRED);
        execute();
      }
    }
  }

  /** Cancels the pending wake-up (close). */
  void cancelWakeUp() {
    Future<?> wake = wakeFuture;
    if (wake != null) {
      wake.cancel(/* mayInterruptIfRunning= */ false);
    }
    Future<?> bound = boundFuture;
    if (bound != null) {
      bound.cancel(/* mayInterruptIfRunning= */ false);
    }
  }

  /** Hands over every due window (and, under pressure, the oldest ones), then re-arms. */
  private void drain() {
    if (closed.getAsBoolean()) {
      return;
    }
    List<Delivery<K>> out = new ArrayList<>();
    cells.lock.lock();
    try {
      // Written before the scan below (see "Wake-ups"). A window opened with a tick the cursor
      // already passed (interval 0, or a writer that was slow) asked for a wake-up at that tick,
      // so the scan starts there.
      long requested = (long) WAKE_TICK.getAndSet(this, NONE);
      long nowTick = nowTick();
      if (deferHandOver(nowTick, requested)) {
        scanFrom = Math.min(scanFrom, requested);
        return;
      }
      long from = Math.min(cursor, Math.min(requested, scanFrom));
      scanFrom = NONE;
      Batcher<K> batcher = deliveries.newBatcher(out);
      long to = Math.min(nowTick, from + TimingWheel.SIZE - 1);
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
      cells.lock.unlock();
    }
    deliveries.submit(out);
  }

  /**
   * Whether this drain leaves the due windows open because the handlers are behind (see
   * "Coalescing"), with a wake-up armed at the deferral's bound; under the lock.
   */
  private boolean deferHandOver(long nowTick, long requested) {
    if (pressure || !deliveries.tasks().handlersBehind()) {
      stopDeferring();
      return false;
    }
    if (deferredSince == NONE) {
      deferredSince = nowTick;
    } else if (nowTick - deferredSince >= idleTicks) {
      stopDeferring(); // deferred for an interval: the handlers are stuck, hand over
      return false;
    }
    deferred = true;
    if (!deliveries.tasks().handlersBehind() || !armBound(deferredSince + idleTicks, requested)) {
      // The last waiting task started between the two reads (perhaps before the flag was set),
      // or the scheduler refused the bound's wake-up: hand over now.
      stopDeferring();
      return false;
    }
    return true;
  }

  private void stopDeferring() {
    deferredSince = NONE;
    deferred = false;
  }

  /**
   * Makes sure a wake-up comes at {@code bound}: one per deferral, not one per deferring drain.
   * Returns false if the scheduler refused it (then the drain must not defer: nothing else is
   * sure to wake it). Under the lock.
   */
  private boolean armBound(long bound, long requested) {
    if (bound != armedBound || requested == bound) {
      // A new deferral, or its wake-up is the one that fired (a tick early by rounding).
      long delay = Math.max(0, origin + bound * tickNanos - config.ticker.read());
      try {
        boundFuture = config.scheduler.schedule(this::wake, delay);
      } catch (RuntimeException e) {
        armedBound = NONE;
        return false;
      }
      armedBound = bound;
    }
    // wakeTick was reset by this drain; it says again that a wake-up is coming by the bound, so
    // writers whose windows are due later ask for none.
    for (;;) {
      long current = wakeTick;
      if (bound >= current || WAKE_TICK.compareAndSet(this, current, bound)) {
        break;
      }
    }
    if (closed.getAsBoolean()) {
      cancelWakeUp(); // close() may have cancelled before this one was armed
    }
    return true;
  }

  private void drainBucket(long tick, long nowTick, Batcher<K> batcher) {
    Cell<K> cell = cells.wheel.take(tick);
    while (cell != null) {
      Cell<K> next = cell.next;
      cell.next = null;
      visit(cell, nowTick, batcher);
      cell = next;
    }
  }

  /** One cell taken from its bucket: relink, hand over, or remove. */
  private void visit(Cell<K> cell, long nowTick, Batcher<K> batcher) {
    for (;;) {
      long word = cell.word();
      if (Cell.isDead(word)) {
        return; // retired by close(); it leaves the wheel here
      }
      int ahead = Cell.distance(word, nowTick);
      if (ahead > 0) {
        cells.wheel.relink(cell, nowTick + ahead);
        return;
      }
      if (Cell.isOpen(word)) {
        // Only lock holders close a window, so it is still open: the hand-over succeeds.
        long idle = idleTick(nowTick);
        cells.handOver(cell, idle, batcher);
        cells.wheel.relink(cell, idle);
        return;
      }
      if (cells.removeIfIdle(cell, word, batcher)) {
        return;
      }
      // A writer reopened it meanwhile: look again.
    }
  }

  /** Hands over the oldest open windows, early, until at most half of maxKeys are open. */
  private void relievePressure(long nowTick, Batcher<K> batcher) {
    long target = deliveries.pending().maxKeys() / 2;
    if (deliveries.pending().get() - cells.openWindows() >= target) {
      // Half the bound is already on its way to a slow or failing handler: handing over more
      // would not make room, only turn keys that are counting now into refused keys.
      return;
    }
    long idle = idleTick(nowTick);
    // The first pass takes windows due within one turn of the wheel, oldest first. Windows of an
    // interval longer than a turn are all due in later turns: the second pass takes those too,
    // nearest bucket first (an earlier build had no second pass, so relief never handed over a
    // window of an interval past about 40 s, and maxKeys refused every new key for good).
    for (int pass = 0; pass < 2; pass++) {
      for (long tick = nowTick + 1; tick <= nowTick + TimingWheel.SIZE; tick++) {
        if (cells.openWindows() <= target) {
          return;
        }
        relieveBucket(tick, idle, target, pass == 0, batcher);
      }
    }
  }

  private void relieveBucket(long tick, long idle, long target, boolean thisTurnOnly,
      Batcher<K> batcher) {
    Cell<K> cell = cells.wheel.take(tick);
    while (cell != null) {
      Cell<K> next = cell.next;
      cell.next = null;
      long word = cell.word();
      if (Cell.isDead(word)) {
        // retired: it leaves the wheel
      } else if (!Cell.isOpen(word) || (thisTurnOnly && Cell.distance(word, tick) > 0)
          || cells.openWindows() <= target) {
        // Dormant, due in a later turn (younger than what comes next), or enough room.
        cells.wheel.relink(cell, tick + Math.max(0, Cell.distance(word, tick)));
      } else {
        cells.handOver(cell, idle, batcher);
        cells.wheel.relink(cell, idle);
      }
      cell = next;
    }
  }

  /** Schedules a wake-up at the earliest non-empty bucket, while any window is open. */
  private void rearm() {
    if (cells.openWindows() > 0) {
      long tick = cells.wheel.firstNonEmpty(cursor);
      if (tick >= 0) {
        requestWake(tick);
      }
    }
  }

  /** The buffer's lag: its oldest open window, and its oldest count in flight. */
  BufferLag lag() {
    long oldestWindow;
    cells.lock.lock();
    try {
      oldestWindow = oldestWindowNanos(config.ticker.read());
    } finally {
      cells.lock.unlock();
    }
    long oldestHandedOver = deliveries.oldestHandedOverNanos(config.ticker.read());
    return new BufferLag(Duration.ofNanos(oldestWindow), Duration.ofNanos(oldestHandedOver));
  }

  /** The age of the oldest open window, from its due tick less the interval; under the lock. */
  private long oldestWindowNanos(long now) {
    long due = cells.wheel.earliestOpen(cursor);
    if (due == Long.MAX_VALUE) {
      return 0;
    }
    return Math.max(0, now - (origin + due * tickNanos - config.intervalNanos));
  }
}
