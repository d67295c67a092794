package dev.statbuffer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A durable buffer's start on a directory an earlier process left: what that process accepted
 * and did not deliver becomes deliveries of this one (see {@link Durability} for the protocol).
 * <ol>
 *   <li>Every journal record not settled is delivered again, under its own id, sender and number
 *   and with its own counts (the old sender's unsettled numbers form the set its
 *   {@code settledBelow} is read from).
 *   <li>Each slot of the old key files gives {@code A - H_true}, where {@code H_true} is the
 *   {@code hAfter} of the unsettled record of the same slot, generation and store with the highest
 *   serial, if that serial is above the one stored with {@code H}, else {@code H}: counts accepted
 *   and never handed over. (Takes are ordered by serial, not by value: deltas may be negative.) They are recorded (against their old slots,
 *   with {@code hAfter = A}) before they become deliveries under new ids, so a crash during
 *   recovery finds them taken and delivers only the records.
 *   <li>The old key files are deleted; the buffer starts on new ones.
 * </ol>
 * Runs once, under the hand-over lock, before the buffer counts. Not thread-safe.
 */
final class Recovery<K> {
  private final Path directory;
  private final KeyCodec<K> codec;
  private final Journal journal;
  private final KeySlots.Scan leftOver;
  private final List<Journal.Recorded> unsettled;

  Recovery(Path directory, KeyCodec<K> codec, Journal journal, KeySlots.Scan leftOver,
      List<Journal.Recorded> unsettled) {
    this.directory = directory;
    this.codec = codec;
    this.journal = journal;
    this.leftOver = leftOver;
    this.unsettled = unsettled;
  }

  /** Makes the deliveries (registered in flight, for the caller to submit). */
  List<Delivery<K>> run(Deliveries<K> deliveries, PendingKeys pending, int maxBatchSize) {
    List<Delivery<K>> out = new ArrayList<>();
    Map<String, NavigableSet<Long>> senders = new HashMap<>();
    // The last take recorded of each slot binding: the record of the highest serial.
    Map<Long, long[]> lastTake = new HashMap<>();
    for (Journal.Recorded record : unsettled) {
      for (Journal.Entry entry : record.entries()) {
        if (record.storeId() == leftOver.storeId() && entry.slot() >= 0) {
          long[] take = {record.serial(), entry.hAfter()};
          lastTake.merge(slotKey(entry.slot(), entry.gen()), take,
              (x, y) -> (y[0] > x[0]) ? y : x);
        }
      }
      if (record.sender() != null) {
        senders.computeIfAbsent(record.sender(), s -> new ConcurrentSkipListSet<>())
            .add(record.sequence());
      }
    }
    for (Journal.Recorded record : unsettled) {
      out.addAll(again(record, deliveries, pending,
          (record.sender() != null) ? senders.get(record.sender()) : null));
    }
    List<KeySlots.Bound> left = new ArrayList<>();
    for (KeySlots.Bound slot : leftOver.bound()) {
      // H holds the take of serial slot.serial(); a record of a later serial took more (or
      // less: deltas may be negative) and its H store was lost with the process.
      long[] take = lastTake.get(slotKey(slot.ref(), slot.gen()));
      long handedOver = (take != null && take[0] > slot.serial()) ? take[1] : slot.handedOver();
      if (KeySlots.signed(slot.accepted() - handedOver) != 0) {
        left.add(new KeySlots.Bound(slot.ref(), slot.gen(), slot.accepted(), handedOver,
            slot.serial(), slot.retired(), slot.key()));
      }
    }
    for (int from = 0; from < left.size(); from += maxBatchSize) {
      out.addAll(neverHandedOver(left.subList(from, Math.min(left.size(), from + maxBatchSize)),
          deliveries, pending));
    }
    try {
      journal.force();
      KeySlots.deleteAll(directory);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot recover the durable buffer in " + directory + ": "
          + e.getMessage(), e);
    }
    return out;
  }

  private static long slotKey(long ref, int gen) {
    return ref * 0x8000L + gen; // a ref is below 2^40, a generation below 2^15
  }

  /**
   * A record delivered again: one batch under its id for a batch handler (a record without an id,
   * from a per-key handler, gets a new one), one delivery per key for a per-key handler. The
   * record is settled once all of them are.
   */
  private List<Delivery<K>> again(Journal.Recorded record, Deliveries<K> deliveries,
      PendingKeys pending, @Nullable NavigableSet<Long> numbers) {
    Map<K, Long> counts = new LinkedHashMap<>();
    for (Journal.Entry entry : record.entries()) {
      counts.merge(decode(entry.key()), entry.count(), Long::sum);
    }
    counts.values().removeIf(count -> count == 0); // slots of one key whose takes cancelled
    if (counts.isEmpty()) {
      journal.settle(record.ref());
      return List.of();
    }
    long age = Math.max(0, System.currentTimeMillis() - record.wallMillis());
    long handedOver = deliveries.ticker().read() - TimeUnit.MILLISECONDS.toNanos(age);
    List<Delivery<K>> made = new ArrayList<>();
    pending.force(counts.size());
    if (deliveries.target().batched()) {
      long sum = 0;
      for (long count : counts.values()) {
        sum += count;
      }
      made.add((record.sender() != null)
          ? new Delivery<>(record.sender(), record.sequence(), numbers, new HashMap<>(counts),
              sum, counts.size(), handedOver)
          : deliveries.newBatchDelivery(new HashMap<>(counts), sum, counts.size()));
    } else {
      for (Map.Entry<K, Long> count : counts.entrySet()) {
        made.add(new Delivery<>(null, -1, null, count.getKey(), count.getValue(), handedOver));
      }
    }
    record.ref().parts.set(made.size());
    for (Delivery<K> delivery : made) {
      delivery.record = record.ref();
      // The dead process may have called the handler with it: the next call is a retry, checked
      // against the handler's idempotency horizon like any other.
      delivery.attempt = 1;
      deliveries.adopt(delivery);
    }
    return made;
  }

  /** Slots' counts never handed over: recorded against their old slots, then delivered. */
  private List<Delivery<K>> neverHandedOver(List<KeySlots.Bound> part, Deliveries<K> deliveries,
      PendingKeys pending) {
    List<Journal.Entry> entries = new ArrayList<>(part.size());
    HashMap<K, Long> counts = new HashMap<>();
    long sum = 0;
    for (KeySlots.Bound slot : part) {
      long count = KeySlots.signed(slot.accepted() - slot.handedOver());
      entries.add(new Journal.Entry(slot.key(), count, slot.ref(), slot.gen(), slot.accepted()));
      counts.merge(decode(slot.key()), count, Long::sum);
      sum += count;
    }
    counts.values().removeIf(count -> count == 0); // slots of one key whose counts cancel
    if (counts.isEmpty()) {
      return List.of(); // nothing to deliver; a crash before the files go finds the same
    }
    List<Delivery<K>> made = new ArrayList<>();
    pending.force(counts.size());
    if (deliveries.target().batched()) {
      made.add(deliveries.newBatchDelivery(counts, sum, counts.size()));
    } else {
      for (Map.Entry<K, Long> count : counts.entrySet()) {
        made.add(deliveries.newKeyDelivery(count.getKey(), count.getValue()));
      }
    }
    try {
      // The last takes of the old slots: a crash during recovery finds them taken.
      Journal.Ref ref = journal.append(leftOver.storeId(), Long.MAX_VALUE,
          System.currentTimeMillis(), made.get(0).sender, made.get(0).sequence, entries);
      ref.parts.set(made.size());
      for (Delivery<K> delivery : made) {
        delivery.record = ref;
        deliveries.adopt(delivery);
      }
    } catch (IOException e) {
      throw new IllegalStateException("Cannot recover the durable buffer in " + directory
          + ": cannot append to its journal: " + e.getMessage(), e);
    }
    return made;
  }

  private K decode(byte[] bytes) {
    try {
      return codec.decode(bytes);
    } catch (RuntimeException e) {
      throw new IllegalStateException("The durable buffer in " + directory + " holds a key that "
          + codec + " cannot decode (" + bytes.length + " bytes): " + e.getMessage(), e);
    }
  }
}
