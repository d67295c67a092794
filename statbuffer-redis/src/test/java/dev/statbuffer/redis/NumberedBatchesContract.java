package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Batches numbered by a sender (issue 14): the per-slot state that replaces per-batch markers is
 * exactly-once for retries, concurrent duplicate calls and out-of-order delivery, keeps refusals,
 * stays small, expires with the sink's horizon, and seals dropped batches for dead-letter
 * replays. Run against every deployment by {@link RedisSinkTestBase}.
 */
interface NumberedBatchesContract {

  /** A builder on the deployment under test. */
  <K> RedisSink.Builder<K> newBuilder();

  /** A synchronous connection for checks, routed by key on a cluster. */
  RedisClusterCommands<String, String> admin();

  /** Closes {@code sink} after the test. */
  <K> RedisSink<K> track(RedisSink<K> sink);

  /** A fresh namespace for the test's keys. */
  String newNamespace();

  /** A sink whose state lives under the test's own prefix, with a 5 minute horizon. */
  private RedisSink<String> sink(String ns) {
    return track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:" + k)
        .expireAfter(Duration.ofMinutes(5))
        .markerPrefix("sbtest:" + ns + ":batch:")
        .markerTtl(Duration.ofMinutes(5))
        .build());
  }

  private static String newSender() {
    StringBuilder sender = new StringBuilder();
    for (int i = 0; i < 24; i++) {
      sender.append(Character.forDigit(ThreadLocalRandom.current().nextInt(16), 16));
    }
    return sender.toString();
  }

  private long total(String ns, String key) {
    String value = admin().get("sbtest:{" + ns + "}:" + key);
    return (value == null) ? 0 : Long.parseLong(value);
  }

  /** The state key of the test's one slot (its keys share the hash tag {ns}). */
  private String stateKey(RedisSink<String> sink, String ns) {
    return sink.stateKey(sink.isCluster() ? SlotHash.getSlot("{" + ns + "}") : -1);
  }

  private static Map<String, Long> counts(long... deltas) {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < deltas.length; i++) {
      counts.put("k" + i, deltas[i]);
    }
    return counts;
  }

  @Test
  default void numberedBatch_retried_appliedOnce_recordedInStateNotMarkers() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    NumberedBatch<String> batch = NumberedBatch.of(newSender(), 1, 1, counts(3, 4));
    sink.flush(batch);
    sink.flush(batch.retry(1));
    sink.flush(batch.retry(1).retry(1));
    assertThat(total(ns, "k0")).isEqualTo(3);
    assertThat(total(ns, "k1")).isEqualTo(4);
    assertThat(sink.stats().appliedParts()).isEqualTo(1);
    assertThat(sink.stats().skippedParts()).isEqualTo(2);
    int slot = sink.isCluster() ? SlotHash.getSlot("{" + ns + "}") : -1;
    assertThat(admin().exists(sink.markerKey(slot, batch.id()))).isZero();
    assertThat(admin().hlen(stateKey(sink, ns))).isEqualTo(1);
  }

  /** A late abandoned call and its retry run at once, many times over: each batch counts once. */
  @Test
  default void concurrentDuplicateCalls_eachBatchAppliedOnce() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    String sender = newSender();
    int batches = 40;
    for (int s = 1; s <= batches; s++) {
      NumberedBatch<String> batch = NumberedBatch.of(sender, s, Math.max(1, s - 2), counts(1, 2));
      CountDownLatch start = new CountDownLatch(1);
      AtomicReference<Throwable> error = new AtomicReference<>();
      List<Thread> calls = new ArrayList<>();
      for (FlushBatch<String> call : List.of(batch, batch.retry(Math.max(1, s - 2)))) {
        calls.add(new Thread(() -> {
          try {
            start.await();
            sink.flush(call);
          } catch (Throwable e) {
            error.set(e);
          }
        }));
      }
      calls.forEach(Thread::start);
      start.countDown();
      for (Thread call : calls) {
        call.join();
      }
      assertThat(error.get()).isNull();
    }
    assertThat(total(ns, "k0")).isEqualTo(batches);
    assertThat(total(ns, "k1")).isEqualTo(2L * batches);
    assertThat(sink.stats().appliedParts()).isEqualTo(batches);
  }

  /**
   * Batch 5 is applied before batch 3 and 4 (delivered concurrently, watermark 3 held by batch
   * 3); retries of each find them; once the watermark passes them a late call of batch 3 (an
   * abandoned call arriving last) applies nothing.
   */
  @Test
  default void outOfOrder_batch5BeforeRetryOf3_eachAppliedOnce() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    String sender = newSender();
    NumberedBatch<String> b3 = NumberedBatch.of(sender, 3, 3, counts(1));
    NumberedBatch<String> b4 = NumberedBatch.of(sender, 4, 3, counts(10));
    NumberedBatch<String> b5 = NumberedBatch.of(sender, 5, 3, counts(100));
    sink.flush(b5);
    sink.flush(b3.retry(3));
    sink.flush(b5.retry(3));
    sink.flush(b4);
    sink.flush(b3.retry(3));
    sink.flush(b4.retry(4));
    assertThat(total(ns, "k0")).isEqualTo(111);
    sink.flush(NumberedBatch.of(sender, 6, 6, counts(1000)));
    sink.flush(b3); // the first call of batch 3, abandoned long ago, arrives now
    sink.flush(b5.retry(3));
    assertThat(total(ns, "k0")).isEqualTo(1111);
    assertThat(sink.stats().appliedParts()).isEqualTo(4);
    // Only batch 6 is above the watermark 6 now.
    String record = admin().hvals(stateKey(sink, ns)).get(0);
    assertThat(record.split(" ")).hasSize(2);
  }

  /** A refused counter is recorded with the batch's number: a retry reports it again. */
  @Test
  default void refusalKeptInState_retryAfterFix_sameRejectionNothingTwice() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    admin().rpush("sbtest:{" + ns + "}:k1", "not a counter");
    admin().expire("sbtest:{" + ns + "}:k1", 600);
    NumberedBatch<String> batch = NumberedBatch.of(newSender(), 1, 1, counts(5, 6, 7));
    RejectedKeysException first = org.assertj.core.api.Assertions.catchThrowableOfType(
        () -> sink.flush(batch), RejectedKeysException.class);
    assertThat(first.rejections()).hasSize(1);
    assertThat(first.rejections().get(0).key()).isEqualTo("k1");
    admin().del("sbtest:{" + ns + "}:k1");
    RejectedKeysException again = org.assertj.core.api.Assertions.catchThrowableOfType(
        () -> sink.flush(batch.retry(1)), RejectedKeysException.class);
    assertThat(again.rejections()).hasSize(1);
    assertThat(again.rejections().get(0).id()).isEqualTo(first.rejections().get(0).id());
    assertThat(total(ns, "k0")).isEqualTo(5);
    assertThat(total(ns, "k1")).isZero();
    assertThat(total(ns, "k2")).isEqualTo(7);
  }

  /**
   * 10 000 batches of one sender into one slot, each with the watermark three behind: the
   * sender's record holds the watermark and the numbers above it, never the history.
   */
  @Test
  default void tenThousandBatches_oneSlot_stateHoldsOnlyWhatIsAboveTheWatermark()
      throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    String sender = newSender();
    for (int s = 1; s <= 10_000; s++) {
      sink.flush(NumberedBatch.of(sender, s, Math.max(1, s - 3), Map.of("k0", 1L)));
    }
    assertThat(total(ns, "k0")).isEqualTo(10_000);
    String key = stateKey(sink, ns);
    assertThat(admin().hlen(key)).isEqualTo(1);
    String record = admin().hvals(key).get(0);
    // "<time>:<watermark> <n>.<fp> ..." with the 4 numbers 9997..10000 above the watermark.
    assertThat(record.split(" ")).hasSize(5);
    assertThat(record.length()).isLessThan(64);
    assertThat(admin().memoryUsage(key)).isLessThan(256L);
  }

  /** The horizon the buffer enforces is the TTL of the state and of markers. */
  @Test
  default void idempotencyHorizon_isTheStateTtl() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    assertThat(sink.idempotencyHorizon()).contains(Duration.ofMinutes(5));
    sink.flush(NumberedBatch.of(newSender(), 1, 1, counts(1)));
    assertThat(admin().pttl(stateKey(sink, ns))).isBetween(1L, Duration.ofMinutes(5).toMillis());
    RedisSink<String> atLeastOnce = track(this.<String>newBuilder()
        .keyMapper(k -> "sbtest:{" + ns + "}:" + k).exactlyOnce(false).build());
    assertThat(atLeastOnce.idempotencyHorizon()).isEmpty();
  }

  /** A sender that wrote nothing for longer than the horizon is forgotten by later writes. */
  @Test
  default void senderSilentPastTheHorizon_swept() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    String sender = newSender();
    sink.flush(NumberedBatch.of(sender, 1, 1, counts(1)));
    String key = stateKey(sink, ns);
    admin().hset(key, "gone-sender", "1:1 1.abcd"); // written at second 1 of 1970
    for (int s = 2; s <= 400 && admin().hexists(key, "gone-sender"); s++) {
      sink.flush(NumberedBatch.of(sender, s, s, counts(1)));
    }
    assertThat(admin().hexists(key, "gone-sender")).isFalse();
    assertThat(admin().hlen(key)).isEqualTo(1);
  }

  /**
   * A dropped batch is sealed: a part an attempt applied gets a marker, so a dead-letter replay
   * (no sender, same id) skips it; a part nothing applied is marked dropped, so the abandoned call
   * arriving late applies nothing, and the replay applies it once.
   */
  @Test
  default void droppedBatchSealed_deadLetterReplayAppliesEachPartOnce() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    String sender = newSender();
    NumberedBatch<String> applied = NumberedBatch.of(sender, 1, 1, counts(2));
    sink.flush(applied); // its reply was "lost": the buffer gave up on it
    sink.onDrop(applied, new Exception("test"));
    sink.flush(applied.unnumbered());
    sink.flush(applied.unnumbered());
    assertThat(total(ns, "k0")).isEqualTo(2);

    NumberedBatch<String> unapplied = NumberedBatch.of(sender, 2, 2, counts(30));
    sink.onDrop(unapplied, new Exception("test"));
    sink.flush(unapplied); // the abandoned first call arrives after the drop
    assertThat(total(ns, "k0")).isEqualTo(2);
    sink.flush(unapplied.unnumbered());
    sink.flush(unapplied.unnumbered());
    assertThat(total(ns, "k0")).isEqualTo(32);
  }

  /** A watermark above the batch's own number (a broken batch) does not make it skip itself. */
  @Test
  default void watermarkAboveOwnNumber_notTrusted_batchApplied() throws Exception {
    String ns = newNamespace();
    RedisSink<String> sink = sink(ns);
    sink.flush(NumberedBatch.of(newSender(), 2, 9, counts(4)));
    assertThat(total(ns, "k0")).isEqualTo(4);
    assertThat(Splitter.senderField("abc")).isEqualTo("~abc");
    assertThat(Splitter.senderField("00ff00ff00ff00ff00ff00ff")).hasSize(16);
  }
}
