package dev.statbuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * A durable buffer's directory: its lock, its key slots ({@link KeySlots}, counted into by
 * {@link DurableCell}s) and its journal of hand-overs ({@link Journal}); recovery at start, the
 * periodic force, and the clean end.
 *
 * <h2>The protocol, and why a kill loses nothing and doubles nothing</h2>
 * Per key slot, {@code A} (accepted) only grows by increments, {@code taken} (heap) and {@code H}
 * (file) only by hand-overs. A hand-over, under the buffer's hand-over lock:
 * <ol>
 *   <li>takes {@code A - taken} from each cell and raises {@code taken} ({@link DurableCell});
 *   <li>appends one journal record per delivery, with each key's count and {@code hAfter} (the
 *   {@code taken} after its last take in this delivery) — before the delivery can reach the
 *   handler, which happens only after the lock is released;
 *   <li>stores {@code H = hAfter} in each slot;
 *   <li>frees the slots of cells that died, once their last count is in a record.
 * </ol>
 * A delivery settled (delivered or dropped) marks its record. Recovery, in the next process:
 * {@code H_true} = the {@code hAfter} of the unsettled record of the slot's binding with the
 * highest serial above the serial stored with {@code H}, else {@code H} (see {@link Recovery}): a
 * record whose {@code H} stores were lost still counts as taken, and a record settled had its
 * stores done before it could reach the handler. Every unsettled record is delivered again under
 * its own id and counts (a sink that applies an id once applies it once); {@code A - H_true} of
 * every slot is delivered under new ids, after records of it (with {@code hAfter = A}) are
 * appended, so a crash during recovery recovers the same way. Then the old key files go.
 *
 * <p>Only what no increment had returned for can be counted twice: an increment killed between
 * its add to {@code A} and its return (at most one per thread). Power loss is another matter:
 * pages reach the disk when forced, every {@code syncInterval}, and at close.
 *
 * <p>Thread-safe: {@link #newCell} from incrementing threads; {@link #recorded} and
 * {@link #free} under the hand-over lock; {@link #settle} from any thread.
 */
final class Durability<K> implements AutoCloseable {
  private static final Logger LOGGER = System.getLogger(StatBuffer.class.getName());
  /** Directories held by a live buffer of this JVM (a second file lock would throw). */
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  /** What {@code StatBuffer.DurableBuilder} froze. */
  record Spec<K>(Path directory, KeyCodec<K> codec, long syncIntervalNanos, int maxKeyBytes) {}

  /**
   * One slot's take in a delivery: the key, the slot (segment buffer, offset, reference and
   * generation), the slot's handed-over total after the take, and what it took.
   */
  record Mark<K>(K key, ByteBuffer slots, int offset, long ref, int gen, long hAfter,
                 long count) {}

  private final String name;
  private final Path directory;
  private final KeyCodec<K> codec;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final KeySlots.Scan leftOver;
  private final List<Journal.Recorded> unsettled;
  private final Journal journal;
  private final KeySlots slots;
  private final long storeId;
  private final AtomicBoolean refusingLogged = new AtomicBoolean();
  private final Thread syncer;
  private volatile boolean closed;
  /** Whether a hand-over could not be recorded: the key files must then stay. */
  private volatile boolean unrecorded;
  private volatile long refuseNewKeysUntil;
  private volatile boolean refusingNewKeys;
  /** The serial of the last take stored; written under the hand-over lock, read by binds. */
  private volatile long serial;
  /** The buffer's ticker, for the refusal's back-off; set by {@link #recover}. */
  private volatile Ticker ticker = Ticker.system();

  private Durability(String name, Spec<K> spec, FileChannel lockChannel, FileLock lock)
      throws IOException {
    this.name = name;
    this.directory = spec.directory();
    this.codec = spec.codec();
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.leftOver = KeySlots.scan(directory);
    this.unsettled = new ArrayList<>();
    this.journal = Journal.open(directory, name, unsettled);
    long id;
    do {
      id = new SecureRandom().nextLong();
    } while (id == 0 || id == leftOver.storeId());
    this.storeId = id;
    this.slots = new KeySlots(directory, KeySlots.slotSize(spec.maxKeyBytes()), storeId);
    long syncNanos = spec.syncIntervalNanos();
    this.syncer = new Thread(() -> syncLoop(syncNanos), "statbuffer-" + name + "-sync");
    syncer.setDaemon(true);
  }

  /**
   * Locks {@code spec}'s directory and reads what an earlier process left in it.
   *
   * @throws IllegalStateException if a live buffer holds the directory, or its files are damaged
   *     or of another format (naming the file)
   */
  static <K> Durability<K> open(String name, Spec<K> spec) {
    Path directory;
    try {
      Files.createDirectories(spec.directory());
      directory = spec.directory().toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot use " + spec.directory() + " for a durable buffer",
          e);
    }
    if (!HELD.add(directory)) {
      throw new IllegalStateException("The durable buffer directory " + directory
          + " is held by a live buffer in this JVM");
    }
    FileChannel channel = null;
    try {
      channel = FileChannel.open(directory.resolve("lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        throw new IllegalStateException("The durable buffer directory " + directory
            + " is held by another live process");
      }
      Spec<K> real = new Spec<>(directory, spec.codec(), spec.syncIntervalNanos(),
          spec.maxKeyBytes());
      return new Durability<>(name, real, channel, lock);
    } catch (IOException | RuntimeException e) {
      HELD.remove(directory);
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (e instanceof IllegalStateException state) {
        throw state;
      }
      throw new IllegalStateException("Cannot recover the durable buffer in " + directory + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * Makes a cell for a new key, bound to a slot.
   *
   * @return the cell, or null when no slot can be had (a full disk: the key is refused)
   * @throws IllegalArgumentException if the codec fails or the key's bytes are too long
   */
  @Nullable DurableCell<K> newCell(K key, long dueTick) {
    KeySlots.Binding binding = bind(encode(key));
    return (binding == null) ? null : new DurableCell<>(key, dueTick, this, binding);
  }

  /**
   * Binds a stripe slot to the key bytes of a live cell's home slot, for a contended key
   * ({@link DurableCell}). Should the home slot have been freed and bound again meanwhile, the
   * bytes may be another key's: the cell is dead then, and the stripe is never published.
   *
   * @return the binding, or null when no slot can be had (the cell's home slot takes the add)
   */
  KeySlots.@Nullable Binding bindStripe(byte[] keyBytes) {
    return bind(keyBytes);
  }

  private KeySlots.@Nullable Binding bind(byte[] bytes) {
    if (refusingNewKeys && ticker.read() - refuseNewKeysUntil < 0) {
      return null;
    }
    try {
      KeySlots.Binding binding = slots.bind(bytes, serial);
      refusingNewKeys = false;
      return binding;
    } catch (IOException | RuntimeException e) {
      refuseNewKeysUntil = ticker.read() + TimeUnit.SECONDS.toNanos(1);
      refusingNewKeys = true;
      boolean first = refusingLogged.compareAndSet(false, true);
      LOGGER.log(first ? Level.ERROR : Level.DEBUG, "StatBuffer '" + name + "': cannot grow the "
          + "key file in " + directory + " (" + e.getMessage() + "); new keys are refused, "
          + "existing keys keep counting" + (first ? " (logged once)" : ""), e);
      return null;
    }
  }

  private byte[] encode(K key) {
    byte[] bytes;
    try {
      bytes = codec.encode(key);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("The key codec " + codec + " failed for key " + key, e);
    }
    if (bytes == null) {
      throw new IllegalArgumentException("The key codec " + codec + " returned null for key "
          + key);
    }
    if (bytes.length > slots.maxKeyBytes()) {
      throw new IllegalArgumentException("Key " + key + " is " + bytes.length + " bytes in "
          + codec + ", more than the durable buffer's maxKeyBytes of " + slots.maxKeyBytes());
    }
    return bytes;
  }

  /** A cell bound in vain (another writer put a cell for the key first). */
  void unused(DurableCell<K> cell) {
    slots.free(cell.ref);
  }

  /** A stripe slot bound in vain (another writer, or the cell's retirement, came first). */
  void unbound(long ref) {
    slots.free(ref);
  }

  /**
   * Records a delivery made under the hand-over lock, then stores each taken slot's {@code H}.
   * {@code marks} holds the take of every durable key in it (and of keys whose takes summed to
   * zero, which need only their {@code H}).
   *
   * <p>If the journal cannot be written (a full disk), the buffer degrades for the rest of the
   * process: no record, no {@code H} store and no slot freed, ever again. The slots then keep
   * every take since the failure as not handed over, so a kill delivers those counts again under
   * new ids (at least once) and never loses them; a record written later would claim them taken.
   */
  void recorded(Delivery<K> delivery, @Nullable Collection<Mark<K>> marks) {
    if (unrecorded) {
      return;
    }
    List<Journal.Entry> entries = new ArrayList<>(delivery.keys());
    java.util.Set<K> fromSlots = new java.util.HashSet<>();
    if (marks != null) {
      for (Mark<K> mark : marks) { // one entry per slot; a key's entries sum to its count
        entries.add(new Journal.Entry(KeySlots.keyOf(mark.slots(), mark.offset()), mark.count(),
            mark.ref(), mark.gen(), mark.hAfter()));
        fromSlots.add(mark.key());
      }
    }
    for (Map.Entry<K, Long> count : delivery.counts().entrySet()) {
      if (!fromSlots.contains(count.getKey())) {
        entries.add(new Journal.Entry(encode(count.getKey()), count.getValue(), -1, 0, 0));
      }
    }
    long next = serial + 1;
    Journal.Ref ref = append(next, delivery.sender, delivery.sequence, entries);
    if (ref == null) {
      return;
    }
    delivery.record = ref;
    serial = next;
    if (marks != null) {
      storeHandedOver(marks, next);
    }
  }

  /**
   * Records takes that summed to zero (a key's slots whose takes cancelled, as +5 on one stripe
   * and -5 on another), which no delivery carries: a record, then the slots' {@code H}, then the
   * record settled. Without the record a kill between two slots' {@code H} stores, or before a
   * later take of one of them, would leave the other slot's {@code H} behind its take, and
   * recovery would deliver that slot's part again. A record left unsettled by a kill is found by
   * recovery, which takes its {@code hAfter}s and delivers nothing for it (its counts cancel).
   */
  void recordCancelled(Collection<Mark<K>> marks) {
    if (unrecorded || marks.isEmpty()) {
      return;
    }
    List<Journal.Entry> entries = new ArrayList<>(marks.size());
    for (Mark<K> mark : marks) {
      entries.add(new Journal.Entry(KeySlots.keyOf(mark.slots(), mark.offset()), mark.count(),
          mark.ref(), mark.gen(), mark.hAfter()));
    }
    long next = serial + 1;
    Journal.Ref ref = append(next, null, -1, entries);
    if (ref == null) {
      return;
    }
    serial = next;
    storeHandedOver(marks, next);
    journal.settle(ref);
  }

  /**
   * Appends a record; on failure degrades the buffer for the rest of the process (see
   * {@link #recorded}) and returns null.
   */
  private Journal.@Nullable Ref append(long recordSerial, @Nullable String sender, long sequence,
      List<Journal.Entry> entries) {
    try {
      return journal.append(storeId, recordSerial, System.currentTimeMillis(), sender, sequence,
          entries);
    } catch (IOException | RuntimeException e) {
      unrecorded = true;
      LOGGER.log(Level.ERROR, "StatBuffer '" + name + "': cannot append to the journal in "
          + directory + " (" + e.getMessage() + "); from now on, until a restart, a kill may "
          + "deliver counts twice (never lose them)", e);
      return null;
    }
  }

  private void storeHandedOver(Collection<Mark<K>> marks, long takeSerial) {
    for (Mark<K> mark : marks) {
      slots.storeHandedOver(mark.slots(), mark.offset(), mark.hAfter(), takeSerial);
    }
  }

  /**
   * Frees the slot of a cell that died, once its last take is recorded; under the lock. Not once
   * the journal failed: the slot keeps what was taken from it without a record.
   */
  void free(DurableCell<K> cell) {
    if (!unrecorded) {
      cell.forEachSlot(slots::free);
    }
  }

  /** Marks a settled delivery's record. */
  void settle(Delivery<K> delivery) {
    Journal.Ref ref = delivery.record;
    if (ref != null) {
      journal.settle(ref);
    }
  }

  /**
   * Takes up what the earlier process left ({@link Recovery}), then starts forcing the files.
   * Under the hand-over lock, before the buffer counts.
   */
  List<Delivery<K>> recover(Deliveries<K> deliveries, PendingKeys pending, int maxBatchSize) {
    ticker = deliveries.ticker();
    List<Delivery<K>> out = new Recovery<>(directory, codec, journal, leftOver, unsettled)
        .run(deliveries, pending, maxBatchSize);
    unsettled.clear();
    syncer.start();
    return out;
  }

  private void syncLoop(long intervalNanos) {
    while (!closed) {
      LockSupport.parkNanos(this, intervalNanos);
      if (!closed) {
        force();
      }
    }
  }

  /** Forces the key slots and the journal to the storage device. */
  void force() {
    try {
      slots.force();
      journal.force();
    } catch (IOException | UncheckedIOException e) {
      LOGGER.log(Level.WARNING, "StatBuffer '" + name + "': could not force " + directory, e);
    }
  }

  /** Slots bound to keys now. */
  long boundSlots() {
    return slots.boundSlots();
  }

  /**
   * Forces everything once more and releases the directory. When nothing is pending (every
   * record settled, every slot freed) the data files go, so a clean restart delivers nothing.
   */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(syncer);
    try {
      force();
      boolean clean = journal.isEmpty() && slots.boundSlots() == 0 && !unrecorded;
      journal.close(/* deleteIfEmpty= */ true);
      slots.close();
      if (clean) {
        KeySlots.deleteAll(directory);
      }
    } catch (IOException e) {
      LOGGER.log(Level.WARNING, "StatBuffer '" + name + "': could not close " + directory, e);
    } finally {
      try {
        lock.release();
        lockChannel.close();
      } catch (IOException e) {
        LOGGER.log(Level.WARNING, "StatBuffer '" + name + "': could not unlock " + directory, e);
      }
      HELD.remove(directory);
    }
  }

  /** Releases the directory after a failed start, without touching its files. */
  void abandon() {
    closed = true;
    try {
      journal.close(/* deleteIfEmpty= */ false);
      slots.close();
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      LOGGER.log(Level.WARNING, "StatBuffer '" + name + "': could not unlock " + directory, e);
    } finally {
      HELD.remove(directory);
    }
  }
}
