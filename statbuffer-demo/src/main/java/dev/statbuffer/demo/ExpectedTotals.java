package dev.statbuffer.demo;

import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The demo's own count of every increment the buffer accepted, in a memory-mapped file, so that
 * it survives a SIGKILL as the durable buffer's counts do (a killed process's writes to a mapped
 * file are in the kernel's page cache; only power loss could lose them).
 *
 * <h2>Layout, and why a kill leaves it exact up to the increments in flight</h2>
 * The file is a sequence of columns, each {@code keys + 1} native-order longs: a marker, then a
 * count per key. Every start of the demo appends one column per traffic thread, and only that
 * thread writes it; the columns of earlier starts are only read. A thread's increment of key
 * {@code k} whose count so far is {@code c}:
 * <ol>
 *   <li>writes the marker {@code (c + 1) << 20 | k} (release: after the previous count's write);
 *   <li>calls {@code buffer.increment} (whose add to the buffer's mapped count is a volatile
 *   compare-and-set, so the marker is written before it, and the count below after it);
 *   <li>if it returned true, writes {@code c + 1} as the count of {@code k}; if false, clears the
 *   marker.
 * </ol>
 * A kill leaves each column with every accepted increment counted except, perhaps, the one in
 * flight: when the marker names {@code k} and {@code c} and the count of {@code k} is still
 * {@code c}, the process died inside step 2 or just after it, and the buffer may or may not have
 * taken that increment (it cannot say: its own files say only that an increment that returned
 * true is kept). So {@link #inFlight()} reports, per key, how many such increments there were;
 * the verification accepts a stored total that exceeds the count by at most that many. Nothing
 * else is tolerated.
 *
 * <p>The file's length says how many columns it holds (a column cut short by a kill while the
 * file grew is zeros, and is completed). The file is locked while open, so that two demos cannot
 * write it at once.
 *
 * <p>Thread-safe as used: {@link #open} and {@link #addColumns} by the main thread; each
 * {@link Column} by its one traffic thread.
 */
final class ExpectedTotals implements AutoCloseable {
  /** Bits of a marker that hold the key index ({@link DemoCommand#MAX_KEYS} fits). */
  static final int KEY_BITS = 20;
  private static final long KEY_MASK = (1L << KEY_BITS) - 1;
  private static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private final FileChannel channel;
  private final FileLock lock;
  private final int keys;
  private final long columnBytes;
  private final long[] earlier;
  private final long[] inFlight;
  private long columns;

  private ExpectedTotals(FileChannel channel, FileLock lock, int keys) throws IOException {
    this.channel = channel;
    this.lock = lock;
    this.keys = keys;
    this.columnBytes = (keys + 1L) * Long.BYTES;
    this.columns = (channel.size() + columnBytes - 1) / columnBytes;
    this.earlier = new long[keys];
    this.inFlight = new long[keys];
    for (long c = 0; c < columns; c++) {
      readColumn(map(c));
    }
  }

  /**
   * Opens (or creates) the file and reads what earlier starts counted.
   *
   * @param file the file
   * @param keys the key space, the same at every start
   * @return the open file, locked
   * @throws IOException if it cannot be read or written
   * @throws IllegalStateException if another demo holds it
   */
  static ExpectedTotals open(Path file, int keys) throws IOException {
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      FileLock lock = tryLock(channel, file);
      return new ExpectedTotals(channel, lock, keys);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static FileLock tryLock(FileChannel channel, Path file) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new IllegalStateException(file + " is in use by another demo");
    }
    return lock;
  }

  private MappedByteBuffer map(long column) throws IOException {
    // Mapping past the end grows the file (with zeros).
    return channel.map(FileChannel.MapMode.READ_WRITE, column * columnBytes, columnBytes);
  }

  private void readColumn(ByteBuffer column) {
    for (int k = 0; k < keys; k++) {
      earlier[k] += (long) LONGS.get(column, (k + 1) * Long.BYTES);
    }
    long marker = (long) LONGS.get(column, 0);
    if (marker != 0) {
      int k = (int) (marker & KEY_MASK);
      long before = (marker >>> KEY_BITS) - 1;
      if (k < keys && (long) LONGS.get(column, (k + 1) * Long.BYTES) == before) {
        inFlight[k]++;
      }
    }
  }

  /**
   * Appends a column for each traffic thread of this start.
   *
   * @param threads how many
   * @return the new columns, one per thread
   * @throws IOException if the file cannot grow
   */
  Column[] addColumns(int threads) throws IOException {
    Column[] added = new Column[threads];
    for (int t = 0; t < threads; t++) {
      added[t] = new Column(map(columns + t));
    }
    columns += threads;
    return added;
  }

  /**
   * What earlier starts counted, per key.
   *
   * @return the array itself, indexed like the keys
   */
  long[] earlier() {
    return earlier;
  }

  /**
   * Increments in flight when an earlier start was killed, per key: each may or may not be in
   * the buffer (and so in the store).
   *
   * @return the array itself, indexed like the keys
   */
  long[] inFlight() {
    return inFlight;
  }

  /** Releases the lock and the file (the mappings stay valid until collected). */
  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }

  /** One traffic thread's counts in the file. Used by that thread only. */
  static final class Column {
    /** Typed as the view handle's coordinate, so its calls need no conversion. */
    private final ByteBuffer bytes;

    Column(ByteBuffer bytes) {
      this.bytes = bytes;
    }

    /**
     * Increments {@code key} in {@code buffer}, and records it in the file around the call: the
     * marker first, then (if the buffer accepted it) the key's new count.
     *
     * @param buffer the buffer
     * @param key the key
     * @param index the key's index
     * @param before this column's count of the key so far
     * @return what {@code buffer.increment} returned
     */
    boolean increment(StatBuffer<String> buffer, String key, int index, long before) {
      // Release: the marker is written after the previous increment's count.
      LONGS.setRelease(bytes, 0, ((before + 1) << KEY_BITS) | index);
      if (buffer.increment(key)) {
        LONGS.set(bytes, (index + 1) * Long.BYTES, before + 1);
        return true;
      }
      LONGS.setRelease(bytes, 0, 0L); // nothing in flight: the buffer refused it
      return false;
    }
  }
}
