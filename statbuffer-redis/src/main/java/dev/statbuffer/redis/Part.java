package dev.statbuffer.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * One atomically applied share of a batch: the whole batch on a standalone server, one hash
 * slot's share on a cluster. Its counters are kept sorted (Redis key, then field), so that every
 * attempt of the same batch sends them in the same order and an increment's place in the part,
 * which the script's marker records for refused increments, names the same counter each time.
 * Confined to the flushing thread.
 */
final class Part {
  /** Orders the buffer keys summed into one counter, so that their rejection ids are stable. */
  private static final Comparator<Share> SHARE_ORDER =
      Comparator.comparing(share -> String.valueOf(share.key()));

  final int slot;
  final String node;
  /**
   * The key that records what was applied, {@code KEYS[1]}: the batch's marker for a batch
   * without a sender, the slot's state hash for a numbered one.
   */
  final String guard;
  /**
   * The marker that sealing a dropped numbered batch writes for this part ({@code KEYS[2]} of
   * the sealing call), or null when the part is applied rather than sealed.
   */
  final @Nullable String sealMarker;
  /** Counter key to its {@link Counter} (string counters) or to field to Counter (hashes). */
  private final Map<String, Object> counters = new TreeMap<>();
  private int argCount;
  private @Nullable List<Counter> increments;

  @Nullable RedisFuture<String> future;
  @Nullable Throwable failure;
  /** The script's reply once collected; null while pending or after a failure. */
  PartScript.@Nullable Reply reply;

  /** The connection this part was sent on, or null before it is sent. */
  @Nullable StatefulRedisConnection<String, String> link;
  /** The WAIT sent after this part on its node's connection, or null when none was sent. */
  @Nullable Replication replication;

  /**
   * An empty part.
   *
   * @param slot its hash slot, -1 on a standalone server
   * @param node the node serving the slot, as the transport names it
   * @param guard the key that records what was applied ({@code KEYS[1]})
   * @param sealMarker the marker a seal of the dropped batch writes, or null to apply the part
   */
  Part(int slot, String node, String guard, @Nullable String sealMarker) {
    this.slot = slot;
    this.node = node;
    this.guard = guard;
    this.sealMarker = sealMarker;
  }

  /** Adds a buffer key's count to its counter ({@code field} null for string counters). */
  @SuppressWarnings("unchecked")
  void add(Object bufferKey, String redisKey, @Nullable String field, long delta) {
    Counter counter;
    if (field == null) {
      counter = (Counter) counters.get(redisKey);
      if (counter == null) {
        counter = new Counter(redisKey, null);
        counters.put(redisKey, counter);
        argCount++;
      }
    } else {
      Map<String, Counter> fields = (Map<String, Counter>) counters.computeIfAbsent(redisKey, k -> {
        argCount++;
        return new TreeMap<String, Counter>();
      });
      counter = fields.get(field);
      if (counter == null) {
        counter = new Counter(redisKey, field);
        fields.put(field, counter);
        argCount += 2;
      }
    }
    counter.add(bufferKey, delta);
  }

  /**
   * The part's increments in the order the script sees them: counter keys in order, and for
   * hashes their fields in order.
   */
  @SuppressWarnings("unchecked")
  List<Counter> increments() {
    if (increments == null) {
      List<Counter> list = new ArrayList<>();
      for (Object value : counters.values()) {
        if (value instanceof Counter counter) {
          list.add(counter);
        } else {
          list.addAll(((Map<String, Counter>) value).values());
        }
      }
      increments = List.copyOf(list);
    }
    return increments;
  }

  /** The script's KEYS: the guard (marker or state key), then the counter keys. */
  String[] keys() {
    String[] keys = new String[counters.size() + 1];
    keys[0] = guard;
    int i = 1;
    for (String key : counters.keySet()) {
      keys[i++] = key;
    }
    return keys;
  }

  /**
   * The script's ARGV (see {@link PartScript}): {@code numbered} null for a part guarded by a
   * marker (or by nothing), else the sender's record field, sequence number and watermark.
   */
  @SuppressWarnings("unchecked")
  String[] args(long ttlMillis, long expireMillis, String mode, @Nullable Numbered numbered) {
    String[] args = new String[PartScript.FIRST_DELTA + argCount];
    args[0] = Long.toString(ttlMillis);
    args[1] = Long.toString(expireMillis);
    args[2] = mode;
    if (numbered == null) {
      args[3] = fingerprint();
      args[4] = "";
      args[5] = "0";
      args[6] = "0";
    } else {
      args[3] = shortFingerprint();
      args[4] = numbered.field();
      args[5] = Long.toString(numbered.sequence());
      args[6] = Long.toString(numbered.settledBelow());
    }
    int i = PartScript.FIRST_DELTA;
    for (Object value : counters.values()) {
      if (value instanceof Counter counter) {
        args[i++] = Long.toString(counter.delta);
      } else {
        Map<String, Counter> fields = (Map<String, Counter>) value;
        args[i++] = Integer.toString(fields.size());
        for (Counter counter : fields.values()) {
          args[i++] = counter.field;
          args[i++] = Long.toString(counter.delta);
        }
      }
    }
    return args;
  }

  /**
   * The sealing call's KEYS: the state key, then the marker a replay of the dropped batch would
   * look for.
   */
  String[] sealKeys() {
    return new String[] {guard, sealMarker};
  }

  /** The sealing call's ARGV: no counters; the full fingerprint goes into the marker. */
  String[] sealArgs(long ttlMillis, Numbered numbered) {
    return new String[] {Long.toString(ttlMillis), "0", "x", shortFingerprint(),
        numbered.field(), Long.toString(numbered.sequence()),
        Long.toString(numbered.settledBelow()), fingerprint()};
  }

  /**
   * A hash of the part's counter keys and fields, independent of their order, so that a
   * marker tells which counters it guards.
   */
  String fingerprint() {
    return Long.toHexString(fingerprintSum());
  }

  /** Four hex digits of {@link #fingerprint()}'s hash: what a sender's record keeps per batch. */
  String shortFingerprint() {
    return String.format("%04x", fingerprintSum() & 0xffff);
  }

  private long fingerprintSum() {
    long sum = 0;
    for (Counter counter : increments()) {
      long h = counter.redisKey.hashCode();
      sum += mix((counter.field == null) ? h : h * 31 + counter.field.hashCode());
    }
    return sum;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }

  /** Forgets the previous sending's outcome before the part is sent again. */
  void reset() {
    future = null;
    failure = null;
    reply = null;
    replication = null;
    link = null;
  }

  /** The part's failure, as the sink reports it; {@code timeout} when no reply came. */
  RedisSinkException.PartFailure failure(Duration timeout) {
    String text;
    if (failure == null) {
      text = "no reply within " + timeout;
    } else if (failure instanceof RedisCommandExecutionException && failure.getMessage() != null) {
      text = failure.getMessage();
    } else {
      text = failure.getClass().getSimpleName() + ": " + failure.getMessage();
    }
    return new RedisSinkException.PartFailure(node, slot, List.copyOf(counters.keySet()), text,
        failure);
  }

  /**
   * What a numbered batch's part passes to the script: the sender's field in the state hash, the
   * batch's number and the sender's watermark of settled batches.
   */
  record Numbered(String field, long sequence, long settledBelow) {}

  /**
   * One {@code WAIT} sent after the parts of one node in one sending, and how many replicas it
   * must reach; its reply tells how many did.
   */
  static final class Replication {
    final int replicas;
    final long timeoutMillis;
    /** The {@code WAIT}'s reply, or null if it could not be sent. */
    @Nullable RedisFuture<Long> future;

    /**
     * A {@code WAIT} not sent yet.
     *
     * @param replicas how many replicas it must reach
     * @param timeoutMillis its timeout
     */
    Replication(int replicas, long timeoutMillis) {
      this.replicas = replicas;
      this.timeoutMillis = timeoutMillis;
    }
  }

  /** A buffer key and its count in the batch. */
  record Share(Object key, long count) {}

  /** One counter (a string key, or one field of a hash) and the buffer keys summed into it. */
  static final class Counter {
    final String redisKey;
    /** The hash field, or null for a string counter. */
    final @Nullable String field;
    long delta;
    private final List<Share> shares = new ArrayList<>(1);
    private boolean sorted = true;

    /**
     * A counter with no count yet.
     *
     * @param redisKey its Redis key
     * @param field its hash field, or null for a string counter
     */
    Counter(String redisKey, @Nullable String field) {
      this.redisKey = redisKey;
      this.field = field;
    }

    /**
     * Adds a buffer key's count.
     *
     * @param bufferKey the buffer key
     * @param count its count in the batch
     * @throws IllegalArgumentException if the counter's sum leaves the 64-bit range
     */
    void add(Object bufferKey, long count) {
      if (!shares.isEmpty()) {
        // Two buffer keys mapped to one counter: add them up (a sum that overflows is an error).
        delta = sum(delta, count);
        sorted = false;
      } else {
        delta = count;
      }
      shares.add(new Share(bufferKey, count));
    }

    /** The buffer keys summed into this counter, in an order that does not depend on the map's. */
    List<Share> shares() {
      if (!sorted) {
        shares.sort(SHARE_ORDER);
        sorted = true;
      }
      return shares;
    }

    /** The Redis key, and the field if any, as messages name them. */
    String where() {
      return (field == null) ? redisKey : redisKey + " field " + field;
    }

    private long sum(long sum, long count) {
      try {
        return Math.addExact(sum, count);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("the buffer keys mapped to " + where() + " add up to "
            + "more than a 64-bit counter holds: " + sum + " + " + count, e);
      }
    }
  }
}
