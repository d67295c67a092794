package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.statbuffer.RejectedKeysException;
import dev.statbuffer.testing.TestBatch;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Batches larger than {@code maxRowsPerTransaction}, written in chunks that each commit on their
 * own: every count is applied exactly once across cuts at every statement, retries with another
 * chunk size, and concurrent calls of the same batch with different chunk sizes; and a refused key
 * inside a chunk bisects that chunk only.
 */
class ChunkedBatchTest extends ServerTest {
  private static final int KEYS = 1_000;

  /** {@code KEYS} keys {@code <prefix>-0000...} with counts 1 to 7. */
  private static Map<String, Long> counts(String prefix) {
    return counts(prefix, KEYS);
  }

  /** {@code keys} keys {@code <prefix>-0000...} with counts 1 to 7. */
  private static Map<String, Long> counts(String prefix, int keys) {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < keys; i++) {
      counts.put(String.format("%s-%04d", prefix, i), i % 7 + 1L);
    }
    return counts;
  }

  /** Creates the tables of a new namespace and returns it. */
  private String newTables(Server server) throws SQLException {
    String ns = newNamespace();
    builder(server, ns).build().createTables();
    return ns;
  }

  /** The rows of {@code <ns>_counts} whose key starts with {@code prefix-}. */
  private static long rows(Server server, String ns, String prefix) throws SQLException {
    return query(server, "SELECT COUNT(*) FROM " + ns + "_counts WHERE k LIKE ?", prefix + "-%");
  }

  /** Asserts that the keys of {@code counts(prefix)} hold their counts exactly once. */
  private static void assertOnce(Server server, String ns, String prefix, String context)
      throws SQLException {
    assertOnce(server, ns, prefix, KEYS, context);
  }

  /** Asserts that the keys of {@code counts(prefix, keys)} hold their counts exactly once. */
  private static void assertOnce(Server server, String ns, String prefix, int keys,
      String context) throws SQLException {
    Map<String, Long> counts = counts(prefix, keys);
    long sum = counts.values().stream().mapToLong(Long::longValue).sum();
    assertThat(rows(server, ns, prefix)).as(context).isEqualTo(keys);
    assertThat(query(server, "SELECT SUM(total) FROM " + ns + "_counts WHERE k LIKE ?",
        prefix + "-%")).as(context).isEqualTo(sum);
    for (int i = 0; i < keys; i += 37) {
      String key = String.format("%s-%04d", prefix, i);
      assertThat(total(server, ns, key)).as(context + ", " + key).isEqualTo(counts.get(key));
    }
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void largeBatch_defaultSettings_writtenInChunksUnderTheirIds(Server server) throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(server, ns).build();
    sink.createTables();
    TestBatch<String> batch = TestBatch.of(counts("a"));
    sink.flush(batch);
    sink.flush(batch.retry());
    assertOnce(server, ns, "a", "flushed twice");
    // 1000 rows at 100 per transaction: the 16 pieces of depth 4 (62 or 63 rows each), the
    // batch id and its chunk mark.
    String ledger = "SELECT COUNT(*) FROM " + ns + "_ledger WHERE batch_id LIKE ?";
    assertThat(query(server, ledger, batch.id() + "%")).isEqualTo(16 + 2);
    assertThat(query(server, ledger, Split.chunkId(batch.id(), 4))).isEqualTo(1);
    assertThat(query(server, ledger, Split.pieceId(batch.id(), 0, 62))).isEqualTo(1);
    JdbcSinkStats stats = sink.stats();
    assertThat(stats.rows()).isEqualTo(KEYS);
    assertThat(stats.applied()).isEqualTo(1);
    assertThat(stats.duplicates()).isEqualTo(1);
  }

  /**
   * The call is cut at each of its statements in turn (before the database ran it, and after,
   * as if the reply were lost), then the batch is retried: every count is applied once, and the
   * retry writes only the rows the cut call had not committed.
   */
  @ParameterizedTest
  @EnumSource(Server.class)
  void chunkedCallCutAtEveryStatement_retried_everyCountOnceAndOnlyTheRestWritten(Server server)
      throws Exception {
    String ns = newTables(server);
    int cuts = 0;
    for (boolean afterRunning : new boolean[] {false, true}) {
      for (int cut = 1; ; cut++) {
        String prefix = (afterRunning ? "a" : "b") + cut;
        CuttingDataSource cutting = new CuttingDataSource(cut, afterRunning);
        JdbcSink<String> cutSink = builder(cutting.wrap(server.dataSource()), server, ns)
            .maxRowsPerTransaction(100).build();
        TestBatch<String> batch = TestBatch.of(counts(prefix));
        String context = "cut at call " + cut + (afterRunning ? " after running it" : "");

        Throwable first = catchThrowable(() -> cutSink.flush(batch));
        if (!cutting.fired()) {
          assertThat(first).as(context).isNull();
          assertOnce(server, ns, prefix, context);
          break;
        }
        cuts++;
        long committed = rows(server, ns, prefix);
        JdbcSink<String> sink = builder(server, ns).maxRowsPerTransaction(100).build();
        sink.flush(batch.retry());
        assertOnce(server, ns, prefix, context);
        assertThat(sink.stats().rows()).as(context).isEqualTo(KEYS - committed);
      }
    }
    assertThat(cuts).isGreaterThan(2 * 16); // at least one statement per chunk, cut both ways
  }

  /**
   * A first call with one chunk size is cut half-way (some chunks committed), and the batch is
   * retried by sinks with other chunk sizes (a process restarted with another setting): the
   * retry follows the recorded chunking, and every count is applied once.
   */
  @ParameterizedTest
  @EnumSource(Server.class)
  void partialFirstAttempt_retriedWithOtherChunkSizes_everyCountOnce(Server server)
      throws Exception {
    String ns = newTables(server);
    int keys = 400;
    int[][] sizes = {{100, 37}, {100, 1000}, {37, 100}, {250, 100}, {1000, 100}, {100, 1}};
    int round = 0;
    for (int[] pair : sizes) {
      int partial = 0;
      // The first call checks the tables (2 statements), claims the batch (2 inserts and a
      // commit, after a lock statement on H2), then writes chunks of 1 to 4 statements each; a
      // whole batch is one statement on PostgreSQL, three or four elsewhere.
      for (int cut : (pair[0] < keys) ? new int[] {6, 9, 12, 15} : new int[] {3, 5}) {
        String prefix = "r" + round++;
        String context = "chunks of " + pair[0] + " cut after call " + cut + ", retried with "
            + pair[1];
        CuttingDataSource cutting = new CuttingDataSource(cut, true);
        JdbcSink<String> first = builder(cutting.wrap(server.dataSource()), server, ns)
            .maxRowsPerTransaction(pair[0]).build();
        TestBatch<String> batch = TestBatch.of(counts(prefix, keys));
        catchThrowable(() -> first.flush(batch));
        long committed = rows(server, ns, prefix);
        if (committed > 0 && committed < keys) {
          partial++;
        }
        JdbcSink<String> retry = builder(server, ns).maxRowsPerTransaction(pair[1]).build();
        retry.flush(batch.retry());
        retry.flush(batch.retry().retry());
        builder(server, ns).maxRowsPerTransaction(pair[0]).build().flush(batch.retry());
        assertOnce(server, ns, prefix, keys, context);
        assertThat(retry.stats().rows()).as(context).isEqualTo(keys - committed);
      }
      if (pair[0] < keys) {
        assertThat(partial).as("first attempts with chunks of %d that committed some of them",
            pair[0]).isPositive();
      }
    }
  }

  /** Four sinks (as four processes would) with four chunk sizes call the same batch at once. */
  @ParameterizedTest
  @EnumSource(Server.class)
  void sameBatchFromFourThreads_differentChunkSizes_appliedOnce(Server server) throws Exception {
    String ns = newTables(server);
    List<Integer> sizes = List.of(100, 37, 1000, 250);
    for (int round = 0; round < 3; round++) {
      String prefix = "t" + round;
      TestBatch<String> batch = TestBatch.of(counts(prefix));
      int shift = round;
      Concurrent.atOnce(sizes.size(), t -> {
        JdbcSink<String> sink = builder(server, ns)
            .maxRowsPerTransaction(sizes.get((t + shift) % sizes.size())).build();
        return () -> {
          Concurrent.flushRetrying(sink, batch);
          return null;
        };
      });
      assertOnce(server, ns, prefix, "round " + round);
    }
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void badKeyInsideChunkedBatch_onlyItsChunkBisected_othersAppliedOnce(Server server)
      throws Exception {
    String ns = newNamespace();
    createCounts(server, ns, server.intCountColumn());
    JdbcSink<String> sink = builder(server, ns).maxRowsPerTransaction(100).build();
    sink.createTables();
    Map<String, Long> counts = new LinkedHashMap<>(counts("g"));
    counts.remove("g-0999");
    counts.put("poison", 3_000_000_000L); // past the INTEGER range; the last row in key order
    TestBatch<String> batch = TestBatch.of(counts);

    RejectedKeysException report =
        catchThrowableOfType(() -> sink.flush(batch), RejectedKeysException.class);
    RejectedKeysException again =
        catchThrowableOfType(() -> sink.flush(batch.retry()), RejectedKeysException.class);

    assertThat(report.rejections()).extracting(RejectedKeysException.Rejection::key)
        .containsExactly("poison");
    // Row 999, in the last chunk [937, 1000): the same piece id as without chunks.
    String id = batch.id() + "-rr-rs-d";
    assertThat(report.rejections().get(0).id()).isEqualTo(id);
    assertThat(again.rejections().get(0).id()).isEqualTo(id);
    assertThat(query(server, "SELECT COUNT(*) FROM " + ns + "_counts WHERE k LIKE 'g-%'"))
        .isEqualTo(KEYS - 1);
    assertThat(query(server, "SELECT SUM(total) FROM " + ns + "_counts WHERE k LIKE 'g-%'"))
        .isEqualTo(counts.values().stream().mapToLong(Long::longValue).sum() - 3_000_000_000L);
    assertThat(total(server, ns, "poison")).isZero();
    // Only the poisoned chunk was bisected: one split mark per level from [937, 1000) down to
    // the refused row (63, 32, 16, 8, 4, 2 and 1 rows).
    assertThat(query(server, "SELECT COUNT(*) FROM " + ns + "_ledger WHERE batch_id LIKE ?",
        batch.id() + "-%-s")).isEqualTo(7);
    assertThat(query(server, "SELECT COUNT(*) FROM " + ns + "_ledger WHERE batch_id = ?",
        Split.splitId(Split.pieceId(batch.id(), 937, 1000)))).isEqualTo(1);
    assertThat(sink.stats().rows()).isEqualTo(KEYS - 1);
  }

  @ParameterizedTest
  @EnumSource(Server.class)
  void ledgerOff_largeBatch_chunkedAndAppliedOnce(Server server) throws Exception {
    String ns = newNamespace();
    JdbcSink<String> sink = builder(server, ns).exactlyOnce(false).maxRowsPerTransaction(64)
        .build();
    sink.createTables();
    sink.flush(TestBatch.of(counts("n")));
    assertOnce(server, ns, "n", "without the ledger");
    assertThat(sink.idempotencyHorizon()).isEmpty();
    assertThat(builder(server, ns).ledgerRetention(Duration.ofHours(2)).build()
        .idempotencyHorizon()).contains(Duration.ofHours(2));
  }
}
