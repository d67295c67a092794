package dev.statbuffer;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Deliveries made on a thread that must not run a handler (one calling {@code increment}: a huge
 * delta, a full cell), on their way to the executor through the {@link Scheduler}: a direct
 * executor would otherwise run the handler on the caller (issue 12, finding 9).
 *
 * <h2>What may race, and why nothing is stranded</h2>
 * A hand-off waits in {@code queued} until the scheduler runs it, or {@code flush}/{@code close}
 * submit what is queued (a test's manual scheduler may never run it). Whoever runs a hand-off
 * first submits it, once: a CAS on the hand-off decides. A hand-off made after {@code close()}
 * looked at the queue sees {@code closing} and submits itself at once: the add to the queue and
 * the read of {@code closing} are ordered against close()'s write of {@code closing} and its read
 * of the queue (both volatile), so one side always sees the other.
 *
 * <p>Thread-safe.
 */
final class Handoffs<K> {
  private final Config config;
  private final Consumer<List<Delivery<K>>> submit;
  private final BooleanSupplier closing;
  private final Set<Handoff> queued = ConcurrentHashMap.newKeySet();

  Handoffs(Config config, Consumer<List<Delivery<K>>> submit, BooleanSupplier closing) {
    this.config = config;
    this.submit = submit;
    this.closing = closing;
  }

  /** Submits {@code deliveries} through the scheduler. */
  // Nothing reads the future: a hand-off is never cancelled (flush and close run it themselves
  // through submitQueued, and whoever runs it first wins its CAS), and submitting handles an
  // executor's refusal itself.
  @SuppressWarnings("FutureReturnValueIgnored")
  void submitLater(List<Delivery<K>> deliveries) {
    if (deliveries.isEmpty()) {
      return;
    }
    Handoff handoff = new Handoff(deliveries);
    queued.add(handoff);
    if (closing.getAsBoolean()) {
      handoff.run(); // close() may have looked at the queue before the add
      return;
    }
    try {
      config.scheduler.schedule(handoff, 0);
    } catch (RuntimeException e) {
      Logs.logger().log(Level.ERROR, "StatBuffer '" + config.name + "': the scheduler refused a "
          + "hand-over; submitting it on this thread", e);
      handoff.run();
    }
  }

  /** Submits now whatever is queued and not yet run (flush and close). */
  void submitQueued() {
    for (Handoff handoff : queued) {
      handoff.run();
    }
  }

  /** One hand-off; run once, by whoever runs it first. */
  private final class Handoff extends AtomicBoolean implements Runnable {
    private static final long serialVersionUID = 1L;
    private final transient List<Delivery<K>> deliveries;

    Handoff(List<Delivery<K>> deliveries) {
      this.deliveries = deliveries;
    }

    @Override
    public void run() {
      if (compareAndSet(false, true)) {
        queued.remove(this);
        submit.accept(deliveries);
      }
    }
  }
}
