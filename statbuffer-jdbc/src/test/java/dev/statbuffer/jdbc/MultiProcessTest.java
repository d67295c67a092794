package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Three JVM processes flush overlapping keys into the same table at once: the totals are exact
 * and no process deadlocks (a deadlock the database breaks is retried and stays exact).
 */
class MultiProcessTest {
  private static final int PROCESSES = 3;
  private static final int KEYS = 100;
  private static final int INCREMENTS = 100_000;

  @ParameterizedTest
  @ValueSource(strings = {Databases.POSTGRES_URL, Databases.MARIADB_URL})
  void processes_overlappingKeys_totalsExact(String url) throws Exception {
    Fleet.withTables(url, "mp", (pool, ns) -> {
      List<Fleet.Output> outputs = Fleet.run(ChildWriter.class, PROCESSES,
          p -> List.of(url, ns, Integer.toString(p + 1), Integer.toString(INCREMENTS),
              Integer.toString(KEYS)), 90);
      outputs.forEach(o -> System.out.println("STATS " + o.stats()));
      long[] actual = Fleet.totals(pool, ns, KEYS);
      assertThat(actual).isEqualTo(Fleet.sent(outputs, KEYS));
      assertThat(Arrays.stream(actual).sum()).isEqualTo((long) PROCESSES * INCREMENTS);
    });
  }
}
