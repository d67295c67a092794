package dev.statbuffer.redis;

import dev.statbuffer.FlushBatch;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A hand-made batch numbered as a buffer numbers its batches: a sender, a sequence number and
 * the sender's watermark of settled batches. Its id is {@code <sender>-<sequence base 36>}, as a
 * buffer's. Immutable.
 *
 * @param from the sender (hex digits)
 * @param sequence the number, from 1
 * @param settledBelow the watermark, at most {@code sequence}
 * @param counts the counts
 * @param attempt the attempt number
 * @param <K> the key type
 */
record NumberedBatch<K>(String from, long sequence, long settledBelow, Map<K, Long> counts,
                        int attempt) implements FlushBatch<K> {

  NumberedBatch {
    counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
  }

  /** Batch {@code sequence} of {@code sender}, first attempt. */
  static <K> NumberedBatch<K> of(String sender, long sequence, long settledBelow,
                                 Map<K, Long> counts) {
    return new NumberedBatch<>(sender, sequence, settledBelow, counts, 1);
  }

  @Override
  public String id() {
    return from + "-" + Long.toString(sequence, 36);
  }

  @Override
  public Optional<String> sender() {
    return Optional.of(from);
  }

  /** The same batch again, as a retry carries it, with the watermark read when it is sent. */
  NumberedBatch<K> retry(long settledBelow) {
    return new NumberedBatch<>(from, sequence, settledBelow, counts, attempt + 1);
  }

  /** The same batch, its id without its sender: what a dead-letter replay hands a sink. */
  FlushBatch<K> unnumbered() {
    return new dev.statbuffer.testing.TestBatch<>(id(), counts, 1);
  }
}
