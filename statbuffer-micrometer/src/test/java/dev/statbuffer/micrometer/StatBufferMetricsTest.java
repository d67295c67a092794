package dev.statbuffer.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.statbuffer.BufferListener;
import dev.statbuffer.FlushHandler;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.testing.ManualClock;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The buffer's meters read after real hand-overs, deliveries, failures, drops and rejections of a
 * buffer driven by a manual clock and a direct executor, so nothing sleeps.
 */
class StatBufferMetricsTest {
  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final List<StatBuffer<?>> buffers = new ArrayList<>();
  private final AtomicBoolean failing = new AtomicBoolean();
  private final List<Long> drops = new CopyOnWriteArrayList<>();

  /** Fails while {@link #failing} is set; records drops (so none is logged). */
  private final FlushHandler<String> handler = new FlushHandler<>() {
    @Override
    public void flush(String key, long count) {
      if (failing.get()) {
        throw new IllegalStateException("down");
      }
    }

    @Override
    public void onDrop(String key, long count, Exception lastError) {
      drops.add(count);
    }
  };

  private StatBuffer.Builder builder(String name) {
    return StatBuffer.newBuilder()
        .name(name)
        .ticker(clock)
        .scheduler(clock)
        .executor(Runnable::run)
        .shutdownHook(false)
        .interval(Duration.ofSeconds(5))
        .backoff(Duration.ofSeconds(1))
        .maxBackoff(Duration.ofSeconds(1));
  }

  private <K> StatBuffer<K> track(StatBuffer<K> buffer) {
    buffers.add(buffer);
    return buffer;
  }

  @AfterEach
  void closeAll() {
    failing.set(false); // close() re-sends waiting retries at once, on this thread
    buffers.forEach(StatBuffer::close);
  }

  private double gauge(String name, String buffer) {
    return registry.get(name).tag("buffer", buffer).gauge().value();
  }

  private double counter(String name, String buffer) {
    return registry.get(name).tag("buffer", buffer).functionCounter().count();
  }

  private double lagSeconds(String buffer) {
    return registry.get("statbuffer.lag").tag("buffer", buffer).timeGauge()
        .value(TimeUnit.SECONDS);
  }

  private Timer handlerTimer(String buffer, String outcome) {
    return registry.get("statbuffer.handler").tags("buffer", buffer, "outcome", outcome).timer();
  }

  @Test
  void bindTo_registersEveryMeter_taggedWithBufferNameAndExtraTags() {
    StatBuffer<String> buffer = track(builder("views").build(handler));
    new StatBufferMetrics(buffer, Tags.of("app", "demo", "buffer", "replaced")).bindTo(registry);

    assertThat(registry.getMeters().stream().map(m -> m.getId().getName()))
        .containsExactlyInAnyOrder("statbuffer.pending.keys", "statbuffer.lag",
            "statbuffer.delivered", "statbuffer.dropped", "statbuffer.rejected",
            "statbuffer.flush.failures");
    for (Meter meter : registry.getMeters()) {
      assertThat(meter.getId().getTags())
          .containsExactlyInAnyOrder(Tag.of("app", "demo"), Tag.of("buffer", "views"));
    }
    assertThat(registry.get("statbuffer.pending.keys").meter()).isInstanceOf(Gauge.class);
    assertThat(registry.get("statbuffer.lag").meter()).isInstanceOf(TimeGauge.class);
    assertThat(registry.getMeters().stream()
        .filter(m -> m instanceof FunctionCounter)
        .map(m -> m.getId().getName())
        .collect(Collectors.toSet()))
        .containsExactlyInAnyOrder("statbuffer.delivered", "statbuffer.dropped",
            "statbuffer.rejected", "statbuffer.flush.failures");
    assertThat(lagSeconds("views")).isZero();
    assertThat(gauge("statbuffer.pending.keys", "views")).isZero();
  }

  @Test
  void bindTo_twice_registersNothingNew() {
    StatBuffer<String> buffer = track(builder("views").build(handler));
    StatBufferMetrics metrics = new StatBufferMetrics(buffer);
    metrics.bindTo(registry);
    metrics.bindTo(registry);
    new StatBufferMetrics(buffer).bindTo(registry);
    assertThat(registry.getMeters()).hasSize(6);
  }

  @Test
  void pendingAndDelivered_followRealFlushes() {
    StatBuffer<String> buffer = track(builder("views").build(handler));
    new StatBufferMetrics(buffer).bindTo(registry);
    buffer.increment("/home", 3);
    buffer.increment("/pricing", 4);
    buffer.increment("/home", 2);
    assertThat(gauge("statbuffer.pending.keys", "views")).isEqualTo(2);
    assertThat(counter("statbuffer.delivered", "views")).isZero();

    clock.advance(Duration.ofMillis(5_010)); // both windows due at 5 s
    assertThat(gauge("statbuffer.pending.keys", "views")).isZero();
    assertThat(counter("statbuffer.delivered", "views")).isEqualTo(9);

    buffer.increment("/about", 10);
    assertThat(buffer.flushAll()).isCompleted();
    assertThat(counter("statbuffer.delivered", "views")).isEqualTo(19);
    assertThat(counter("statbuffer.dropped", "views")).isZero();
    assertThat(counter("statbuffer.flush.failures", "views")).isZero();
    assertThat(counter("statbuffer.rejected", "views")).isZero();
  }

  @Test
  void failuresAndDrops_countedPerCallAndAfterTheLastAttempt() {
    failing.set(true);
    StatBuffer<String> buffer = track(builder("views").maxAttempts(3).build(handler));
    new StatBufferMetrics(buffer).bindTo(registry);
    buffer.increment("a", 7);
    buffer.increment("b", 5);

    clock.advance(Duration.ofMillis(5_010));
    assertThat(counter("statbuffer.flush.failures", "views")).isEqualTo(2); // a and b, once
    assertThat(gauge("statbuffer.pending.keys", "views")).isEqualTo(2); // awaiting retries
    assertThat(counter("statbuffer.dropped", "views")).isZero();

    clock.advance(Duration.ofSeconds(10));
    assertThat(counter("statbuffer.flush.failures", "views")).isEqualTo(6);
    assertThat(counter("statbuffer.dropped", "views")).isEqualTo(12);
    assertThat(drops).containsExactlyInAnyOrder(7L, 5L);
    assertThat(counter("statbuffer.delivered", "views")).isZero();
    assertThat(gauge("statbuffer.pending.keys", "views")).isZero();
  }

  @Test
  void rejected_countsIncrementsRefusedAtMaxKeys() {
    failing.set(true); // handed-over windows stay pending, awaiting their retry
    StatBuffer<String> buffer = track(builder("views").maxKeys(2)
        .backoff(Duration.ofMinutes(1)).maxBackoff(Duration.ofMinutes(1)).build(handler));
    new StatBufferMetrics(buffer).bindTo(registry);
    int refused = 0;
    for (int key = 0; key < 5; key++) {
      if (!buffer.increment("k" + key)) {
        refused++;
      }
      clock.advance(Duration.ofMillis(100));
    }
    assertThat(refused).isPositive();
    assertThat(counter("statbuffer.rejected", "views")).isEqualTo(refused);
    assertThat(buffer.stats().rejected()).isEqualTo(refused);
    assertThat(gauge("statbuffer.pending.keys", "views")).isEqualTo(2);

    failing.set(false);
    clock.advance(Duration.ofMinutes(2));
    assertThat(counter("statbuffer.delivered", "views")).isEqualTo(5 - refused);
    assertThat(gauge("statbuffer.pending.keys", "views")).isZero();
  }

  @Test
  void lag_coversOpenWindows_andCountsAwaitingRetry() {
    failing.set(true); // unlimited attempts, a retry every second
    StatBuffer<String> buffer = track(builder("views").build(handler));
    new StatBufferMetrics(buffer).bindTo(registry);
    assertThat(lagSeconds("views")).isZero();

    buffer.increment("a");
    clock.advance(Duration.ofSeconds(2));
    assertThat(lagSeconds("views")).isCloseTo(2.0, within(0.02)); // the open window
    assertThat(lagSeconds("views"))
        .isCloseTo(buffer.lag().max().toNanos() / 1e9, within(1e-9));

    clock.advance(Duration.ofMillis(3_010)); // handed over at 5 s; the handler fails
    clock.advance(Duration.ofSeconds(10)); // ten failed retries later
    assertThat(buffer.lag().oldestWindow()).isZero();
    assertThat(lagSeconds("views")).isCloseTo(10.0, within(0.02)); // awaiting a retry
    assertThat(lagSeconds("views"))
        .isCloseTo(buffer.lag().max().toNanos() / 1e9, within(1e-9));
    assertThat(registry.get("statbuffer.lag").gauge().value()) // seconds: the registry's unit
        .isEqualTo(lagSeconds("views"));
    assertThat(counter("statbuffer.flush.failures", "views")).isGreaterThanOrEqualTo(10);

    failing.set(false);
    clock.advance(Duration.ofMillis(1_010)); // the next retry succeeds
    assertThat(lagSeconds("views")).isZero();
    assertThat(counter("statbuffer.delivered", "views")).isEqualTo(1);
  }

  @Test
  void listener_timesHandlerCallsPerOutcome_perBuffer() {
    // The buffer's ticker runs ahead of the scheduler's clock by what the handler "takes".
    AtomicLong skew = new AtomicLong();
    AtomicInteger calls = new AtomicInteger();
    BufferListener listener = StatBufferMetrics.listener(registry);
    StatBuffer<String> buffer = track(builder("views")
        .ticker(() -> clock.read() + skew.get())
        .listener(listener)
        .build((String key, long count) -> {
          if (calls.incrementAndGet() <= 2) {
            skew.addAndGet(TimeUnit.MILLISECONDS.toNanos(30));
            throw new IllegalStateException("down");
          }
          skew.addAndGet(TimeUnit.MILLISECONDS.toNanos(20));
        }));
    StatBuffer<String> other = track(builder("clicks").listener(listener).build(handler));
    new StatBufferMetrics(buffer).bindTo(registry);
    buffer.increment("a", 5);
    other.increment("x");
    other.increment("y");

    clock.advance(Duration.ofSeconds(10)); // 5 s window, two failures, success on the 3rd call
    Timer failures = handlerTimer("views", "failure");
    Timer successes = handlerTimer("views", "success");
    assertThat(failures.count()).isEqualTo(2);
    assertThat(failures.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(60.0);
    assertThat(successes.count()).isEqualTo(1);
    assertThat(successes.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(20.0);
    assertThat(failures.count()).isEqualTo(buffer.stats().failures());
    assertThat((double) failures.count())
        .isEqualTo(counter("statbuffer.flush.failures", "views"));
    assertThat(successes.count()).isEqualTo(buffer.stats().flushes());

    // One listener serves both buffers; per-key handler: one call per key.
    assertThat(handlerTimer("clicks", "success").count()).isEqualTo(2);
    assertThat(registry.find("statbuffer.handler").tags("buffer", "clicks", "outcome", "failure")
        .timer()).isNull();
  }

  @Test
  void listener_batchHandler_oneTimedCallPerBatch() {
    StatBuffer<String> buffer = track(builder("views").maxBatchSize(2)
        .listener(StatBufferMetrics.listener(registry))
        .buildBatched(batch -> { }));
    for (int key = 0; key < 5; key++) {
      buffer.increment("k" + key);
    }
    clock.advance(Duration.ofSeconds(6));
    assertThat(handlerTimer("views", "success").count()).isEqualTo(3);
  }

  @Test
  void meters_holdTheBufferWeakly() throws InterruptedException {
    WeakReference<StatBuffer<String>> ref = bindAndForget();
    for (int i = 0; i < 100 && ref.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertThat(ref.get()).as("the buffer, reachable only from the registry's meters").isNull();
    assertThat(gauge("statbuffer.pending.keys", "gone")).isNaN();
  }

  private WeakReference<StatBuffer<String>> bindAndForget() {
    StatBuffer<String> buffer = builder("gone").build(handler); // not tracked: must be freed
    new StatBufferMetrics(buffer).bindTo(registry);
    buffer.increment("a");
    buffer.flushAll().join();
    buffer.close();
    assertThat(counter("statbuffer.delivered", "gone")).isEqualTo(1);
    assertThat(clock.pendingTasks()).isZero(); // the clock holds no wake-up of the buffer
    return new WeakReference<>(buffer);
  }

  @Test
  void nullArguments_throwNamingTheParameter() {
    StatBuffer<String> buffer = track(builder("views").build(handler));
    assertThatThrownBy(() -> new StatBufferMetrics(null)).hasMessage("buffer");
    assertThatThrownBy(() -> new StatBufferMetrics(buffer, null)).hasMessage("extraTags");
    assertThatThrownBy(() -> new StatBufferMetrics(buffer).bindTo(null)).hasMessage("registry");
    assertThatThrownBy(() -> StatBufferMetrics.listener(null)).hasMessage("registry");
  }
}
