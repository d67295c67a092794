package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.statbuffer.BufferStats;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.testing.DropRecorder;
import dev.statbuffer.testing.TestBatch;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A key the database refuses for good (a count past an INTEGER count column) among good keys, on
 * every database: the others are applied in the same call, the bad one is rejected by name, and
 * every count is applied exactly once across splits, retries, cuts and concurrent calls.
 */
class BadKeysTest extends ServerTest {
  /** Past the INTEGER range of the count column. */
  private static final long POISON = 3_000_000_000L;

  /** Creates {@code <ns>_counts} with an INTEGER count column and returns a sink over it. */
  private JdbcSink<String> intSink(Server server, String ns) throws SQLException {
    createCounts(server, ns, server.intCountColumn());
    JdbcSink<String> sink = builder(server, ns).build();
    sink.createTables(); // the ledger; the counter table exists
    return sink;
  }

  /** Good keys {@code k000...} with counts 1, 2, 3... and the key {@code poison}. */
  private static Map<String, Long> withPoison(int good) {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < good; i++) {
      counts.put(String.format("k%03d", i), i + 1L);
    }
    counts.put("poison", POISON);
    return counts;
  }

  private static long goodSum(int good) {
    return (long) good * (good + 1) / 2;
  }

  private static void assertGoodKeysOnce(Server server, String ns, int good) throws SQLException {
    assertThat(query(server, "SELECT COUNT(*) FROM " + ns + "_counts WHERE k <> 'poison'"))
        .isEqualTo(good);
    assertThat(query(server, "SELECT SUM(total) FROM " + ns + "_counts WHERE k <> 'poison'"))
        .isEqualTo(goodSum(good));
    for (int i = 0; i < good; i += 97) {
      assertThat(total(server, ns, String.format("k%03d", i))).isEqualTo(i + 1L);
    }
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void poisonAmong999Good_oneCall_goodAppliedAndPoisonRejectedByName(Server server)
      throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = intSink(server, ns);
    TestBatch<String> batch = TestBatch.of(withPoison(999));

    RejectedKeysException report =
        catchThrowableOfType(() -> sink.flush(batch), RejectedKeysException.class);

    assertThat(report).isNotNull();
    assertThat(report.rejections()).hasSize(1);
    RejectedKeysException.Rejection rejection = report.rejections().get(0);
    assertThat(rejection.key()).isEqualTo("poison");
    // The poison key is the last of the 1000 rows in the fixed order: piece [999, 1000).
    assertThat(rejection.id()).isEqualTo(batch.id() + "-rr-rs-d");
    assertThat(rejection.cause()).isInstanceOf(SQLException.class)
        .hasMessageContaining("table " + ns + "_counts refused key poison (count 3000000000")
        .hasMessageContaining("total");
    if (server != Server.SQLITE) { // SQLite: a CHECK constraint refuses it
      assertThat(rejection.cause()).hasMessageContaining("count column total")
          .hasMessageContaining("would leave that column's range")
          .hasMessageContaining("ALTER TABLE");
    }
    assertGoodKeysOnce(server, ns, 999);
    assertThat(total(server, ns, "poison")).isZero();
    JdbcSinkStats stats = sink.stats();
    assertThat(stats.rows()).isEqualTo(999);
    assertThat(stats.rejectedKeys()).isEqualTo(1);
    assertThat(stats.applied()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  @SuppressWarnings("try") // close() inside the block settles the stats
  void poisonAmong999Good_throughBuffer_goodDeliveredAndPoisonDroppedWithItsCount(Server server)
      throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = intSink(server, ns);
    DropRecorder<String> handler = new DropRecorder<>(sink);
    List<FlushBatch<String>> dropped = handler.dropped;
    BufferStats stats;
    try (StatBuffer<String> buffer = StatBuffer.newBuilder().name("bad-keys")
        .interval(Duration.ofMillis(200)).maxBatchSize(1000).shutdownHook(false)
        .buildBatched(handler)) {
      withPoison(999).forEach(buffer::increment);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while ((dropped.isEmpty() || query(server, "SELECT COUNT(*) FROM " + ns + "_counts") < 999)
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertGoodKeysOnce(server, ns, 999);
      assertThat(dropped).hasSize(1);
      buffer.close();
      stats = buffer.stats();
    }
    assertThat(dropped.get(0).counts()).isEqualTo(Map.of("poison", POISON));
    assertThat(dropped.get(0).id()).endsWith("-d");
    assertThat(handler.reasons.get(0)).hasMessageContaining("refused key poison");
    assertThat(stats.deliveredSum()).isEqualTo(goodSum(999));
    assertThat(stats.droppedSum()).isEqualTo(POISON);
    assertThat(total(server, ns, "poison")).isZero();
  }

  /**
   * The call is cut at each of its statements in turn (before the database ran it, and after,
   * as if the reply were lost), the count column is then widened so that the whole batch would
   * now be accepted, and the batch is retried twice: every good count is applied once, and the
   * poison count is applied once after the fix, or rejected (when the cut came after the row was
   * found refused), and then applied once by a replay of its rejection id.
   */
  @ParameterizedTest
  @EnumSource(Server.class)
  void splitCutAtEveryStatement_retriedAfterFix_everyCountOnce(Server server) throws Exception {
    int good = 12;
    int cuts = 0;
    for (boolean afterRunning : new boolean[] {false, true}) {
      for (int cut = 1; ; cut++) {
        String ns = newNamespace();
        intSink(server, ns);
        CuttingDataSource cutting = new CuttingDataSource(cut, afterRunning);
        JdbcSink<String> cutSink = builder(cutting.wrap(server.dataSource()), server, ns).build();
        JdbcSink<String> sink = builder(server, ns).build();
        TestBatch<String> batch = TestBatch.of(withPoison(good));
        String context = "cut at call " + cut + (afterRunning ? " after running it" : "");

        Throwable first = catchThrowable(() -> cutSink.flush(batch));
        if (!cutting.fired()) {
          assertThat(first).as(context).isInstanceOf(RejectedKeysException.class);
          dropTables();
          break;
        }
        cuts++;
        // A cut in the ledger pruning after the split is logged, and the call reports as usual.
        assertThat(first).as(context)
            .isInstanceOfAny(SQLException.class, RejectedKeysException.class);
        for (String sql : server.widenCount(ns + "_counts")) {
          execute(server, sql);
        }
        Throwable second = catchThrowable(() -> sink.flush(batch.retry()));
        Throwable third = catchThrowable(() -> sink.flush(batch.retry().retry()));

        assertGoodKeysOnce(server, ns, good);
        if (second == null) {
          assertThat(third).as(context).isNull();
        } else {
          assertThat(second).as(context).isInstanceOf(RejectedKeysException.class);
          String id = ((RejectedKeysException) second).rejections().get(0).id();
          assertThat(((RejectedKeysException) third).rejections().get(0).id()).isEqualTo(id);
          assertThat(total(server, ns, "poison")).as(context).isZero();
          sink.flush(new TestBatch<>(id, Map.of("poison", POISON), 1)); // the dead-letter replay
          sink.flush(new TestBatch<>(id, Map.of("poison", POISON), 1));
        }
        assertThat(total(server, ns, "poison")).as(context).isEqualTo(POISON);
        dropTables();
      }
    }
    assertThat(cuts).isGreaterThan(20); // the split takes that many statements and commits
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void rejectionId_replayedAsItsOwnBatch_appliedOnce(Server server) throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = intSink(server, ns);
    TestBatch<String> batch = TestBatch.of(withPoison(5));
    RejectedKeysException report =
        catchThrowableOfType(() -> sink.flush(batch), RejectedKeysException.class);
    String id = report.rejections().get(0).id();
    TestBatch<String> replay = new TestBatch<>(id, Map.of("poison", POISON), 1);

    // Still refused: the replay is rejected in turn, under an id of its own.
    RejectedKeysException again =
        catchThrowableOfType(() -> sink.flush(replay), RejectedKeysException.class);
    assertThat(again.rejections().get(0).id()).isEqualTo(id + "-d");

    for (String sql : server.widenCount(ns + "_counts")) {
      execute(server, sql);
    }
    RejectedKeysException retried =
        catchThrowableOfType(() -> sink.flush(batch.retry()), RejectedKeysException.class);
    assertThat(retried.rejections().get(0).id()).isEqualTo(id); // split before: stays rejected
    assertThat(retried.rejections().get(0).cause())
        .hasMessageContaining("the database would accept it now");
    RejectedKeysException replayAgain =
        catchThrowableOfType(() -> sink.flush(replay.retry()), RejectedKeysException.class);
    assertThat(replayAgain.rejections().get(0).id()).isEqualTo(id + "-d");

    TestBatch<String> secondReplay = new TestBatch<>(id + "-d", Map.of("poison", POISON), 1);
    sink.flush(secondReplay);
    sink.flush(secondReplay.retry());
    assertThat(total(server, ns, "poison")).isEqualTo(POISON);
    assertGoodKeysOnce(server, ns, 5);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void sameSplitBatchFromFourThreads_goodAppliedOnceAndSameRejectionIds(Server server)
      throws Exception {
    String ns = newNamespace();
    intSink(server, ns);
    TestBatch<String> batch = TestBatch.of(withPoison(200));
    int threads = 4;
    List<String> ids = Collections.synchronizedList(new ArrayList<>());
    Concurrent.atOnce(threads, t -> {
      JdbcSink<String> sink = builder(server, ns).build(); // one sink per "process"
      return () -> {
        RejectedKeysException report = catchThrowableOfType(
            () -> Concurrent.flushRetrying(sink, batch), RejectedKeysException.class);
        ids.add(report.rejections().get(0).id());
        return null;
      };
    });
    assertGoodKeysOnce(server, ns, 200);
    assertThat(ids).hasSize(threads).containsOnly(ids.get(0));
    assertThat(total(server, ns, "poison")).isZero();
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void ledgerOff_poisonAmongGood_goodAppliedAndPoisonRejected(Server server) throws Exception {
    String ns = newNamespace();
    createCounts(server, ns, server.intCountColumn());
    JdbcSink<String> sink = builder(server, ns).exactlyOnce(false).build();
    RejectedKeysException report = catchThrowableOfType(
        () -> sink.flush(TestBatch.of(withPoison(300))), RejectedKeysException.class);
    assertThat(report.rejections()).extracting(RejectedKeysException.Rejection::key)
        .containsExactly("poison");
    assertGoodKeysOnce(server, ns, 300);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void keysSharingARow_rowRefused_eachKeyRejectedUnderItsOwnId(Server server) throws Exception {
    String ns = newNamespace();
    createCounts(server, ns, server.intCountColumn());
    JdbcSink<String> sink = builder(server, ns)
        .keyMapper(k -> new Object[] {k.startsWith("p") ? "poison" : k}).build();
    sink.createTables();
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("good", 5L);
    counts.put("p1", POISON);
    counts.put("p2", 7L);
    TestBatch<String> batch = TestBatch.of(counts);
    RejectedKeysException report =
        catchThrowableOfType(() -> sink.flush(batch), RejectedKeysException.class);
    // Sorted by count: p2 (7) first, then p1.
    assertThat(report.rejections()).extracting(RejectedKeysException.Rejection::key)
        .containsExactly("p2", "p1");
    assertThat(report.rejections()).extracting(RejectedKeysException.Rejection::id)
        .containsExactly(batch.id() + "-1-2-d", batch.id() + "-1-2-d1");
    assertThat(total(server, ns, "good")).isEqualTo(5L);
  }
}
