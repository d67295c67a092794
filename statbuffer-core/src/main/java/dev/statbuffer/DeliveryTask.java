package dev.statbuffer;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An executor task: its deliveries, run in order by the thread that runs the task, unless the
 * rest is released first (when a call in it is abandoned, or its handler calls close()). Each
 * index is claimed once, by the runner or by the one release, through {@code next}.
 *
 * <p>Thread-safe: {@link #claim} and {@link #releaseRest} may race; each index goes to one.
 */
final class DeliveryTask<K> {
  final List<Delivery<K>> deliveries;
  private final AtomicInteger next = new AtomicInteger();

  DeliveryTask(List<Delivery<K>> deliveries) {
    this.deliveries = deliveries;
  }

  /** The next index to run, or -1 when none is left (all run, or the rest released). */
  int claim() {
    int i = next.getAndIncrement();
    return (i < deliveries.size()) ? i : -1;
  }

  /** Claims every index not run yet; the deliveries for another task. */
  List<Delivery<K>> releaseRest() {
    int from = next.getAndSet(deliveries.size());
    return (from < deliveries.size())
        ? List.copyOf(deliveries.subList(from, deliveries.size())) : List.of();
  }
}
