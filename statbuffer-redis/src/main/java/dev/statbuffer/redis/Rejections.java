package dev.statbuffer.redis;

import dev.statbuffer.RejectedKeysException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Turns the increments the script refused into the buffer's {@link RejectedKeysException}
 * rejections: one per buffer key, with a deterministic id and a cause naming the key, the
 * counter, the count, Redis' reason and the fix. Static methods only; thread-safe.
 *
 * <p>A rejection id is {@code <batch id>-<part>-d<index>}: {@code <part>} is the hash slot on a
 * cluster and {@code s} on a standalone server, {@code <index>} the buffer key's place among the
 * part's buffer keys (counters sorted, then the keys summed into one counter sorted by their
 * text). The same batch refused the same way gives the same ids, which a replay of the dropped
 * count uses as its batch id (and so as its marker). An id ends in {@code -<part>-d<digits>},
 * from which the batch id, part and index can be read back, so two rejections never share an id;
 * it has at least two dashes, so it is never a buffer's batch id (those have one). A batch id
 * too long for the suffix (a rejection id replayed and rejected again, a few times over) is
 * replaced by {@code h} and 32 hex digits of its SHA-256.
 */
final class Rejections {
  private static final int MAX_ID = 64;
  /** The characters of a rejection id. */
  private static final Pattern PLAIN = Pattern.compile("[0-9a-z-]+");

  private Rejections() {}

  /**
   * The rejections of a batch whose parts all have replies: one per buffer key of each increment
   * Redis refused, except in parts whose record was written for other counters (their refusals
   * name places in those counters).
   *
   * @param batchId the batch id
   * @param parts the batch's parts, each with its reply
   * @param hash whether the counters are hash fields
   * @return the rejections, empty if nothing was refused
   */
  static List<RejectedKeysException.Rejection> of(String batchId, List<Part> parts,
                                                  boolean hash) {
    List<RejectedKeysException.Rejection> rejections = new ArrayList<>();
    for (Part part : parts) {
      // RedisSink#tally throws before this when a part has no reply.
      PartScript.Reply reply = Objects.requireNonNull(part.reply, "reply");
      if (!reply.refusals().isEmpty() && reply.status() != PartScript.Status.FOREIGN) {
        collect(batchId, part, reply, hash, rejections);
      }
    }
    return rejections;
  }

  /** Adds a rejection per buffer key of each increment {@code part} refused ({@code reply}'s). */
  static void collect(String batchId, Part part, PartScript.Reply reply, boolean hash,
                      List<RejectedKeysException.Rejection> into) {
    List<Part.Counter> increments = part.increments();
    int[] firstShare = new int[increments.size()];
    int shares = 0;
    for (int i = 0; i < increments.size(); i++) {
      firstShare[i] = shares;
      shares += increments.get(i).shares().size();
    }
    for (PartScript.Refusal refusal : reply.refusals()) {
      Part.Counter counter = increments.get(refusal.index());
      List<Part.Share> counterShares = counter.shares();
      for (int s = 0; s < counterShares.size(); s++) {
        Part.Share share = counterShares.get(s);
        String id = id(batchId, part.slot, firstShare[refusal.index()] + s);
        into.add(new RejectedKeysException.Rejection(id, share.key(),
            cause(id, batchId, counter, share, refusal, hash)));
      }
    }
  }

  /** The rejection id of the buffer key at {@code index} of the part in {@code slot} (-1: standalone). */
  static String id(String batchId, int slot, int index) {
    String suffix = "-" + ((slot < 0) ? "s" : Integer.toString(slot)) + "-d" + index;
    String base = batchId;
    if (base.length() + suffix.length() > MAX_ID || !PLAIN.matcher(base).matches()) {
      base = "h" + PartScript.digestHex("SHA-256", batchId).substring(0, 32);
    }
    return base + suffix;
  }

  private static RedisCounterRejectedException cause(String id, String batchId,
      Part.Counter counter, Part.Share share, PartScript.Refusal refusal, boolean hash) {
    String reason = refusal.reason(hash);
    StringBuilder message = new StringBuilder("Redis refused count ").append(share.count())
        .append(" of buffer key ").append(share.key()).append(" for Redis key ")
        .append(counter.where());
    if (counter.shares().size() > 1) {
      message.append(" (the batch adds ").append(counter.delta).append(" to it in all)");
    }
    message.append(": ").append(reason).append(". Fix: ").append(refusal.fix())
        .append(", then replay the dropped count under id ").append(id)
        .append(" (from batch ").append(batchId).append(')');
    return new RedisCounterRejectedException(message.toString(), counter.redisKey, counter.field,
        share.count(), reason);
  }
}
