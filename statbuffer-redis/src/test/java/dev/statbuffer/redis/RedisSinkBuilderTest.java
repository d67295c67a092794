package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One test per validation rule; none of these reach a server (build() fails before it connects). */
class RedisSinkBuilderTest {
  private static RedisClient client;

  @BeforeAll
  static void createClient() {
    client = RedisClient.create(RedisURI.create("127.0.0.1", 6379));
  }

  @AfterAll
  static void shutdown() {
    client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
  }

  private static RedisSink.Builder<String> builder() {
    return RedisSink.<String>builder(client);
  }

  @Test
  void builder_nullClient_npeNamesClient() {
    assertThatThrownBy(() -> RedisSink.<String>builder((RedisClient) null))
        .isInstanceOf(NullPointerException.class).hasMessage("client");
    assertThatThrownBy(() -> RedisSink.<String>builder((RedisClusterClient) null))
        .isInstanceOf(NullPointerException.class).hasMessage("client");
  }

  @Test
  void keyMapper_null_npeNamesKeyMapper() {
    assertThatThrownBy(() -> builder().keyMapper(null))
        .isInstanceOf(NullPointerException.class).hasMessage("keyMapper");
  }

  @Test
  void hashMapper_nullFunctions_npeNamesEach() {
    assertThatThrownBy(() -> builder().hashMapper(null, k -> k))
        .isInstanceOf(NullPointerException.class).hasMessage("keyMapper");
    assertThatThrownBy(() -> builder().hashMapper(k -> k, null))
        .isInstanceOf(NullPointerException.class).hasMessage("fieldMapper");
  }

  @Test
  void build_noMapper_illegalState() {
    assertThatThrownBy(() -> builder().build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("keyMapper");
  }

  @Test
  void build_bothMappers_illegalState() {
    assertThatThrownBy(() -> builder().keyMapper(k -> k).hashMapper(k -> k, k -> k).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("both");
  }

  @Test
  void expireAfter_zeroOrNegative_iaeNamesOptionAndValue() {
    assertThatThrownBy(() -> builder().expireAfter(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expireAfter must be at least 1 ms: PT0S");
    assertThatThrownBy(() -> builder().expireAfter(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT-1S");
    assertThatThrownBy(() -> builder().expireAfter(null))
        .isInstanceOf(NullPointerException.class).hasMessage("expireAfter");
  }

  @Test
  void markerTtl_underOneSecond_iaeNamesOptionAndValue() {
    assertThatThrownBy(() -> builder().markerTtl(Duration.ofMillis(999)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("markerTtl must be at least 1 second: PT0.999S");
    assertThatThrownBy(() -> builder().markerTtl(null))
        .isInstanceOf(NullPointerException.class).hasMessage("markerTtl");
  }

  @Test
  void expireAfter_overHundredYears_iaeNamesOptionAndValue() {
    assertThatThrownBy(() -> builder().expireAfter(Duration.ofMillis(Long.MAX_VALUE - 1000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("expireAfter must be at most PT876000H (36500 days): PT");
    assertThatThrownBy(() -> builder().expireAfter(Duration.ofDays(36_501)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT876024H");
  }

  @Test
  void markerTtl_overHundredYears_iaeNamesOptionAndValue() {
    assertThatThrownBy(() -> builder().markerTtl(Duration.ofMillis(Long.MAX_VALUE - 1000)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("markerTtl must be at most PT876000H (36500 days): PT");
    assertThatThrownBy(() -> builder().markerTtl(Duration.ofSeconds(Long.MAX_VALUE)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("markerTtl");
  }

  @Test
  void name_emptyOrBraceOrSpace_iaeNamesOptionAndValue() {
    assertThatThrownBy(() -> builder().name(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("name must be non-empty without braces or whitespace: ''");
    assertThatThrownBy(() -> builder().name("a{b")).hasMessageContaining("'a{b'");
    assertThatThrownBy(() -> builder().name("a b")).hasMessageContaining("'a b'");
    assertThatThrownBy(() -> builder().name(null))
        .isInstanceOf(NullPointerException.class).hasMessage("name");
  }

  /** Regression: markerTtl with exactlyOnce(false) was silently ignored. */
  @Test
  void build_markerOptionWithExactlyOnceOff_illegalState() {
    assertThatThrownBy(() -> builder().keyMapper(k -> k).exactlyOnce(false)
        .markerTtl(Duration.ofMinutes(5)).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("markerTtl")
        .hasMessageContaining("exactlyOnce is false");
    assertThatThrownBy(() -> builder().keyMapper(k -> k).markerPrefix("p:").exactlyOnce(false)
        .build())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> builder().keyMapper(k -> k).name("n").exactlyOnce(false).build())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void markerPrefix_withBrace_iae() {
    assertThatThrownBy(() -> builder().markerPrefix("a{b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("markerPrefix must not contain braces: a{b");
    assertThatThrownBy(() -> builder().markerPrefix(null))
        .isInstanceOf(NullPointerException.class).hasMessage("markerPrefix");
  }

  @Test
  void timeout_zero_iaeNamesOptionAndValue() {
    assertThatThrownBy(() -> builder().timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("timeout must be positive: PT0S");
    assertThatThrownBy(() -> builder().timeout(null))
        .isInstanceOf(NullPointerException.class).hasMessage("timeout");
  }

  @Test
  void clientName_withSpace_iae() {
    assertThatThrownBy(() -> builder().clientName("a b"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'a b'");
    assertThatThrownBy(() -> builder().clientName(null))
        .isInstanceOf(NullPointerException.class).hasMessage("clientName");
  }
}
