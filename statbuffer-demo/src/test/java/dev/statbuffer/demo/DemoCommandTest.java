package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Runs the demo in this JVM against each store. PostgreSQL, MariaDB and Redis must be running on
 * their standard local ports (the tests fail, never skip, without them).
 */
class DemoCommandTest {
  private static final long INCREMENTS = 300_000;

  @TempDir
  Path data;

  @Test
  void run_h2_verifiesAndPrintsJsonLast() {
    DemoRun run = smallRun("h2");
    assertVerified(run, 1_000);
    assertThat(run.out()).contains("Summary (h2").contains("increments per write")
        .contains("verified              yes");
    assertThat(Files.exists(data.resolve("statbuffer-demo.mv.db"))).isTrue();
  }

  @Test
  void run_h2Twice_eachRunVerifiesOnlyItsOwnRows() {
    DemoRun first = smallRun("h2");
    DemoRun second = smallRun("h2");
    assertVerified(first, 1_000);
    assertVerified(second, 1_000);
    assertThat(second.json().get("run")).isNotEqualTo(first.json().get("run"));
  }

  @Test
  void run_sqlite_verifies() {
    DemoRun run = smallRun("sqlite");
    assertVerified(run, 1_000);
    assertThat(Files.exists(data.resolve("statbuffer-demo.sqlite"))).isTrue();
  }

  @Test
  void run_postgres_verifies() {
    assertVerified(smallRun("postgres"), 1_000);
  }

  @Test
  void run_mariadb_verifies() {
    assertVerified(smallRun("mariadb"), 1_000);
  }

  @Test
  void run_redis_verifies() {
    DemoRun run = smallRun("redis");
    assertVerified(run, 1_000);
    assertThat(run.json().get("writeUnit")).isEqualTo("round trips");
  }

  @Test
  void run_forDuration_stopsAndVerifies() {
    DemoRun run = DemoRun.of("--data", data.toString(), "--duration", "700ms", "--interval",
        "200ms", "--threads", "2", "--json");
    assertThat(run.exitCode()).as(run.toString()).isZero();
    Map<String, String> json = run.json();
    assertThat(json.get("verified")).isEqualTo("true");
    assertThat(Long.parseLong(json.get("increments"))).isPositive();
    assertThat(Double.parseDouble(json.get("seconds"))).isBetween(0.6, 5.0);
    assertThat(Long.parseLong(json.get("keySpace"))).isEqualTo(10_000);
    // Plain progress lines, one a second, when not on a terminal: no carriage returns.
    assertThat(run.out()).doesNotContain("\r");
  }

  @Test
  void run_storeReadsBackWrongTotal_exitsOneAndSaysWhichKey() {
    DemoRun run = DemoRun.of(store -> new TamperedStore(store), "--data", data.toString(),
        "--increments", String.valueOf(INCREMENTS), "--keys", "100", "--json");
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
    Map<String, String> json = run.json();
    assertThat(json.get("verified")).isEqualTo("false");
    assertThat(json.get("mismatches")).isEqualTo("1");
    assertThat(run.out()).contains("verified              NO").contains("/page/0: stored ");
  }

  @Test
  void run_unreachableServer_exitsOneWithHint() {
    DemoRun run = DemoRun.of("--store", "postgres", "--url",
        "jdbc:postgresql://127.0.0.1:1/test?user=postgres&connectTimeout=2", "--increments",
        "10");
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
    assertThat(run.err()).contains("cannot use PostgreSQL at jdbc:postgresql://127.0.0.1:1/")
        .contains("--url");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--store foo              | '--store': 'foo' is not a store: use one of h2, sqlite,"
          + " postgres, mariadb, redis",
      "--threads 0              | '--threads': must be from 1 to 1024; was 0",
      "--threads abc            | '--threads': 'abc' is not an int",
      "--keys 0                 | '--keys': must be from 1 to 1000000; was 0",
      "--zipf -1                | '--zipf': must be from 0 (uniform) to 10.0; was -1.0",
      "--duration 10x           | '10x' is not a duration: use a number with a unit",
      "--duration 0s            | '--duration': must be positive (such as 10s); was 0s",
      "--increments 0           | '--increments': must be at least 1; was 0",
      "--interval -1s           | is not a duration",
      "--duration 1s --increments 5 | --duration and --increments exclude each other",
      "--store postgres --url redis://x | a postgres URL starts with jdbc:postgresql:",
      "--store redis --url jdbc:h2:mem:x | a redis URL starts with redis:// or rediss://",
      "--bogus                  | Unknown option: '--bogus'",
  })
  void parse_badArguments_exitTwoNamingTheOptionAndWhatIsAllowed(String args, String message) {
    DemoRun run = DemoRun.of(args.trim().split("\\s+"));
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
    assertThat(run.err()).as(run.toString()).contains(message).contains("--help");
    assertThat(run.out()).as("no run started").isEmpty();
  }

  @Test
  void help_listsEveryOptionWithItsDefault() {
    DemoRun run = DemoRun.of("--help");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).contains("--store", "h2, sqlite, postgres, mariadb",
        "Default: h2", "--keys", "Default: 10000", "--zipf", "Default: 1.1", "--duration",
        "--increments", "--interval", "--threads", "--url", "--data", "--json", "Default URLs",
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres", "Exit status");
  }

  private DemoRun smallRun(String store) {
    return DemoRun.of("--store", store, "--data", data.toString(), "--increments",
        String.valueOf(INCREMENTS), "--keys", "1000", "--threads", "2", "--interval", "100ms",
        "--json");
  }

  private static void assertVerified(DemoRun run, int keySpace) {
    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.lastLine()).startsWith("{").endsWith("}");
    Map<String, String> json = run.json();
    assertThat(json.get("verified")).as(run.toString()).isEqualTo("true");
    assertThat(Long.parseLong(json.get("increments"))).isEqualTo(INCREMENTS);
    assertThat(Long.parseLong(json.get("keys"))).isBetween(1L, (long) keySpace);
    assertThat(Long.parseLong(json.get("storeWrites"))).isPositive();
    assertThat(Double.parseDouble(json.get("seconds"))).isPositive();
    assertThat(json.get("mismatches")).isEqualTo("0");
    assertThat(json.get("dropped")).isEqualTo("0");
  }

  /** Reads back one more view of /page/0 than was stored. */
  private static final class TamperedStore implements DemoStore {
    private final DemoStore store;

    TamperedStore(DemoStore store) {
      this.store = store;
    }

    @Override
    public String describe() {
      return store.describe();
    }

    @Override
    public void prepare() throws Exception {
      store.prepare();
    }

    @Override
    public dev.statbuffer.BatchFlushHandler<String> sink() {
      return store.sink();
    }

    @Override
    public Counters counters() {
      return store.counters();
    }

    @Override
    public String writeUnit() {
      return store.writeUnit();
    }

    @Override
    public Map<String, Long> readTotals(List<String> keys) throws Exception {
      Map<String, Long> totals = new HashMap<>(store.readTotals(keys));
      totals.merge("/page/0", 1L, Long::sum);
      return totals;
    }

    @Override
    public void close() {
      store.close();
    }
  }
}
