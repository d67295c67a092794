package dev.statbuffer;

import dev.statbuffer.testing.InMemorySink;
import dev.statbuffer.testing.SinkContract;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

class InMemorySinkContractTest extends SinkContract {
  private final Map<String, InMemorySink<String>> sinks = new ConcurrentHashMap<>();

  @Override
  protected BatchFlushHandler<String> newSink(String namespace) {
    return sinks.computeIfAbsent(namespace, ns -> new InMemorySink<>());
  }

  @Override
  protected long readTotal(String namespace, String key) {
    return sinks.get(namespace).total(key);
  }
}
