package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * A dead-letter file: every count a buffer drops (after {@code maxAttempts}, when
 * {@code close()} runs out of its shutdown timeout, or because the store rejected its key) is
 * appended to it with its batch id and the reason, and forced to disk before {@code onDrop} runs.
 * {@link #replay} applies the file through a sink later, under the original batch ids, so a sink
 * that applies a batch id once (the JDBC and Redis sinks of this project) counts each dropped
 * count exactly once, however often the file is replayed, and even when the dropped call did
 * commit after all (a handler still running when the shutdown timeout ended).
 *
 * <pre>{@code
 * StatBuffer<String> views = StatBuffer.newBuilder()
 *     .buildBatched(DeadLetters.recording(sink, Path.of("views.dead"), KeyCodec.utf8()));
 * // later, once the store is healthy again:
 * DeadLetters.replay(Path.of("views.dead"), KeyCodec.utf8(), sink);
 * }</pre>
 *
 * <h2>File format</h2>
 * A header ({@code SBDL}, format version 1), then one record per dropped batch: its length, a
 * CRC-32C of its bytes, and the bytes (batch id, time, reason, and each key's codec bytes with its
 * count). A process killed in the middle of an append leaves a torn last record: readers ignore
 * it, and the next append in a process cuts it off first. A record that fails its checksum
 * anywhere else makes {@link #read} throw, naming the file and the offset: a damaged file never
 * gives wrong counts.
 *
 * <p>Thread-safe: appends to one file are serialized within the JVM and, with a file lock, across
 * processes.
 */
public final class DeadLetters {
  private static final byte[] MAGIC = {'S', 'B', 'D', 'L'};
  private static final int VERSION = 1;
  private static final int HEADER = MAGIC.length + Integer.BYTES;
  /** Starts every record ("SBDR"), so a reader can tell damage in the middle from a torn tail. */
  private static final int RECORD_MAGIC = 0x53424452;
  /** Record magic, body length, CRC-32C of length and body. */
  private static final int RECORD_HEADER = 3 * Integer.BYTES;
  /** The smallest body: empty id, time, empty reason, no keys. */
  private static final int MIN_BODY = Integer.BYTES + Long.BYTES + Integer.BYTES + Integer.BYTES;
  private static final int MAX_REASON = 2000;
  private static final int MAX_RECORD = 256 << 20;
  /** The in-JVM lock of each file appended to, by real path. */
  private static final Map<Path, Object> OPENED = new ConcurrentHashMap<>();
  private static final String ID_PREFIX = newIdPrefix();
  private static final AtomicLong IDS = new AtomicLong();

  private DeadLetters() {}

  /**
   * One dropped batch, as the file keeps it.
   *
   * @param id the batch id it was dropped under (replays use it)
   * @param counts the dropped counts, by key, in the order they were written
   * @param reason what the buffer said when it dropped them
   * @param droppedAt when
   * @param <K> the key type
   */
  public record DeadLetter<K>(String id, Map<K, Long> counts, String reason, Instant droppedAt) {
    /**
     * Copies the counts.
     *
     * @param id the batch id, not null
     * @param counts the counts, copied
     * @param reason the reason, not null
     * @param droppedAt when, not null
     */
    public DeadLetter {
      requireNonNull(id, "id");
      counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
      requireNonNull(reason, "reason");
      requireNonNull(droppedAt, "droppedAt");
    }
  }

  /**
   * What a replay applied.
   *
   * @param batches batches handed to the sink
   * @param keys keys in them
   * @param sum the sum of their counts
   */
  public record Replayed(int batches, long keys, long sum) {}

  /**
   * Wraps a batch handler so that what it drops is appended to {@code file} first; then its own
   * {@code onDrop} runs.
   *
   * @param handler the handler
   * @param file the dead-letter file; created with its directory if missing
   * @param codec turns the keys into bytes
   * @param <K> the key type
   * @return a handler to build the buffer with
   */
  public static <K> BatchFlushHandler<K> recording(BatchFlushHandler<K> handler, Path file,
      KeyCodec<K> codec) {
    requireNonNull(handler, "handler");
    Path target = file.toAbsolutePath().normalize();
    requireNonNull(codec, "codec");
    return new BatchFlushHandler<>() {
      @Override
      public void flush(FlushBatch<K> batch) throws Exception {
        handler.flush(batch);
      }

      @Override
      public void onDrop(FlushBatch<K> batch, Exception lastError) {
        appendOrLog(target, codec, batch.id(), batch.counts(), lastError);
        handler.onDrop(batch, lastError);
      }

      @Override
      public Optional<Duration> idempotencyHorizon() {
        return handler.idempotencyHorizon();
      }

      @Override
      public String toString() {
        return handler + " (dead letters: " + target + ")";
      }
    };
  }

  /**
   * Wraps a per-key handler so that what it drops is appended to {@code file} first, each count
   * under an id of its own; then its own {@code onDrop} runs.
   *
   * @param handler the handler
   * @param file the dead-letter file; created with its directory if missing
   * @param codec turns the keys into bytes
   * @param <K> the key type
   * @return a handler to build the buffer with
   */
  public static <K> FlushHandler<K> recording(FlushHandler<K> handler, Path file,
      KeyCodec<K> codec) {
    requireNonNull(handler, "handler");
    Path target = file.toAbsolutePath().normalize();
    requireNonNull(codec, "codec");
    return new FlushHandler<>() {
      @Override
      public void flush(K key, long count) throws Exception {
        handler.flush(key, count);
      }

      @Override
      public void onDrop(K key, long count, Exception lastError) {
        String id = ID_PREFIX + Long.toString(IDS.incrementAndGet(), 36);
        appendOrLog(target, codec, id, Map.of(key, count), lastError);
        handler.onDrop(key, count, lastError);
      }
    };
  }

  /**
   * Appends one dropped batch to {@code file} and forces it to disk.
   *
   * @param file the dead-letter file; created with its directory if missing
   * @param codec turns the keys into bytes
   * @param id the batch id
   * @param counts the counts
   * @param reason why they were dropped, or null
   * @param <K> the key type
   * @throws IOException if the file cannot be written
   */
  @SuppressWarnings("try") // the FileLock resource is held for the body, never referenced in it
  public static <K> void append(Path file, KeyCodec<K> codec, String id, Map<K, Long> counts,
      @Nullable Exception reason) throws IOException {
    byte[] record = encode(codec, id, counts, reason);
    Path target = file.toAbsolutePath().normalize();
    Path parent = target.getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    if (Files.notExists(target)) {
      try {
        Files.createFile(target);
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // another appender made it first
      }
    }
    // Keyed by the real path: two names of one file (a link) share the lock, because a second
    // FileLock on one file within a JVM throws instead of waiting.
    Object lock = OPENED.computeIfAbsent(target.toRealPath(), p -> new Object());
    synchronized (lock) {
      try (FileChannel channel = FileChannel.open(target, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.READ);
          FileLock ignored = channel.lock()) {
        long end = validEnd(channel, target);
        if (end < channel.size()) {
          Logs.logger().log(System.Logger.Level.WARNING, "Dead-letter file " + target
              + ": cut off a torn last record (" + (channel.size() - end) + " bytes) left by a "
              + "process that died while appending");
          channel.truncate(end);
        }
        if (end == 0) {
          channel.write(ByteBuffer.allocate(HEADER).put(MAGIC).putInt(VERSION).flip(), 0);
          end = HEADER;
        }
        ByteBuffer buffer = ByteBuffer.wrap(record);
        long position = end;
        while (buffer.hasRemaining()) {
          position += channel.write(buffer, position);
        }
        channel.force(true);
      }
    }
  }

  /**
   * Reads every dropped batch in {@code file}, ignoring a torn last record.
   *
   * @param file the dead-letter file
   * @param codec decodes the keys
   * @param <K> the key type
   * @return the batches, in the order they were dropped (empty if the file does not exist)
   * @throws IOException if the file cannot be read, is not a dead-letter file, or a record
   *     other than the last fails its checksum
   */
  public static <K> List<DeadLetter<K>> read(Path file, KeyCodec<K> codec) throws IOException {
    requireNonNull(codec, "codec");
    if (!Files.exists(file)) {
      return List.of();
    }
    List<DeadLetter<K>> out = new ArrayList<>();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer all = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
      scan(all, file, (bytes, offset) -> out.add(decode(codec, bytes, file, offset)));
    }
    return out;
  }

  /**
   * Hands every batch in {@code file} to {@code sink} under its original id, in order. With a sink
   * that applies a batch id once, replaying twice counts once. Stops at the first batch the sink
   * fails (throwing what it threw); running the replay again resumes exactly.
   *
   * @param file the dead-letter file
   * @param codec decodes the keys
   * @param sink where the counts go
   * @param <K> the key type
   * @return what was handed to the sink
   * @throws Exception what reading the file or the sink threw
   */
  public static <K> Replayed replay(Path file, KeyCodec<K> codec, BatchFlushHandler<K> sink)
      throws Exception {
    requireNonNull(sink, "sink");
    int batches = 0;
    long keys = 0;
    long sum = 0;
    for (DeadLetter<K> letter : read(file, codec)) {
      if (letter.counts().isEmpty()) {
        continue;
      }
      sink.flush(Target.Batch.of(letter.id(), letter.counts(), 1));
      batches++;
      keys += letter.counts().size();
      for (long count : letter.counts().values()) {
        sum += count;
      }
    }
    return new Replayed(batches, keys, sum);
  }

  private static <K> void appendOrLog(Path file, KeyCodec<K> codec, String id,
      Map<K, Long> counts, @Nullable Exception reason) {
    try {
      append(file, codec, id, counts, reason);
    } catch (IOException | RuntimeException e) {
      String message = "StatBuffer: could not append dropped batch " + id + " (" + counts.size()
          + " keys) to the dead-letter file " + file + ": " + e;
      Logs.logger().log(System.Logger.Level.ERROR, message, e);
      System.err.println(message);
    }
  }

  private static <K> byte[] encode(KeyCodec<K> codec, String id, Map<K, Long> counts,
      @Nullable Exception reason) {
    byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
    String text = String.valueOf(reason);
    if (text.length() > MAX_REASON) {
      text = text.substring(0, MAX_REASON) + "...";
    }
    byte[] reasonBytes = text.getBytes(StandardCharsets.UTF_8);
    List<byte[]> keys = new ArrayList<>(counts.size());
    int size = Integer.BYTES + idBytes.length + Long.BYTES + Integer.BYTES + reasonBytes.length
        + Integer.BYTES;
    for (K key : counts.keySet()) {
      byte[] bytes = codec.encode(key);
      keys.add(bytes);
      size += Integer.BYTES + bytes.length + Long.BYTES;
    }
    ByteBuffer payload = ByteBuffer.allocate(size);
    payload.putInt(idBytes.length).put(idBytes).putLong(System.currentTimeMillis())
        .putInt(reasonBytes.length).put(reasonBytes).putInt(counts.size());
    int i = 0;
    for (long count : counts.values()) {
      byte[] bytes = keys.get(i++);
      payload.putInt(bytes.length).put(bytes).putLong(count);
    }
    byte[] body = payload.array();
    return ByteBuffer.allocate(RECORD_HEADER + body.length).putInt(RECORD_MAGIC)
        .putInt(body.length).putInt(crc(body.length, body, 0, body.length)).put(body).array();
  }

  private static <K> DeadLetter<K> decode(KeyCodec<K> codec, byte[] bytes, Path file,
      int offset) throws IOException {
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes);
      String id = new String(take(in), StandardCharsets.UTF_8);
      Instant at = Instant.ofEpochMilli(in.getLong());
      String reason = new String(take(in), StandardCharsets.UTF_8);
      int n = in.getInt();
      Map<K, Long> counts = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        K key = codec.decode(take(in));
        counts.merge(key, in.getLong(), Long::sum);
      }
      return new DeadLetter<>(id, counts, reason, at);
    } catch (RuntimeException e) {
      throw new IOException("Dead-letter file " + file + ": the record at offset " + offset
          + " does not decode with " + codec + ": " + e, e);
    }
  }

  private static byte[] take(ByteBuffer in) {
    byte[] bytes = new byte[in.getInt()];
    in.get(bytes);
    return bytes;
  }

  /** What {@link #scan} does with each whole record: its bytes and its offset. */
  @FunctionalInterface
  private interface RecordConsumer {
    void accept(byte[] bytes, int offset) throws IOException;
  }

  /** The end of the last whole record (0 for an empty or torn-header file); checks the file. */
  private static long validEnd(FileChannel channel, Path file) throws IOException {
    long size = channel.size();
    if (size == 0) {
      return 0;
    }
    ByteBuffer all = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
    return scan(all, file, (bytes, offset) -> { });
  }

  /**
   * Walks the file's records, handing each whole one to {@code each}; returns the end of the last
   * one. What follows it must be the torn tail of an append that a dying process left: if a whole
   * record can be found anywhere after it, the file is damaged in the middle and this throws.
   * A header shorter than its 8 bytes but matching them so far is a torn header (end 0).
   */
  private static long scan(ByteBuffer all, Path file, RecordConsumer each) throws IOException {
    if (all.remaining() < HEADER) {
      for (int i = 0; i < Math.min(all.remaining(), MAGIC.length); i++) {
        if (all.get(i) != MAGIC[i]) {
          throw new IOException(file + " is not a StatBuffer dead-letter file");
        }
      }
      return 0; // a header torn by a process that died while creating the file
    }
    byte[] magic = new byte[MAGIC.length];
    all.get(magic);
    int version = all.getInt();
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IOException(file + " is not a StatBuffer dead-letter file");
    }
    if (version != VERSION) {
      throw new IOException("Dead-letter file " + file + " has format version " + version
          + "; this build reads version " + VERSION);
    }
    for (;;) {
      int start = all.position();
      byte[] bytes = recordAt(all, start);
      if (bytes == null) {
        for (int later = start + 1; later + RECORD_HEADER <= all.limit(); later++) {
          if (recordAt(all, later) != null) {
            throw new IOException("Dead-letter file " + file + ": the record at offset " + start
                + " is damaged, and whole records follow it; nothing was read past it or"
                + " appended (repair or move the file)");
          }
        }
        return start;
      }
      each.accept(bytes, start);
      all.position(start + RECORD_HEADER + bytes.length);
    }
  }

  /** The bytes of the whole record at {@code offset}, or null if there is none there. */
  private static byte @Nullable [] recordAt(ByteBuffer all, int offset) {
    if (offset + RECORD_HEADER > all.limit() || all.getInt(offset) != RECORD_MAGIC) {
      return null;
    }
    int length = all.getInt(offset + Integer.BYTES);
    if (length < MIN_BODY || length > MAX_RECORD
        || (long) offset + RECORD_HEADER + length > all.limit()) {
      return null;
    }
    byte[] bytes = new byte[length];
    all.get(offset + RECORD_HEADER, bytes);
    return (crc(length, bytes, 0, length) == all.getInt(offset + 2 * Integer.BYTES)) ? bytes
        : null;
  }

  private static String newIdPrefix() {
    byte[] bytes = new byte[9];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes) + "-d";
  }

  /** CRC-32C of a record's length and body (so a zeroed tail never checks out). */
  private static int crc(int length, byte[] bytes, int from, int count) {
    CRC32C crc = new CRC32C();
    crc.update(ByteBuffer.allocate(Integer.BYTES).putInt(length).flip());
    crc.update(bytes, from, count);
    return (int) crc.getValue();
  }
}
