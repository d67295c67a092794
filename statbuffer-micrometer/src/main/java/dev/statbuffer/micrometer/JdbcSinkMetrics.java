package dev.statbuffer.micrometer;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.jdbc.JdbcSinkStats;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * Micrometer meters for one {@link JdbcSink}: function counters over {@link JdbcSink#stats()},
 * each tagged {@code buffer=<name>}, {@code sink=jdbc} and the extra tags given to the
 * constructor.
 *
 * <ul>
 *   <li>{@code statbuffer.sink.flushes}: calls of {@link JdbcSink#flush} that finished,
 *       successful or not ({@code batches + failures})
 *   <li>{@code statbuffer.sink.failures}: calls that threw
 *   <li>{@code statbuffer.sink.batches}, tagged {@code outcome=applied} (counts written) or
 *       {@code outcome=duplicate} (acknowledged without writing: the ledger already held the
 *       batch id, so this was a retry of a batch that had committed)
 *   <li>{@code statbuffer.sink.rows}: counter rows written
 *   <li>{@code statbuffer.sink.statements}: SQL statements sent, {@code COMMIT} and
 *       {@code ROLLBACK} included; each is one round trip to the database
 *   <li>{@code statbuffer.sink.ledger.pruned}: ledger rows deleted after the retention
 *   <li>{@code statbuffer.sink.rejected}: keys the database refused for good (a data error such as
 *       a count past its column's range), each dropped by the buffer under an id of its own
 * </ul>
 *
 * <pre>{@code
 * StatBuffer<String> views = StatBuffer.newBuilder().name("page-views").buildBatched(sink);
 * new JdbcSinkMetrics(views.name(), sink).bindTo(registry);
 * }</pre>
 *
 * <p>The meters hold the sink through a weak reference. The {@code sink} tag keeps these meters
 * apart from a {@link RedisSinkMetrics} of the same buffer; two JDBC sinks fed by one buffer need
 * an extra tag (for example {@code table=...}) to be told apart.
 *
 * <p>Needs {@code statbuffer-jdbc} on the class path, an optional dependency of this module.
 * Thread-safe (immutable): {@link #bindTo} may be called from any thread, for any number of
 * registries.
 */
public final class JdbcSinkMetrics implements MeterBinder {
  private final SinkCounters<JdbcSink<?>, JdbcSinkStats> counters;

  /**
   * Creates a binder for {@code sink}, its meters tagged {@code buffer=<buffer>} and
   * {@code sink=jdbc}.
   *
   * @param buffer the name of the buffer the sink serves
   *     ({@link dev.statbuffer.StatBuffer#name()}), not null
   * @param sink the sink, not null
   * @throws NullPointerException if an argument is null
   */
  public JdbcSinkMetrics(String buffer, JdbcSink<?> sink) {
    this(buffer, sink, Tags.empty());
  }

  /**
   * Creates a binder for {@code sink}, its meters tagged {@code buffer=<buffer>},
   * {@code sink=jdbc} and {@code extraTags}. {@code buffer} and {@code sink} tags among the extra
   * tags are replaced.
   *
   * @param buffer the name of the buffer the sink serves, not null
   * @param sink the sink, not null
   * @param extraTags tags added to every meter, not null
   * @throws NullPointerException if an argument is null
   */
  public JdbcSinkMetrics(String buffer, JdbcSink<?> sink, Iterable<Tag> extraTags) {
    this.counters = new SinkCounters<>(buffer, sink, JdbcSink::stats, extraTags, "jdbc");
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
    counters.register(registry, "statbuffer.sink.flushes", s -> s.batches() + s.failures(),
        "Calls of the sink's flush that finished, successful or not");
    counters.register(registry, "statbuffer.sink.failures", JdbcSinkStats::failures,
        "Calls of the sink's flush that threw");
    counters.register(registry, "statbuffer.sink.batches", "applied", JdbcSinkStats::applied,
        "Batches acknowledged by the sink, by outcome: applied, or duplicate (already in the "
            + "ledger)");
    counters.register(registry, "statbuffer.sink.batches", "duplicate", JdbcSinkStats::duplicates,
        "Batches acknowledged by the sink, by outcome: applied, or duplicate (already in the "
            + "ledger)");
    counters.register(registry, "statbuffer.sink.rows", JdbcSinkStats::rows,
        "Counter rows written");
    counters.register(registry, "statbuffer.sink.statements", JdbcSinkStats::statements,
        "SQL statements sent (each one round trip), COMMIT and ROLLBACK included");
    counters.register(registry, "statbuffer.sink.ledger.pruned",
        JdbcSinkStats::prunedLedgerRows, "Ledger rows deleted after the retention");
    counters.register(registry, "statbuffer.sink.rejected", JdbcSinkStats::rejectedKeys,
        "Keys the database refused for good (data errors), dropped by the buffer");
  }

  /**
   * Describes the binder by the tags of its meters.
   *
   * @return a description
   */
  @Override
  public String toString() {
    return "JdbcSinkMetrics[" + counters.tags() + "]";
  }
}
