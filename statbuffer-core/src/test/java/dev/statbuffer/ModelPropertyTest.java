package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;

/**
 * Random sequences of operations against a simple model of the buffer, with a manual clock and a
 * direct executor so the outcome is exact. The model keeps, per key, the open window's sum and
 * opening time; a window is due at its opening time plus the interval. Checked after every step:
 * {@code count(key)} equals the model; every hand-over happened no earlier than its window's due
 * time and at most one wheel tick (1 ms here) after it, unless the handler was failing; per-key
 * totals of delivered counts equal the model's closed windows; and after close, accepted equals
 * delivered plus dropped. Increments go through the buffer or through a {@link StatBuffer.Counter}
 * handle at random. At the end, once every key has been idle for an interval after its last
 * hand-over and the drain has run for another key, only that key's cell is left: dead counters are
 * removed. The seed is in every message; rerun with {@code -Dmodel.seed=N}.
 */
class ModelPropertyTest {
  private static final long INTERVAL_MS = 100;

  record Delivered(int key, long count, long atNanos) {}

  @RepeatedTest(200)
  void randomOperations_matchModel(RepetitionInfo info) {
    long seed = Long.getLong("model.seed", System.nanoTime() ^ info.getCurrentRepetition());
    String tag = "seed=" + seed;
    SplittableRandom random = new SplittableRandom(seed);
    ManualClock clock = new ManualClock();
    boolean[] failing = {false};
    List<Delivered> delivered = new ArrayList<>();
    Map<Integer, Long> dropped = new HashMap<>();
    int maxAttempts = random.nextBoolean() ? Integer.MAX_VALUE : 2 + random.nextInt(3);

    StatBuffer<Integer> buffer = StatBuffer.newBuilder()
        .name("model")
        .ticker(clock).scheduler(clock).executor(Runnable::run)
        .interval(Duration.ofMillis(INTERVAL_MS))
        .backoff(Duration.ofMillis(7)).maxBackoff(Duration.ofMillis(50))
        .maxAttempts(maxAttempts)
        .shutdownTimeout(Duration.ZERO)
        .shutdownHook(false)
        .build(new FlushHandler<Integer>() {
          @Override
          public void flush(Integer key, long count) {
            if (failing[0]) {
              throw new IllegalStateException("failing");
            }
            delivered.add(new Delivered(key, count, clock.read()));
          }

          @Override
          public void onDrop(Integer key, long count, Exception lastError) {
            dropped.merge(key, count, Long::sum);
          }
        });

    Map<Integer, StatBuffer.Counter> handles = new HashMap<>();
    Map<Integer, long[]> open = new HashMap<>(); // key -> {sum, openedAtNanos}
    Map<Integer, Long> accepted = new HashMap<>();
    Map<Integer, List<long[]>> closedWindows = new HashMap<>(); // key -> [{sum, dueNanos}]
    boolean everFailed = false;
    int keys = 1 + random.nextInt(6);

    for (int step = 0; step < 300; step++) {
      int op = random.nextInt(100);
      int key = random.nextInt(keys);
      if (op < 55) {
        long delta = random.nextInt(11) - 3;
        boolean recorded = random.nextBoolean()
            ? buffer.increment(key, delta)
            : handles.computeIfAbsent(key, buffer::counter).increment(delta);
        assertThat(recorded).as(tag).isTrue();
        accepted.merge(key, delta, Long::sum);
        if (delta != 0) {
          open.computeIfAbsent(key, k -> new long[] {0, clock.read()})[0] += delta;
        }
      } else if (op < 80) {
        long target = clock.read() + TimeUnit.MILLISECONDS.toNanos(1 + random.nextInt(60));
        // Close the model's windows that come due on the way, then move the buffer's clock.
        open.entrySet().removeIf(e -> {
          long due = e.getValue()[1] + TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS);
          if (due <= target) {
            closedWindows.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                .add(new long[] {e.getValue()[0], due});
            return true;
          }
          return false;
        });
        clock.advance(Duration.ofNanos(target - clock.read()));
      } else if (op < 88) {
        long[] window = open.remove(key);
        if (window != null) {
          closedWindows.computeIfAbsent(key, k -> new ArrayList<>())
              .add(new long[] {window[0], clock.read()});
        }
        buffer.flush(key);
      } else if (op < 94) {
        failing[0] = !failing[0];
        everFailed |= failing[0];
      } else {
        for (int k = 0; k < keys; k++) {
          long[] window = open.get(k);
          OptionalLong count = buffer.count(k);
          if (window == null) {
            assertThat(count).as(tag + " key " + k).isEmpty();
          } else {
            assertThat(count).as(tag + " key " + k).hasValue(window[0]);
          }
        }
      }
    }

    // Every hand-over happened at or after its due time, and promptly while nothing failed.
    boolean anyFailure = everFailed;
    for (Delivered d : delivered) {
      List<long[]> windows = closedWindows.getOrDefault(d.key(), List.of());
      boolean explained = windows.stream().anyMatch(w -> w[0] == d.count() && w[1] <= d.atNanos()
          && (anyFailure || d.atNanos() - w[1] <= TimeUnit.MILLISECONDS.toNanos(1)));
      assertThat(explained).as(tag + " unexplained delivery " + d).isTrue();
    }

    failing[0] = false;
    // Idle removal: every window closes and every retry lands within two intervals; one interval
    // later all those keys are idle, and the drain that hands over a fresh key removes them.
    clock.advance(Duration.ofMillis(2 * INTERVAL_MS + 60));
    int fresh = keys;
    assertThat(buffer.increment(fresh, 1)).as(tag).isTrue();
    accepted.merge(fresh, 1L, Long::sum);
    clock.advance(Duration.ofMillis(INTERVAL_MS + 2));
    assertThat(buffer.cellCount()).as(tag + " cells left after idle removal").isEqualTo(1);
    assertThat(buffer.cellOf(fresh)).as(tag).isNotNull();
    buffer.close();
    Map<Integer, Long> got = new HashMap<>(dropped);
    for (Delivered d : delivered) {
      got.merge(d.key(), d.count(), Long::sum);
    }
    for (int k = 0; k < keys; k++) {
      assertThat(got.getOrDefault(k, 0L)).as(tag + " key " + k)
          .isEqualTo(accepted.getOrDefault(k, 0L));
    }
    BufferStats stats = buffer.stats();
    assertThat(stats.pendingKeys()).as(tag).isZero();
    assertThat(stats.deliveredSum() + stats.droppedSum()).as(tag)
        .isEqualTo(accepted.values().stream().mapToLong(Long::longValue).sum());
  }
}
