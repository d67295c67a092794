package dev.statbuffer;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Everything after hand-over: deliveries in flight, their submission to the executor, retries
 * after the backoff, drops, the outcome counters and the listener calls.
 *
 * <h2>Design</h2>
 * A delivery is registered in {@code inFlight} (under the hand-over lock, by the {@link Batcher})
 * before anyone can run it, and leaves it when its outcome is decided: the CAS in
 * {@link Delivery#casState} picks exactly one of delivered or dropped, and only the winner
 * touches the counters, the pending reservation and the future. So {@code deliveredSum +
 * droppedSum} grows by each delivery's sum exactly once, and {@code close()} can wait for, or
 * drop, whatever is still in {@code inFlight}.
 *
 * <p>A failed call schedules its retry on the {@link Scheduler}; whoever cancels that timer
 * ({@code flush(key)}, {@code close()}, or the failing thread itself when {@code close()} began
 * meanwhile) re-sends the delivery, so it is sent once and never waits out a long backoff during
 * close.
 *
 * <p>The outcome sums and the listener calls live in {@link Outcomes}; which executor tasks wait
 * to start (for the drain's coalescing) in {@link TaskQueue}.
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
final class Deliveries<K> {
  private static final Logger LOGGER = System.getLogger(StatBuffer.class.getName());

  private final Config config;
  private final Target<K> target;
  private final FlushTimeout flushTimeout;
  private final PendingKeys pending;
  /** The outcome sums and the listener. */
  private final Outcomes outcomes;
  private final FailureLog failureLog;
  private final Set<Delivery<K>> inFlight = ConcurrentHashMap.newKeySet();
  /** Deliveries an increment made, on their way to the executor through the scheduler. */
  private final Handoffs<K> handoffs;
  /** The delivery whose handler runs on this thread, so close() from a handler skips it. */
  @SuppressWarnings("ThreadLocalUsage") // per buffer on purpose: each buffer asks about its own
  private final ThreadLocal<Delivery<K>> running = new ThreadLocal<>();
  /** The executor task running on this thread, so close() from a handler can release its rest. */
  @SuppressWarnings("ThreadLocalUsage") // per buffer on purpose, as above
  private final ThreadLocal<DeliveryTask<K>> task = new ThreadLocal<>();
  /** This buffer's sender id: the first part of its batch ids. */
  private final String sender = newSender();
  /** Sequence numbers of deliveries handed over and not yet settled (FlushBatch.settledBelow). */
  private final NavigableSet<Long> unsettled = new ConcurrentSkipListSet<>();
  private final AtomicLong idSequence = new AtomicLong();
  /** The executor's tasks not started yet: whether the handlers are behind. */
  private final TaskQueue tasks;

  /** A durable buffer's directory, or null. */
  private final @Nullable Durability<K> durable;

  /** Set by close(): retries stop waiting for their full backoff. */
  private volatile boolean closing;
  private volatile long closeDeadline;

  Deliveries(Config config, Target<K> target, Executor executor, Threads.Pool pool,
      PendingKeys pending, @Nullable Durability<K> durable) {
    this.config = config;
    this.durable = durable;
    this.flushTimeout = new FlushTimeout(config, pool);
    this.handoffs = new Handoffs<>(config, this::submit, () -> closing);
    this.target = target;
    this.tasks = new TaskQueue(executor, config);
    this.pending = pending;
    this.outcomes = new Outcomes(config.name, config.listener);
    this.failureLog = new FailureLog(config.name, config.ticker);
  }

  Ticker ticker() {
    return config.ticker;
  }

  Target<K> target() {
    return target;
  }

  int maxBatchSize() {
    return config.maxBatchSize;
  }

  PendingKeys pending() {
    return pending;
  }

  /** The durable buffer's directory, or null. */
  @Nullable Durability<K> durable() {
    return durable;
  }

  /**
   * Takes in a delivery recovery made of an earlier process's counts (under that process's id, or
   * a new one): registered in flight, its sum counted as recovered. Under the hand-over lock.
   */
  void adopt(Delivery<K> delivery) {
    if (!inFlight.contains(delivery)) {
      register(delivery);
    }
    Outcomes.addSaturated(outcomes.recoveredSum, delivery.sum);
  }

  /** A new batch collecting into {@code out}; under the hand-over lock. */
  Batcher<K> newBatcher(List<Delivery<K>> out) {
    return new Batcher<>(this, out);
  }

  /** A delivery of one key's count, registered in flight; under the hand-over lock. */
  Delivery<K> newKeyDelivery(K key, long count) {
    // A FlushHandler never sees an id, so its deliveries do not make one. (A batch handler gets
    // single-key deliveries from huge deltas; those need theirs.)
    Delivery<K> delivery = target.batched()
        ? new Delivery<>(sender, idSequence.incrementAndGet(), unsettled, key, count,
            config.ticker.read())
        : new Delivery<>(null, -1, null, key, count, config.ticker.read());
    register(delivery);
    return delivery;
  }

  /** A batch delivery, registered in flight; under the hand-over lock. */
  Delivery<K> newBatchDelivery(Map<K, Long> counts, long sum, int windows) {
    Delivery<K> delivery = new Delivery<>(sender, idSequence.incrementAndGet(), unsettled, counts,
        sum, windows, config.ticker.read());
    register(delivery);
    return delivery;
  }

  private void register(Delivery<K> delivery) {
    if (delivery.sequence > 0 && delivery.unsettled() != null) {
      // Under the hand-over lock: numbers arrive in order.
      delivery.unsettled().add(delivery.sequence);
    }
    inFlight.add(delivery);
    tell(l -> l.handedOver(config.name, delivery.keys(), delivery.sum));
  }


  /** The executor's tasks not started yet (the drain asks whether the handlers are behind). */
  TaskQueue tasks() {
    return tasks;
  }

  /** Submits deliveries to the executor, in tasks of up to maxBatchSize per-key deliveries. */
  void submit(List<Delivery<K>> deliveries) {
    int chunk = target.deliveriesPerTask(config.maxBatchSize);
    for (int start = 0; start < deliveries.size(); start += chunk) {
      List<Delivery<K>> part =
          deliveries.subList(start, Math.min(deliveries.size(), start + chunk));
      List<Delivery<K>> task = (part.size() == deliveries.size()) ? deliveries : List.copyOf(part);
      Throwable refused = tasks.execute(() -> deliverAll(task));
      if (refused == null) {
        continue;
      }
      if (refused instanceof RejectedExecutionException e) {
        if (closing) {
          // A user executor shut down before us (frameworks stop pools before shutdown hooks):
          // deliver on this thread rather than wait out the shutdown timeout.
          deliverAll(task);
        } else {
          for (Delivery<K> delivery : task) {
            failed(delivery, e, 0);
          }
        }
      } else {
        // An executor that throws something else (a pool that cannot start a thread): retried
        // after the backoff like a failed call, rather than left in flight until close.
        Exception cause = (refused instanceof Exception e) ? e
            : new RuntimeException("the executor threw " + refused, refused);
        for (Delivery<K> delivery : task) {
          failed(delivery, cause, 0);
        }
        if (refused instanceof VirtualMachineError error) {
          throw error;
        }
      }
    }
  }

  /** Submits deliveries through the scheduler, never on this (incrementing) thread. */
  void submitLater(List<Delivery<K>> deliveries) {
    handoffs.submitLater(deliveries);
  }

  /** Submits what {@link #submitLater} queued and the scheduler has not run yet. */
  void submitQueued() {
    handoffs.submitQueued();
  }

  private void deliverAll(List<Delivery<K>> deliveries) {
    DeliveryTask<K> current = new DeliveryTask<>(deliveries);
    DeliveryTask<K> outer = task.get();
    task.set(current);
    boolean finished = false;
    try {
      for (int i = current.claim(); i >= 0; i = current.claim()) {
        deliver(deliveries.get(i));
      }
      finished = true;
    } finally {
      task.set(outer);
      if (!finished) {
        releaseRest(current); // a handler threw an Error: the rest must not be stranded
      }
    }
  }

  /**
   * Called by close() from a handler: the deliveries queued behind the running one in its task
   * would wait for the handler, which waits in close() for them, until the shutdown timeout
   * dropped them. They go back to the executor instead (issue 12, finding 6).
   */
  void releaseRestOfTask() {
    DeliveryTask<K> current = task.get();
    if (current != null) {
      releaseRest(current);
    }
  }

  /** Sends the rest of {@code current} on a task of its own. */
  private void releaseRest(DeliveryTask<K> current) {
    List<Delivery<K>> rest = current.releaseRest();
    if (!rest.isEmpty()) {
      submit(rest);
    }
  }

  private void deliver(Delivery<K> delivery) {
    // Counted before the pending check: a batch's number stays unsettled (settledBelow) while any
    // call of it runs, so a sink never forgets a batch that a running call may still commit.
    delivery.callStarted();
    try {
      deliverOnce(delivery);
    } finally {
      if (delivery.callEnded()) {
        delivery.forgetNumber();
      }
    }
  }

  private void deliverOnce(Delivery<K> delivery) {
    if (!delivery.isPending()) {
      return;
    }
    if (delivery.attempt > 0 && pastHorizon(delivery, 0)) {
      return; // dropped: this retry could only run after the sink forgot the batch
    }
    int attempt = delivery.attempt + 1;
    delivery.attempt = attempt;
    Delivery<K> outer = running.get();
    running.set(delivery);
    FlushEvent event = new FlushEvent();
    event.begin();
    long started = config.ticker.read();
    DeliveryTask<K> current = task.get();
    FlushTimeout.Call call = flushTimeout.start(() -> {
      abandoned(delivery, attempt);
      if (current != null) {
        releaseRest(current); // the rest of this task must not wait behind the hung call
      }
    });
    try {
      target.flush(delivery, attempt);
    } catch (RejectedKeysException e) {
      commit(event, delivery, attempt, e);
      if (call.returned()) {
        partlyDelivered(delivery, attempt, e, config.ticker.read() - started);
      }
      return;
    } catch (Exception e) {
      commit(event, delivery, attempt, e);
      if (call.returned()) {
        failed(delivery, e, config.ticker.read() - started);
      }
      return;
    } catch (Error e) {
      commit(event, delivery, attempt, e);
      if (call.returned()) {
        failed(delivery, new RuntimeException("handler threw an Error", e),
            config.ticker.read() - started);
      }
      throw e;
    } finally {
      running.set(outer);
    }
    long took = config.ticker.read() - started;
    commit(event, delivery, attempt, null);
    if (!call.returned() && !delivery.isPending()) {
      return; // abandoned, and settled since: by its retry, or dropped
    }
    if (delivery.casState(Delivery.PENDING, Delivery.DELIVERED)) {
      // An abandoned call that succeeds late settles the count; its retry is not needed.
      delivery.cancelRetryTimer();
      Outcomes.addSaturated(outcomes.deliveredSum, delivery.sum);
      outcomes.flushes.incrementAndGet();
      failureLog.delivered();
      tell(l -> l.delivered(config.name, delivery.keys(), delivery.sum, attempt, took));
      // Last: close() returns once nothing is in flight, so the listener has heard of it by then.
      settle(delivery);
      delivery.done.complete(null);
    } else if (delivery.isDropped()) {
      LOGGER.log(Level.WARNING, "StatBuffer '" + config.name + "': " + target.describe(delivery)
          + " was delivered after the shutdown timeout, when it had already been reported to "
          + "onDrop");
    }
  }

  private void abandoned(Delivery<K> delivery, int attempt) {
    TimeoutException timeout = new TimeoutException("StatBuffer '" + config.name + "': "
        + target.describe(delivery) + ", attempt " + attempt + ", was still running after the "
        + "flushTimeout of " + TimeUnit.NANOSECONDS.toMillis(config.flushTimeoutNanos)
        + " ms; abandoned, and retried on a fresh call");
    failed(delivery, timeout, config.flushTimeoutNanos);
  }

  /**
   * The handler applied the call except the keys it rejected for good: the rest is delivered, each
   * rejected key is dropped at once under its own id, and nothing is retried. A report naming a
   * key the call did not carry is a handler bug; the call counts as failed and is retried.
   */
  private void partlyDelivered(Delivery<K> delivery, int attempt, RejectedKeysException e,
      long took) {
    List<Target.Rejected<K>> rejected;
    try {
      rejected = target.rejected(delivery, e);
    } catch (IllegalArgumentException invalid) {
      failed(delivery, invalid, took);
      return;
    }
    if (!delivery.casState(Delivery.PENDING, Delivery.DELIVERED)) {
      if (!delivery.isDropped()) {
        return; // a racing call (a retry of an abandoned one) settled it
      }
      LOGGER.log(Level.WARNING, "StatBuffer '" + config.name + "': " + target.describe(delivery)
          + " was delivered (except " + rejected.size() + " rejected "
          + FailureLog.plural(rejected.size(), "key") + ") after the shutdown timeout, when it"
          + " had already been reported to onDrop");
      return;
    }
    long rejectedSum = 0;
    for (Target.Rejected<K> one : rejected) {
      rejectedSum += one.count();
    }
    int appliedKeys = delivery.keys() - rejected.size();
    long appliedSum = delivery.sum - rejectedSum;
    Outcomes.addSaturated(outcomes.deliveredSum, appliedSum);
    if (appliedKeys > 0) {
      outcomes.flushes.incrementAndGet();
      failureLog.delivered();
      tell(l -> l.delivered(config.name, appliedKeys, appliedSum, attempt, took));
    }
    for (Target.Rejected<K> one : rejected) {
      Outcomes.addSaturated(outcomes.droppedSum, one.count());
      dropped(delivery, one.id(), Map.of(one.key(), one.count()), one.count(), attempt,
          one.cause(), () -> target.onDropRejected(one, attempt));
    }
    settle(delivery);
    delivery.done.completeExceptionally(e);
  }

  /** Records the handler call in JFR, when a recording asks for it. */
  private void commit(FlushEvent event, Delivery<K> delivery, int attempt,
      @Nullable Throwable error) {
    event.end();
    if (event.shouldCommit()) {
      event.buffer = config.name;
      event.batchId = delivery.id;
      event.keys = delivery.keys();
      event.sum = delivery.sum;
      event.attempt = attempt;
      event.outcome = (error == null) ? "success" : "failure: " + error.getClass().getName();
      event.commit();
    }
  }

  private void failed(Delivery<K> delivery, Exception error, long handlerNanos) {
    if (!delivery.isPending()) {
      return;
    }
    outcomes.failures.incrementAndGet();
    delivery.lastError = error;
    // One thread at a time writes a delivery's failedCalls (see Delivery): not a lost update.
    @SuppressWarnings("NonAtomicVolatileUpdate")
    int attempts = ++delivery.failedCalls;
    Backoff backoff = config.backoff;
    if (backoff.exhausted(attempts)) {
      notifyFailed(delivery, error, handlerNanos, -1);
      drop(delivery, error);
      return;
    }
    long delay = backoff.delayNanos(attempts);
    boolean closingAlready = closing;
    if (closingAlready) {
      long remaining = closeDeadline - config.ticker.read();
      if (remaining <= 0) {
        notifyFailed(delivery, error, handlerNanos, -1);
        // close() drops what is left when its wait ends; if it already has (a handler that
        // called close() itself), this drop is the one (drop is decided once, by a CAS).
        dropOrKeep(delivery, error);
        return;
      }
      delay = Math.min(delay, Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(100)));
    }
    if (pastHorizon(delivery, delay)) {
      notifyFailed(delivery, error, handlerNanos, -1);
      return;
    }
    notifyFailed(delivery, error, handlerNanos, delay);
    failureLog.failed(target.describe(delivery), delivery.keys(), attempts, delay, error);
    if (!delivery.isPending()) {
      return;
    }
    try {
      delivery.retryTimer = config.scheduler.schedule(() -> {
        delivery.retryTimer = null;
        submit(List.of(delivery));
      }, delay);
    } catch (RuntimeException e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + config.name + "': the scheduler refused a retry",
          e);
      drop(delivery, error);
      return;
    }
    // close() may have looked for retry timers before this one was set: whoever cancels the
    // timer re-sends the delivery, so it is sent once, and without waiting out a long backoff.
    if (!closingAlready && closing && delivery.cancelRetryTimer()) {
      submit(List.of(delivery));
    }
  }

  /**
   * Drops {@code delivery} (and returns true) if a call begun {@code delayNanos} from now might
   * still run after the handler's idempotency horizon: a call is abandoned up to one and a half
   * flush timeouts after it starts (see {@link FlushTimeout}), and a later commit must still find
   * the sink remembering the batch id.
   */
  private boolean pastHorizon(Delivery<K> delivery, long delayNanos) {
    long horizon = target.horizonNanos();
    if (horizon == Long.MAX_VALUE) {
      return false;
    }
    long age = config.ticker.read() - delivery.handedOverNanos;
    long longestCall = config.flushTimeoutNanos + config.flushTimeoutNanos / 2;
    if (age + delayNanos + longestCall <= horizon) {
      return false;
    }
    Exception last = delivery.lastError;
    drop(delivery, new RetryHorizonException(Duration.ofNanos(horizon), Duration.ofNanos(age),
        (last != null) ? last : new IllegalStateException("no earlier failure recorded")));
    return true;
  }

  private void notifyFailed(Delivery<K> delivery, Exception error, long handlerNanos,
      long retryDelay) {
    tell(l -> l.failed(config.name, delivery.keys(), delivery.sum, delivery.attempt, error,
        handlerNanos, retryDelay));
  }

  /** Drops {@code delivery} unless its outcome is decided; calls onDrop once. */
  void drop(Delivery<K> delivery, Exception error) {
    if (!delivery.casState(Delivery.PENDING, Delivery.DROPPED)) {
      return;
    }
    Outcomes.addSaturated(outcomes.droppedSum, delivery.sum);
    dropped(delivery, delivery.id, delivery.counts(), delivery.sum, delivery.attempt, error,
        () -> target.onDrop(delivery, delivery.attempt, error));
    // Last: close() returns once nothing is in flight, so onDrop and the listener have run.
    settle(delivery);
    delivery.done.completeExceptionally(error);
  }

  /**
   * Reports dropped counts (all of a delivery's, or one rejected key's) to JFR, {@code onDrop}
   * and the listener; the caller has decided the outcome and counted the sum.
   */
  private void dropped(Delivery<K> delivery, @Nullable String id, Map<K, Long> counts, long sum,
      int attempts, Exception error, Runnable onDrop) {
    DropEvent event = new DropEvent();
    if (event.isEnabled()) {
      event.buffer = config.name;
      event.batchId = id;
      event.keys = counts.size();
      event.sum = sum;
      event.attempts = attempts;
      event.reason = String.valueOf(error);
      event.commit();
    }
    try {
      onDrop.run();
    } catch (Exception | Error e) {
      LOGGER.log(Level.ERROR, "StatBuffer '" + config.name + "': onDrop threw for "
          + target.describe(delivery), e);
    }
    tell(l -> l.dropped(config.name, counts.size(), sum, error));
  }

  private void settle(Delivery<K> delivery) {
    if (durable != null && !delivery.isKept()) {
      durable.settle(delivery); // before it leaves inFlight: close() then finds it marked
    }
    pending.release(delivery.windows);
    if (delivery.noCallRunning()) {
      delivery.forgetNumber(); // else the last call to end does
    }
    inFlight.remove(delivery);
  }

  /**
   * Drops {@code delivery} at the end of close()'s time, or in a durable buffer keeps it: its
   * record stays in the journal for the next start, and onDrop is not called.
   */
  private void dropOrKeep(Delivery<K> delivery, Exception error) {
    if (durable == null || delivery.record == null) {
      drop(delivery, error);
    } else if (delivery.casState(Delivery.PENDING, Delivery.KEPT)) {
      Outcomes.addSaturated(outcomes.keptSum, delivery.sum);
      settle(delivery);
      delivery.done.completeExceptionally(error);
    }
  }

  /** Tells the listener about a refused increment. */
  void rejected(long delta) {
    tell(l -> l.rejected(config.name, delta));
  }

  /** Tells the listener, if any, guarding against what it throws. */
  private void tell(Consumer<BufferListener> event) {
    outcomes.tell(event);
  }

  /**
   * The futures of deliveries carrying {@code key} (or all, when key is null); those waiting out a
   * backoff go into {@code resend}, to be sent now. Under the hand-over lock.
   */
  void collect(@Nullable Object key, List<CompletableFuture<Void>> waits,
      @Nullable List<Delivery<K>> resend) {
    for (Delivery<K> delivery : inFlight) {
      if (key == null || delivery.contains(key)) {
        waits.add(delivery.done);
        if (resend != null && delivery.cancelRetryTimer()) {
          resend.add(delivery);
        }
      }
    }
  }

  /** Starts closing: retries shorten their backoff to what is left of the shutdown timeout. */
  void beginClose(long deadline) {
    closeDeadline = deadline;
    closing = true;
  }

  boolean isClosing() {
    return closing;
  }

  /**
   * Waits until nothing is in flight or the close deadline passes, then drops what is left
   * (except the delivery whose handler called close(), which settles when it returns).
   */
  void awaitAll() {
    Delivery<K> own = running.get();
    if (own != null) {
      releaseRestOfTask();
    }
    boolean interrupted = false;
    for (;;) {
      // Deliveries settle concurrently: take one with hasNext()/next() on one iterator, never
      // isEmpty() and then next() on another (the stress test caught that race).
      Iterator<Delivery<K>> iterator = inFlight.iterator();
      long remaining = closeDeadline - config.ticker.read();
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
        "StatBuffer '" + config.name + "' shutdown timeout elapsed before delivery");
    for (Delivery<K> delivery : inFlight) {
      if (delivery == own) {
        continue;
      }
      Future<?> timer = delivery.retryTimer;
      if (timer != null) {
        timer.cancel(/* mayInterruptIfRunning= */ false);
      }
      Exception last = delivery.lastError;
      if (last != null) {
        timeout.addSuppressed(last);
      }
      dropOrKeep(delivery, (last != null) ? last : timeout);
    }
    awaitReports(own);
    DropLog.flush(); // the summary of the default onDrop's last drops, if any
  }

  /**
   * Waits for drops that another thread decided: a call failing as the deadline passed drops its
   * delivery itself (the state CAS went to it, so close()'s drop did nothing) and may still be in
   * {@code onDrop}. close() returns after every {@code onDrop}, so it waits for those reports (a
   * drop completes the delivery's future last), bounded by the shutdown timeout once more, since
   * {@code onDrop} is the user's code.
   */
  private void awaitReports(@Nullable Delivery<K> own) {
    long deadline = config.ticker.read() + config.shutdownTimeoutNanos;
    boolean interrupted = false;
    for (Delivery<K> delivery : inFlight) {
      if (delivery == own || delivery.isPending()) {
        continue; // the running handler's own delivery settles when it returns
      }
      long remaining = deadline - config.ticker.read();
      if (remaining <= 0) {
        break;
      }
      try {
        delivery.done.get(remaining, TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // Reported (exceptionally: a drop), or its onDrop is still running past the bound.
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether close() is being called from one of this buffer's handlers. */
  boolean calledFromHandler() {
    return running.get() != null;
  }

  /** The age of the oldest delivery in flight, in nanoseconds; 0 when none is. */
  long oldestHandedOverNanos(long now) {
    long oldest = 0;
    for (Delivery<K> delivery : inFlight) {
      oldest = Math.max(oldest, now - delivery.handedOverNanos);
    }
    return oldest;
  }

  /** The outcome sums, for stats. */
  Outcomes outcomes() {
    return outcomes;
  }

  private static String newSender() {
    byte[] bytes = new byte[12];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }
}
