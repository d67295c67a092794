package dev.statbuffer.testing;

import dev.statbuffer.FlushBatch;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** A hand-made {@link FlushBatch} for sink tests. Immutable. */
public record TestBatch<K>(String id, Map<K, Long> counts, int attempt) implements FlushBatch<K> {

  /** Creates a batch with a fresh random id, first attempt. */
  public static <K> TestBatch<K> of(Map<K, Long> counts) {
    return new TestBatch<>(UUID.randomUUID().toString(), counts, 1);
  }

  public TestBatch {
    counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
  }

  /** The same batch delivered again, as the buffer does on a retry. */
  public TestBatch<K> retry() {
    return new TestBatch<>(id, counts, attempt + 1);
  }
}
