package dev.statbuffer.testing;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Passes batches to a sink and records what the buffer drops, with the reasons: for tests of
 * sinks that reject keys. Thread-safe.
 *
 * @param <K> the key type
 */
public final class DropRecorder<K> implements BatchFlushHandler<K> {
  /** The dropped batches, in the order onDrop heard of them. */
  public final List<FlushBatch<K>> dropped = new CopyOnWriteArrayList<>();
  /** The reason of each dropped batch, in the same order. */
  public final List<Exception> reasons = new CopyOnWriteArrayList<>();
  private final BatchFlushHandler<K> sink;

  /**
   * Records the drops of a buffer over {@code sink}.
   *
   * @param sink where the batches go
   */
  public DropRecorder(BatchFlushHandler<K> sink) {
    this.sink = sink;
  }

  @Override
  public void flush(FlushBatch<K> batch) throws Exception {
    sink.flush(batch);
  }

  @Override
  public void onDrop(FlushBatch<K> batch, Exception lastError) {
    dropped.add(batch);
    reasons.add(lastError);
  }
}
