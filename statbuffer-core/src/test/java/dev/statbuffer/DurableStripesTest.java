package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stripe slots of durable cells: keys that several threads write at once get more slots bound
 * to them ({@link DurableCell}), and every slot's counts survive hand-overs under contention,
 * failed deliveries retried under their ids, a crash (simulated at a quiescent point), recovery,
 * idle removal, and a clean close that leaves no file behind. Seeded: a failure names the seed.
 */
class DurableStripesTest {
  private static final int THREADS = 4;
  private static final int KEYS = 3;
  private static final int OPS = 150_000;

  @TempDir
  Path dir;

  private final ManualClock clock = new ManualClock();

  private StatBuffer.DurableBuilder<String> builder() {
    return StatBuffer.newBuilder().shutdownHook(false).ticker(clock).scheduler(clock)
        .executor(Runnable::run).interval(Duration.ofSeconds(1)).flushTimeout(Duration.ZERO)
        .backoff(Duration.ofSeconds(1)).shutdownTimeout(Duration.ofMillis(200))
        .durable(dir, KeyCodec.utf8());
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void contendedKeys_handOversFailuresCrashRecovery_totalsExactOnce(long seed) throws Exception {
    DurableBufferTest.Store store = new DurableBufferTest.Store();
    LongAdder[] accepted = new LongAdder[KEYS];
    for (int k = 0; k < KEYS; k++) {
      accepted[k] = new LongAdder();
    }
    AtomicBoolean died = new AtomicBoolean();
    StatBuffer<String> buffer = builder().buildBatched(store.life(died));

    // Writers contend for three keys while this thread hands windows over (advancing the clock
    // runs the drain here), and the store fails now and then, so batches retry under their ids.
    AtomicBoolean striped = new AtomicBoolean();
    CountDownLatch done = new CountDownLatch(THREADS);
    Thread[] writers = startWriters(seed * 100, (random, untilStriped) -> {
      // Past OPS, until some key has stripes (bounded: the assertion below reports it).
      for (int i = 0; i < OPS || (!striped.get() && i < 40 * OPS); i++) {
        int k = random.nextInt(KEYS);
        long delta = random.nextInt(9) - 2;
        if (buffer.increment("hot-" + k, delta)) {
          accepted[k].add(delta);
        }
      }
      done.countDown();
    });
    SplittableRandom drains = new SplittableRandom(seed);
    Thread drainer = new Thread(() -> {
      while (done.getCount() > 0) {
        store.failing.set(drains.nextInt(3) == 0);
        clock.advance(Duration.ofMillis(500));
        if (stripedKeys(buffer, "hot-", 0) > 0) {
          striped.set(true);
        }
      }
    });
    drainer.start();
    for (Thread writer : writers) {
      writer.join();
    }
    drainer.join();
    assertThat(striped).as("seed " + seed + ": some key got stripe slots").isTrue();

    // Once the store answers and the windows come due, everything accepted is delivered: a
    // stripe the hand-over missed, or an add that raced a hand-over without opening a window,
    // would leave counts in the slots.
    store.failing.set(false);
    // Past the longest backoff a batch can have reached (maxBackoff, 30 s by default).
    clock.advance(Duration.ofMinutes(2));
    for (int k = 0; k < KEYS; k++) {
      assertThat(store.total("hot-" + k)).as("seed " + seed + ", hot-" + k + " before the crash")
          .isEqualTo(accepted[k].sum());
      assertThat(buffer.count("hot-" + k).orElse(0)).isZero();
    }

    // A failed batch waiting for its retry and a window never handed over: the process dies.
    store.failing.set(true);
    for (int k = 0; k < KEYS; k++) {
      buffer.increment("hot-" + k, k + 1);
      accepted[k].add(k + 1);
    }
    clock.advance(Duration.ofSeconds(1));
    buffer.increment("hot-0", 7);
    accepted[0].add(7);
    died.set(true);
    buffer.crashForTests();

    store.failing.set(false);
    StatBuffer<String> next = builder().buildBatched(store);
    next.close();
    for (int k = 0; k < KEYS; k++) {
      assertThat(store.total("hot-" + k)).as("seed " + seed + ", hot-" + k)
          .isEqualTo(accepted[k].sum());
    }
    assertThat(next.stats().droppedSum()).isZero();
    assertThat(dataFiles()).as("a clean close leaves nothing pending").isEmpty();
  }

  @ParameterizedTest
  @ValueSource(longs = {4, 5})
  void contendedKeys_idleRemovalAndSlotReuse_totalsExact_closeLeavesNoFile(long seed)
      throws Exception {
    DurableBufferTest.Store store = new DurableBufferTest.Store();
    StatBuffer<String> buffer = builder().buildBatched(store);
    int rounds = 3;
    long[] accepted = new long[rounds * KEYS];
    for (int round = 0; round < rounds; round++) {
      // Each round writes keys of its own, on the slots the keys of the round before freed.
      int first = round * KEYS;
      LongAdder[] added = new LongAdder[KEYS];
      for (int k = 0; k < KEYS; k++) {
        added[k] = new LongAdder();
      }
      Thread[] writers = startWriters(seed * 100 + round * 10, (random, untilStriped) -> {
        for (int i = 0; untilStriped.test(i, () -> stripedKeys(buffer, "key-", first)); i++) {
          int k = random.nextInt(KEYS);
          long delta = random.nextInt(5) + 1;
          if (buffer.increment("key-" + (first + k), delta)) {
            added[k].add(delta);
          }
        }
      });
      for (Thread writer : writers) {
        writer.join();
      }
      for (int k = 0; k < KEYS; k++) {
        accepted[first + k] = added[k].sum();
      }
      assertThat(stripedKeys(buffer, "key-", first)).as("seed " + seed + ", round " + round
          + ": keys that got stripe slots").isPositive();
      clock.advance(Duration.ofSeconds(1)); // this round's keys handed over
      for (int k = first; k < first + KEYS; k++) {
        assertThat(store.total("key-" + k)).as("seed " + seed + ", key-" + k + " handed over")
            .isEqualTo(accepted[k]);
      }
      clock.advance(Duration.ofMillis(1_100)); // the last round's keys idle: removed, freed
      if (round > 0) {
        for (int k = first - KEYS; k < first; k++) {
          assertThat(buffer.cellOf("key-" + k)).as("removed when idle").isNull();
        }
      }
    }
    buffer.close();
    for (int k = 0; k < rounds * KEYS; k++) {
      assertThat(store.total("key-" + k)).as("seed " + seed + ", key-" + k)
          .isEqualTo(accepted[k]);
    }
    assertThat(dataFiles()).as("every slot, stripes too, was freed").isEmpty();
  }

  @ParameterizedTest
  @ValueSource(longs = {6, 7})
  void retirement_takesWhatEverySlotHolds_laterAddsFindTheCellDead(long seed) throws Exception {
    StatBuffer<String> buffer = builder().buildBatched(new DurableBufferTest.Store());
    LongAdder accepted = new LongAdder();
    Thread[] writers = startWriters(seed * 100, (random, untilStriped) -> {
      for (int i = 0; untilStriped.test(i, () -> stripedKeys(buffer, "one-", 0)); i++) {
        long delta = random.nextInt(9) - 2;
        if (buffer.increment("one-0", delta)) {
          accepted.add(delta);
        }
      }
    });
    for (Thread writer : writers) {
      writer.join();
    }
    DurableCell<String> cell = (DurableCell<String>) buffer.cellOf("one-0");
    assertThat(cell).isNotNull();
    assertThat(cell.stripeSlots()).as("seed " + seed + ": stripe slots").isPositive();
    assertThat(buffer.count("one-0")).hasValue(accepted.sum());

    // What close() and idle removal do, under the lock (no other thread runs now).
    cell.kill();
    assertThat(cell.retireStripes()).as("seed " + seed).isEqualTo(accepted.sum());
    assertThat(cell.add(1)).isEqualTo(Cell.DEAD);
    assertThat(cell.sum()).isZero();
    buffer.crashForTests();
  }

  /**
   * Takes that cancel across a key's slots (+5 on one stripe, -5 on another) hand over nothing,
   * yet each slot's take must be recorded: here a later take of one slot is recorded and the
   * process dies before the other slot takes again. Recovery must then find the other slot's
   * take in the journal; with its {@code H} left behind, it would deliver -5 again.
   */
  @Test
  void takesThatCancelAcrossStripes_areRecorded_aLaterKillRecoversExactly() throws Exception {
    DurableBufferTest.Store store = new DurableBufferTest.Store();
    AtomicBoolean died = new AtomicBoolean();
    StatBuffer<String> buffer = builder().buildBatched(store.life(died));
    LongAdder accepted = new LongAdder();
    Thread[] writers = startWriters(600, (random, untilStriped) -> {
      for (int i = 0; untilStriped.test(i, () -> stripedKeys(buffer, "c-", 0)); i++) {
        if (buffer.increment("c-0", 1)) {
          accepted.add(1);
        }
      }
    });
    for (Thread writer : writers) {
      writer.join();
    }
    assertThat(stripedKeys(buffer, "c-", 0)).as("c-0 has stripe slots").isPositive();
    clock.advance(Duration.ofSeconds(1)); // all of it handed over and delivered

    int plus = onThreadOfStripe(probe -> true, () -> buffer.increment("c-0", 5));
    onThreadOfStripe(probe -> probe != plus, () -> buffer.increment("c-0", -5));
    clock.advance(Duration.ofSeconds(1)); // a window of sum zero: two takes that cancel
    onThreadOfStripe(probe -> probe == plus, () -> buffer.increment("c-0", 3));
    clock.advance(Duration.ofSeconds(1)); // the +5 slot takes 3 more, recorded and delivered
    assertThat(store.total("c-0")).isEqualTo(accepted.sum() + 3);
    died.set(true);
    buffer.crashForTests();

    StatBuffer<String> next = builder().buildBatched(store);
    next.close();
    assertThat(store.total("c-0")).as("after recovery").isEqualTo(accepted.sum() + 3);
    assertThat(dataFiles()).isEmpty();
  }

  /**
   * Runs {@code add} on a new thread whose stripe (its probe) passes {@code wanted}, making
   * threads until one does; returns that stripe.
   */
  private static int onThreadOfStripe(java.util.function.IntPredicate wanted, Runnable add)
      throws InterruptedException {
    int[] stripe = {-1};
    for (int tries = 0; tries < 10_000 && stripe[0] < 0; tries++) {
      Thread thread = new Thread(() -> {
        int probe = Cell.probe();
        if (wanted.test(probe)) {
          add.run();
          stripe[0] = probe;
        }
      });
      thread.start();
      thread.join();
    }
    assertThat(stripe[0]).as("a thread on a wanted stripe").isNotNegative();
    return stripe[0];
  }

  /** One writer's work, with its seeded random and the loop condition {@link #untilStriped}. */
  private interface Writer {
    void run(SplittableRandom random, Bound untilStriped);
  }

  /** Whether a writer goes on after {@code i} adds, given how many keys have stripes now. */
  private interface Bound {
    boolean test(int i, java.util.function.IntSupplier stripedKeys);
  }

  /**
   * Past {@code OPS} adds, a writer goes on until some key has stripes (checked every 1024 adds),
   * bounded at {@code 40 * OPS}: the test's assertion then reports a key without stripes.
   */
  private static boolean untilStriped(int i, java.util.function.IntSupplier stripedKeys) {
    return i < OPS || (i % 1024 != 0 || stripedKeys.getAsInt() == 0) && i < 40 * OPS;
  }

  /** Starts {@code THREADS} writers together, seeded from {@code seedBase}; not joined. */
  private static Thread[] startWriters(long seedBase, Writer writer) {
    CountDownLatch start = new CountDownLatch(1);
    Thread[] writers = new Thread[THREADS];
    for (int t = 0; t < THREADS; t++) {
      SplittableRandom random = new SplittableRandom(seedBase + t);
      writers[t] = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        writer.run(random, DurableStripesTest::untilStriped);
      });
      writers[t].start();
    }
    start.countDown();
    return writers;
  }

  /** How many of the {@code KEYS} keys from {@code prefix + first} on have stripe slots. */
  private static int stripedKeys(StatBuffer<String> buffer, String prefix, int first) {
    int striped = 0;
    for (int k = first; k < first + KEYS; k++) {
      Cell<String> cell = buffer.cellOf(prefix + k);
      if (cell instanceof DurableCell<String> durable && durable.stripeSlots() > 0) {
        striped++;
      }
    }
    return striped;
  }

  private java.util.List<String> dataFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("lock")).toList();
    }
  }
}
