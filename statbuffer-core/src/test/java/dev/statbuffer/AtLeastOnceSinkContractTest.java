package dev.statbuffer;

import dev.statbuffer.testing.SinkContract;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The at-least-once profile of {@link SinkContract}, held by a sink with no memory of batch ids
 * (it applies every call): the profile a future sink without a ledger runs.
 */
class AtLeastOnceSinkContractTest extends SinkContract {
  private final Map<String, Map<String, Long>> stores = new ConcurrentHashMap<>();

  @Override
  protected Guarantee guarantee() {
    return Guarantee.AT_LEAST_ONCE;
  }

  @Override
  protected BatchFlushHandler<String> newSink(String namespace) {
    Map<String, Long> store = stores.computeIfAbsent(namespace, ns -> new ConcurrentHashMap<>());
    return batch -> batch.counts().forEach((key, count) -> store.merge(key, count, Long::sum));
  }

  @Override
  protected long readTotal(String namespace, String key) {
    return stores.getOrDefault(namespace, Map.of()).getOrDefault(key, 0L);
  }
}
