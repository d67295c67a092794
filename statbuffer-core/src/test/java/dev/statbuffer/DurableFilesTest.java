package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.DurableBufferTest.Store;
import dev.statbuffer.testing.ManualClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A durable buffer's files, damaged or refused (issue 10, behaviour 6): a truncated or corrupted
 * file, or one of another format version, makes {@code build} throw naming the file and what is
 * wrong, never recover wrong counts; a torn last journal record (a kill in the middle of an
 * append) is cut off and the rest recovered; a key file that cannot grow refuses new keys while
 * existing keys keep counting.
 */
class DurableFilesTest {
  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock();

  private StatBuffer.DurableBuilder<String> builder() {
    return builder(Duration.ofSeconds(1));
  }

  private StatBuffer.DurableBuilder<String> builder(Duration interval) {
    return StatBuffer.newBuilder().shutdownHook(false).ticker(clock).scheduler(clock)
        .executor(Runnable::run).interval(interval).flushTimeout(Duration.ZERO)
        .backoff(Duration.ofSeconds(1)).shutdownTimeout(Duration.ofMillis(100))
        .durable(dir, KeyCodec.utf8());
  }

  /** Leaves a key file with counts in it, as a killed process does. */
  private void leaveCounts() {
    StatBuffer<String> buffer = builder().buildBatched(new Store());
    buffer.increment("a", 2);
    buffer.increment("b", 3);
    buffer.crashForTests();
  }

  /** Leaves two unsettled journal records (a failing store), as a killed process does. */
  private Store leaveTwoRecords() {
    Store store = new Store();
    store.failing.set(true);
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 2);
    clock.advance(Duration.ofSeconds(1));
    buffer.increment("b", 3);
    clock.advance(Duration.ofSeconds(1));
    store.dead.set(true);
    buffer.crashForTests();
    return store;
  }

  private void poke(Path file, long position, byte[] bytes) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.write(ByteBuffer.wrap(bytes), position);
    }
  }

  private byte read(Path file, long position) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      channel.read(one, position);
      return one.get(0);
    }
  }

  @Test
  void keyFile_badMagic_buildThrowsNamingTheFile() throws IOException {
    leaveCounts();
    Path keys = dir.resolve("keys-0.sb");
    poke(keys, 0, new byte[] {'X'});
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(keys.toRealPath().toString()).hasMessageContaining("magic");
  }

  @Test
  void keyFile_otherFormatVersion_buildThrowsNamingTheVersion() throws IOException {
    leaveCounts();
    Path keys = dir.resolve("keys-0.sb");
    poke(keys, 4, ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(9).array());
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(keys.toRealPath().toString()).hasMessageContaining("version 9");
  }

  @Test
  void keyFile_truncated_buildThrows() throws IOException {
    leaveCounts();
    Path keys = dir.resolve("keys-0.sb");
    try (FileChannel channel = FileChannel.open(keys, StandardOpenOption.WRITE)) {
      channel.truncate(channel.size() / 2);
    }
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(keys.toRealPath().toString()).hasMessageContaining("truncated");
  }

  @Test
  void keyFile_damagedKey_buildThrowsOnItsChecksum() throws IOException {
    leaveCounts();
    Path keys = dir.resolve("keys-0.sb");
    long firstKeyByte = KeySlots.HEADER + KeySlots.KEY;
    poke(keys, firstKeyByte, new byte[] {(byte) (read(keys, firstKeyByte) ^ 1)});
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(keys.toRealPath().toString()).hasMessageContaining("checksum");
  }

  @Test
  void journal_recordDamagedInTheMiddle_buildThrows() throws IOException {
    leaveTwoRecords();
    Path journal = dir.resolve("journal-0.sb");
    long firstBody = 12 + 16 + 30; // segment header, record header, into the body
    poke(journal, firstBody, new byte[] {(byte) (read(journal, firstBody) ^ 0x40)});
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(journal.toRealPath().toString()).hasMessageContaining("damaged");
  }

  @Test
  void journal_tornLastRecord_cutOff_restRecoveredExactly() throws IOException {
    Store first = leaveTwoRecords();
    Path journal = dir.resolve("journal-0.sb");
    long end = Files.size(journal);
    // A kill in the middle of a third append: its header, part of its body.
    poke(journal, end, new byte[] {'S', 'B', 'J', 'R', 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 90, 7});
    Store healthy = new Store();
    StatBuffer<String> next = builder().buildBatched(healthy);
    next.close();
    assertThat(healthy.total("a")).isEqualTo(2);
    assertThat(healthy.total("b")).isEqualTo(3);
    assertThat(healthy.applied.keySet()).containsExactlyInAnyOrderElementsOf(
        first.calls.stream().distinct().toList());
  }

  @Test
  void journal_otherFormatVersion_buildThrows() throws IOException {
    leaveTwoRecords();
    Path journal = dir.resolve("journal-0.sb");
    poke(journal, 4, ByteBuffer.allocate(4).putInt(7).array());
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(journal.toRealPath().toString()).hasMessageContaining("version 7");
  }

  @Test
  void damagedDirectory_buildFails_directoryNotHeldAfterwards() throws IOException {
    leaveCounts();
    poke(dir.resolve("keys-0.sb"), 0, new byte[] {'X'});
    assertThatThrownBy(() -> builder().buildBatched(new Store()))
        .isInstanceOf(IllegalStateException.class);
    poke(dir.resolve("keys-0.sb"), 0, new byte[] {'S'}); // repaired ("SBKS" in native order)
    Store store = new Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.close();
    assertThat(store.total("a")).isEqualTo(2);
  }

  @Test
  void keyFileCannotGrow_newKeysRefused_existingKeysKeepCounting() throws IOException {
    Store store = new Store();
    StatBuffer<String> buffer = builder(Duration.ofHours(1)).buildBatched(store);
    int firstSegment = 16384;
    for (int i = 0; i < firstSegment; i++) {
      assertThat(buffer.increment("k" + i)).isTrue();
    }
    // The next segment's file name is taken by a directory: making it fails, as on a full disk.
    Path blocker = Files.createDirectory(dir.resolve("keys-1.sb"));
    assertThat(buffer.increment("new-1")).isFalse();
    assertThat(buffer.increment("new-2")).isFalse();
    assertThat(buffer.increment("k7", 5)).isTrue();
    assertThat(buffer.stats().rejected()).isEqualTo(2);

    Files.delete(blocker);
    clock.advance(Duration.ofSeconds(1)); // refusals retry the disk once a second
    assertThat(buffer.increment("new-3")).isTrue();
    buffer.close();
    assertThat(store.total("k7")).isEqualTo(6);
    assertThat(store.total("new-3")).isEqualTo(1);
    assertThat(store.total("new-1")).isZero();
  }
}
