package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.testing.InMemorySink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dead-letter file (issue 12): every drop is kept with its batch id, and a replay through an
 * exactly-once sink counts it once, however often it runs, even when the dropped call committed.
 */
class DeadLettersTest {
  @TempDir Path dir;

  /**
   * Finding 4: a handler still running when the shutdown timeout ends is reported to onDrop, and
   * may commit afterwards. With the dead-letter file and a sink that applies a batch id once, a
   * replay of the dropped batch is then harmless: the key is counted once.
   */
  @Test
  void droppedAtShutdownThenCommittedLate_replayTwice_countsOnce() throws Exception {
    Path file = dir.resolve("dead/views.sbdl");
    InMemorySink<String> store = new InMemorySink<>();
    CountDownLatch inHandler = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    BatchFlushHandler<String> slowThenCommit = batch -> {
      inHandler.countDown();
      release.await(); // a table lock held elsewhere; the call commits when it is released
      store.flush(batch);
    };
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).shutdownTimeout(Duration.ofMillis(100))
        .flushTimeout(Duration.ZERO)
        .buildBatched(DeadLetters.recording(slowThenCommit, file, KeyCodec.utf8()));
    buffer.increment("home", 40);
    buffer.increment("about", 2);
    buffer.flushAll();
    assertThat(inHandler.await(10, TimeUnit.SECONDS)).isTrue();
    buffer.close(); // runs out of its shutdown timeout: the batch is dropped and dead-lettered
    assertThat(buffer.stats().droppedSum()).isEqualTo(42);

    release.countDown(); // ... and then the abandoned call commits after all
    waitFor(() -> store.total("home") == 40);

    List<DeadLetters.DeadLetter<String>> letters = DeadLetters.read(file, KeyCodec.utf8());
    assertThat(letters).hasSize(1);
    assertThat(letters.get(0).counts()).isEqualTo(Map.of("home", 40L, "about", 2L));
    assertThat(letters.get(0).reason()).contains("shutdown timeout");

    DeadLetters.replay(file, KeyCodec.utf8(), store);
    DeadLetters.Replayed second = DeadLetters.replay(file, KeyCodec.utf8(), store);
    assertThat(second).isEqualTo(new DeadLetters.Replayed(1, 2, 42));
    assertThat(store.totals()).isEqualTo(Map.of("home", 40L, "about", 2L));
  }

  @Test
  void droppedAfterMaxAttempts_replayedIntoAHealthyStore_countsOnce() throws Exception {
    Path file = dir.resolve("views.sbdl");
    InMemorySink<Long> store = new InMemorySink<>();
    StatBuffer<Long> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).maxAttempts(2).backoff(Duration.ofMillis(1))
        .buildBatched(DeadLetters.recording(batch -> {
          throw new IOException("store down");
        }, file, KeyCodec.int64()));
    long sum = 0;
    for (long key = 0; key < 2_500; key++) {
      buffer.increment(key, key + 1);
      sum += key + 1;
    }
    buffer.close();
    assertThat(buffer.stats().droppedSum()).isEqualTo(sum);

    DeadLetters.Replayed replayed = DeadLetters.replay(file, KeyCodec.int64(), store);
    DeadLetters.replay(file, KeyCodec.int64(), store);
    assertThat(replayed.sum()).isEqualTo(sum);
    assertThat(replayed.keys()).isEqualTo(2_500);
    assertThat(store.totals().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(sum);
    assertThat(store.total(7L)).isEqualTo(8);
  }

  @Test
  void rejectedKeys_deadLetteredUnderTheirOwnIds() throws Exception {
    Path file = dir.resolve("rejected.sbdl");
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1))
        .buildBatched(DeadLetters.recording(batch -> {
          if (batch.counts().containsKey("poison")) {
            throw new RejectedKeysException(batch.id() + "-p", "poison",
                new ArithmeticException("out of range"));
          }
        }, file, KeyCodec.utf8()));
    buffer.increment("poison", 3);
    buffer.increment("fine", 4);
    buffer.close();
    List<DeadLetters.DeadLetter<String>> letters = DeadLetters.read(file, KeyCodec.utf8());
    assertThat(letters).singleElement().satisfies(letter -> {
      assertThat(letter.counts()).isEqualTo(Map.of("poison", 3L));
      assertThat(letter.id()).endsWith("-p");
      assertThat(letter.reason()).contains("out of range");
    });
    assertThat(buffer.stats().deliveredSum()).isEqualTo(4);
  }

  @Test
  void perKeyHandler_eachDropGetsAnIdOfItsOwn_replayCountsOnce() throws Exception {
    Path file = dir.resolve("per-key.sbdl");
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .interval(Duration.ofHours(1)).maxAttempts(1)
        .build(DeadLetters.recording((String key, long count) -> {
          throw new IOException("down");
        }, file, KeyCodec.utf8()));
    buffer.increment("a", 1);
    buffer.increment("b", 2);
    buffer.close();
    InMemorySink<String> store = new InMemorySink<>();
    DeadLetters.replay(file, KeyCodec.utf8(), store);
    DeadLetters.replay(file, KeyCodec.utf8(), store);
    assertThat(store.totals()).isEqualTo(Map.of("a", 1L, "b", 2L));
  }

  @Test
  void tornLastRecord_ignoredByReaders_andCutOffByTheNextAppend() throws Exception {
    Path file = dir.resolve("torn.sbdl");
    DeadLetters.append(file, KeyCodec.utf8(), "batch-1", Map.of("a", 1L), null);
    long whole = Files.size(file);
    DeadLetters.append(file, KeyCodec.utf8(), "batch-2", Map.of("b", 2L), null);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(Files.size(file) - 3); // a kill in the middle of the second append
    }
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).extracting(DeadLetters.DeadLetter::id)
        .containsExactly("batch-1");
    DeadLetters.append(file, KeyCodec.utf8(), "batch-3", Map.of("c", 3L), null);
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).extracting(DeadLetters.DeadLetter::id)
        .containsExactly("batch-1", "batch-3");
    assertThat(Files.size(file)).isGreaterThan(whole);
  }

  @Test
  void damagedRecordInTheMiddle_readThrowsNamingTheFile_neverWrongCounts() throws Exception {
    Path file = dir.resolve("damaged.sbdl");
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("key", 123_456_789L);
    DeadLetters.append(file, KeyCodec.utf8(), "batch-1", counts, null);
    DeadLetters.append(file, KeyCodec.utf8(), "batch-2", counts, null);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.write(ByteBuffer.wrap(new byte[] {0x7f}), 30); // inside the first record
    }
    assertThatThrownBy(() -> DeadLetters.read(file, KeyCodec.utf8()))
        .isInstanceOf(IOException.class).hasMessageContaining(file.toString())
        .hasMessageContaining("damaged");
    assertThatThrownBy(() -> DeadLetters.append(file, KeyCodec.utf8(), "batch-3", counts, null))
        .isInstanceOf(IOException.class).hasMessageContaining("damaged");
  }

  @Test
  void zeroFilledTail_isATornTail_notARecord() throws Exception {
    Path file = dir.resolve("zeros.sbdl");
    DeadLetters.append(file, KeyCodec.utf8(), "batch-1", Map.of("a", 1L), null);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      channel.write(ByteBuffer.allocate(64)); // a crash left zeroed blocks after the last record
    }
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).extracting(DeadLetters.DeadLetter::id)
        .containsExactly("batch-1");
    DeadLetters.append(file, KeyCodec.utf8(), "batch-2", Map.of("b", 2L), null);
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).extracting(DeadLetters.DeadLetter::id)
        .containsExactly("batch-1", "batch-2");
  }

  @Test
  void damagedLengthInTheMiddle_throws_andNothingIsCutOff() throws Exception {
    Path file = dir.resolve("length.sbdl");
    DeadLetters.append(file, KeyCodec.utf8(), "batch-1", Map.of("a", 1L), null);
    DeadLetters.append(file, KeyCodec.utf8(), "batch-2", Map.of("b", 2L), null);
    long size = Files.size(file);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      // The first record's length field (after the 8-byte header and the record magic) now
      // points far past the end, as if that record were the torn tail.
      channel.write(ByteBuffer.allocate(4).putInt(1 << 20).flip(), 12);
    }
    assertThatThrownBy(() -> DeadLetters.read(file, KeyCodec.utf8()))
        .isInstanceOf(IOException.class).hasMessageContaining("damaged");
    assertThatThrownBy(() -> DeadLetters.append(file, KeyCodec.utf8(), "batch-3",
        Map.of("c", 3L), null)).isInstanceOf(IOException.class);
    assertThat(Files.size(file)).isEqualTo(size);
  }

  @Test
  void tornHeader_startsAFreshFile() throws Exception {
    Path file = dir.resolve("header.sbdl");
    Files.write(file, new byte[] {'S', 'B', 'D'}); // died while writing the header
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).isEmpty();
    DeadLetters.append(file, KeyCodec.utf8(), "batch-1", Map.of("a", 1L), null);
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).extracting(DeadLetters.DeadLetter::id)
        .containsExactly("batch-1");
  }

  @Test
  void twoNamesForOneFile_appendsDoNotCollide() throws Exception {
    Path file = dir.resolve("real.sbdl");
    Path link = Files.createSymbolicLink(dir.resolve("link.sbdl"), file);
    DeadLetters.append(file, KeyCodec.utf8(), "batch-0", Map.of("a", 1L), null);
    Thread other = new Thread(() -> {
      for (int i = 1; i <= 100; i++) {
        try {
          DeadLetters.append(link, KeyCodec.utf8(), "link-" + i, Map.of("b", 1L), null);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    });
    other.start();
    for (int i = 1; i <= 100; i++) {
      DeadLetters.append(file, KeyCodec.utf8(), "file-" + i, Map.of("a", 1L), null);
    }
    other.join();
    assertThat(DeadLetters.read(file, KeyCodec.utf8())).hasSize(201);
  }

  @Test
  void notADeadLetterFile_orAnotherVersion_refusedWithTheReason() throws Exception {
    Path other = dir.resolve("other.txt");
    Files.writeString(other, "hello, world");
    assertThatThrownBy(() -> DeadLetters.read(other, KeyCodec.utf8()))
        .hasMessageContaining("not a StatBuffer dead-letter file");
    Path future = dir.resolve("future.sbdl");
    Files.write(future, ByteBuffer.allocate(8).put(new byte[] {'S', 'B', 'D', 'L'}).putInt(9)
        .array());
    assertThatThrownBy(() -> DeadLetters.read(future, KeyCodec.utf8()))
        .hasMessageContaining("format version 9");
    assertThat(DeadLetters.read(dir.resolve("missing.sbdl"), KeyCodec.utf8())).isEmpty();
  }

  @Test
  void codecs_roundTrip_andRejectBadBytes() {
    assertThat(KeyCodec.utf8().decode(KeyCodec.utf8().encode("päge/ü"))).isEqualTo("päge/ü");
    assertThat(KeyCodec.int64().decode(KeyCodec.int64().encode(Long.MIN_VALUE)))
        .isEqualTo(Long.MIN_VALUE);
    assertThatThrownBy(() -> KeyCodec.utf8().decode(new byte[] {(byte) 0xff}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KeyCodec.utf8().encode("a\uD800"))
        .isInstanceOf(IllegalArgumentException.class); // would come back as "a?", another key
    assertThatThrownBy(() -> KeyCodec.int64().decode(new byte[3]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 bytes");
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(condition.getAsBoolean()).isTrue();
  }
}
