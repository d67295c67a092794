package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.RejectedKeysException.Rejection;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.testing.DropRecorder;
import dev.statbuffer.testing.TestBatch;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Bad keys (issue 12): counters Redis refuses for good are reported as rejected keys while the
 * rest of the batch is applied, and exactly-once holds across retries and replays. Run against
 * every deployment (standalone and cluster) by {@link RedisSinkTestBase}.
 */
interface BadKeysContract {

  /** A builder on the deployment under test. */
  <K> RedisSink.Builder<K> newBuilder();

  /** A synchronous connection for checks, routed by key on a cluster. */
  RedisClusterCommands<String, String> admin();

  /** Closes {@code sink} after the test. */
  <K> RedisSink<K> track(RedisSink<K> sink);

  /** A fresh namespace for the test's keys. */
  String newNamespace();

  /** The three poison keys of {@link #poisoned}: a list, "abc", and Long.MAX_VALUE. */
  List<String> POISON = List.of("p-list", "p-text", "p-max");

  private RedisSink<String> stringSink(String ns) {
    return track(this.<String>newBuilder()
        .keyMapper(k -> RedisSinkTestBase.key(ns, k))
        .expireAfter(Duration.ofHours(1))
        .build());
  }

  /**
   * {@code good} good keys g0, g1, ... counting i + 1, and the three poison keys counting 3, 4
   * and 5, whose counters are set up to be refused (WRONGTYPE, NOTINTEGER, OVERFLOW).
   */
  private Map<String, Long> poisoned(String ns, int good) {
    String list = RedisSinkTestBase.key(ns, "p-list");
    admin().rpush(list, "not a counter");
    admin().expire(list, 3600);
    hold(RedisSinkTestBase.key(ns, "p-text"), "abc");
    hold(RedisSinkTestBase.key(ns, "p-max"), Long.toString(Long.MAX_VALUE));
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < good; i++) {
      counts.put("g" + i, i + 1L);
      if (i == good / 2) {
        counts.put("p-list", 3L);
        counts.put("p-text", 4L);
        counts.put("p-max", 5L);
      }
    }
    return counts;
  }

  /** Makes the poison keys good counters: p-list gone, p-text 10, p-max 0. */
  private void fixPoison(String ns) {
    admin().del(RedisSinkTestBase.key(ns, "p-list"));
    hold(RedisSinkTestBase.key(ns, "p-text"), "10");
    hold(RedisSinkTestBase.key(ns, "p-max"), "0");
  }

  /** Sets {@code key} to {@code value} for an hour. */
  private void hold(String key, String value) {
    admin().set(key, value, SetArgs.Builder.ex(3600));
  }

  private long total(String ns, String key) {
    String value = admin().get(RedisSinkTestBase.key(ns, key));
    return (value == null) ? 0 : Long.parseLong(value);
  }

  private static RejectedKeysException rejected(RedisSink<?> sink, FlushBatch<?> batch) {
    @SuppressWarnings("unchecked")
    RedisSink<Object> any = (RedisSink<Object>) sink;
    @SuppressWarnings("unchecked")
    FlushBatch<Object> b = (FlushBatch<Object>) batch;
    RejectedKeysException e = catchThrowableOfType(RejectedKeysException.class,
        () -> any.flush(b));
    assertThat(e).as("flush of %s throws RejectedKeysException", batch.id()).isNotNull();
    return e;
  }

  private static Map<Object, String> idsByKey(RejectedKeysException e) {
    return e.rejections().stream().collect(Collectors.toMap(Rejection::key, Rejection::id));
  }

  /** Polls until {@code done} or the generous {@code bound}; returns whether it got there. */
  private static boolean await(Duration bound, BooleanSupplier done) throws InterruptedException {
    long end = System.nanoTime() + bound.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > end) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  /**
   * The case: three poison keys among 999 good ones. One call applies the 999 (one script
   * call per part, as without poison) and names the three, each with Redis' reason, its counter
   * and count, under an id derived from the batch id and its part.
   */
  @Test
  default void poisonKeysAmong999Good_oneCall_goodApplied_poisonRejectedByName() {
    String ns = newNamespace();
    RedisSink<String> sink = stringSink(ns);
    Map<String, Long> counts = poisoned(ns, 999);
    TestBatch<String> batch = TestBatch.of(counts);

    RejectedKeysException e = rejected(sink, batch);

    assertThat(e.rejections()).extracting(Rejection::key)
        .containsExactlyInAnyOrderElementsOf(POISON);
    for (Rejection r : e.rejections()) {
      String redisKey = RedisSinkTestBase.key(ns, (String) r.key());
      int slot = SlotHash.getSlot(redisKey);
      assertThat(r.id()).hasSizeLessThanOrEqualTo(64)
          .matches(batch.id() + "-" + (sink.isCluster() ? slot : "s") + "-d\\d+");
      assertThat(r.cause()).isInstanceOfSatisfying(RedisCounterRejectedException.class, c -> {
        assertThat(c.redisKey()).isEqualTo(redisKey);
        assertThat(c.field()).isNull();
        assertThat(c.count()).isEqualTo(counts.get(r.key()));
        assertThat(c.getMessage()).contains("buffer key " + r.key(), redisKey,
            "count " + counts.get(r.key()), "Fix:", r.id());
      });
    }
    Map<Object, String> reasons = e.rejections().stream().collect(Collectors.toMap(
        Rejection::key, r -> ((RedisCounterRejectedException) r.cause()).reason()));
    assertThat(reasons.get("p-list")).startsWith("WRONGTYPE").contains("holds a list");
    assertThat(reasons.get("p-text")).startsWith("NOTINTEGER");
    assertThat(reasons.get("p-max")).startsWith("OVERFLOW");

    for (int i = 0; i < 999; i++) {
      assertThat(total(ns, "g" + i)).as("g%d", i).isEqualTo(i + 1L);
    }
    assertThat(admin().lrange(RedisSinkTestBase.key(ns, "p-list"), 0, -1))
        .containsExactly("not a counter");
    assertThat(admin().get(RedisSinkTestBase.key(ns, "p-text"))).isEqualTo("abc");
    assertThat(total(ns, "p-max")).isEqualTo(Long.MAX_VALUE);

    long parts = sink.isCluster()
        ? counts.keySet().stream()
            .map(k -> SlotHash.getSlot(RedisSinkTestBase.key(ns, k))).distinct().count()
        : 1;
    RedisSinkStats stats = sink.stats();
    assertThat(stats.commands()).isEqualTo(parts);
    assertThat(stats.appliedParts()).isEqualTo(parts);
    assertThat(stats.increments()).isEqualTo(999);
    assertThat(stats.rejectedIncrements()).isEqualTo(3);
    assertThat(stats.failedBatches()).isZero();
  }

  /**
   * Retries of a batch with rejections, even after the bad counters were fixed so that the whole
   * batch would now succeed, apply nothing twice and report the same rejections under the same
   * ids.
   */
  @Test
  default void rejectedBatch_retriedAfterTheFix_appliesNothingTwice_sameRejections() {
    String ns = newNamespace();
    RedisSink<String> sink = stringSink(ns);
    TestBatch<String> batch = TestBatch.of(poisoned(ns, 20));
    Map<Object, String> first = idsByKey(rejected(sink, batch));

    fixPoison(ns);
    assertThat(idsByKey(rejected(sink, batch.retry()))).isEqualTo(first);
    assertThat(idsByKey(rejected(sink, batch.retry().retry()))).isEqualTo(first);

    for (int i = 0; i < 20; i++) {
      assertThat(total(ns, "g" + i)).as("g%d", i).isEqualTo(i + 1L);
    }
    assertThat(total(ns, "p-list")).isZero();
    assertThat(total(ns, "p-text")).isEqualTo(10);
    assertThat(total(ns, "p-max")).isZero();
    RedisSinkStats stats = sink.stats();
    assertThat(stats.skippedParts()).isEqualTo(2 * stats.appliedParts());
    assertThat(stats.rejectedIncrements()).isEqualTo(3);
  }

  /**
   * A rejected key's count replayed as a batch of its own under its rejection id (as a dead-letter
   * replay does, once the counter is fixed) is applied once, and a second replay changes nothing.
   */
  @Test
  default void rejectionReplayedUnderItsId_appliedOnce_twiceStillOnce() {
    String ns = newNamespace();
    RedisSink<String> sink = stringSink(ns);
    Map<String, Long> counts = poisoned(ns, 20);
    RejectedKeysException e = rejected(sink, TestBatch.of(counts));
    fixPoison(ns);

    for (Rejection r : e.rejections()) {
      String key = (String) r.key();
      TestBatch<String> replay = new TestBatch<>(r.id(), Map.of(key, counts.get(key)), 1);
      try {
        sink.flush(replay);
        sink.flush(replay.retry());
        sink.flush(new TestBatch<>(r.id(), Map.of(key, counts.get(key)), 1));
      } catch (Exception failed) {
        throw new AssertionError("replay of " + r.id() + " failed", failed);
      }
    }
    assertThat(total(ns, "p-list")).isEqualTo(3);
    assertThat(total(ns, "p-text")).isEqualTo(14);
    assertThat(total(ns, "p-max")).isEqualTo(5);
    assertThat(total(ns, "g7")).isEqualTo(8);
  }

  /**
   * With exactly-once off there is no marker to record refusals: they are reported the same way,
   * and a retry tries every counter again (at-least-once), the fixed ones included.
   */
  @Test
  default void exactlyOnceOff_rejectionsReported_retryTriesEverythingAgain() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = track(this.<String>newBuilder()
        .keyMapper(k -> RedisSinkTestBase.key(ns, k))
        .expireAfter(Duration.ofHours(1))
        .exactlyOnce(false)
        .build());
    TestBatch<String> batch = TestBatch.of(poisoned(ns, 2));
    assertThat(idsByKey(rejected(sink, batch))).containsOnlyKeys(POISON);
    fixPoison(ns);
    sink.flush(batch.retry());
    assertThat(total(ns, "g1")).isEqualTo(4);
    assertThat(total(ns, "p-list")).isEqualTo(3);
    assertThat(total(ns, "p-text")).isEqualTo(14);
    assertThat(total(ns, "p-max")).isEqualTo(5);
  }

  /**
   * Hash counters: a field holding text and a hash key holding a string are refused (every buffer
   * key of that key), naming the field; the other fields and hashes are applied with their TTL.
   */
  @Test
  default void hashCounters_badFieldAndWrongTypeKey_rejectedNamingField_othersApplied() {
    String ns = newNamespace();
    RedisSink<RedisSinkTestBase.PageDay> sink = track(
        this.<RedisSinkTestBase.PageDay>newBuilder()
            .hashMapper(k -> RedisSinkTestBase.key(ns, "day:" + k.day()),
                RedisSinkTestBase.PageDay::page)
            .expireAfter(Duration.ofMinutes(10))
            .build());
    String d1 = RedisSinkTestBase.key(ns, "day:d1");
    String d2 = RedisSinkTestBase.key(ns, "day:d2");
    String d3 = RedisSinkTestBase.key(ns, "day:d3");
    admin().hset(d1, "bad", "abc");
    admin().expire(d1, 3600);
    hold(d2, "a string");
    Map<RedisSinkTestBase.PageDay, Long> counts = new LinkedHashMap<>();
    counts.put(new RedisSinkTestBase.PageDay("home", "d1"), 1L);
    counts.put(new RedisSinkTestBase.PageDay("bad", "d1"), 2L);
    counts.put(new RedisSinkTestBase.PageDay("home", "d2"), 3L);
    counts.put(new RedisSinkTestBase.PageDay("about", "d2"), 4L);
    counts.put(new RedisSinkTestBase.PageDay("home", "d3"), 5L);

    RejectedKeysException e = rejected(sink, TestBatch.of(counts));

    Map<Object, RedisCounterRejectedException> causes = e.rejections().stream().collect(
        Collectors.toMap(Rejection::key, r -> (RedisCounterRejectedException) r.cause()));
    assertThat(causes).containsOnlyKeys(new RedisSinkTestBase.PageDay("bad", "d1"),
        new RedisSinkTestBase.PageDay("home", "d2"), new RedisSinkTestBase.PageDay("about", "d2"));
    RedisCounterRejectedException bad = causes.get(new RedisSinkTestBase.PageDay("bad", "d1"));
    assertThat(bad.field()).isEqualTo("bad");
    assertThat(bad.getMessage()).contains(d1 + " field bad", "NOTINTEGER", "count 2");
    RedisCounterRejectedException wrong =
        causes.get(new RedisSinkTestBase.PageDay("about", "d2"));
    assertThat(wrong.getMessage()).contains(d2 + " field about",
        "WRONGTYPE the key holds a string, not a hash of counters", "count 4");
    assertThat(admin().hgetall(d1)).containsOnly(Map.entry("home", "1"), Map.entry("bad", "abc"));
    assertThat(admin().get(d2)).isEqualTo("a string");
    assertThat(admin().hgetall(d3)).containsOnly(Map.entry("home", "5"));
    assertThat(admin().pttl(d1)).isBetween(1L, 600_000L);
    assertThat(admin().pttl(d3)).isBetween(1L, 600_000L);
    assertThat(admin().pttl(d2)).isGreaterThan(600_000L);
  }

  /**
   * Several buffer keys summed into one refused counter are each rejected with their own count,
   * under ids that differ from each other and stay the same on a retry.
   */
  @Test
  default void keysSummedIntoARefusedCounter_eachRejectedUnderItsOwnStableId() {
    String ns = newNamespace();
    RedisSink<String> sink = track(this.<String>newBuilder()
        .keyMapper(k -> RedisSinkTestBase.key(ns, k.startsWith("one") ? "one" : k))
        .expireAfter(Duration.ofHours(1))
        .build());
    admin().sadd(RedisSinkTestBase.key(ns, "one"), "member");
    admin().expire(RedisSinkTestBase.key(ns, "one"), 3600);
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("one-a", 1L);
    counts.put("other", 7L);
    counts.put("one-b", 2L);
    TestBatch<String> batch = TestBatch.of(counts);
    RejectedKeysException e = rejected(sink, batch);

    assertThat(e.rejections()).extracting(Rejection::key)
        .containsExactlyInAnyOrder("one-a", "one-b");
    assertThat(e.rejections()).extracting(Rejection::id).doesNotHaveDuplicates();
    assertThat(e.rejections()).allSatisfy(r -> assertThat(r.cause())
        .hasMessageContaining("count " + counts.get(r.key()))
        .hasMessageContaining("the batch adds 3 to it in all")
        .hasMessageContaining("holds a set"));
    // The same batch, its keys met in another order: same ids.
    Map<String, Long> reordered = new TreeMap<>(java.util.Comparator.reverseOrder());
    reordered.putAll(counts);
    TestBatch<String> again = new TestBatch<>(batch.id(), reordered, 2);
    assertThat(idsByKey(rejected(sink, again))).isEqualTo(idsByKey(e));
    assertThat(total(ns, "other")).isEqualTo(7);
  }

  /**
   * Integers as Redis reads them, at the 64-bit limits (the old check compared doubles and
   * refused values near the limit that Redis accepts).
   */
  @Test
  default void integerLimits_refusedExactlyWhenRedisWouldRefuse() {
    String ns = newNamespace();
    RedisSink<String> sink = stringSink(ns);
    record Case(String held, long delta, String after) {}
    Map<String, Case> cases = new LinkedHashMap<>();
    cases.put("maxMinus1", new Case("9223372036854775806", 1, "9223372036854775807"));
    cases.put("max", new Case("9223372036854775807", 1, null));
    cases.put("min", new Case("-9223372036854775808", -1, null));
    cases.put("minPlus1", new Case("-9223372036854775807", -1, "-9223372036854775808"));
    cases.put("nearDouble", new Case("9007199254740993", 1, "9007199254740994"));
    cases.put("twoPow63", new Case("9223372036854775808", 1, null));
    cases.put("twentyDigits", new Case("10000000000000000000", -1, null));
    cases.put("minusZero", new Case("-0", 1, null));
    cases.put("leadingZero", new Case("007", 1, null));
    cases.put("plus", new Case("+5", 1, null));
    cases.put("space", new Case(" 5", 1, null));
    cases.put("zero", new Case("0", -5, "-5"));
    Map<String, Long> counts = new LinkedHashMap<>();
    cases.forEach((k, c) -> {
      hold(RedisSinkTestBase.key(ns, k), c.held());
      counts.put(k, c.delta());
    });

    RejectedKeysException e = rejected(sink, TestBatch.of(counts));

    assertThat(e.rejections()).extracting(Rejection::key).containsExactlyInAnyOrderElementsOf(
        cases.entrySet().stream().filter(c -> c.getValue().after() == null)
            .map(Map.Entry::getKey).toList());
    cases.forEach((k, c) -> assertThat(admin().get(RedisSinkTestBase.key(ns, k))).as(k)
        .isEqualTo(c.after() == null ? c.held() : c.after()));
    Map<Object, String> reasons = e.rejections().stream().collect(Collectors.toMap(
        Rejection::key, r -> ((RedisCounterRejectedException) r.cause()).reason()));
    assertThat(reasons.get("max")).startsWith("OVERFLOW");
    assertThat(reasons.get("min")).startsWith("OVERFLOW");
    assertThat(reasons.get("twoPow63")).startsWith("NOTINTEGER");
  }

  /**
   * The case through a buffer: the good keys arrive within a few seconds, each poison key
   * reaches {@code onDrop} alone with its count under its rejection id, and delivered plus dropped
   * is exactly what was counted.
   */
  @Test
  default void poisonKeys_inABuffer_goodDelivered_eachPoisonKeyDroppedWithItsCount()
      throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = stringSink(ns);
    Map<String, Long> counts = poisoned(ns, 999);
    DropRecorder<String> handler = new DropRecorder<>(sink);
    List<FlushBatch<String>> drops = handler.dropped;
    List<Exception> reasons = handler.reasons;
    long sum = counts.values().stream().mapToLong(Long::longValue).sum();
    try (StatBuffer<String> buffer = StatBuffer.newBuilder()
        .name("redis-poison")
        .interval(Duration.ofMillis(50))
        .backoff(Duration.ofMillis(10))
        .shutdownHook(false)
        .buildBatched(handler)) {
      counts.forEach(buffer::increment);

      assertThat(await(Duration.ofSeconds(10), () -> total(ns, "g998") == 999
          && drops.size() == 3 && buffer.stats().pendingKeys() == 0))
          .as("delivered within 10 s: drops %s, %s", drops, buffer.stats()).isTrue();
      for (int i = 0; i < 999; i++) {
        assertThat(total(ns, "g" + i)).as("g%d", i).isEqualTo(i + 1L);
      }
      assertThat(drops).allSatisfy(d -> {
        assertThat(d.counts()).hasSize(1);
        String key = d.counts().keySet().iterator().next();
        assertThat(d.counts()).containsEntry(key, counts.get(key));
        assertThat(d.id()).matches("[0-9a-z-]+-(s|\\d+)-d\\d+");
      });
      assertThat(drops).extracting(d -> d.counts().keySet().iterator().next())
          .containsExactlyInAnyOrderElementsOf(POISON);
      assertThat(reasons).allSatisfy(r -> assertThat(r)
          .isInstanceOf(RedisCounterRejectedException.class));
      assertThat(buffer.stats().droppedSum()).isEqualTo(3 + 4 + 5);
      assertThat(buffer.stats().deliveredSum() + buffer.stats().droppedSum()).isEqualTo(sum);
    }
  }
}
