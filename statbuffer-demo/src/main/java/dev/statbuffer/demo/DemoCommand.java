package dev.statbuffer.demo;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The StatBuffer demo: simulates page-view traffic with Zipf-distributed page popularity,
 * buffers it in a {@link StatBuffer}, stores it through one of the repository's sinks (H2,
 * SQLite, PostgreSQL, MariaDB or Redis), and then reads the totals back and checks them against
 * its own count of every increment.
 *
 * <pre>
 * java -jar statbuffer-demo/target/statbuffer-demo.jar                      # 10 s into H2
 * java -jar statbuffer-demo/target/statbuffer-demo.jar --store postgres --duration 30s --json
 * </pre>
 *
 * <p>Exit status: 0 when the totals verified, 1 when they did not (or the store could not be
 * used), 2 for bad arguments.
 *
 * <p>Not thread-safe: an instance runs one command once.
 */
@Command(name = "statbuffer-demo",
    mixinStandardHelpOptions = true,
    version = "statbuffer-demo 0.1.0",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
        "Simulates page-view traffic, buffers it with StatBuffer and stores it through a real sink;"
            + " then reads the totals back from the store and checks them against its own count."
            + " Ctrl-C stops the traffic, dumps the buffer, verifies and prints the summary.",
        ""},
    footerHeading = "%nDefault URLs:%n",
    footer = {
        "  h2        jdbc:h2:file:DIR/statbuffer-demo          (DIR: --data)",
        "  sqlite    jdbc:sqlite:DIR/statbuffer-demo.sqlite",
        "  postgres  jdbc:postgresql://127.0.0.1:5432/test?user=postgres",
        "  mariadb   jdbc:mariadb://127.0.0.1:3306/test?user=root",
        "  redis     redis://127.0.0.1:6379"},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
        "0:the totals read back from the store equal the demo's counts",
        "1:they differ, or the store could not be used",
        "2:bad arguments"})
public final class DemoCommand implements Callable<Integer> {
  /** Exit status when the totals verified. */
  static final int VERIFIED = 0;
  /** Exit status when they did not, or the store failed. */
  static final int NOT_VERIFIED = 1;
  /** Exit status for bad arguments. */
  static final int BAD_ARGUMENTS = 2;

  static final int MAX_KEYS = 1_000_000;
  static final int MAX_THREADS = 1_024;
  static final double MAX_ZIPF = 10;
  private static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);
  /** Held so that its level stays set: the pool's start and stop messages are noise here. */
  private static final java.util.logging.Logger POOL_LOGGER =
      java.util.logging.Logger.getLogger("com.zaxxer.hikari");

  /** The stores, as the {@code --store} option names them. */
  enum Store {
    H2("h2", "H2", "jdbc:h2:"),
    SQLITE("sqlite", "SQLite", "jdbc:sqlite:"),
    POSTGRES("postgres", "PostgreSQL", "jdbc:postgresql:"),
    MARIADB("mariadb", "MariaDB", "jdbc:mariadb:"),
    REDIS("redis", "Redis", "redis");

    final String option;
    final String label;
    final String urlPrefix;

    Store(String option, String label, String urlPrefix) {
      this.option = option;
      this.label = label;
      this.urlPrefix = urlPrefix;
    }

    @Override
    public String toString() {
      return option;
    }

    static String names() {
      StringBuilder names = new StringBuilder();
      for (Store store : values()) {
        names.append((names.length() == 0) ? "" : ", ").append(store.option);
      }
      return names.toString();
    }
  }

  /** Reads {@code --store}, naming the allowed values when it fails. */
  static final class StoreConverter implements ITypeConverter<Store> {
    @Override
    public Store convert(String value) {
      for (Store store : Store.values()) {
        if (store.option.equalsIgnoreCase(value.trim())) {
          return store;
        }
      }
      throw new TypeConversionException("'" + value + "' is not a store: use one of "
          + Store.names());
    }
  }

  /** The values {@code --store} accepts, for the help. */
  static final class StoreCandidates implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Arrays.stream(Store.values()).map(s -> s.option).iterator();
    }
  }

  @Spec
  CommandSpec spec;

  @Option(names = "--store", paramLabel = "STORE", converter = StoreConverter.class,
      completionCandidates = StoreCandidates.class,
      description = "Where the counts go: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
  Store store = Store.H2;

  @Option(names = "--url", paramLabel = "URL",
      description = "Where the store is, instead of its default (see Default URLs below): a"
          + " JDBC URL for h2, sqlite, postgres and mariadb; redis://HOST:PORT for redis.")
  String url;

  @Option(names = "--data", paramLabel = "DIR",
      description = "Directory of the H2 and SQLite database files. Default: ${DEFAULT-VALUE}.")
  Path data = Path.of("statbuffer-demo-data");

  @Option(names = "--threads", paramLabel = "N",
      description = "Traffic threads, 1 to " + MAX_THREADS + ". Default: the number of cores"
          + " (${DEFAULT-VALUE}).")
  int threads = Runtime.getRuntime().availableProcessors();

  @Option(names = "--keys", paramLabel = "N",
      description = "Distinct pages the traffic draws from, 1 to " + MAX_KEYS
          + ". Default: ${DEFAULT-VALUE}.")
  int keys = 10_000;

  @Option(names = "--zipf", paramLabel = "S",
      description = "Zipf exponent of page popularity, 0 (uniform) to " + MAX_ZIPF
          + "; page i is drawn with weight 1/i^S. Default: ${DEFAULT-VALUE}.")
  double zipf = 1.1;

  @Option(names = "--duration", paramLabel = "TIME", converter = DurationConverter.class,
      description = "How long the traffic runs (500ms, 10s, 2m, ...). Default: 10s, unless"
          + " --increments is given.")
  Duration duration;

  @Option(names = "--increments", paramLabel = "N",
      description = "Make exactly N increments (spread over the threads), instead of running"
          + " for --duration.")
  Long increments;

  @Option(names = "--interval", paramLabel = "TIME", converter = DurationConverter.class,
      description = "The buffer's flush interval: how long after a key's first increment its"
          + " count is written. Default: 1s.")
  Duration interval = Duration.ofSeconds(1);

  @Option(names = "--seed", paramLabel = "N",
      description = "Seed of the traffic's random generators, to repeat a run's traffic."
          + " Default: a new one each run.")
  Long seed;

  @Option(names = "--durable", paramLabel = "DIR",
      description = "Make the buffer durable, its counts kept in files in DIR (and the demo's"
          + " own counts and the run id with them): kill the demo with SIGKILL at any moment and"
          + " start it again on DIR (with the same --store, --url or --data, and --keys), and it"
          + " continues the run, delivers what the killed process had accepted, and verifies the"
          + " totals of all the run's starts.")
  Path durable;

  @Option(names = "--json",
      description = "Also print the summary as one JSON object, on the last line of output.")
  boolean json;

  /** Whether stdout is a terminal: set by {@link #main} only, so tests print plain lines. */
  boolean terminal;

  /** Tests: wraps the store, to make the verification fail on purpose. */
  UnaryOperator<DemoStore> storeDecorator = UnaryOperator.identity();

  /**
   * Runs the demo and exits with its status.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    POOL_LOGGER.setLevel(java.util.logging.Level.WARNING);
    DemoCommand command = new DemoCommand();
    command.terminal = System.console() != null;
    System.exit(commandLine(command).execute(args));
  }

  /**
   * A command line for {@code command}, with the demo's handling of bad arguments: the message,
   * then a pointer to {@code --help}, and exit status 2.
   *
   * @param command the command
   * @return the command line, ready to {@code execute}
   */
  static CommandLine commandLine(DemoCommand command) {
    CommandLine commandLine = new CommandLine(command);
    commandLine.setParameterExceptionHandler(DemoCommand::badArguments);
    return commandLine;
  }

  private static int badArguments(ParameterException ex, String[] args) {
    CommandLine commandLine = ex.getCommandLine();
    PrintWriter err = commandLine.getErr();
    err.println("statbuffer-demo: " + ex.getMessage());
    UnmatchedArgumentException.printSuggestions(ex, err);
    err.println("Run with --help to see every option, what it allows and its default.");
    err.flush();
    return BAD_ARGUMENTS;
  }

  /**
   * Runs the demo.
   *
   * @return the exit status: 0 verified, 1 not verified
   * @throws ParameterException if an option's value is out of range
   * @throws Exception if the run fails unexpectedly
   */
  @Override
  public Integer call() throws Exception {
    validate();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    StopSignal stop = new StopSignal(out, err);
    stop.install();
    int code = NOT_VERIFIED;
    try {
      code = run(out, err, stop);
      return code;
    } finally {
      out.flush();
      err.flush();
      stop.finish(code);
    }
  }

  private void validate() {
    if (threads < 1 || threads > MAX_THREADS) {
      throw invalid("--threads", "must be from 1 to " + MAX_THREADS, threads);
    }
    if (keys < 1 || keys > MAX_KEYS) {
      throw invalid("--keys", "must be from 1 to " + MAX_KEYS, keys);
    }
    if (!(zipf >= 0 && zipf <= MAX_ZIPF)) {
      throw invalid("--zipf", "must be from 0 (uniform) to " + MAX_ZIPF, zipf);
    }
    if (duration != null && increments != null) {
      throw new ParameterException(spec.commandLine(), "--duration and --increments exclude"
          + " each other: give one (without either, the traffic runs for "
          + DurationConverter.format(DEFAULT_DURATION) + ")");
    }
    if (duration != null && (duration.isNegative() || duration.isZero())) {
      throw invalid("--duration", "must be positive (such as 10s)", duration);
    }
    if (increments != null && increments < 1) {
      throw invalid("--increments", "must be at least 1", increments);
    }
    if (interval.isNegative()) {
      throw invalid("--interval", "must not be negative (such as 1s, or 0 to flush at once)",
          interval);
    }
    if (url != null) {
      boolean matches = (store == Store.REDIS)
          ? url.startsWith("redis://") || url.startsWith("rediss://")
          : url.startsWith(store.urlPrefix);
      if (!matches) {
        throw new ParameterException(spec.commandLine(), "Invalid value for option '--url': a "
            + store.option + " URL starts with "
            + ((store == Store.REDIS) ? "redis:// or rediss://" : store.urlPrefix)
            + ", such as " + defaultUrl(store, Path.of("./statbuffer-demo-data")) + "; was '" + url
            + "'");
      }
    }
  }

  private ParameterException invalid(String option, String rule, Object value) {
    String shown = (value instanceof Duration) ? DurationConverter.format((Duration) value)
        : String.valueOf(value);
    return new ParameterException(spec.commandLine(),
        "Invalid value for option '" + option + "': " + rule + "; was " + shown);
  }

  private int run(PrintWriter out, PrintWriter err, StopSignal stop) throws Exception {
    String target = target(err);
    DurableRun durableRun = (target != null && durable != null) ? openDurable(target, err) : null;
    if (target == null || (durable != null && durableRun == null)) {
      return NOT_VERIFIED;
    }
    String runId = (durableRun != null) ? durableRun.runId() : newRunId();
    try (DurableRun closing = durableRun;
        DemoStore demoStore = storeDecorator.apply(openStore(target, runId))) {
      printHeader(out, demoStore, durableRun);
      try {
        demoStore.prepare();
      } catch (Exception e) {
        err.println("statbuffer-demo: cannot use " + store.label + " at " + target + ": "
            + rootMessage(e));
        err.println(hint(store));
        return NOT_VERIFIED;
      }
      return count(out, err, stop, demoStore, durableRun, runId);
    }
  }

  /** The store's URL: {@code --url}, or the default (creating the --data directory); or null. */
  private String target(PrintWriter err) {
    if (url != null) {
      return url;
    }
    Path dataDir = data.toAbsolutePath().normalize();
    if (store == Store.H2 || store == Store.SQLITE) {
      try {
        Files.createDirectories(dataDir);
      } catch (IOException e) {
        err.println("statbuffer-demo: cannot create the --data directory " + dataDir + ": " + e);
        return null;
      }
    }
    return defaultUrl(store, dataDir);
  }

  /**
   * Opens the {@code --durable} directory; null (after saying why) if it cannot be used.
   *
   * @throws ParameterException if the options differ from those of the run it holds
   */
  private DurableRun openDurable(String target, PrintWriter err) {
    try {
      return DurableRun.open(durable, store.option, target, keys, newRunId());
    } catch (DurableRun.Mismatch e) {
      throw new ParameterException(spec.commandLine(), "Invalid value for option '" + e.option
          + "' with --durable " + durable + ": " + e.getMessage());
    } catch (IOException | RuntimeException e) {
      err.println("statbuffer-demo: cannot use the --durable directory " + durable + ": "
          + rootMessage(e));
      return null;
    }
  }

  private void printHeader(PrintWriter out, DemoStore demoStore, DurableRun durableRun) {
    out.printf(Locale.ROOT, "StatBuffer demo: %d thread%s, %,d pages (Zipf %s), flush interval"
            + " %s, %s%n",
        threads, (threads == 1) ? "" : "s", keys, zipf, DurationConverter.format(interval),
        (increments != null) ? String.format(Locale.ROOT, "%,d increments", increments)
            : "for " + DurationConverter.format(duration()));
    out.println("Store: " + demoStore.describe());
    if (durableRun != null) {
      out.println(durableRun.describe());
    }
    out.flush();
  }

  /** Runs the traffic into a new buffer, closes it, verifies and prints the summary. */
  private int count(PrintWriter out, PrintWriter err, StopSignal stop, DemoStore demoStore,
      DurableRun durableRun, String runId) throws Exception {
    String[] pages = new String[keys];
    for (int i = 0; i < keys; i++) {
      pages[i] = "/page/" + i;
    }
    Traffic traffic = new Traffic(pages, new ZipfSampler(keys, zipf), threads,
        (increments != null) ? increments : -1,
        (seed != null) ? seed : new SecureRandom().nextLong());
    traffic.prepare();
    StatBuffer<String> buffer = newBuffer(out, err, demoStore, durableRun, traffic);
    if (buffer == null) {
      return NOT_VERIFIED;
    }
    Timing timing = runTraffic(out, stop, traffic, buffer, demoStore, durableRun);
    Verification verification = Verification.of(demoStore, Arrays.asList(pages),
        (durableRun != null) ? durableRun.totals(traffic.expectedCounts())
            : traffic.expectedCounts(),
        (durableRun != null) ? durableRun.expected().inFlight() : null, err);
    Summary summary = summary(runId, traffic, buffer.stats(), demoStore, timing, verification,
        stop.signalled(), durableRun);
    SummaryPrinter.print(out, summary, verification, buffer.stats(), traffic.refused());
    if (json) {
      out.println(summary.toJson());
    }
    out.flush();
    return summary.verified() ? VERIFIED : NOT_VERIFIED;
  }

  /**
   * Builds the buffer. A durable one first gets the traffic's columns in the demo's counts file,
   * then takes up what a killed start left, and says how much; null (after saying why) if its
   * files cannot be used.
   */
  private StatBuffer<String> newBuffer(PrintWriter out, PrintWriter err, DemoStore demoStore,
      DurableRun durableRun, Traffic traffic) throws IOException {
    StatBuffer.Builder builder = StatBuffer.newBuilder()
        .name("demo")
        .interval(interval)
        .shutdownHook(false); // the demo closes it itself, also on Ctrl-C (see StopSignal)
    if (durableRun == null) {
      return builder.buildBatched(demoStore.sink());
    }
    traffic.recordTo(durableRun.expected().addColumns(threads));
    StatBuffer<String> buffer;
    try {
      buffer = durableRun.build(builder, demoStore.sink());
    } catch (IllegalStateException | UncheckedIOException e) {
      err.println("statbuffer-demo: cannot use the durable buffer: " + rootMessage(e));
      return null;
    }
    out.println(durableRun.recovered(buffer.stats().recoveredSum()));
    return buffer;
  }

  /** When the traffic started and stopped, and when the buffer was closed (nanoTime). */
  private record Timing(long started, long stopped, long closed) {}

  /** Runs the traffic until it is done, the time is up or a signal came; closes the buffer. */
  private Timing runTraffic(PrintWriter out, StopSignal stop, Traffic traffic,
      StatBuffer<String> buffer, DemoStore demoStore, DurableRun durableRun) throws Exception {
    Progress progress = new Progress(out, terminal, traffic, buffer, demoStore);
    if (terminal) {
      out.println("Press Ctrl-C to stop early: the buffer is dumped and verified all the same.");
    }
    long started = System.nanoTime();
    progress.start(started);
    if (!stop.signalled()) {
      traffic.start(buffer, stop::requestStop);
      if (durableRun != null) {
        out.println(durableRun.counting());
        out.flush();
      }
      stop.awaitStop((increments != null) ? -1 : duration().toNanos());
    }
    traffic.stop();
    traffic.join();
    long stopped = System.nanoTime();
    buffer.close();
    long closed = System.nanoTime();
    progress.stop();
    if (stop.signalled()) {
      out.printf(Locale.ROOT, "Stopped by a signal after %.1f s: the buffer was dumped.%n",
          (stopped - started) / 1e9);
    }
    return new Timing(started, stopped, closed);
  }

  /**
   * The run's summary. Verified when every stored total equals the demo's count, and the buffer
   * delivered exactly what it accepted (and, when durable, what it recovered), dropping, keeping
   * and refusing nothing.
   */
  private Summary summary(String runId, Traffic traffic, BufferStats stats, DemoStore demoStore,
      Timing timing, Verification verification, boolean signalled, DurableRun durableRun) {
    long[] counted = traffic.expectedCounts();
    long accepted = 0;
    long distinct = 0;
    for (long count : counted) {
      accepted += count;
      distinct += (count != 0) ? 1 : 0;
    }
    boolean verified = verification.ok && stats.droppedSum() == 0 && stats.keptSum() == 0
        && stats.deliveredSum() == accepted + stats.recoveredSum() && traffic.refused() == 0;
    Summary.Durable durableSummary = (durableRun == null) ? null
        : new Summary.Durable(durableRun.dir().toString(), durableRun.start(),
            stats.recoveredSum(), stats.keptSum(), durableRun.earlierSum(),
            durableRun.inFlightSum(), verification.inFlightStored);
    DemoStore.Counters counters = demoStore.counters();
    return new Summary(store.option, runId, threads, keys, zipf, accepted, distinct,
        counters.writes(), demoStore.writeUnit(), counters.batches(), counters.rows(),
        (timing.stopped() - timing.started()) / 1e9, (timing.closed() - timing.stopped()) / 1e9,
        verified, verification.mismatches, stats.droppedSum(), signalled, durableSummary);
  }

  private Duration duration() {
    return (duration != null) ? duration : DEFAULT_DURATION;
  }

  private DemoStore openStore(String target, String runId) {
    int poolSize = Math.max(2, Runtime.getRuntime().availableProcessors());
    Properties properties = new Properties();
    switch (store) {
      case H2:
        // One connection: two H2 MERGEs inserting the same new key at once can fail with a
        // unique-key violation (the sink's retry then succeeds, but logs a warning); embedded in
        // this JVM, H2 gains little from a second connection anyway.
        return new JdbcDemoStore(store.label, h2Url(target, durable != null), properties, 1,
            runId);
      case SQLITE:
        // One writer at a time is all SQLite allows; WAL lets the verification read alongside.
        properties.setProperty("journal_mode", "WAL");
        properties.setProperty("busy_timeout", "10000");
        return new JdbcDemoStore(store.label, target, properties, 1, runId);
      case POSTGRES:
      case MARIADB:
        return new JdbcDemoStore(store.label, target, properties, poolSize, runId);
      case REDIS:
        return new RedisDemoStore(target, runId);
      default:
        throw new IllegalStateException("unknown store " + store);
    }
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

  /**
   * The default URL of a store; for H2 and SQLite, a file under {@code dataDir}.
   *
   * @param store the store
   * @param dataDir the directory of the H2 and SQLite files
   * @return the URL
   */
  static String defaultUrl(Store store, Path dataDir) {
    switch (store) {
      case H2:
        return "jdbc:h2:file:" + dataDir.resolve("statbuffer-demo");
      case SQLITE:
        return "jdbc:sqlite:" + dataDir.resolve("statbuffer-demo.sqlite");
      case POSTGRES:
        return "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
      case MARIADB:
        return "jdbc:mariadb://127.0.0.1:3306/test?user=root";
      case REDIS:
        return "redis://127.0.0.1:6379";
      default:
        throw new IllegalStateException("unknown store " + store);
    }
  }

  private static String hint(Store store) {
    switch (store) {
      case POSTGRES:
        return "Is PostgreSQL running, with a database 'test' the user may write to? Start it,"
            + " or point --url at yours: jdbc:postgresql://HOST:5432/DB?user=USER&password=PW";
      case MARIADB:
        return "Is MariaDB running, with a database 'test' the user may write to? Start it,"
            + " or point --url at yours: jdbc:mariadb://HOST:3306/DB?user=USER&password=PW";
      case REDIS:
        return "Is Redis running? Start it (redis-server), or point --url at yours:"
            + " redis://HOST:6379";
      default:
        return "Check that the --data directory is writable, or use another --store.";
    }
  }

  static String rootMessage(Throwable e) {
    Throwable root = e;
    StringBuilder message = new StringBuilder(String.valueOf(e.getMessage()));
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
      if (root.getMessage() != null && !message.toString().contains(root.getMessage())) {
        message.append(" (").append(root.getMessage()).append(')');
      }
    }
    return message.toString();
  }

  /** A run id that sorts by time and is unique: {@code 20250101T120000Z-1a2b3c}. */
  private static String newRunId() {
    String time = ZonedDateTime.now(ZoneOffset.UTC)
        .format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT));
    return time + "-" + String.format(Locale.ROOT, "%06x",
        new SecureRandom().nextInt(1 << 24));
  }
}
