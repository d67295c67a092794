package dev.statbuffer.demo;

import dev.statbuffer.BatchFlushHandler;
import java.util.List;
import java.util.Map;

/**
 * A place the demo stores counts in: one of the repository's sinks plus what the demo needs
 * around it (creating the tables, reading the totals back, the sink's own counters).
 *
 * <p>Implementations are used by one thread, except {@link #sink()} (called by the buffer's
 * threads) and {@link #counters()} (called by the progress line), which are thread-safe.
 */
interface DemoStore extends AutoCloseable {

  /**
   * Says what and where, for the header line ("PostgreSQL jdbc:postgresql://..., table ...").
   *
   * @return a one-line description
   */
  String describe();

  /**
   * Connects, and creates the tables if needed.
   *
   * @throws Exception if the store cannot be reached or prepared
   */
  void prepare() throws Exception;

  /**
   * The sink the buffer flushes to.
   *
   * @return the sink
   */
  BatchFlushHandler<String> sink();

  /**
   * The sink's counters since {@link #prepare()} ended.
   *
   * @return a snapshot
   */
  Counters counters();

  /**
   * What one store write is, in the plural ("SQL statements", "round trips").
   *
   * @return the unit
   */
  String writeUnit();

  /**
   * Reads back this run's totals: at least those of {@code keys} (a store that can list the
   * run's keys returns them all, so that a key the demo never wrote would show up too). Keys
   * without a stored total are absent.
   *
   * @param keys the keys the demo may have written
   * @return the totals found, by key
   * @throws Exception if the store cannot be read
   */
  Map<String, Long> readTotals(List<String> keys) throws Exception;

  /** Releases the connections. Never throws. */
  @Override
  void close();

  /**
   * A snapshot of a sink's counters.
   *
   * @param writes statements or round trips sent to the store
   * @param batches batches the sink acknowledged
   * @param rows counter rows (or keys) written
   */
  record Counters(long writes, long batches, long rows) {}
}
