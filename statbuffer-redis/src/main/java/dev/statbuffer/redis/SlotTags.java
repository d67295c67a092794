package dev.statbuffer.redis;

import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;

/**
 * For each of the 16384 Redis Cluster hash slots, a short string (one to four characters of
 * {@code [0-9A-Za-z]}) whose CRC16 maps to that slot. Wrapped in braces, such a string is a hash
 * tag: a marker key {@code "prefix{" + tag(slot) + "}:id"} lands in {@code slot}, beside the
 * counters it guards, and moves with them when the slot is resharded.
 *
 * <p>The table is computed once, lazily, on first use by a cluster sink (about a quarter of a
 * million CRC16 computations, a few milliseconds). Immutable after that; thread-safe through the
 * class-initialization lock of the holder idiom.
 */
final class SlotTags {
  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  private SlotTags() {}

  /** The tag of {@code slot}: a string without braces whose hash slot is {@code slot}. */
  static String tag(int slot) {
    return Holder.TAGS[slot];
  }

  private static final class Holder {
    static final String[] TAGS = compute();
  }

  private static String[] compute() {
    String[] tags = new String[SlotHash.SLOT_COUNT];
    int missing = tags.length;
    // Shortest strings first, so that every slot gets the shortest tag there is.
    for (int length = 1; length <= 4 && missing > 0; length++) {
      int combinations = (int) Math.pow(ALPHABET.length(), length);
      char[] chars = new char[length];
      for (int n = 0; n < combinations && missing > 0; n++) {
        int rest = n;
        for (int i = length - 1; i >= 0; i--) {
          chars[i] = ALPHABET.charAt(rest % ALPHABET.length());
          rest /= ALPHABET.length();
        }
        String candidate = new String(chars);
        int slot = SlotHash.getSlot(candidate.getBytes(StandardCharsets.US_ASCII));
        if (tags[slot] == null) {
          tags[slot] = candidate;
          missing--;
        }
      }
    }
    if (missing > 0) {
      throw new IllegalStateException(missing + " hash slots have no tag of up to 4 characters");
    }
    return tags;
  }
}
