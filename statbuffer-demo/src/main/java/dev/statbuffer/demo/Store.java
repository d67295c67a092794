package dev.statbuffer.demo;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;

/**
 * The stores the demo counts into, as the {@code --store} option names them. Each knows its name
 * for people, the URLs it takes and its default one, how to open itself as a {@link DemoStore},
 * and what to suggest when it cannot be used. The per-store behaviour is in each constant's body,
 * so a new store that forgets one does not compile.
 *
 * <p>Immutable and thread-safe.
 */
enum Store {
  /** H2, embedded in a file under {@code --data} by default. */
  H2("h2", "H2", "Check that the --data directory is writable, or use another --store.",
      "jdbc:h2:") {
    @Override
    String defaultUrl(Path dataDir) {
      return "jdbc:h2:file:" + dataDir.resolve("statbuffer-demo");
    }

    @Override
    DemoStore open(String url, String runId, boolean durable) {
      // One connection: two H2 MERGEs inserting the same new key at once can fail with a
      // unique-key violation (the sink's retry then succeeds, but logs a warning); embedded in
      // this JVM, H2 gains little from a second connection anyway.
      return new JdbcDemoStore(label, h2Url(url, durable), new Properties(), 1, runId);
    }
  },

  /** SQLite, in a file under {@code --data} by default. */
  SQLITE("sqlite", "SQLite", "Check that the --data directory is writable, or use another --store.",
      "jdbc:sqlite:") {
    @Override
    String defaultUrl(Path dataDir) {
      return "jdbc:sqlite:" + dataDir.resolve("statbuffer-demo.sqlite");
    }

    @Override
    DemoStore open(String url, String runId, boolean durable) {
      // One writer at a time is all SQLite allows; WAL lets the verification read alongside.
      Properties properties = new Properties();
      properties.setProperty("journal_mode", "WAL");
      properties.setProperty("busy_timeout", "10000");
      return new JdbcDemoStore(label, url, properties, 1, runId);
    }
  },

  /** A PostgreSQL server, the local one by default. */
  POSTGRES("postgres", "PostgreSQL", "Is PostgreSQL running, with a database 'test' the user may"
      + " write to? Start it, or point --url at yours:"
      + " jdbc:postgresql://HOST:5432/DB?user=USER&password=PW", "jdbc:postgresql:") {
    @Override
    String defaultUrl(Path dataDir) {
      return "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
    }

    @Override
    DemoStore open(String url, String runId, boolean durable) {
      return new JdbcDemoStore(label, url, new Properties(), serverPoolSize(), runId);
    }
  },

  /** A MariaDB (or MySQL) server, the local one by default. */
  MARIADB("mariadb", "MariaDB", "Is MariaDB running, with a database 'test' the user may write"
      + " to? Start it, or point --url at yours: jdbc:mariadb://HOST:3306/DB?user=USER&password=PW",
      "jdbc:mariadb:") {
    @Override
    String defaultUrl(Path dataDir) {
      return "jdbc:mariadb://127.0.0.1:3306/test?user=root";
    }

    @Override
    DemoStore open(String url, String runId, boolean durable) {
      return new JdbcDemoStore(label, url, new Properties(), serverPoolSize(), runId);
    }
  },

  /** A Redis server, the local one by default. */
  REDIS("redis", "Redis", "Is Redis running? Start it (redis-server), or point --url at yours:"
      + " redis://HOST:6379", "redis://", "rediss://") {
    @Override
    String defaultUrl(Path dataDir) {
      return "redis://127.0.0.1:6379";
    }

    @Override
    DemoStore open(String url, String runId, boolean durable) {
      return new RedisDemoStore(url, runId);
    }
  };

  /** The value of {@code --store}: {@code h2}, {@code postgres}, ... */
  final String option;
  /** The store's name for people: {@code H2}, {@code PostgreSQL}, ... */
  final String label;
  /** What to try when the store cannot be used. */
  final String hint;
  @SuppressWarnings("ImmutableEnumChecker") // List.of: unmodifiable, and String is immutable
  private final List<String> urlPrefixes;

  Store(String option, String label, String hint, String... urlPrefixes) {
    this.option = option;
    this.label = label;
    this.hint = hint;
    this.urlPrefixes = List.of(urlPrefixes);
  }

  /**
   * The store's URL when {@code --url} is not given.
   *
   * @param dataDir the {@code --data} directory, where the H2 and SQLite files go
   * @return the URL
   */
  abstract String defaultUrl(Path dataDir);

  /**
   * Opens the store at {@code url} for a run. It connects only in {@link DemoStore#prepare()}.
   *
   * @param url the store's URL, as {@link #accepts} allows
   * @param runId the run's id, which keys every counter the run writes
   * @param durable whether the buffer is durable ({@code --durable}): the store must then keep
   *     every write it acknowledged through a SIGKILL of the demo
   * @return the store, to be closed
   */
  abstract DemoStore open(String url, String runId, boolean durable);

  /**
   * Whether the store's files go under {@code --data} by default, which must then exist.
   *
   * @return true for H2 and SQLite
   */
  boolean inDataDir() {
    return this == H2 || this == SQLITE;
  }

  /**
   * Whether {@code url} is one of this store's URLs (by its scheme).
   *
   * @param url the {@code --url} option
   * @return true if it starts with one of the store's prefixes
   */
  boolean accepts(String url) {
    return urlPrefixes.stream().anyMatch(url::startsWith);
  }

  /**
   * The rule {@link #accepts} checks, for the message when it fails.
   *
   * @return "a postgres URL starts with jdbc:postgresql:, such as ..."
   */
  String urlRule() {
    return "a " + option + " URL starts with " + String.join(" or ", urlPrefixes) + ", such as "
        + defaultUrl(Path.of("./statbuffer-demo-data"));
  }

  /**
   * The store that {@code --store} names, ignoring case and surrounding blanks.
   *
   * @param option the option's value
   * @return the store, or empty if none has that name
   */
  static Optional<Store> forOption(String option) {
    return Arrays.stream(values()).filter(s -> s.option.equalsIgnoreCase(option.trim()))
        .findFirst();
  }

  /**
   * The values {@code --store} accepts, in order, for messages and the help.
   *
   * @return the options
   */
  static List<String> options() {
    return Arrays.stream(values()).map(s -> s.option).toList();
  }

  @Override
  public String toString() {
    return option;
  }

  /** The pool size for a database server: a connection per core, at least two. */
  private static int serverPoolSize() {
    return Math.max(2, Runtime.getRuntime().availableProcessors());
  }

  /**
   * H2 must not close the database in its own shutdown hook: on Ctrl-C the demo still writes and
   * verifies after the JVM's shutdown has begun. With {@code --durable}, an embedded H2 must also
   * write each commit to its file at once ({@code WRITE_DELAY=0}): by default it writes commits
   * up to half a second later, so a SIGKILL would lose batches the sink had acknowledged.
   */
  private static String h2Url(String url, boolean durable) {
    String upper = url.toUpperCase(Locale.ROOT);
    if (upper.startsWith("JDBC:H2:TCP:") || upper.startsWith("JDBC:H2:SSL:")) {
      return url;
    }
    String embedded = upper.contains("DB_CLOSE_ON_EXIT") ? url : url + ";DB_CLOSE_ON_EXIT=FALSE";
    return (durable && !upper.contains("WRITE_DELAY")) ? embedded + ";WRITE_DELAY=0" : embedded;
  }
}
