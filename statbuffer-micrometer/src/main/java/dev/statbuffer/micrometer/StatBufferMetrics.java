package dev.statbuffer.micrometer;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.BufferListener;
import dev.statbuffer.StatBuffer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Micrometer meters for one {@link StatBuffer}, read from its {@link StatBuffer#stats()} and
 * {@link StatBuffer#lag()} whenever the registry publishes. Every meter is tagged
 * {@code buffer=<buffer.name()>} plus the extra tags given to the constructor:
 *
 * <ul>
 *   <li>{@code statbuffer.pending.keys} (gauge): windows not yet delivered or dropped, open or
 *       handed over and awaiting delivery or a retry
 *   <li>{@code statbuffer.lag} (time gauge, seconds in most registries): the age of the oldest
 *       count not yet delivered, counts awaiting a retry included ({@code lag().max()})
 *   <li>{@code statbuffer.delivered} (function counter): the sum of the counts the handler
 *       acknowledged
 *   <li>{@code statbuffer.dropped} (function counter): the sum of the counts handed to
 *       {@code onDrop}
 *   <li>{@code statbuffer.rejected} (function counter): increments refused at {@code maxKeys}
 *   <li>{@code statbuffer.flush.failures} (function counter): handler calls that threw
 * </ul>
 *
 * <p>The timer of handler calls, {@code statbuffer.handler}, needs the buffer's listener hook:
 * pass {@link #listener(MeterRegistry)} to {@link StatBuffer.Builder#listener} before building.
 *
 * <pre>{@code
 * StatBuffer<String> views = StatBuffer.newBuilder()
 *     .name("page-views")
 *     .listener(StatBufferMetrics.listener(registry))
 *     .build(repository::addViews);
 * new StatBufferMetrics(views).bindTo(registry);
 * }</pre>
 *
 * <p>The meters hold the buffer through a weak reference, so they do not keep a discarded buffer
 * alive (its gauges then read {@code NaN}); this binder holds it strongly until the binder itself
 * is garbage. A closed buffer's meters keep their final values. Meters are identified by name and
 * tags, so two buffers bound to one registry need different names (or different extra tags):
 * otherwise the second binding finds the first buffer's meters and adds nothing.
 *
 * <p>The sums may fall when deltas are negative ({@code increment(key, -3)}); Micrometer's
 * counters assume they only rise, so registries that publish counters as deltas would report a
 * negative step then.
 *
 * <p>Thread-safe (immutable): {@link #bindTo} may be called from any thread, for any number of
 * registries.
 */
public final class StatBufferMetrics implements MeterBinder {
  static final String BUFFER_TAG = "buffer";
  static final String OUTCOME_TAG = "outcome";

  private final StatBuffer<?> buffer;
  private final Tags tags;

  /**
   * Creates a binder for {@code buffer}, its meters tagged {@code buffer=<buffer.name()>}.
   *
   * @param buffer the buffer, not null
   * @throws NullPointerException if {@code buffer} is null
   */
  public StatBufferMetrics(StatBuffer<?> buffer) {
    this(buffer, Tags.empty());
  }

  /**
   * Creates a binder for {@code buffer}, its meters tagged {@code buffer=<buffer.name()>} and
   * {@code extraTags}. A {@code buffer} tag among the extra tags is replaced by the name.
   *
   * @param buffer the buffer, not null
   * @param extraTags tags added to every meter, not null
   * @throws NullPointerException if {@code buffer} or {@code extraTags} is null
   */
  public StatBufferMetrics(StatBuffer<?> buffer, Iterable<Tag> extraTags) {
    this.buffer = requireNonNull(buffer, "buffer");
    this.tags = Tags.of(requireNonNull(extraTags, "extraTags")).and(BUFFER_TAG, buffer.name());
  }

  /**
   * Registers the buffer's gauges and function counters in {@code registry}. Binding the same
   * buffer to a registry again registers nothing new. Thread-safe.
   *
   * @param registry the registry, not null
   * @throws NullPointerException if {@code registry} is null
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    requireNonNull(registry, "registry");
    // The lambdas capture nothing: the meters must hold the buffer only through their weak
    // reference (a lambda reading a field of this binder would hold the binder and so the buffer).
    Gauge.builder("statbuffer.pending.keys", buffer, b -> b.stats().pendingKeys())
        .description("Windows not yet delivered or dropped: open, or handed over and awaiting "
            + "delivery or a retry")
        .tags(tags)
        .register(registry);
    TimeGauge.builder("statbuffer.lag", buffer, TimeUnit.NANOSECONDS,
            b -> b.lag().max().toNanos())
        .description("Age of the oldest count not yet delivered, counts awaiting a retry "
            + "included")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder("statbuffer.delivered", buffer, b -> b.stats().deliveredSum())
        .description("Sum of the counts acknowledged by the flush handler")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder("statbuffer.dropped", buffer, b -> b.stats().droppedSum())
        .description("Sum of the counts handed to onDrop after the last attempt or the "
            + "shutdown timeout")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder("statbuffer.rejected", buffer, b -> b.stats().rejected())
        .description("Increments refused because maxKeys windows were pending")
        .tags(tags)
        .register(registry);
    FunctionCounter.builder("statbuffer.flush.failures", buffer, b -> b.stats().failures())
        .description("Flush handler calls that threw (or could not be submitted)")
        .tags(tags)
        .register(registry);
  }

  /**
   * Returns a listener that times the buffer's handler calls in {@code registry}: a timer
   * {@code statbuffer.handler} tagged {@code buffer=<name>} (the name each listener call carries)
   * and {@code outcome=success} (from {@link BufferListener#delivered}) or {@code outcome=failure}
   * (from {@link BufferListener#failed}; a call the executor refused counts with a duration of 0).
   * Pass it to {@link StatBuffer.Builder#listener} before building; one listener may serve
   * several buffers. The timers do not carry the extra tags of a {@link StatBufferMetrics}; use
   * the registry's common tags for tags every meter needs.
   *
   * <p>A buffer takes one listener: to combine this one with your own, call both from a listener
   * of yours. The returned listener is thread-safe, allocates nothing once a buffer's two timers
   * exist, and never blocks on the buffer.
   *
   * @param registry the registry for the timers, not null
   * @return a new listener
   * @throws NullPointerException if {@code registry} is null
   */
  public static BufferListener listener(MeterRegistry registry) {
    return new HandlerTimers(requireNonNull(registry, "registry"));
  }

  /**
   * Describes the binder by the tags of its meters.
   *
   * @return a description
   */
  @Override
  public String toString() {
    return "StatBufferMetrics[" + tags + "]";
  }

  /** The listener of {@link #listener}: two timers per buffer name, made on first use. */
  private static final class HandlerTimers implements BufferListener {
    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Timer> successes = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> failures = new ConcurrentHashMap<>();

    HandlerTimers(MeterRegistry registry) {
      this.registry = registry;
    }

    @Override
    public void delivered(String buffer, int keys, long sum, int attempt, long handlerNanos) {
      timer(successes, buffer, "success").record(handlerNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void failed(String buffer, int keys, long sum, int attempt, Exception error,
        long handlerNanos, long retryDelayNanos) {
      timer(failures, buffer, "failure").record(handlerNanos, TimeUnit.NANOSECONDS);
    }

    private Timer timer(ConcurrentHashMap<String, Timer> timers, String buffer, String outcome) {
      Timer timer = timers.get(buffer);
      if (timer == null) {
        timer = timers.computeIfAbsent(buffer, name -> Timer.builder("statbuffer.handler")
            .description("Flush handler calls (one per key, or one per batch), by outcome")
            .tags(BUFFER_TAG, name, OUTCOME_TAG, outcome)
            .register(registry));
      }
      return timer;
    }

    @Override
    public String toString() {
      return "StatBufferMetrics.listener[" + registry.getClass().getSimpleName() + "]";
    }
  }
}
