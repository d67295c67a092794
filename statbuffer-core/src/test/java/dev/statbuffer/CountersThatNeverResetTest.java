package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cells that live as long as their key counts, idle removal, {@link StatBuffer.Counter} handles,
 * the listener hook and {@link StatBuffer#lag()}; a manual clock and a direct executor, so
 * nothing sleeps.
 */
class CountersThatNeverResetTest {
  private final ManualClock clock = new ManualClock();
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private StatBuffer<String> buffer;

  private StatBuffer.Builder builder() {
    return StatBuffer.newBuilder()
        .name("cells")
        .ticker(clock)
        .scheduler(clock)
        .executor(Runnable::run)
        .shutdownHook(false)
        .shutdownTimeout(Duration.ZERO) // the manual clock never runs out a timeout by itself
        .interval(Duration.ofSeconds(5));
  }

  private StatBuffer<String> recording(StatBuffer.Builder builder) {
    buffer = builder.build((String key, long count) -> calls.add(key + "=" + count));
    return buffer;
  }

  @AfterEach
  void close() {
    if (buffer != null) {
      buffer.close();
      assertThat(buffer.stats().pendingKeys()).isZero();
    }
  }

  @Test
  void hotKey_keepsOneCellAcrossIntervals() {
    recording(builder());
    buffer.increment("a", 2);
    Cell<String> cell = buffer.cellOf("a");
    for (int i = 1; i <= 5; i++) {
      clock.advance(Duration.ofMillis(5_010));
      assertThat(buffer.count("a")).isEmpty();
      buffer.increment("a", i);
      assertThat(buffer.cellOf("a")).isSameAs(cell);
    }
    clock.advance(Duration.ofMillis(5_010));
    assertThat(calls).containsExactly("a=2", "a=1", "a=2", "a=3", "a=4", "a=5");
    assertThat(buffer.stats().pendingKeys()).isZero();
  }

  @Test
  void idleKey_removedOnceIdleForAnInterval_whileOtherKeysKeepTheDrainRunning() {
    recording(builder());
    buffer.increment("idle");
    buffer.increment("busy");
    clock.advance(Duration.ofMillis(5_010)); // both handed over; both dormant
    assertThat(buffer.cellCount()).isEqualTo(2);
    buffer.increment("busy");
    clock.advance(Duration.ofMillis(4_000)); // "idle" has not been idle for an interval yet
    assertThat(buffer.cellCount()).isEqualTo(2);
    clock.advance(Duration.ofMillis(1_100)); // the drain for "busy" passes idle's idle tick
    assertThat(buffer.cellOf("idle")).isNull();
    assertThat(buffer.cellOf("busy")).isNotNull();
    // A removed key counts again in a new cell.
    assertThat(buffer.increment("idle", 7)).isTrue();
    assertThat(buffer.count("idle")).hasValue(7);
    clock.advance(Duration.ofMillis(5_010));
    assertThat(calls.subList(0, 2)).containsExactlyInAnyOrder("idle=1", "busy=1");
    assertThat(calls.subList(2, 4)).containsExactly("busy=1", "idle=7");
  }

  @Test
  void idleBuffer_keepsDormantCellsUntilTheNextDrain_schedulingNothing() {
    recording(builder());
    buffer.increment("a");
    clock.advance(Duration.ofMillis(5_010));
    long scheduled = clock.scheduledCount();
    clock.advance(Duration.ofHours(1));
    assertThat(clock.scheduledCount()).isEqualTo(scheduled);
    assertThat(buffer.cellCount()).isEqualTo(1); // dormant, costs no wake-up
    buffer.increment("b");
    clock.advance(Duration.ofMillis(5_010));
    assertThat(buffer.cellOf("a")).isNull();
  }

  @Test
  void counter_sameResultsAsIncrement_andFollowsRemovalAndClose() {
    recording(builder().maxKeys(1));
    StatBuffer.Counter a = buffer.counter("a");
    StatBuffer.Counter b = buffer.counter("b");
    assertThat(a.increment()).isTrue();
    assertThat(a.increment(4)).isTrue();
    assertThat(b.increment()).isFalse(); // maxKeys: "a" holds the only window
    assertThat(buffer.stats().rejected()).isEqualTo(1);
    assertThat(buffer.count("a")).hasValue(5);
    clock.advance(Duration.ofMillis(5_010));
    assertThat(b.increment(2)).isTrue(); // "a" was handed over: room again
    clock.advance(Duration.ofMillis(5_010)); // "a" idle for an interval: removed
    assertThat(buffer.cellOf("a")).isNull();
    assertThat(a.increment(3)).isTrue(); // the handle finds a new cell
    assertThat(buffer.count("a")).hasValue(3);
    assertThat(a.increment(0)).isTrue();
    long huge = Cell.SLOT_LIMIT + 1;
    assertThat(a.increment(huge)).isFalse(); // its own delivery, refused like any new window
    buffer.flush("a");
    assertThat(a.increment(huge)).isTrue();
    buffer.close();
    assertThat(a.increment()).isFalse();
    assertThat(b.increment(5)).isFalse();
    assertThat(a.increment(0)).isFalse();
    assertThat(calls).containsExactly("a=5", "b=2", "a=3", "a=" + huge);
    assertThat(buffer.stats().rejected()).isEqualTo(2);
  }

  @Test
  void counter_nullKey_throwsNamingIt() {
    recording(builder());
    assertThatThrownBy(() -> buffer.counter(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("key");
  }

  @Test
  void listener_seesEveryOutcome_andItsSumsBalance() {
    AtomicLong handedOver = new AtomicLong();
    AtomicLong delivered = new AtomicLong();
    AtomicLong dropped = new AtomicLong();
    AtomicLong rejected = new AtomicLong();
    List<String> failures = new CopyOnWriteArrayList<>();
    AtomicInteger calls = new AtomicInteger();
    BufferListener listener = new BufferListener() {
      @Override
      public void handedOver(String name, int keys, long sum) {
        assertThat(name).isEqualTo("cells");
        handedOver.addAndGet(sum);
      }

      @Override
      public void delivered(String name, int keys, long sum, int attempt, long handlerNanos) {
        delivered.addAndGet(sum);
        assertThat(handlerNanos).isEqualTo(Duration.ofMillis(3).toNanos());
      }

      @Override
      public void failed(String name, int keys, long sum, int attempt, Exception error,
          long handlerNanos, long retryDelayNanos) {
        failures.add(attempt + ":" + error.getMessage() + ":" + retryDelayNanos);
      }

      @Override
      public void dropped(String name, int keys, long sum, Exception lastError) {
        dropped.addAndGet(sum);
      }

      @Override
      public void rejected(String name, long delta) {
        rejected.addAndGet(delta);
      }
    };
    buffer = builder().listener(listener).maxKeys(2).maxAttempts(2)
        .backoff(Duration.ofSeconds(1))
        .build((String key, long count) -> {
          clock.advance(Duration.ofMillis(3));
          if (key.equals("bad")) {
            throw new IllegalStateException("refused");
          }
          calls.incrementAndGet();
        });
    buffer.increment("good", 4);
    buffer.increment("bad", 6);
    assertThat(buffer.increment("third", 9)).isFalse();
    clock.advance(Duration.ofSeconds(10));
    buffer.close();
    assertThat(handedOver.get()).isEqualTo(10);
    assertThat(delivered.get()).isEqualTo(4);
    assertThat(dropped.get()).isEqualTo(6);
    assertThat(rejected.get()).isEqualTo(9);
    assertThat(failures).containsExactly("1:refused:" + Duration.ofSeconds(1).toNanos(),
        "2:refused:-1");
    assertThat(handedOver.get()).isEqualTo(delivered.get() + dropped.get());
  }

  @Test
  void listenerThrows_bufferCarriesOn() {
    AtomicInteger thrown = new AtomicInteger();
    buffer = builder().listener(new BufferListener() {
      @Override
      public void handedOver(String name, int keys, long sum) {
        thrown.incrementAndGet();
        throw new IllegalStateException("listener bug");
      }

      @Override
      public void delivered(String name, int keys, long sum, int attempt, long handlerNanos) {
        thrown.incrementAndGet();
        throw new IllegalStateException("listener bug");
      }
    }).build((String key, long count) -> calls.add(key + "=" + count));
    buffer.increment("a", 2);
    buffer.increment("b", 3);
    clock.advance(Duration.ofMillis(5_010));
    assertThat(calls).containsExactlyInAnyOrder("a=2", "b=3");
    assertThat(thrown.get()).isEqualTo(4);
    assertThat(buffer.stats().deliveredSum()).isEqualTo(5);
    assertThat(buffer.stats().pendingKeys()).isZero();
  }

  @Test
  void builder_nullListener_throwsNamingIt() {
    assertThatThrownBy(() -> builder().listener(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("listener");
  }

  @Test
  void lag_reportsOldestWindowAndOldestCountAwaitingRetry() {
    AtomicInteger failing = new AtomicInteger(1);
    buffer = builder().backoff(Duration.ofMinutes(1)).build((String key, long count) -> {
      if (failing.get() == 1) {
        throw new IllegalStateException("down");
      }
      calls.add(key + "=" + count);
    });
    assertThat(buffer.lag()).isEqualTo(new BufferLag(Duration.ZERO, Duration.ZERO));
    buffer.increment("a");
    clock.advance(Duration.ofSeconds(2));
    buffer.increment("b");
    clock.advance(Duration.ofSeconds(1));
    BufferLag open = buffer.lag();
    // "a" opened 3 s ago; the age is derived from its due tick, so within one tick (2.4 ms here).
    assertThat(open.oldestWindow()).isBetween(Duration.ofMillis(2_997), Duration.ofMillis(3_003));
    assertThat(open.oldestHandedOver()).isZero();
    clock.advance(Duration.ofMillis(2_010)); // "a" handed over, fails, waits a minute
    clock.advance(Duration.ofSeconds(10));
    BufferLag stuck = buffer.lag();
    assertThat(stuck.oldestHandedOver()).isBetween(Duration.ofSeconds(10),
        Duration.ofMillis(10_010));
    assertThat(stuck.oldestWindow()).isZero(); // "b" was handed over too
    assertThat(stuck.max()).isEqualTo(stuck.oldestHandedOver());
    failing.set(0);
    clock.advance(Duration.ofMinutes(1));
    assertThat(calls).containsExactlyInAnyOrder("a=1", "b=1");
    assertThat(buffer.lag()).isEqualTo(new BufferLag(Duration.ZERO, Duration.ZERO));
  }
}
