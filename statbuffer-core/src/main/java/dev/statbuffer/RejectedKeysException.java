package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Thrown by a handler to say that a call was applied except for some keys that the store refused
 * for good: a data error that does not heal by waiting, such as a count past its column's range, a
 * key longer than its column, or a Redis key of the wrong type.
 *
 * <p>The buffer does not retry the call. It counts the other keys as delivered and hands each
 * rejected key to {@code onDrop} at once, as a batch of its own holding that key's count, under
 * the {@linkplain Rejection#id() id} the handler gives (so that a sink that replays dead letters
 * applies it exactly once), with the rejection's cause. {@code deliveredSum + droppedSum} stays
 * exact.
 *
 * <p>A {@link FlushHandler} throws it for the one key it was called with: the count is dropped at
 * once instead of being retried. Throw it only for errors that waiting cannot fix; connection
 * failures, timeouts, deadlocks and failovers should be thrown as they are, so that the call is
 * retried.
 *
 * <p>Unchecked, so that a sink's public {@code flush} can throw it without changing its
 * signature. Immutable and thread-safe.
 */
public final class RejectedKeysException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private static final int MAX_ID_LENGTH = 64;

  private final transient List<Rejection> rejections;

  /**
   * Reports rejected keys; every other key of the call was applied.
   *
   * @param rejections one per rejected key, at least one, each key once
   * @throws IllegalArgumentException if {@code rejections} is empty or names a key twice
   */
  public RejectedKeysException(List<Rejection> rejections) {
    super(message(rejections), rejections.get(0).cause());
    this.rejections = List.copyOf(rejections);
    Set<Object> keys = new HashSet<>();
    for (Rejection rejection : this.rejections) {
      if (!keys.add(rejection.key())) {
        throw new IllegalArgumentException("key rejected twice: " + rejection.key());
      }
    }
  }

  /**
   * Reports one rejected key; every other key of the call was applied.
   *
   * @param id the id its count is dropped under, or null for the buffer's
   * @param key the rejected key
   * @param cause what the store said
   */
  public RejectedKeysException(@Nullable String id, Object key, Exception cause) {
    this(List.of(new Rejection(id, key, cause)));
  }

  /**
   * The rejected keys.
   *
   * @return one per key, unmodifiable, never empty
   */
  public List<Rejection> rejections() {
    return rejections;
  }

  private static String message(List<Rejection> rejections) {
    requireNonNull(rejections, "rejections");
    if (rejections.isEmpty()) {
      throw new IllegalArgumentException("no rejected keys");
    }
    Rejection first = rejections.get(0);
    String more = (rejections.size() == 1) ? "" : " (and " + (rejections.size() - 1) + " more)";
    return "the store rejected key " + first.key() + more + ": " + first.cause();
  }

  /**
   * One key the store refused for good.
   *
   * @param id the id under which the key's count is dropped (and so kept by a dead-letter file and
   *     replayed): at most 64 characters of {@code [0-9a-z-]}, never the id of the call's batch,
   *     and the same each time the same batch is refused the same way, so that a replay applies
   *     it once. A sink with a ledger gives one derived from the batch id; null lets the buffer
   *     derive one from the batch id and the key's place in the list.
   * @param key the rejected key, one of the call's keys
   * @param cause what the store said; its message should name the key, the column or Redis key
   *     and the fix
   */
  public record Rejection(@Nullable String id, Object key, Exception cause) {
    /**
     * Checks the components.
     *
     * @param id the id to drop it under, or null for one the buffer derives
     * @param key the rejected key, not null
     * @param cause why the store refused it, not null
     * @throws IllegalArgumentException if the id is malformed
     */
    public Rejection {
      requireNonNull(key, "key");
      requireNonNull(cause, "cause");
      if (id != null && !validId(id)) {
        throw new IllegalArgumentException(
            "a rejection id is 1 to 64 characters of [0-9a-z-]: " + id);
      }
    }
  }

  static boolean validId(String id) {
    if (id.isEmpty() || id.length() > MAX_ID_LENGTH) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-')) {
        return false;
      }
    }
    return true;
  }
}
