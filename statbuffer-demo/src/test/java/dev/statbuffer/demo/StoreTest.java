package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The stores' names, URLs and how they open, without connecting to any of them. */
class StoreTest {
  private static final Path DATA = Path.of("data");

  @Test
  void forOption_anyCaseAndBlanks_findsTheStore() {
    assertThat(Store.forOption(" PostGres ")).contains(Store.POSTGRES);
    assertThat(Store.forOption("redis")).contains(Store.REDIS);
    assertThat(Store.forOption("mysql")).isEmpty();
  }

  @Test
  void options_inDeclarationOrder() {
    assertThat(Store.options()).containsExactly("h2", "sqlite", "postgres", "mariadb", "redis");
  }

  @Test
  void defaultUrl_fileStores_liveInTheDataDirectory() {
    assertThat(Store.H2.defaultUrl(DATA)).isEqualTo("jdbc:h2:file:data/statbuffer-demo");
    assertThat(Store.SQLITE.defaultUrl(DATA)).isEqualTo("jdbc:sqlite:data/statbuffer-demo.sqlite");
    assertThat(Store.H2.inDataDir()).isTrue();
    assertThat(Store.SQLITE.inDataDir()).isTrue();
    assertThat(Store.POSTGRES.inDataDir()).isFalse();
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void defaultUrl_everyStore_isAcceptedByItselfOnly(Store store) {
    String url = store.defaultUrl(DATA);
    for (Store other : Store.values()) {
      assertThat(other.accepts(url)).as("%s accepts %s", other, url).isEqualTo(other == store);
    }
  }

  @ParameterizedTest
  @EnumSource(Store.class)
  void help_everyStore_listedWithItsDefaultUrl(Store store) {
    String help = DemoRun.of("--help").out();
    Pattern line = Pattern.compile("(?m)^  " + Pattern.quote(store.option) + " +"
        + Pattern.quote(store.defaultUrl(Path.of("DIR"))) + "( |$)");
    assertThat(help).as("the help's Default URLs").containsPattern(line);
  }

  @Test
  void accepts_redisWithTls() {
    assertThat(Store.REDIS.accepts("rediss://cache.example:6380")).isTrue();
    assertThat(Store.REDIS.urlRule()).isEqualTo("a redis URL starts with redis:// or rediss://,"
        + " such as redis://127.0.0.1:6379");
  }

  @Test
  void open_h2_keepsTheDatabaseOpenUntilTheDemoIsDone() {
    assertThat(describe(Store.H2, "jdbc:h2:file:data/x", false))
        .contains("jdbc:h2:file:data/x;DB_CLOSE_ON_EXIT=FALSE,").doesNotContain("WRITE_DELAY");
  }

  @Test
  void open_h2Durable_writesEachCommitAtOnce() {
    assertThat(describe(Store.H2, "jdbc:h2:file:data/x", true))
        .contains("jdbc:h2:file:data/x;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0,");
    assertThat(describe(Store.H2, "jdbc:h2:file:data/x;write_delay=100", true))
        .contains("jdbc:h2:file:data/x;write_delay=100;DB_CLOSE_ON_EXIT=FALSE,");
  }

  @Test
  void open_h2Server_keepsTheUrl() {
    assertThat(describe(Store.H2, "jdbc:h2:tcp://localhost/x", true))
        .contains("jdbc:h2:tcp://localhost/x,");
  }

  @Test
  void open_eachStore_describesItselfWithItsLabelAndTheRun() {
    for (Store store : Store.values()) {
      assertThat(describe(store, store.defaultUrl(DATA), false))
          .startsWith(store.label + " " + store.defaultUrl(DATA)).contains("r1");
    }
  }

  /** Opens without connecting (the stores connect in prepare()), describes, closes. */
  private static String describe(Store store, String url, boolean durable) {
    try (DemoStore demoStore = store.open(url, "r1", durable)) {
      return demoStore.describe();
    }
  }
}
