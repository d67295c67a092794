package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.jdbc.FaultyProxy.Fault;
import dev.statbuffer.jdbc.FaultyProxy.Kind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import dev.statbuffer.testing.DropRecorder;
import dev.statbuffer.testing.TestBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sink behind a TCP proxy that cuts its connections to PostgreSQL, including right after the
 * database committed and before the client heard it. With the ledger every total is exact; without
 * it the retry of a batch whose commit reply was lost counts twice.
 */
class ConnectionCutTest {
  /** The seed of the random fault schedule; set {@code -Dstatbuffer.seed=...} to replay one. */
  private static final long SEED = Long.getLong("statbuffer.seed", 20_240_304L);

  private static HikariDataSource direct;
  private String ns;

  @BeforeAll
  static void openPool() {
    direct = Databases.pool(Databases.POSTGRES_URL, 2);
  }

  @AfterAll
  static void closePool() {
    direct.close();
  }

  @AfterEach
  void dropTables() {
    if (ns != null) {
      Databases.drop(direct, ns + "_counts", ns + "_ledger");
    }
  }

  private JdbcSink<String> sinkThrough(FaultyProxy proxy, boolean exactlyOnce) throws Exception {
    return sinkThrough(proxy, b -> b.exactlyOnce(exactlyOnce));
  }

  private JdbcSink<String> sinkThrough(FaultyProxy proxy,
      UnaryOperator<JdbcSink.Builder<String>> options) throws Exception {
    ns = "cut" + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36);
    JdbcSink<String> setup = options.apply(JdbcSink.<String>builder(direct)
        .table(ns + "_counts").keyColumns("k").countColumn("total")
        .ledgerTable(ns + "_ledger")).build();
    setup.createTables();
    return options.apply(
        JdbcSink.<String>builder(Databases.postgresAt("127.0.0.1", proxy.port()))
            .table(ns + "_counts").keyColumns("k").countColumn("total")
            .ledgerTable(ns + "_ledger")).build();
  }

  private long total(String key) throws SQLException {
    try (Connection c = direct.getConnection();
        PreparedStatement s = c.prepareStatement(
            "SELECT total FROM " + ns + "_counts WHERE k = ?")) {
      s.setString(1, key);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  private static StatBuffer<String> buffer(BatchFlushHandler<String> sink, Duration interval) {
    return StatBuffer.newBuilder()
        .name("connection-cut")
        .interval(interval)
        .backoff(Duration.ofMillis(10))
        .maxBackoff(Duration.ofMillis(50))
        .shutdownTimeout(Duration.ofSeconds(60))
        .shutdownHook(false)
        .buildBatched(sink);
  }

  /** Cuts the first committed reply, once; everything else passes. */
  private static IntFunction<Fault> firstCommitReplyLost() {
    AtomicInteger armed = new AtomicInteger(1);
    // Connection 0 only checks the tables (no commit); the first flush is connection 1.
    return i -> (i >= 1 && armed.getAndDecrement() > 0)
        ? new Fault(Kind.CUT_AFTER_COMMIT, 0) : Fault.NONE;
  }

  @Test
  @SuppressWarnings("try") // close() inside the block is the step under test
  void ledgerOff_commitReplyLost_retryCountsTwice() throws Exception {
    try (FaultyProxy proxy = new FaultyProxy(Databases.POSTGRES_HOST, Databases.POSTGRES_PORT,
        firstCommitReplyLost())) {
      JdbcSink<String> sink = sinkThrough(proxy, /* exactlyOnce= */ false);
      BufferStats stats;
      try (StatBuffer<String> buffer = buffer(sink, Duration.ofHours(1))) {
        for (int i = 0; i < 10; i++) {
          buffer.increment("a");
          buffer.increment("b", 2);
        }
        buffer.close(); // one batch {a=10, b=20}: committed, reply lost, retried
        stats = buffer.stats();
      }
      assertThat(proxy.commitCuts()).isEqualTo(1);
      assertThat(stats.failures()).isEqualTo(1);
      assertThat(stats.deliveredSum()).isEqualTo(30);
      // The double count the ledger exists to prevent.
      assertThat(total("a")).isEqualTo(20);
      assertThat(total("b")).isEqualTo(40);
    }
  }

  @Test
  @SuppressWarnings("try") // close() inside the block is the step under test
  void ledgerOn_commitReplyLost_retryAppliedOnce() throws Exception {
    try (FaultyProxy proxy = new FaultyProxy(Databases.POSTGRES_HOST, Databases.POSTGRES_PORT,
        firstCommitReplyLost())) {
      JdbcSink<String> sink = sinkThrough(proxy, /* exactlyOnce= */ true);
      try (StatBuffer<String> buffer = buffer(sink, Duration.ofHours(1))) {
        for (int i = 0; i < 10; i++) {
          buffer.increment("a");
          buffer.increment("b", 2);
        }
        buffer.close();
        assertThat(buffer.stats().failures()).isEqualTo(1);
      }
      assertThat(proxy.commitCuts()).isEqualTo(1);
      assertThat(sink.stats().duplicates()).isEqualTo(1);
      assertThat(total("a")).isEqualTo(10);
      assertThat(total("b")).isEqualTo(20);
    }
  }

  /** Large batches take several statements and an explicit COMMIT, whose reply is lost. */
  @Test
  void ledgerOn_multiStatementCommitReplyLost_retryAppliedOnce() throws Exception {
    try (FaultyProxy proxy = new FaultyProxy(Databases.POSTGRES_HOST, Databases.POSTGRES_PORT,
        i -> (i == 1) ? new Fault(Kind.CUT_AFTER_EXPLICIT_COMMIT, 0) : Fault.NONE)) {
      JdbcSink<String> sink = sinkThrough(proxy, b -> b.maxRowsPerStatement(3));
      Map<String, Long> counts = new LinkedHashMap<>();
      for (int i = 0; i < 10; i++) {
        counts.put("k" + i, (long) i + 1);
      }
      TestBatch<String> batch = TestBatch.of(counts);
      assertThatThrownBy(() -> sink.flush(batch)).isInstanceOf(SQLException.class);
      sink.flush(batch.retry());
      assertThat(proxy.commitCuts()).isEqualTo(1);
      assertThat(sink.stats().duplicates()).isEqualTo(1);
      for (int i = 0; i < 10; i++) {
        assertThat(total("k" + i)).isEqualTo(i + 1);
      }
    }
  }

  /**
   * Random cuts (seeded) at any byte of requests and replies, and every fourth connection cut
   * right after its commit, while two threads count into a buffer: the totals are exact.
   */
  @Test
  void ledgerOn_randomCuts_totalsExact() throws Exception {
    RandomCuts run = randomCuts(b -> b, null);
    assertThat(run.stats.droppedSum()).as(run.context).isZero();
  }

  /**
   * The same with a key the database refuses (longer than its column) counted among the others:
   * batches are split, cut in the middle of their splits and retried. Every good total is exact,
   * and every count of the refused key is dropped once, under a rejection id.
   */
  @Test
  void ledgerOn_randomCutsWithARefusedKey_goodTotalsExactAndRefusedCountsDropped()
      throws Exception {
    String refused = "longer-than-twelve";
    RandomCuts run = randomCuts(b -> b.keyColumnTypes("VARCHAR(12)"), refused);
    assertThat(run.droppedIds).as(run.context).isNotEmpty().allMatch(id -> id.endsWith("-d"));
    assertThat(run.stats.droppedSum()).as(run.context).isEqualTo(run.refusedSent).isPositive();
  }

  /** What a {@link #randomCuts} run sent, and what the buffer and the sink report. */
  private record RandomCuts(BufferStats stats, long refusedSent, List<String> droppedIds,
      String context) {}

  /**
   * Two threads count random keys (and now and then {@code refusedKey}, if not null) into a
   * buffer over a sink behind the cutting proxy; checks that every other key's total is exact.
   */
  @SuppressWarnings("try") // close() inside the block is the step under test
  private RandomCuts randomCuts(UnaryOperator<JdbcSink.Builder<String>> options,
      String refusedKey) throws Exception {
    SplittableRandom schedule = new SplittableRandom(SEED);
    Fault[] faults = new Fault[100_000];
    for (int i = 0; i < faults.length; i++) {
      int choice = schedule.nextInt(10);
      faults[i] = (i % 4 == 2) ? new Fault(Kind.CUT_AFTER_COMMIT, 0)
          : (choice < 3) ? new Fault(Kind.CUT_REQUEST, schedule.nextInt(1_500))
          : (choice < 6) ? new Fault(Kind.CUT_REPLY, schedule.nextInt(1_500))
          : Fault.NONE;
    }
    try (FaultyProxy proxy = new FaultyProxy(Databases.POSTGRES_HOST, Databases.POSTGRES_PORT,
        i -> faults[i % faults.length])) {
      JdbcSink<String> sink = sinkThrough(proxy, options);
      DropRecorder<String> handler = new DropRecorder<>(sink);
      int keys = 40;
      long[] sent = new long[keys];
      long[] refusedSent = new long[2];
      BufferStats stats;
      try (StatBuffer<String> buffer = buffer(handler, Duration.ofMillis(20))) {
        Thread[] writers = new Thread[2];
        long[][] perWriter = new long[writers.length][keys];
        for (int w = 0; w < writers.length; w++) {
          SplittableRandom random = new SplittableRandom(SEED + w + 1);
          long[] mine = perWriter[w];
          int writer = w;
          writers[w] = new Thread(() -> {
            long end = System.nanoTime() + Duration.ofMillis(1_500).toNanos();
            while (System.nanoTime() < end) {
              for (int i = 0; i < 50; i++) {
                int k = random.nextInt(keys);
                long delta = random.nextInt(7) - 2; // negative deltas too
                if (buffer.increment("k" + k, delta)) {
                  mine[k] += delta;
                }
              }
              if (refusedKey != null && buffer.increment(refusedKey, 3)) {
                refusedSent[writer] += 3;
              }
              try {
                Thread.sleep(1);
              } catch (InterruptedException e) {
                return;
              }
            }
          });
          writers[w].start();
        }
        for (Thread writer : writers) {
          writer.join();
        }
        buffer.close();
        stats = buffer.stats();
        for (long[] mine : perWriter) {
          for (int k = 0; k < keys; k++) {
            sent[k] += mine[k];
          }
        }
      }
      String context = "seed " + SEED + " (replay with -Dstatbuffer.seed=" + SEED + "), "
          + proxy.connections() + " connections, " + proxy.cuts() + " cuts, "
          + proxy.commitCuts() + " after commit, " + stats + ", " + sink.stats();
      assertThat(proxy.commitCuts()).as(context).isPositive();
      assertThat(sink.stats().duplicates()).as(context).isPositive();
      long sum = 0;
      for (int k = 0; k < keys; k++) {
        assertThat(total("k" + k)).as("k" + k + ", " + context).isEqualTo(sent[k]);
        sum += sent[k];
      }
      assertThat(stats.deliveredSum()).as(context).isEqualTo(sum);
      System.out.println("ConnectionCutTest: " + context);
      List<String> droppedIds = new ArrayList<>();
      handler.dropped.forEach(batch -> droppedIds.add(batch.id()));
      return new RandomCuts(stats, refusedSent[0] + refusedSent[1], droppedIds, context);
    }
  }
}
