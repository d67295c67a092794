package dev.statbuffer;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A durable buffer's key slots: fixed-size slots in memory-mapped segment files
 * ({@code keys-<n>.sb}), one per live cell, each holding the key's bytes and its accepted and
 * handed-over totals ({@link DurableCell}).
 *
 * <h2>Slot layout</h2>
 * <pre>
 *   0  A      long: bit 63 retired, bits 48-62 binding generation, bits 0-47 accepted total
 *   8  H      long: handed-over total (bits 0-47), stored once the hand-over is in the journal
 *   16 serial long: the journal serial of the take H holds (or of the binding); stored after H
 *   24 length int: key length + 1 once the slot is bound; 0 when free
 *   28 crc    int: CRC-32C of the key bytes
 *   32 key    the key's codec bytes, up to maxKeyBytes
 * </pre>
 * Every segment starts with a header (magic {@code SBKS}, format version, byte order, slot size,
 * capacity, index, the store id, and a CRC-32C of the header), so a file from another version,
 * machine or store is refused instead of read wrong. The store id changes whenever the segments
 * are made anew (each start), so a journal record names the incarnation of the slot it took from.
 *
 * <h2>Binding and freeing</h2>
 * A slot is bound (key bytes and CRC, then {@code A} with the next generation and no retired bit,
 * then the length, with release) before its cell is published, and freed (length 0) only after
 * its cell died, its retired bit is set and its last hand-over is recorded. A writer's CAS on
 * {@code A} checks both the bit and the generation ({@link DurableCell}), so a late writer never
 * adds to a slot bound again. A file slot never seen is all zeros: free.
 *
 * <p>Segments grow in number (segment n holds {@code 16384 << min(n, 6)} slots) and are written
 * full of zeros when made, so a full disk shows up as an {@link IOException} here (new keys are
 * refused) and never as a fault on a mapped page later.
 *
 * <p>Thread-safe: binding is serialized on this object; freeing takes no lock (a freed slot
 * reaches the binders through a concurrent queue); the words of a bound slot are accessed
 * atomically through {@link #LONGS} by its cell.
 */
final class KeySlots implements AutoCloseable {
  /** Atomic access to the aligned longs of a direct buffer (the slots' A and H). */
  static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
  private static final VarHandle INTS =
      MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

  static final long COUNT_MASK = (1L << 48) - 1;
  static final long RETIRED = Long.MIN_VALUE;
  private static final int GEN_MASK = 0x7FFF;

  static final int A = 0;
  static final int H = 8;
  private static final int SERIAL = 16;
  private static final int LENGTH = 24;
  private static final int CRC = 28;
  static final int KEY = 32;

  private static final int MAGIC = 0x53424B53; // "SBKS"
  private static final int VERSION = 1;
  private static final int ORDER_MARK = 0x01020304;
  static final int HEADER = 64;
  private static final int HEADER_FIELDS = 36;
  private static final int FIRST_CAPACITY = 16384;
  private static final String PREFIX = "keys-";
  private static final String SUFFIX = ".sb";

  /** One mapped segment file. */
  record Segment(int index, Path file, FileChannel channel, MappedByteBuffer buffer,
                 int capacity) {}

  /** A bound slot as recovery finds it. */
  record Bound(long ref, int gen, long accepted, long handedOver, long serial, boolean retired,
               // Carried from the file to the journal, never compared or hashed: identity is fine.
               @SuppressWarnings("ArrayRecordComponent") byte[] key) {}

  private final Path directory;
  private final int slotSize;
  private final long storeId;
  private final List<Segment> segments = new ArrayList<>();
  private volatile Segment[] mapped = new Segment[0];
  private long[] free = new long[64];
  private int freeCount;
  /**
   * Slots freed since the last bind, which moves them to {@link #free}. {@link #free(long)} runs
   * under the buffer's hand-over lock and must not wait for this object's monitor, which a bind
   * may hold for as long as it writes a new segment full of zeros.
   */
  private final java.util.concurrent.ConcurrentLinkedQueue<Long> freed =
      new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Slots never bound in the last segment start here. */
  private int nextInLast;

  KeySlots(Path directory, int slotSize, long storeId) {
    this.directory = directory;
    this.slotSize = slotSize;
    this.storeId = storeId;
  }

  /** The slot size for keys of up to {@code maxKeyBytes}: a multiple of 64 bytes. */
  static int slotSize(int maxKeyBytes) {
    return (KEY + maxKeyBytes + 63) / 64 * 64;
  }

  int maxKeyBytes() {
    return slotSize - KEY;
  }

  static long ref(int segment, int slot) {
    return ((long) segment << 32) | slot;
  }

  /** The binding generation in an {@code A} word. */
  static int gen(long a) {
    return (int) (a >>> 48) & GEN_MASK;
  }

  /** A 48-bit difference as a signed long. */
  static long signed(long difference) {
    return (difference << 16) >> 16;
  }

  /** What {@link #bind} gives: where the slot is, and its generation. */
  record Binding(ByteBuffer slots, int offset, int gen, long ref) {}

  /**
   * Binds a free slot to {@code key}'s bytes.
   *
   * @throws IOException when a new segment cannot be made (a full disk)
   */
  synchronized Binding bind(byte[] key, long serial) throws IOException {
    for (Long ref = freed.poll(); ref != null; ref = freed.poll()) {
      if (freeCount == free.length) {
        free = java.util.Arrays.copyOf(free, freeCount * 2);
      }
      free[freeCount++] = ref;
    }
    long ref;
    if (freeCount > 0) {
      ref = free[--freeCount];
    } else {
      Segment last = segments.isEmpty() ? null : segments.get(segments.size() - 1);
      if (last == null || nextInLast == last.capacity()) {
        last = newSegment(segments.size());
        nextInLast = 0;
      }
      ref = ref(last.index(), nextInLast++);
    }
    Segment segment = segments.get((int) (ref >>> 32));
    ByteBuffer buffer = segment.buffer();
    int offset = HEADER + (int) ref * slotSize;
    long a = (long) LONGS.getVolatile(buffer, offset + A);
    int gen = (gen(a) + 1) & GEN_MASK;
    LONGS.setVolatile(buffer, offset + H, 0L);
    LONGS.setVolatile(buffer, offset + SERIAL, serial); // older records never apply to it
    buffer.put(offset + KEY, key);
    INTS.setVolatile(buffer, offset + CRC, crc(key, 0, key.length));
    LONGS.setVolatile(buffer, offset + A, (long) gen << 48);
    INTS.setRelease(buffer, offset + LENGTH, key.length + 1);
    return new Binding(buffer, offset, gen, ref);
  }

  /**
   * Frees a slot whose cell is dead and whose last hand-over is recorded (or was never used).
   * Takes no lock: the slot's words are its own until the queue hands it to a bind, and the queue
   * orders these stores before that bind's.
   */
  void free(long ref) {
    Segment segment = mapped[(int) (ref >>> 32)];
    int offset = HEADER + (int) ref * slotSize;
    long a = (long) LONGS.getVolatile(segment.buffer(), offset + A);
    if (a >= 0) {
      LONGS.setVolatile(segment.buffer(), offset + A, a | RETIRED); // a cell never published
    }
    INTS.setRelease(segment.buffer(), offset + LENGTH, 0);
    freed.add(ref);
  }

  /**
   * Stores a slot's handed-over total and the serial of its take, once the take is in the journal
   * (or summed to zero). A kill between the two stores leaves the older serial, so recovery takes
   * the record's {@code hAfter}, which is the same total.
   */
  static void storeHandedOver(ByteBuffer slots, int offset, long handedOver, long serial) {
    LONGS.setRelease(slots, offset + H, handedOver);
    LONGS.setRelease(slots, offset + SERIAL, serial);
  }

  /** The key bytes of a bound slot. */
  static byte[] keyOf(ByteBuffer slots, int offset) {
    int length = (int) INTS.getAcquire(slots, offset + LENGTH) - 1;
    byte[] key = new byte[Math.max(length, 0)];
    slots.get(offset + KEY, key);
    return key;
  }

  /** Forces every segment's pages to the storage device. */
  void force() {
    for (Segment segment : mapped) {
      segment.buffer().force();
    }
  }

  /** Slots bound now; for stats and tests. */
  @SuppressWarnings("ReferenceEquality") // identity intended: is this the last segment of the list
  synchronized long boundSlots() {
    long total = 0;
    for (Segment segment : segments) {
      total += (segment == segments.get(segments.size() - 1)) ? nextInLast : segment.capacity();
    }
    return total - freeCount - freed.size();
  }

  /**
   * Makes a segment: header and zeros go to a temporary file that is forced and then renamed, so
   * a kill never leaves a short segment (recovery deletes the temporary file).
   */
  private Segment newSegment(int index) throws IOException {
    int capacity = Math.min(FIRST_CAPACITY << Math.min(index, 6),
        (Integer.MAX_VALUE - HEADER) / slotSize); // one mapping holds at most 2 GiB
    Path file = directory.resolve(PREFIX + index + SUFFIX);
    Path temporary = directory.resolve(PREFIX + index + SUFFIX + ".tmp");
    long size = HEADER + (long) capacity * slotSize;
    boolean interrupted = Thread.interrupted(); // an interrupt would close the channel
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.nativeOrder());
        header.putInt(MAGIC).putInt(VERSION).putInt(ORDER_MARK).putInt(slotSize)
            .putInt(capacity).putInt(index).putLong(storeId);
        header.putInt(crc(header.array(), 0, 32));
        header.clear();
        writeFully(channel, header, 0);
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (long position = HEADER; position < size; position += zeros.capacity()) {
          zeros.clear().limit((int) Math.min(zeros.capacity(), size - position));
          writeFully(channel, zeros, position);
        }
        channel.force(false);
      }
      Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      try {
        MappedByteBuffer buffer = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
        Segment segment = new Segment(index, file, channel, buffer, capacity);
        segments.add(segment);
        mapped = segments.toArray(new Segment[0]);
        return segment;
      } catch (IOException | RuntimeException e) {
        channel.close();
        Files.deleteIfExists(file);
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temporary);
      throw e;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void writeFully(FileChannel channel, ByteBuffer bytes, long position)
      throws IOException {
    while (bytes.hasRemaining()) {
      position += channel.write(bytes, position);
    }
  }

  static int crc(byte[] bytes, int from, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, from, length);
    return (int) crc.getValue();
  }

  @Override
  public synchronized void close() throws IOException {
    for (Segment segment : segments) {
      segment.channel().close();
    }
  }

  /** The segment files in a directory, in index order. */
  static List<Path> files(Path directory) throws IOException {
    return numbered(directory, PREFIX, SUFFIX);
  }

  private static int index(Path file) {
    return number(file, PREFIX, SUFFIX);
  }

  /** The files {@code <prefix><n><suffix>} of a directory, in the order of their numbers. */
  static List<Path> numbered(Path directory, String prefix, String suffix) throws IOException {
    try (Stream<Path> list = Files.list(directory)) {
      return list.filter(p -> {
        String name = p.getFileName().toString();
        return name.startsWith(prefix) && name.endsWith(suffix)
            && name.length() > prefix.length() + suffix.length()
            && name.substring(prefix.length(), name.length() - suffix.length())
                .chars().allMatch(Character::isDigit);
      }).sorted((x, y) -> Integer.compare(number(x, prefix, suffix), number(y, prefix, suffix)))
          .toList();
    }
  }

  /** The number in a file name {@code <prefix><n><suffix>}. */
  static int number(Path file, String prefix, String suffix) {
    String name = file.getFileName().toString();
    return Integer.parseInt(name.substring(prefix.length(), name.length() - suffix.length()));
  }

  /** What a directory's segments held: the store id and every bound slot. */
  record Scan(long storeId, List<Bound> bound) {}

  /**
   * Reads every segment of a directory left by an earlier process.
   *
   * @throws IOException naming the file and what is wrong, if a segment is truncated, damaged, or
   *     of another format
   */
  static Scan scan(Path directory) throws IOException {
    List<Bound> bound = new ArrayList<>();
    long storeId = 0;
    int expected = 0;
    for (Path file : files(directory)) {
      int index = index(file);
      if (index != expected++) {
        throw new IOException("Durable buffer file " + file + ": segment " + (expected - 1)
            + " is missing");
      }
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        long size = channel.size();
        if (size < HEADER) {
          throw new IOException("Durable buffer file " + file + " is truncated: " + size
              + " bytes, shorter than its header");
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.nativeOrder());
        while (header.hasRemaining() && channel.read(header, header.position()) > 0) {
          // read the header
        }
        header.flip();
        checkHeader(file, header, index);
        int slotSize = header.getInt(12);
        int capacity = header.getInt(16);
        long id = header.getLong(24);
        if (index == 0) {
          storeId = id;
        } else if (id != storeId) {
          throw new IOException("Durable buffer file " + file + " belongs to another store ("
              + Long.toHexString(id) + ", not " + Long.toHexString(storeId) + ")");
        }
        long expectedSize = HEADER + (long) capacity * slotSize;
        if (size != expectedSize) {
          throw new IOException("Durable buffer file " + file + " is truncated or damaged: "
              + size + " bytes, expected " + expectedSize);
        }
        ByteBuffer slots = channel.map(FileChannel.MapMode.READ_ONLY, 0, size)
            .order(ByteOrder.nativeOrder());
        for (int slot = 0; slot < capacity; slot++) {
          int offset = HEADER + slot * slotSize;
          int length = slots.getInt(offset + LENGTH) - 1;
          if (length < 0) {
            continue;
          }
          if (length > slotSize - KEY) {
            throw new IOException("Durable buffer file " + file + ": slot " + slot
                + " is damaged (key length " + length + ")");
          }
          byte[] key = new byte[length];
          slots.get(offset + KEY, key);
          if (crc(key, 0, length) != slots.getInt(offset + CRC)) {
            throw new IOException("Durable buffer file " + file + ": slot " + slot
                + " fails its checksum");
          }
          long a = slots.getLong(offset + A);
          bound.add(new Bound(ref(index, slot), gen(a), a & COUNT_MASK,
              slots.getLong(offset + H) & COUNT_MASK, slots.getLong(offset + SERIAL), a < 0, key));
        }
      }
    }
    return new Scan(storeId, bound);
  }

  // `header` is scan()'s ByteBuffer.allocate(HEADER): its array is all of it, from offset 0.
  @SuppressWarnings("ByteBufferBackingArray")
  private static void checkHeader(Path file, ByteBuffer header, int index) throws IOException {
    if (header.getInt(0) != MAGIC) {
      throw new IOException("Durable buffer file " + file + " is not a key file (bad magic)");
    }
    if (header.getInt(4) != VERSION) {
      throw new IOException("Durable buffer file " + file + " has format version "
          + header.getInt(4) + "; this version reads " + VERSION);
    }
    if (header.getInt(8) != ORDER_MARK) {
      throw new IOException("Durable buffer file " + file
          + " was written on a machine of another byte order");
    }
    if (header.getInt(HEADER_FIELDS - 4) != crc(header.array(), 0, 32)) {
      throw new IOException("Durable buffer file " + file + ": the header fails its checksum");
    }
    if (header.getInt(20) != index || header.getInt(12) < HEADER || header.getInt(16) <= 0) {
      throw new IOException("Durable buffer file " + file + ": the header is damaged");
    }
  }

  /**
   * Deletes a directory's segment files (after recovery has recorded what they held), the last
   * first: a kill in between leaves segments 0 to n, which the next start reads as they are.
   */
  static void deleteAll(Path directory) throws IOException {
    List<Path> files = new ArrayList<>(files(directory));
    java.util.Collections.reverse(files);
    for (Path file : files) {
      Files.delete(file);
    }
  }
}
