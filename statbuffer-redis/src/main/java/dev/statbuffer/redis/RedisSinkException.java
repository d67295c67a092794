package dev.statbuffer.redis;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Thrown by {@link RedisSink#flush} when some part of a batch was not confirmed as applied. The
 * message names, for each failed part, the node, the hash slot, the first keys and what Redis
 * answered (or that it did not answer in time); {@link #failures()} has the same as values.
 *
 * <p>Parts not listed here were applied (or found already applied). With exactly-once on, the
 * buffer's retry of the same batch applies only the parts still missing. Immutable and safe to
 * share between threads.
 */
public final class RedisSinkException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** At most this many failures are spelled out in the message; {@link #failures()} has all. */
  static final int MESSAGE_FAILURES = 5;

  /** The id of the batch that failed. */
  private final String batchId;
  /** Every part that failed, in the order the batch first named them; never empty. */
  private final List<PartFailure> failures;

  /**
   * Creates the exception.
   *
   * @param batchId the id of the batch that failed
   * @param parts how many parts the batch had
   * @param failures the failed parts, not empty
   */
  RedisSinkException(String batchId, int parts, List<PartFailure> failures) {
    super(message(batchId, parts, failures), failures.get(0).cause());
    this.batchId = batchId;
    this.failures = List.copyOf(failures);
    for (int i = 1; i < failures.size() && i < MESSAGE_FAILURES; i++) {
      if (failures.get(i).cause() != null) {
        addSuppressed(failures.get(i).cause());
      }
    }
  }

  /**
   * The id of the batch that failed.
   *
   * @return the batch id
   */
  public String batchId() {
    return batchId;
  }

  /**
   * Every part that failed, in the order they were sent.
   *
   * @return the failures, unmodifiable and never empty
   */
  public List<PartFailure> failures() {
    return failures;
  }

  private static String message(String batchId, int parts, List<PartFailure> failures) {
    StringBuilder message = new StringBuilder()
        .append("Redis did not confirm ").append(failures.size()).append(" of ").append(parts)
        .append(parts == 1 ? " part" : " parts").append(" of batch ").append(batchId);
    for (int i = 0; i < failures.size() && i < MESSAGE_FAILURES; i++) {
      message.append(i == 0 ? ": " : "; ").append(failures.get(i));
    }
    if (failures.size() > MESSAGE_FAILURES) {
      message.append("; and ").append(failures.size() - MESSAGE_FAILURES).append(" more");
    }
    return message.toString();
  }

  /**
   * One part of a batch that failed. Immutable and serializable (as its exception is).
   *
   * @param node the node it was sent to, as {@code host:port}
   * @param slot the hash slot of the part, or -1 on a standalone server
   * @param keys the Redis keys of the part, in the order they were sent (sorted; a server
   *     error's reply names the offending key)
   * @param reply what Redis answered, or what went wrong on the way
   * @param cause the underlying exception, or null
   */
  public record PartFailure(String node, int slot, List<String> keys, String reply,
                            @Nullable Throwable cause) implements java.io.Serializable {

    /**
     * Creates a failure record.
     *
     * @param node the node, not null
     * @param slot the slot or -1
     * @param keys the keys, not null
     * @param reply the reply, not null
     * @param cause the cause, may be null
     */
    public PartFailure {
      Objects.requireNonNull(node, "node");
      keys = List.copyOf(keys);
      Objects.requireNonNull(reply, "reply");
    }

    @Override
    public String toString() {
      StringBuilder text = new StringBuilder("node ").append(node);
      if (slot >= 0) {
        text.append(" slot ").append(slot);
      }
      text.append(" keys [");
      for (int i = 0; i < keys.size() && i < 3; i++) {
        text.append(i == 0 ? "" : ", ").append(keys.get(i));
      }
      if (keys.size() > 3) {
        text.append(", ... (").append(keys.size()).append(" keys)");
      }
      return text.append("]: ").append(reply).toString();
    }
  }
}
