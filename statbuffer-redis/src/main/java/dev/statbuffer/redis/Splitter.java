package dev.statbuffer.redis;

import dev.statbuffer.FlushBatch;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.jspecify.annotations.Nullable;

/**
 * A batch into {@link Part}s: maps each buffer key to its counter (a string key, or a hash key
 * and field), groups the counters by hash slot (one part on a standalone server), and names the
 * keys that guard the parts: a slot's state hash for a batch a buffer numbered, a marker per
 * batch and part for the others. Pure: it talks to no server, so a test can drive it alone.
 * Immutable and thread-safe (the mappers are the user's, called on the flushing thread).
 *
 * @param <K> the buffer's key type
 */
final class Splitter<K> {
  private final @Nullable Function<? super K, String> keyMapper;
  private final @Nullable Function<? super K, String> hashKeyMapper;
  private final @Nullable Function<? super K, String> fieldMapper;
  private final boolean exactlyOnce;
  private final String markerPrefix;
  private final String name;
  private final boolean cluster;
  private final IntFunction<String> nodes;

  /**
   * A splitter for string counters ({@code keyMapper} set, the other two null) or hash counters
   * ({@code hashKeyMapper} and {@code fieldMapper} set, {@code keyMapper} null).
   *
   * @param keyMapper a buffer key's string counter, or null for hash counters
   * @param hashKeyMapper a buffer key's hash, or null for string counters
   * @param fieldMapper a buffer key's field in its hash, or null for string counters
   * @param exactlyOnce whether parts record what they applied (else no batch is numbered)
   * @param markerPrefix the prefix of marker and state keys
   * @param name the sink's name, part of marker and state keys
   * @param cluster whether parts are per hash slot (a cluster) or one (a standalone server)
   * @param nodes the node serving a slot, as the transport names it
   */
  Splitter(@Nullable Function<? super K, String> keyMapper,
           @Nullable Function<? super K, String> hashKeyMapper,
           @Nullable Function<? super K, String> fieldMapper, boolean exactlyOnce,
           String markerPrefix, String name, boolean cluster, IntFunction<String> nodes) {
    this.keyMapper = keyMapper;
    this.hashKeyMapper = hashKeyMapper;
    this.fieldMapper = fieldMapper;
    this.exactlyOnce = exactlyOnce;
    this.markerPrefix = markerPrefix;
    this.name = name;
    this.cluster = cluster;
    this.nodes = nodes;
  }

  /**
   * Whether counters are hash fields ({@code HINCRBY}) rather than strings ({@code INCRBY}).
   *
   * @return true for hash counters
   */
  boolean hash() {
    return keyMapper == null;
  }

  /**
   * Whether parts are per hash slot.
   *
   * @return true on a cluster
   */
  boolean cluster() {
    return cluster;
  }

  /**
   * The sender's record field, number and watermark of a batch numbered by a buffer, or null for
   * a batch guarded by a marker (no sender, or exactly-once off).
   *
   * @param batch the batch
   * @return what its parts pass to the script, or null
   */
  Part.@Nullable Numbered numbered(FlushBatch<K> batch) {
    Optional<String> sender = batch.sender();
    if (!exactlyOnce || sender.isEmpty() || batch.sequence() < 1) {
      return null;
    }
    // settledBelow() <= sequence() by contract; a batch breaking it must not skip itself.
    long below = Math.max(0, Math.min(batch.settledBelow(), batch.sequence()));
    return new Part.Numbered(senderField(sender.get()), batch.sequence(), below);
  }

  /**
   * A sender's field in the state hashes: its hex digits as base64url (16 characters for a
   * buffer's 24), or {@code ~} and the sender as it is when it is not an even number of hex
   * digits. The two forms never meet ({@code ~} is not a base64url digit), and base64url of n
   * bytes has a length no other byte count gives, so different senders get different fields.
   *
   * @param sender the batch's sender
   * @return its field
   */
  static String senderField(String sender) {
    if (sender.isEmpty() || sender.length() % 2 != 0 || !sender.matches("[0-9a-f]+")) {
      return "~" + sender;
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(HexFormat.of().parseHex(sender));
  }

  /**
   * Groups the batch's counts into parts: one for a standalone server, one per slot on a
   * cluster. A numbered batch's parts are guarded by their slot's state hash, others by a marker
   * each. With a {@code sealId}, each part also names the marker that sealing the dropped batch
   * writes ({@link Part#sealMarker}).
   *
   * @param batch the batch
   * @param numbered whether the batch is numbered ({@link #numbered} is not null)
   * @param sealId the id of the dropped batch to seal, or null to apply the batch
   * @return the parts, in the order their first keys came in the batch
   * @throws NullPointerException if a mapper returned null for a key
   * @throws IllegalArgumentException if keys mapped to one counter add up past 64 bits
   */
  List<Part> split(FlushBatch<K> batch, boolean numbered, @Nullable String sealId) {
    Map<Integer, Part> bySlot = new LinkedHashMap<>();
    for (Map.Entry<K, Long> entry : batch.counts().entrySet()) {
      K key = entry.getKey();
      long delta = entry.getValue();
      String redisKey;
      String field = null;
      if (keyMapper != null) {
        redisKey = Objects.requireNonNull(keyMapper.apply(key),
            () -> "keyMapper returned null for key " + key);
      } else {
        // No keyMapper: build() required hashMapper, which sets both of these functions.
        Function<? super K, String> hashKeys =
            Objects.requireNonNull(hashKeyMapper, "hashKeyMapper");
        redisKey = Objects.requireNonNull(hashKeys.apply(key),
            () -> "hashMapper's key function returned null for key " + key);
        Function<? super K, String> fields = Objects.requireNonNull(fieldMapper, "fieldMapper");
        field = Objects.requireNonNull(fields.apply(key),
            () -> "hashMapper's field function returned null for key " + key);
      }
      int slot = cluster ? SlotHash.getSlot(redisKey.getBytes(StandardCharsets.UTF_8)) : -1;
      Part part = bySlot.get(slot);
      if (part == null) {
        part = new Part(slot, nodes.apply(slot),
            numbered ? stateKey(slot) : markerKey(slot, batch.id()),
            (sealId == null) ? null : markerKey(slot, sealId));
        bySlot.put(slot, part);
      }
      part.add(key, redisKey, field, delta);
    }
    return new ArrayList<>(bySlot.values());
  }

  /**
   * The marker key of a part of a batch.
   *
   * @param slot the part's hash slot, -1 on a standalone server
   * @param id the batch id
   * @return the key
   */
  String markerKey(int slot, String id) {
    return (slot >= 0)
        ? markerPrefix + name + ":{" + SlotTags.tag(slot) + "}:" + id
        : markerPrefix + name + ":" + id;
  }

  /**
   * The state hash of the numbered batches applied in a slot: one field per sender. {@code S} is
   * not a character of batch ids, so no marker key is a state key.
   *
   * @param slot the hash slot, -1 on a standalone server
   * @return the key
   */
  String stateKey(int slot) {
    return (slot >= 0)
        ? markerPrefix + name + ":{" + SlotTags.tag(slot) + "}:S"
        : markerPrefix + name + ":S";
  }
}
