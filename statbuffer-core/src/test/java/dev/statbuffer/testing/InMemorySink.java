package dev.statbuffer.testing;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The reference sink: totals in memory, exactly-once through a set of applied batch ids.
 * Thread-safe.
 */
public final class InMemorySink<K> implements BatchFlushHandler<K> {
  private final Map<K, Long> totals = new ConcurrentHashMap<>();
  private final Set<String> applied = ConcurrentHashMap.newKeySet();

  @Override
  public synchronized void flush(FlushBatch<K> batch) {
    if (applied.add(batch.id())) {
      batch.counts().forEach((key, count) -> totals.merge(key, count, Long::sum));
    }
  }

  /** The total of {@code key}; 0 when none. */
  public long total(K key) {
    return totals.getOrDefault(key, 0L);
  }

  /** A copy of all totals. */
  public Map<K, Long> totals() {
    return Map.copyOf(totals);
  }
}
