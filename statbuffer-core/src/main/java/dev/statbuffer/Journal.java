package dev.statbuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * A durable buffer's journal of hand-overs: one record per delivery, appended before the delivery
 * can reach the handler, and marked settled once it is delivered or dropped. After a crash, the
 * records not settled are delivered again under their own ids and counts, and their
 * {@code hAfter} values tell recovery what was taken from each key slot even where the slot's
 * {@code H} store was lost ({@link Durability}).
 *
 * <h2>Files</h2>
 * Segments {@code journal-<n>.sb}, each a header ({@code SBJN}, format version, CRC) and records.
 * A record is its magic ({@code SBJR}), a status byte (0 pending, 1 settled; outside the
 * checksum, so settling writes one byte in place) and padding, a CRC-32C of what follows, the
 * body's length, and the body: store id, wall-clock time, sender and sequence, and each key's bytes, count,
 * slot, generation and {@code hAfter}. A process killed in the middle of an append leaves a torn
 * last record, which recovery cuts off; a record that fails its checksum with whole records after
 * it means damage, and recovery refuses the file, naming it and the offset.
 *
 * <p>A segment is closed to appends once it passes {@link #SEGMENT_BYTES}, and deleted once every
 * record in it is settled. (A delivery retrying for a long time keeps its segment.)
 *
 * <p>Thread-safe: {@link #append} runs under the buffer's hand-over lock (one at a time);
 * {@link #settle} from any thread, once per record (positional writes need no lock).
 */
final class Journal {
  static final long SEGMENT_BYTES = 8L << 20;
  private static final int MAGIC = 0x53424A4E; // "SBJN"
  private static final int RECORD_MAGIC = 0x53424A52; // "SBJR"
  private static final int VERSION = 1;
  private static final int HEADER = 12;
  /** Magic, status and padding, CRC, length. */
  private static final int RECORD_HEADER = 16;
  private static final String PREFIX = "journal-";
  private static final String SUFFIX = ".sb";

  /** One key's count in a record; {@code slot} is -1 for a count that came from no slot. */
  record Entry(
      // Written to or read from a record, never compared or hashed: identity is fine.
      @SuppressWarnings("ArrayRecordComponent") byte[] key,
      long count, long slot, int gen, long hAfter) {}

  /** A record read back by recovery; {@code sender} is null for a per-key delivery. */
  record Recorded(Ref ref, long storeId, long serial, long wallMillis, @Nullable String sender,
                  long sequence, List<Entry> entries) {}

  /**
   * Where a record lives, for {@link #settle}; settled once all of its {@code parts} are (a
   * record recovered for a per-key handler becomes one delivery per key).
   */
  static final class Ref {
    final Segment segment;
    final long position;
    final AtomicInteger parts = new AtomicInteger(1);

    Ref(Segment segment, long position) {
      this.segment = segment;
      this.position = position;
    }
  }

  /** One journal file. */
  static final class Segment {
    final int index;
    final Path file;
    /** Reopened if an interrupt closed it (see {@link #write}). */
    volatile FileChannel channel;
    final AtomicInteger live = new AtomicInteger();
    final AtomicBoolean deleted = new AtomicBoolean();
    volatile boolean current;
    long end;

    Segment(int index, Path file, FileChannel channel, long end) {
      this.index = index;
      this.file = file;
      this.channel = channel;
      this.end = end;
    }
  }

  private final Path directory;
  private final System.Logger logger;
  private final String name;
  private final List<Segment> open = new ArrayList<>();
  private Segment current;

  /** A journal holding {@code kept} (segments with unsettled records) and a new segment. */
  private Journal(Path directory, String name, List<Segment> kept, int next) throws IOException {
    this.directory = directory;
    this.name = name;
    this.logger = System.getLogger(StatBuffer.class.getName());
    open.addAll(kept);
    this.current = newSegment(next);
  }

  /**
   * Opens a directory's journal for a new process: reads every record not settled (cutting a torn
   * tail), keeps the segments that hold them for their settlement, deletes the others, and starts
   * a new segment for appends.
   */
  static Journal open(Path directory, String name, List<Recorded> unsettled) throws IOException {
    deleteTemporary(directory);
    List<Segment> kept = new ArrayList<>();
    int next = 0;
    for (Path file : files(directory)) {
      int index = index(file);
      next = Math.max(next, index + 1);
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      Segment segment = new Segment(index, file, channel, 0);
      List<Recorded> found = new ArrayList<>();
      try {
        segment.end = read(segment, found);
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
      if (found.isEmpty()) {
        channel.close();
        Files.delete(file);
      } else {
        segment.live.set(found.size());
        kept.add(segment);
        unsettled.addAll(found);
      }
    }
    return new Journal(directory, name, kept, next);
  }

  /** Appends a record; under the hand-over lock. */
  Ref append(long storeId, long serial, long wallMillis, @Nullable String sender, long sequence,
      List<Entry> entries) throws IOException {
    byte[] senderBytes = (sender != null) ? sender.getBytes(StandardCharsets.US_ASCII)
        : new byte[0];
    int size = 8 + 8 + 8 + 8 + 2 + senderBytes.length + 4;
    for (Entry entry : entries) {
      size += 2 + entry.key().length + 8 + 8 + 4 + 8;
    }
    ByteBuffer record = ByteBuffer.allocate(RECORD_HEADER + size);
    record.putInt(RECORD_MAGIC).putInt(0).putInt(0).putInt(size);
    record.putLong(storeId).putLong(serial).putLong(wallMillis).putLong(sequence)
        .putShort((short) senderBytes.length).put(senderBytes).putInt(entries.size());
    for (Entry entry : entries) {
      record.putShort((short) entry.key().length).put(entry.key()).putLong(entry.count())
          .putLong(entry.slot()).putInt(entry.gen()).putLong(entry.hAfter());
    }
    record.putInt(8, crc(record.array(), 12, 4 + size));
    record.flip();
    Segment segment = current;
    if (segment.end >= SEGMENT_BYTES) {
      segment = roll();
    }
    long position = segment.end;
    write(segment, record, position);
    segment.end = position + record.limit();
    segment.live.incrementAndGet();
    return new Ref(segment, position);
  }

  /** Marks a record settled; its segment goes once all of its records are. */
  void settle(Ref ref) {
    if (ref.parts.decrementAndGet() != 0) {
      return;
    }
    Segment segment = ref.segment;
    try {
      write(segment, ByteBuffer.wrap(new byte[] {1}), ref.position + 4);
    } catch (IOException e) {
      // The record stays pending: the next start delivers it again under its id (a sink that
      // applies an id once counts it once).
      logger.log(System.Logger.Level.WARNING, "StatBuffer '" + name + "': could not mark a "
          + "delivered batch in " + segment.file + "; it will be delivered again after a restart",
          e);
    }
    if (segment.live.decrementAndGet() == 0 && !segment.current) {
      delete(segment);
    }
  }

  /** Forces every open segment to the storage device. */
  void force() throws IOException {
    List<Segment> segments;
    synchronized (open) {
      segments = List.copyOf(open);
    }
    for (Segment segment : segments) {
      if (!segment.deleted.get()) {
        boolean interrupted = Thread.interrupted();
        try {
          segment.channel.force(false);
        } catch (java.nio.channels.ClosedChannelException e) {
          // deleted meanwhile, or closed by an interrupt: the next write reopens it
        } finally {
          if (interrupted) {
            Thread.currentThread().interrupt();
          }
        }
      }
    }
  }

  /** Whether no record is pending. */
  boolean isEmpty() {
    synchronized (open) {
      return open.stream().allMatch(s -> s.live.get() == 0);
    }
  }

  private Segment roll() throws IOException {
    Segment old = current;
    current = newSegment(old.index + 1);
    old.current = false;
    if (old.live.get() == 0) {
      delete(old);
    }
    return current;
  }

  /**
   * Makes a segment: its header is written to a temporary file that is then renamed, so a kill
   * never leaves a segment without its header.
   */
  private Segment newSegment(int index) throws IOException {
    Path file = directory.resolve(PREFIX + index + SUFFIX);
    Path temporary = directory.resolve(PREFIX + index + SUFFIX + ".tmp");
    ByteBuffer header = ByteBuffer.allocate(HEADER);
    header.putInt(MAGIC).putInt(VERSION).putInt(crc(header.array(), 0, 8));
    boolean interrupted = Thread.interrupted();
    try {
      Files.write(temporary, header.array());
      Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temporary);
      throw e;
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    Segment segment = new Segment(index, file, channel, HEADER);
    segment.current = true;
    synchronized (open) {
      open.add(segment);
    }
    return segment;
  }

  /**
   * A positional write that an interrupt of the calling thread cannot spoil: the flag is cleared
   * for the write and restored after, and a channel closed by an interrupt racing the write
   * (a {@code FileChannel} closes itself for every thread then) is reopened and the write resumed.
   */
  private static void write(Segment segment, ByteBuffer bytes, long position) throws IOException {
    boolean interrupted = Thread.interrupted();
    try {
      for (int attempt = 0; bytes.hasRemaining(); ) {
        FileChannel channel = segment.channel;
        try {
          channel.write(bytes, position + bytes.position());
        } catch (java.nio.channels.ClosedChannelException e) {
          if (segment.deleted.get() || ++attempt > 3) {
            throw e;
          }
          Thread.interrupted();
          synchronized (segment) {
            if (segment.channel == channel) {
              segment.channel = FileChannel.open(segment.file, StandardOpenOption.READ,
                  StandardOpenOption.WRITE);
            }
          }
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void delete(Segment segment) {
    if (!segment.deleted.compareAndSet(false, true)) {
      return;
    }
    synchronized (open) {
      open.remove(segment);
    }
    try {
      segment.channel.close();
      Files.deleteIfExists(segment.file);
    } catch (IOException e) {
      logger.log(System.Logger.Level.WARNING, "StatBuffer '" + name + "': could not delete "
          + segment.file + " (every record in it is settled)", e);
    }
  }

  /** Closes the journal; deletes its files if asked and nothing is pending. */
  void close(boolean deleteIfEmpty) throws IOException {
    List<Segment> segments;
    synchronized (open) {
      segments = List.copyOf(open);
    }
    boolean clean = deleteIfEmpty && isEmpty();
    for (Segment segment : segments) {
      if (clean) {
        delete(segment);
      } else {
        segment.channel.close();
      }
    }
  }

  /** Reads a segment's unsettled records into {@code found}; returns the end of the last. */
  private static long read(Segment segment, List<Recorded> found) throws IOException {
    Path file = segment.file;
    ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file));
    if (all.limit() < HEADER || all.getInt(0) != MAGIC) {
      throw new IOException("Durable buffer file " + file + " is not a journal (bad magic or "
          + "truncated header)");
    }
    if (all.getInt(4) != VERSION) {
      throw new IOException("Durable buffer file " + file + " has format version "
          + all.getInt(4) + "; this version reads " + VERSION);
    }
    if (all.getInt(8) != crc(all.array(), 0, 8)) {
      throw new IOException("Durable buffer file " + file + ": the header fails its checksum");
    }
    int position = HEADER;
    while (position < all.limit()) {
      int length = wholeRecord(all, position);
      if (length < 0) {
        if (anyRecordAfter(all, position + 1)) {
          throw new IOException("Durable buffer file " + file + ": the record at offset "
              + position + " is damaged (whole records follow it)");
        }
        if (position < all.limit()) {
          segment.channel.truncate(position); // a torn last record, left by a killed process
        }
        break;
      }
      if (all.get(position + 4) == 0) {
        found.add(decode(all, position, new Ref(segment, position)));
      }
      position += RECORD_HEADER + length;
    }
    return position;
  }

  /** The body length of a whole, valid record at {@code position}, or -1. */
  // `all` is read()'s ByteBuffer.wrap of the whole file: its array is all of it, from offset 0.
  @SuppressWarnings("ByteBufferBackingArray")
  private static int wholeRecord(ByteBuffer all, int position) {
    if (all.limit() - position < RECORD_HEADER || all.getInt(position) != RECORD_MAGIC) {
      return -1;
    }
    int length = all.getInt(position + 12);
    if (length < 0 || length > all.limit() - position - RECORD_HEADER) {
      return -1;
    }
    int crc = crc(all.array(), position + 12, 4 + length);
    return (crc == all.getInt(position + 8)) ? length : -1;
  }

  private static boolean anyRecordAfter(ByteBuffer all, int from) {
    for (int p = from; p + RECORD_HEADER <= all.limit(); p++) {
      if (all.getInt(p) == RECORD_MAGIC && wholeRecord(all, p) >= 0) {
        return true;
      }
    }
    return false;
  }

  private static Recorded decode(ByteBuffer all, int position, Ref ref) {
    ByteBuffer in = all.duplicate().position(position + RECORD_HEADER);
    long storeId = in.getLong();
    long serial = in.getLong();
    long wall = in.getLong();
    long sequence = in.getLong();
    byte[] senderBytes = new byte[in.getShort()];
    in.get(senderBytes);
    int count = in.getInt();
    List<Entry> entries = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte[] key = new byte[in.getShort() & 0xFFFF];
      in.get(key);
      entries.add(new Entry(key, in.getLong(), in.getLong(), in.getInt(), in.getLong()));
    }
    String sender = (senderBytes.length == 0) ? null
        : new String(senderBytes, StandardCharsets.US_ASCII);
    return new Recorded(ref, storeId, serial, wall, sender, sequence, entries);
  }

  private static int crc(byte[] bytes, int from, int count) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, from, count);
    return (int) crc.getValue();
  }

  /** Deletes the temporary files of a segment or key file a kill interrupted being made. */
  static void deleteTemporary(Path directory) throws IOException {
    try (java.util.stream.Stream<Path> list = Files.list(directory)) {
      for (Path file : list.filter(p -> p.getFileName().toString().endsWith(".sb.tmp"))
          .toList()) {
        Files.deleteIfExists(file);
      }
    }
  }

  static List<Path> files(Path directory) throws IOException {
    return KeySlots.numbered(directory, PREFIX, SUFFIX);
  }

  private static int index(Path file) {
    return KeySlots.number(file, PREFIX, SUFFIX);
  }
}
