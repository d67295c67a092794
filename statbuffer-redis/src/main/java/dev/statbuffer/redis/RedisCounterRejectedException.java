package dev.statbuffer.redis;

import org.jspecify.annotations.Nullable;

/**
 * Why Redis refused one buffer key's count for good: its counter holds another type
 * ({@code WRONGTYPE}), a value that is not a 64-bit integer ({@code NOTINTEGER}), or a value the
 * count would push past the 64-bit range ({@code OVERFLOW}). A {@link RedisSink} reports it as the
 * cause of a {@link dev.statbuffer.RejectedKeysException.Rejection}; the buffer hands it to
 * {@code onDrop} with the key's count, under the rejection's id. The message names the buffer key,
 * the Redis key (and field), the count, Redis' reason and the fix.
 *
 * <p>Immutable and safe to share between threads.
 */
public final class RedisCounterRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The Redis key of the refused counter. */
  private final String redisKey;
  /** The hash field, or null for a string counter. */
  private final @Nullable String field;
  /** The buffer key's count that was not added. */
  private final long count;
  /** Redis' reason: an error code and what it means. */
  private final String reason;

  /**
   * A rejection of one buffer key's count.
   *
   * @param message the whole story: buffer key, counter, count, reason and fix
   * @param redisKey the refused counter's Redis key
   * @param field its hash field, or null for a string counter
   * @param count the buffer key's count that was not added
   * @param reason Redis' reason
   */
  RedisCounterRejectedException(String message, String redisKey, @Nullable String field, long count,
                                String reason) {
    super(message);
    this.redisKey = redisKey;
    this.field = field;
    this.count = count;
    this.reason = reason;
  }

  /**
   * The Redis key of the refused counter.
   *
   * @return the key
   */
  public String redisKey() {
    return redisKey;
  }

  /**
   * The hash field of the refused counter.
   *
   * @return the field, or null for a string counter
   */
  public @Nullable String field() {
    return field;
  }

  /**
   * The buffer key's count that was not added.
   *
   * @return the count
   */
  public long count() {
    return count;
  }

  /**
   * Redis' reason: an error code ({@code WRONGTYPE}, {@code NOTINTEGER}, {@code OVERFLOW} or
   * {@code ERR}) and what it means.
   *
   * @return the reason
   */
  public String reason() {
    return reason;
  }
}
