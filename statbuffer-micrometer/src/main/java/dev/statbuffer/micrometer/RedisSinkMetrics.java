package dev.statbuffer.micrometer;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.redis.RedisSink;
import dev.statbuffer.redis.RedisSinkStats;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * Micrometer meters for one {@link RedisSink}: function counters over {@link RedisSink#stats()},
 * each tagged {@code buffer=<name>}, {@code sink=redis} and the extra tags given to the
 * constructor. A <em>part</em> is the share of a batch applied atomically: the whole batch on a
 * standalone server, one hash slot's share on Redis Cluster.
 *
 * <ul>
 *   <li>{@code statbuffer.sink.flushes}: calls of {@link RedisSink#flush}, successful or not
 *       (counted when they begin)
 *   <li>{@code statbuffer.sink.failures}: calls that threw
 *   <li>{@code statbuffer.sink.round.trips}: pipelined writes, each to one node (one per node a
 *       batch touches, plus re-sends after a server lost the script)
 *   <li>{@code statbuffer.sink.commands}: script calls sent, one per part and attempt
 *   <li>{@code statbuffer.sink.parts}, tagged {@code outcome=applied}, {@code outcome=duplicate}
 *       (found already applied through the batch marker, acknowledged without applying) or
 *       {@code outcome=failure}
 *   <li>{@code statbuffer.sink.increments}: counters incremented by applied parts
 *   <li>{@code statbuffer.sink.rejected}: counter increments Redis refused for good (a key of the
 *       wrong type, a value that is not an integer, an overflow), dropped by the buffer
 * </ul>
 *
 * <pre>{@code
 * StatBuffer<String> views = StatBuffer.newBuilder().name("page-views").buildBatched(sink);
 * new RedisSinkMetrics(views.name(), sink).bindTo(registry);
 * }</pre>
 *
 * <p>The meters hold the sink through a weak reference. The {@code sink} tag keeps these meters
 * apart from a {@link JdbcSinkMetrics} of the same buffer; two Redis sinks fed by one buffer need
 * an extra tag to be told apart.
 *
 * <p>Needs {@code statbuffer-redis} on the class path, an optional dependency of this module.
 * Thread-safe (immutable): {@link #bindTo} may be called from any thread, for any number of
 * registries.
 */
public final class RedisSinkMetrics implements MeterBinder {
  private final SinkCounters<RedisSink<?>, RedisSinkStats> counters;

  /**
   * Creates a binder for {@code sink}, its meters tagged {@code buffer=<buffer>} and
   * {@code sink=redis}.
   *
   * @param buffer the name of the buffer the sink serves
   *     ({@link dev.statbuffer.StatBuffer#name()}), not null
   * @param sink the sink, not null
   * @throws NullPointerException if an argument is null
   */
  public RedisSinkMetrics(String buffer, RedisSink<?> sink) {
    this(buffer, sink, Tags.empty());
  }

  /**
   * Creates a binder for {@code sink}, its meters tagged {@code buffer=<buffer>},
   * {@code sink=redis} and {@code extraTags}. {@code buffer} and {@code sink} tags among the extra
   * tags are replaced.
   *
   * @param buffer the name of the buffer the sink serves, not null
   * @param sink the sink, not null
   * @param extraTags tags added to every meter, not null
   * @throws NullPointerException if an argument is null
   */
  public RedisSinkMetrics(String buffer, RedisSink<?> sink, Iterable<Tag> extraTags) {
    this.counters = new SinkCounters<>(buffer, sink, RedisSink::stats, extraTags, "redis");
  }

  /**
   * Registers the sink's function counters in {@code registry}. Binding the same sink to a
   * registry again registers nothing new. Thread-safe.
   *
   * @param registry the registry, not null
   * @throws NullPointerException if {@code registry} is null
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    requireNonNull(registry, "registry");
    counters.register(registry, "statbuffer.sink.flushes", RedisSinkStats::batches,
        "Calls of the sink's flush, successful or not");
    counters.register(registry, "statbuffer.sink.failures", RedisSinkStats::failedBatches,
        "Calls of the sink's flush that threw");
    counters.register(registry, "statbuffer.sink.round.trips", RedisSinkStats::roundTrips,
        "Pipelined writes, each to one node");
    counters.register(registry, "statbuffer.sink.commands", RedisSinkStats::commands,
        "Script calls sent, one per part and attempt");
    String parts = "Parts of batches (one hash slot's share on a cluster), by outcome: applied, "
        + "duplicate (already applied) or failure";
    counters.register(registry, "statbuffer.sink.parts", "applied", RedisSinkStats::appliedParts, parts);
    counters.register(registry, "statbuffer.sink.parts", "duplicate", RedisSinkStats::skippedParts, parts);
    counters.register(registry, "statbuffer.sink.parts", "failure", RedisSinkStats::failedParts, parts);
    counters.register(registry, "statbuffer.sink.increments", RedisSinkStats::increments,
        "Counters incremented (INCRBY, HINCRBY) by applied parts");
    counters.register(registry, "statbuffer.sink.rejected", RedisSinkStats::rejectedIncrements,
        "Counter increments Redis refused for good (wrong type, not an integer, overflow)");
  }

  /**
   * Describes the binder by the tags of its meters.
   *
   * @return a description
   */
  @Override
  public String toString() {
    return "RedisSinkMetrics[" + counters.tags() + "]";
  }
}
