package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A small fleet in the suite (issue 14): four producer JVMs count uniformly random keys out of
 * 2 000 shared ones, with a short interval and the sink's and buffer's default settings. They
 * count in bursts, one per interval, so that most keys' windows close together and batches are
 * large (up to 1 000 keys): written in chunks of the default {@code maxRowsPerTransaction} while
 * the other processes write the same keys. The totals are
 * exact, no call failed on a deadlock or a lock timeout, and nothing was dropped. (The fleet's
 * throughput is measured by {@link FleetBenchmark}, outside the suite.)
 */
class FleetTest {
  private static final int PROCESSES = 4;
  private static final int KEYS = 2_000;
  private static final int RATE = 20_000;
  private static final int SECONDS = 5;
  private static final int INTERVAL_MILLIS = 200;

  @ParameterizedTest
  @ValueSource(strings = {Databases.POSTGRES_URL, Databases.MARIADB_URL})
  void fourWriters_overlappingKeys_defaults_totalsExactAndNoLockFailures(String url)
      throws Exception {
    Fleet.withTables(url, "fl", (pool, ns) -> {
      List<Fleet.Output> outputs = Fleet.run(FleetWriter.class, PROCESSES,
          p -> List.of(url, ns, Integer.toString(p + 1), Integer.toString(KEYS),
              Integer.toString(RATE), Integer.toString(SECONDS),
              Integer.toString(INTERVAL_MILLIS), "0", "0", Integer.toString(INTERVAL_MILLIS)),
          60);
      long[] actual = Fleet.totals(pool, ns, KEYS);
      assertThat(actual).isEqualTo(Fleet.sent(outputs, KEYS));
      assertThat(Arrays.stream(actual).sum()).isGreaterThan(PROCESSES * RATE * (SECONDS - 1L));
      for (Fleet.Output output : outputs) {
        Map<String, Double> result = output.result();
        System.out.println("RESULT " + result + "\nSTATS " + output.stats());
        assertThat(result.get("deadlocks")).as(output.text()).isZero();
        assertThat(result.get("lockTimeouts")).as(output.text()).isZero();
        assertThat(result.get("dropped")).as(output.text()).isZero();
      }
      // The batches were chunked: chunk ids <batch id>-<lo>-<hi> are in the ledger.
      assertThat(Databases.query(pool, "SELECT COUNT(*) FROM " + ns + "_ledger"
          + " WHERE batch_id LIKE '%-%-%-%'")).isPositive();
    });
  }
}
