package dev.statbuffer.micrometer;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The function counters a sink binder registers: one per field of the sink's stats, tagged
 * {@code buffer=<name>}, {@code sink=<kind>} and the extra tags. The meters hold the sink weakly;
 * their functions hold only how to read the stats, never the sink. Immutable and thread-safe.
 *
 * @param <S> the sink type
 * @param <T> its stats type
 */
final class SinkCounters<S, T> {
  private final S sink;
  private final Function<S, T> stats;
  private final Tags tags;

  SinkCounters(String buffer, S sink, Function<S, T> stats, Iterable<Tag> extraTags,
      String kind) {
    requireNonNull(buffer, "buffer");
    this.sink = requireNonNull(sink, "sink");
    this.stats = stats;
    this.tags = Tags.of(requireNonNull(extraTags, "extraTags"))
        .and(StatBufferMetrics.BUFFER_TAG, buffer, "sink", kind);
  }

  /** The tags every meter carries. */
  Tags tags() {
    return tags;
  }

  /** Registers a counter over one field of the stats. */
  void register(MeterRegistry registry, String name, ToDoubleFunction<T> read,
      String description) {
    register(registry, name, tags, read, description);
  }

  /** Registers a counter over one field of the stats, tagged {@code outcome=<outcome>}. */
  void register(MeterRegistry registry, String name, String outcome, ToDoubleFunction<T> read,
      String description) {
    register(registry, name, tags.and(StatBufferMetrics.OUTCOME_TAG, outcome), read,
        description);
  }

  private void register(MeterRegistry registry, String name, Tags meterTags,
      ToDoubleFunction<T> read, String description) {
    Function<S, T> stats = this.stats;
    FunctionCounter.builder(name, sink, s -> read.applyAsDouble(stats.apply(s)))
        .description(description)
        .tags(meterTags)
        .register(registry);
  }
}
