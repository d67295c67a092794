package dev.statbuffer.jdbc;

import javax.sql.DataSource;

/** The contract against H2 in memory. */
class H2JdbcSinkTest extends JdbcSinkContractTest {
  private static final DataSource H2 = Databases.h2();

  @Override
  DataSource dataSource() {
    return H2;
  }

  @Override
  JdbcDialect expectedDialect() {
    return JdbcDialect.H2;
  }

  @Override
  String dayColumn() {
    return "\"DAY\""; // a keyword in H2
  }

  @Override
  long statementsPerSmallBatch() {
    return 4; // lock row, ledger merge, upsert merge, commit
  }

  @Override
  long lockStatementsPerFlush() {
    return 1;
  }

  /**
   * Before H2 writers were serialized, concurrent MERGEs of the same new keys raced (unique-key
   * violations, re-applied in the sink) and now and then a key ended up counted twice: about one
   * run in 40 of this scenario.
   */
  @org.junit.jupiter.api.Test
  void concurrentSinks_sameNewKeys_exactTotals() throws Exception {
    int keys = 200;
    for (int round = 0; round < 40; round++) {
      String ns = newNamespace();
      long[] expected = new long[keys];
      java.util.concurrent.ExecutorService threads =
          java.util.concurrent.Executors.newFixedThreadPool(4);
      java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
      java.util.List<java.util.concurrent.Future<long[]>> writers = new java.util.ArrayList<>();
      for (int w = 0; w < 4; w++) {
        JdbcSink<String> sink = builder(ns).build();
        sink.createTables();
        int seed = round * 10 + w;
        writers.add(threads.submit(() -> {
          java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
          long[] sent = new long[keys];
          start.await();
          for (int b = 0; b < 30; b++) {
            java.util.Map<String, Long> counts = new java.util.HashMap<>();
            for (int i = 0; i < 64; i++) {
              int k = random.nextInt(keys);
              counts.merge("k" + k, 1L, Long::sum);
              sent[k]++;
            }
            sink.flush(new dev.statbuffer.testing.TestBatch<>("w" + seed + "-" + b, counts, 1));
          }
          return sent;
        }));
      }
      start.countDown();
      for (java.util.concurrent.Future<long[]> writer : writers) {
        long[] sent = writer.get(60, java.util.concurrent.TimeUnit.SECONDS);
        for (int k = 0; k < keys; k++) {
          expected[k] += sent[k];
        }
      }
      threads.shutdown();
      for (int k = 0; k < keys; k++) {
        org.assertj.core.api.Assertions.assertThat(readTotal(ns, "k" + k))
            .as("round %d, k%d", round, k).isEqualTo(expected[k]);
      }
      dropTables();
    }
  }
}
