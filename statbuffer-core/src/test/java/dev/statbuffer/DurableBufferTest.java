package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable buffers (issue 10) in one process: counts survive a crash (simulated at a quiescent
 * point with {@code crashForTests}, which leaves the files as a killed process does), batches
 * handed over without an answer come back under their ids, close() leaves nothing pending or
 * keeps what it could not deliver, and bad input gets a clear error. The kill test with a real
 * SIGKILL is in the JDBC module ({@code DurableKillTest}).
 */
class DurableBufferTest {
  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock();

  /** An exactly-once store: applies each batch id once, and remembers every call. */
  static final class Store implements BatchFlushHandler<String> {
    final Map<String, Map<String, Long>> applied = new ConcurrentHashMap<>();
    final List<String> calls = new CopyOnWriteArrayList<>();
    final AtomicBoolean failing = new AtomicBoolean();
    final AtomicBoolean dead = new AtomicBoolean();

    @Override
    public void flush(FlushBatch<String> batch) throws IOException {
      if (dead.get()) {
        throw new IOException("the process is dead");
      }
      calls.add(batch.id());
      if (failing.get()) {
        throw new IOException("store down");
      }
      Map<String, Long> counts = new HashMap<>(batch.counts());
      Map<String, Long> before = applied.putIfAbsent(batch.id(), counts);
      if (before != null) {
        assertThat(before).as("a batch id delivered twice with other counts").isEqualTo(counts);
      }
    }

    /**
     * A handler for one process's life: after {@code died} is set it refuses every call, as a
     * dead process makes none (a crashed buffer's retry timers still fire on the shared clock).
     */
    BatchFlushHandler<String> life(AtomicBoolean died) {
      return batch -> {
        if (died.get()) {
          throw new IOException("this process is dead");
        }
        flush(batch);
      };
    }

    long total(String key) {
      return applied.values().stream().mapToLong(m -> m.getOrDefault(key, 0L)).sum();
    }
  }

  private StatBuffer.DurableBuilder<String> builder() {
    return StatBuffer.newBuilder().shutdownHook(false).ticker(clock).scheduler(clock)
        .executor(Runnable::run).interval(Duration.ofSeconds(1)).flushTimeout(Duration.ZERO)
        .backoff(Duration.ofSeconds(1)).shutdownTimeout(Duration.ofMillis(200))
        .durable(dir, KeyCodec.utf8());
  }

  private List<String> dataFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("lock")).toList();
    }
  }

  @Test
  void close_deliversEverything_leavesNothingPending_cleanRestartDeliversNothing()
      throws IOException {
    Store store = new Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    for (int i = 0; i < 1000; i++) {
      assertThat(buffer.increment("k" + (i % 37), 2)).isTrue();
    }
    buffer.close();
    long total = 0;
    for (int k = 0; k < 37; k++) {
      total += store.total("k" + k);
    }
    assertThat(total).isEqualTo(2000);
    assertThat(dataFiles()).isEmpty();

    Store second = new Store();
    StatBuffer<String> again = builder().buildBatched(second);
    assertThat(again.stats().recoveredSum()).isZero();
    again.close();
    assertThat(second.calls).isEmpty();
  }

  @Test
  void crash_countsNeverHandedOver_deliveredByTheNextBuffer() {
    Store store = new Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    for (int i = 0; i < 500; i++) {
      buffer.increment("page-" + (i % 10));
    }
    buffer.crashForTests();
    assertThat(store.calls).isEmpty();

    StatBuffer<String> next = builder().buildBatched(store);
    assertThat(next.stats().recoveredSum()).isEqualTo(500);
    next.close();
    for (int k = 0; k < 10; k++) {
      assertThat(store.total("page-" + k)).isEqualTo(50);
    }
  }

  @Test
  void crash_batchHandedOverWithoutAnAnswer_deliveredAgainUnderItsId() {
    Store store = new Store();
    store.failing.set(true);
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 3);
    buffer.increment("b", 4);
    clock.advance(Duration.ofSeconds(1)); // handed over; the call fails; a retry waits
    assertThat(store.calls).hasSize(1);
    String id = store.calls.get(0);
    buffer.increment("a", 5); // a new window, never handed over
    store.dead.set(true);
    buffer.crashForTests();

    Store healthy = new Store();
    StatBuffer<String> next = builder().buildBatched(healthy);
    next.close();
    assertThat(healthy.applied).containsKey(id);
    assertThat(healthy.applied.get(id)).isEqualTo(Map.of("a", 3L, "b", 4L));
    assertThat(healthy.total("a")).isEqualTo(8);
    assertThat(healthy.total("b")).isEqualTo(4);
    assertThat(next.stats().recoveredSum()).isEqualTo(12);
  }

  @Test
  void crash_batchDeliveredButNotMarked_deliveredAgainUnderItsId_appliedOnce() {
    Store store = new Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 3);
    clock.advance(Duration.ofSeconds(1));
    assertThat(store.total("a")).isEqualTo(3);
    buffer.crashForTests();
    // The record was marked settled: nothing comes back.
    Store next = new Store();
    StatBuffer<String> again = builder().buildBatched(next);
    again.close();
    assertThat(next.calls).isEmpty();
  }

  @Test
  void crash_repeatedly_withRetriesInFlight_totalsExactOnce() {
    Store store = new Store();
    long accepted = 0;
    java.util.SplittableRandom random = new java.util.SplittableRandom(42);
    int recovered = 0;
    for (int life = 0; life < 30; life++) {
      AtomicBoolean died = new AtomicBoolean();
      store.failing.set(random.nextBoolean());
      StatBuffer<String> buffer = builder().buildBatched(store.life(died));
      recovered += (buffer.stats().recoveredSum() > 0) ? 1 : 0;
      for (int step = 0; step < 50; step++) {
        String key = "k" + random.nextInt(20);
        long delta = random.nextInt(5) + 1;
        if (buffer.increment(key, delta)) {
          accepted += delta;
        }
        if (random.nextInt(10) == 0) {
          clock.advance(Duration.ofMillis(random.nextInt(1500)));
        }
        if (random.nextInt(25) == 0) {
          store.failing.set(!store.failing.get());
        }
      }
      died.set(true);
      buffer.crashForTests();
    }
    assertThat(recovered).as("lives that took up counts of the one before").isGreaterThan(10);
    store.failing.set(false);
    StatBuffer<String> last = builder().buildBatched(store);
    last.close();
    long total = 0;
    for (int k = 0; k < 20; k++) {
      total += store.total("k" + k);
    }
    assertThat(total).isEqualTo(accepted);
  }

  @Test
  void recoveredBatch_olderThanTheSinksHorizon_droppedNotDeliveredAgain() throws Exception {
    Store store = new Store();
    store.failing.set(true);
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 3);
    clock.advance(Duration.ofSeconds(1)); // handed over; the call fails
    store.dead.set(true);
    buffer.crashForTests();
    Thread.sleep(20); // the record's wall-clock age passes the horizon below

    Store forgetful = new Store();
    List<Exception> drops = new CopyOnWriteArrayList<>();
    BatchFlushHandler<String> sink = new BatchFlushHandler<>() {
      @Override
      public void flush(FlushBatch<String> batch) throws Exception {
        forgetful.flush(batch);
      }

      @Override
      public void onDrop(FlushBatch<String> batch, Exception cause) {
        drops.add(cause);
      }

      @Override
      public java.util.Optional<Duration> idempotencyHorizon() {
        return java.util.Optional.of(Duration.ofMillis(10));
      }
    };
    StatBuffer<String> next = builder().buildBatched(sink);
    next.close();
    assertThat(forgetful.calls).isEmpty();
    assertThat(drops).singleElement().isInstanceOf(RetryHorizonException.class);
    assertThat(next.stats().droppedSum()).isEqualTo(3);
  }

  @Test
  void negativeDeltas_bothBatchesUnanswered_recoveredOnceEach() {
    Store store = new Store();
    store.failing.set(true);
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 5);
    clock.advance(Duration.ofSeconds(1)); // batch 1 {a: 5} fails
    buffer.increment("a", -3);
    clock.advance(Duration.ofSeconds(1)); // batch 2 {a: -3} fails: the taken total went down
    store.dead.set(true);
    buffer.crashForTests();

    Store healthy = new Store();
    StatBuffer<String> next = builder().buildBatched(healthy);
    next.close();
    assertThat(healthy.total("a")).isEqualTo(2); // was -1: the -3 came back under a new id too
    assertThat(next.stats().recoveredSum()).isEqualTo(2);
  }

  @Test
  void flushAllOnAnInterruptedThread_journalKeepsWorking_crashRecoversExactly()
      throws Exception {
    Store store = new Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 1);
    Thread.currentThread().interrupt();
    try {
      buffer.flushAll();
    } finally {
      assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
    }
    store.failing.set(true);
    buffer.increment("a", 2);
    buffer.increment("b", 4);
    clock.advance(Duration.ofSeconds(1)); // journaled, then fails
    store.dead.set(true);
    buffer.crashForTests();

    Store healthy = new Store();
    healthy.applied.putAll(store.applied);
    StatBuffer<String> next = builder().buildBatched(healthy);
    next.close();
    assertThat(healthy.total("a")).isEqualTo(3); // was 6: every batch came back under new ids
    assertThat(healthy.total("b")).isEqualTo(4);
  }

  @Test
  void keyFileLeftHalfMade_byAKill_nextStartIgnoresIt() throws IOException {
    Files.write(dir.resolve("keys-0.sb.tmp"), new byte[100]); // a kill while a segment was made
    Store store = new Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a");
    buffer.close();
    assertThat(store.total("a")).isEqualTo(1);
    assertThat(dataFiles()).isEmpty();
  }

  @Test
  void closeOutOfTime_keepsCountsInTheDirectory_notOnDrop_nextStartDelivers() {
    Store store = new Store();
    store.failing.set(true);
    StatBuffer<String> buffer = builder().buildBatched(store);
    buffer.increment("a", 7);
    clock.advance(Duration.ofSeconds(1));
    Thread ticking = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        clock.advance(Duration.ofMillis(50));
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    ticking.start();
    buffer.close();
    ticking.interrupt();
    BufferStats stats = buffer.stats();
    assertThat(stats.keptSum()).isEqualTo(7);
    assertThat(stats.droppedSum()).isZero();

    Store healthy = new Store();
    StatBuffer<String> next = builder().buildBatched(healthy);
    next.close();
    assertThat(healthy.total("a")).isEqualTo(7);
    assertThat(healthy.applied.keySet()).containsExactly(store.calls.get(0));
  }

  @Test
  void secondBuild_onAHeldDirectory_throwsNamingIt() throws IOException {
    StatBuffer<String> buffer = builder().buildBatched(new Store());
    try {
      assertThatThrownBy(() -> builder().buildBatched(new Store()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(dir.toRealPath().toString());
    } finally {
      buffer.close();
    }
    builder().buildBatched(new Store()).close(); // free again once closed
  }

  @Test
  void keyTooLong_orCodecFails_incrementThrowsNamingTheKey() {
    StatBuffer<String> buffer = builder().buildBatched(new Store());
    String longKey = "x".repeat(33);
    assertThatThrownBy(() -> buffer.increment(longKey))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(longKey);
    assertThatThrownBy(() -> buffer.increment("\uD800"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\uD800");
    assertThat(buffer.increment("fine")).isTrue();
    buffer.close();
    assertThat(buffer.stats().deliveredSum()).isEqualTo(1);
  }

  @Test
  void maxKeyBytes_raised_takesLongerKeys() {
    Store store = new Store();
    StatBuffer<String> buffer = StatBuffer.newBuilder().shutdownHook(false)
        .durable(dir, KeyCodec.utf8()).maxKeyBytes(200).buildBatched(store);
    assertThat(buffer.increment("y".repeat(200))).isTrue();
    buffer.close();
    assertThat(store.total("y".repeat(200))).isEqualTo(1);
  }

  @Test
  void builder_badOptions_throwNamingThem() {
    StatBuffer.DurableBuilder<String> builder = builder();
    assertThatThrownBy(() -> builder.syncInterval(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("syncInterval");
    assertThatThrownBy(() -> builder.maxKeyBytes(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxKeyBytes");
    assertThatThrownBy(() -> StatBuffer.newBuilder().durable(null, KeyCodec.utf8()))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("directory");
    assertThatThrownBy(() -> StatBuffer.newBuilder().durable(dir, null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("codec");
  }

  @Test
  void hugeDelta_refusedWithAClearError() {
    StatBuffer<String> buffer = builder().buildBatched(new Store());
    assertThatThrownBy(() -> buffer.increment("a", 1L << 41))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2^40");
    assertThatThrownBy(() -> buffer.increment("a", Long.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2^40");
    buffer.close();
  }
}
