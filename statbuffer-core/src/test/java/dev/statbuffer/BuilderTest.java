package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** One test per validation rule of {@link StatBuffer.Builder}. */
class BuilderTest {
  private static final Duration NEGATIVE = Duration.ofSeconds(-1);
  private static final Duration TOO_LONG = Duration.ofDays(365L * 100);

  @Test
  void name_null_throwsNamingParameter() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().name(null))
        .isInstanceOf(NullPointerException.class).hasMessage("name");
  }

  @Test
  void name_blank_throwsNamingOption() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().name("  "))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("name must not be blank");
  }

  @Test
  void interval_negative_throwsNamingOptionAndValue() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().interval(NEGATIVE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("interval must not be negative: PT-1S");
  }

  @Test
  void interval_tooLong_throwsNamingOption() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().interval(TOO_LONG))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("interval must be at most");
  }

  @Test
  void interval_null_throwsNamingParameter() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().interval(null))
        .isInstanceOf(NullPointerException.class).hasMessage("interval");
  }

  @Test
  void jitter_negative_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().jitter(NEGATIVE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("jitter must not be negative: PT-1S");
  }

  @Test
  void backoff_negative_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().backoff(NEGATIVE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("backoff must not be negative: PT-1S");
  }

  @Test
  void maxBackoff_negative_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().maxBackoff(NEGATIVE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBackoff must not be negative: PT-1S");
  }

  @Test
  void shutdownTimeout_negative_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().shutdownTimeout(NEGATIVE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("shutdownTimeout must not be negative: PT-1S");
  }

  @Test
  void maxAttempts_belowOne_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().maxAttempts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts must be at least 1: 0");
  }

  @Test
  void maxKeys_belowOne_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().maxKeys(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxKeys must be at least 1: 0");
  }

  @Test
  void maxBatchSize_belowOne_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().maxBatchSize(-5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBatchSize must be at least 1: -5");
  }

  @Test
  void executor_null_throws() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().executor(null))
        .isInstanceOf(NullPointerException.class).hasMessage("executor");
  }

  @Test
  void tickerAndScheduler_null_throw() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().ticker(null)).hasMessage("ticker");
    assertThatThrownBy(() -> StatBuffer.newBuilder().scheduler(null)).hasMessage("scheduler");
  }

  @Test
  void build_nullHandler_throwsNamingParameter() {
    assertThatThrownBy(() -> StatBuffer.newBuilder().build(null))
        .isInstanceOf(NullPointerException.class).hasMessage("handler");
    assertThatThrownBy(() -> StatBuffer.newBuilder().buildBatched(null))
        .isInstanceOf(NullPointerException.class).hasMessage("handler");
  }

  @Test
  void build_defaults_namedAndReusable() {
    StatBuffer.Builder builder = StatBuffer.newBuilder().shutdownHook(false);
    try (StatBuffer<String> first = builder.build((String k, long c) -> {});
        StatBuffer<String> second = builder.build((String k, long c) -> {})) {
      assertThat(first.name()).startsWith("statbuffer-");
      assertThat(second.name()).isNotEqualTo(first.name());
      assertThat(first.stats()).isEqualTo(new BufferStats(0, 0, 0, 0, 0, 0));
    }
  }
}
