package dev.statbuffer.demo;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.io.Console;
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
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
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

  /** Reads {@code --store}, naming the allowed values when it fails. */
  static final class StoreConverter implements ITypeConverter<Store> {
    @Override
    public Store convert(String value) {
      return Store.forOption(value).orElseThrow(() -> new TypeConversionException(
          "'" + value + "' is not a store: use one of " + String.join(", ", Store.options())));
    }
  }

  /** The values {@code --store} accepts, for the help. */
  static final class StoreCandidates implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Store.options().iterator();
    }
  }

  /** Injected by picocli before it calls {@link #call}; read through {@link #commandLine()}. */
  @Spec
  @Nullable CommandSpec spec;

  @Option(names = "--store", paramLabel = "STORE", converter = StoreConverter.class,
      completionCandidates = StoreCandidates.class,
      description = "Where the counts go: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
  Store store = Store.H2;

  @Option(names = "--url", paramLabel = "URL",
      description = "Where the store is, instead of its default (see Default URLs below): a"
          + " JDBC URL for h2, sqlite, postgres and mariadb; redis://HOST:PORT for redis.")
  @Nullable String url;

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
  @Nullable Duration duration;

  @Option(names = "--increments", paramLabel = "N",
      description = "Make exactly N increments (spread over the threads), instead of running"
          + " for --duration.")
  @Nullable Long increments;

  @Option(names = "--interval", paramLabel = "TIME", converter = DurationConverter.class,
      description = "The buffer's flush interval: how long after a key's first increment its"
          + " count is written. Default: 1s.")
  Duration interval = Duration.ofSeconds(1);

  @Option(names = "--seed", paramLabel = "N",
      description = "Seed of the traffic's random generators, to repeat a run's traffic."
          + " Default: a new one each run.")
  @Nullable Long seed;

  @Option(names = "--durable", paramLabel = "DIR",
      description = "Make the buffer durable, its counts kept in files in DIR (and the demo's"
          + " own counts and the run id with them): kill the demo with SIGKILL at any moment and"
          + " start it again on DIR (with the same --store, --url or --data, and --keys), and it"
          + " continues the run, delivers what the killed process had accepted, and verifies the"
          + " totals of all the run's starts.")
  @Nullable Path durable;

  @Option(names = "--json",
      description = "Also print the summary as one JSON object, on the last line of output.")
  boolean json;

  /** Whether stdout is a terminal: set by {@link #main} only, so tests print plain lines. */
  boolean terminal;

  /** Tests: wraps the store, to make the verification fail on purpose. */
  UnaryOperator<DemoStore> storeDecorator = UnaryOperator.identity();

  /**
   * Where the run prints; set by {@link #call}, as are {@link #err} and {@link #stop}, before
   * anything reads them (through {@link #out()}, {@link #err()} and {@link #stop()}).
   */
  private @Nullable PrintWriter out;
  private @Nullable PrintWriter err;
  private @Nullable StopSignal stop;

  /**
   * Runs the demo and exits with its status.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    POOL_LOGGER.setLevel(java.util.logging.Level.WARNING);
    DemoCommand command = new DemoCommand();
    command.terminal = isTerminal();
    System.exit(commandLine(command).execute(args));
  }

  /**
   * Whether the standard streams are a terminal. From JDK 22, {@code System.console()} returns a
   * console also when they are redirected (JDK 22 to 24 by default): {@code Console.isTerminal()},
   * new in JDK 22, tells. Before JDK 22 there is a console only on a terminal.
   */
  // Safe: a null console still means no terminal; a non-null one is asked isTerminal() (JDK 22+).
  @SuppressWarnings("SystemConsoleNull")
  private static boolean isTerminal() {
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
    } catch (ReflectiveOperationException e) { // before JDK 22: no isTerminal()
      return true;
    }
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
    PrintWriter out = commandLine().getOut();
    PrintWriter err = commandLine().getErr();
    StopSignal stop = new StopSignal(out, err);
    this.out = out;
    this.err = err;
    this.stop = stop;
    stop.install();
    int code = NOT_VERIFIED;
    try {
      code = run();
      return code;
    } catch (CannotUse e) { // the --data or --durable directory, before the store is opened
      e.print(err);
      return code;
    } finally {
      out.flush();
      err.flush();
      stop.finish(code);
    }
  }

  /** The command line picocli runs this command in. */
  private CommandLine commandLine() {
    return requireNonNull(spec, "picocli injects the spec before it calls call()").commandLine();
  }

  /** Where the run prints (set by {@link #call}). */
  private PrintWriter out() {
    return requireNonNull(out, "call() sets out before the run");
  }

  /** Where the run prints errors (set by {@link #call}). */
  private PrintWriter err() {
    return requireNonNull(err, "call() sets err before the run");
  }

  /** The signal that stops the traffic early (set by {@link #call}). */
  private StopSignal stop() {
    return requireNonNull(stop, "call() sets stop before the run");
  }

  private void validate() {
    validateTraffic();
    validateTiming();
    validateUrl();
  }

  private void validateTraffic() {
    if (threads < 1 || threads > MAX_THREADS) {
      throw invalid("--threads", "must be from 1 to " + MAX_THREADS, threads);
    }
    if (keys < 1 || keys > MAX_KEYS) {
      throw invalid("--keys", "must be from 1 to " + MAX_KEYS, keys);
    }
    if (!(zipf >= 0 && zipf <= MAX_ZIPF)) {
      throw invalid("--zipf", "must be from 0 (uniform) to " + MAX_ZIPF, zipf);
    }
  }

  private void validateTiming() {
    if (duration != null && increments != null) {
      throw new ParameterException(commandLine(), "--duration and --increments exclude"
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
  }

  private void validateUrl() {
    if (url != null && !store.accepts(url)) {
      throw new ParameterException(commandLine(), "Invalid value for option '--url': "
          + store.urlRule() + "; was '" + url + "'");
    }
  }

  private ParameterException invalid(String option, String rule, Object value) {
    String shown = (value instanceof Duration d) ? DurationConverter.format(d)
        : String.valueOf(value);
    return new ParameterException(commandLine(),
        "Invalid value for option '" + option + "': " + rule + "; was " + shown);
  }

  /**
   * The run: opens the {@code --durable} directory and the store, counts into the store, and
   * closes them. A step that finds something unusable throws {@link CannotUse}; once the store is
   * open, what it says is printed before the store is closed, as the drivers' own messages on
   * closing come after it.
   */
  private int run() throws Exception {
    String target = target();
    DurableRun durableRun = openDurable(target);
    String runId = (durableRun != null) ? durableRun.runId() : newRunId();
    try (durableRun; DemoStore demoStore = openStore(target, runId)) {
      printHeader(demoStore, durableRun);
      try {
        prepare(demoStore, target);
        return count(demoStore, durableRun, runId);
      } catch (CannotUse e) {
        e.print(err());
        return NOT_VERIFIED;
      }
    }
  }

  /** Counts into the prepared store, verifies and prints the summary; the exit status. */
  private int count(DemoStore demoStore, @Nullable DurableRun durableRun, String runId)
      throws Exception {
    Traffic traffic = newTraffic();
    StatBuffer<String> buffer = newBuffer(demoStore, durableRun, traffic);
    Timing timing = runTraffic(traffic, buffer, demoStore, durableRun);
    Verification verification = verify(demoStore, traffic, durableRun);
    Summary summary = summary(runId, traffic, buffer.stats(), demoStore, timing, verification,
        durableRun);
    printSummary(summary, verification, buffer.stats(), traffic.refused());
    return summary.verified() ? VERIFIED : NOT_VERIFIED;
  }

  /** The store's URL: {@code --url}, or the default (creating the --data directory). */
  private String target() throws CannotUse {
    if (url != null) {
      return url;
    }
    Path dataDir = data.toAbsolutePath().normalize();
    if (store.inDataDir()) {
      try {
        Files.createDirectories(dataDir);
      } catch (IOException e) {
        throw new CannotUse("statbuffer-demo: cannot create the --data directory " + dataDir
            + ": " + e);
      }
    }
    return store.defaultUrl(dataDir);
  }

  /**
   * Opens the {@code --durable} directory, if there is one.
   *
   * @return the durable run, or null without {@code --durable}
   * @throws ParameterException if the options differ from those of the run it holds
   * @throws CannotUse if the directory cannot be used
   */
  private @Nullable DurableRun openDurable(String target) throws CannotUse {
    Path durable = this.durable;
    if (durable == null) {
      return null;
    }
    try {
      return DurableRun.open(durable, store.option, target, keys, newRunId());
    } catch (DurableRun.Mismatch e) {
      throw new ParameterException(commandLine(), "Invalid value for option '" + e.option
          + "' with --durable " + durable + ": " + e.getMessage());
    } catch (IOException | RuntimeException e) {
      throw new CannotUse("statbuffer-demo: cannot use the --durable directory " + durable + ": "
          + Errors.rootMessage(e));
    }
  }

  private DemoStore openStore(String target, String runId) {
    return storeDecorator.apply(store.open(target, runId, durable != null));
  }

  private void printHeader(DemoStore demoStore, @Nullable DurableRun durableRun) {
    PrintWriter out = out();
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

  /** Connects to the store and creates its tables; says how to fix it when that fails. */
  private void prepare(DemoStore demoStore, String target) throws CannotUse {
    try {
      demoStore.prepare();
    } catch (Exception e) {
      throw new CannotUse("statbuffer-demo: cannot use " + store.label + " at " + target + ": "
          + Errors.rootMessage(e), store.hint);
    }
  }

  /** The traffic of {@code --keys} pages, its tables drawn (before the clock starts). */
  private Traffic newTraffic() {
    String[] pages = new String[keys];
    for (int i = 0; i < keys; i++) {
      pages[i] = "/page/" + i;
    }
    Traffic traffic = new Traffic(pages, new ZipfSampler(keys, zipf), threads,
        (increments != null) ? increments : -1,
        (seed != null) ? seed : new SecureRandom().nextLong());
    traffic.prepare();
    return traffic;
  }

  /**
   * Builds the buffer. A durable one first gets the traffic's columns in the demo's counts file,
   * then takes up what a killed start left, and says how much.
   *
   * @throws CannotUse if a durable buffer's files cannot be used
   */
  private StatBuffer<String> newBuffer(DemoStore demoStore, @Nullable DurableRun durableRun,
      Traffic traffic) throws IOException, CannotUse {
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
      throw new CannotUse("statbuffer-demo: cannot use the durable buffer: "
          + Errors.rootMessage(e));
    }
    out().println(durableRun.recovered(buffer.stats().recoveredSum()));
    return buffer;
  }

  /** When the traffic started and stopped, and when the buffer was closed (nanoTime). */
  private record Timing(long started, long stopped, long closed) {
    /** How long the traffic ran, in seconds. */
    double trafficSeconds() {
      return (stopped - started) / 1e9;
    }

    /** How long closing the buffer took, in seconds. */
    double closeSeconds() {
      return (closed - stopped) / 1e9;
    }
  }

  /** Runs the traffic until it is done, the time is up or a signal came; closes the buffer. */
  private Timing runTraffic(Traffic traffic, StatBuffer<String> buffer, DemoStore demoStore,
      @Nullable DurableRun durableRun) throws Exception {
    PrintWriter out = out();
    StopSignal stop = stop();
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

  /** Reads the totals back and compares them with the counts (of every start, when durable). */
  private Verification verify(DemoStore demoStore, Traffic traffic,
      @Nullable DurableRun durableRun) {
    long[] counted = traffic.expectedCounts();
    if (durableRun == null) {
      return Verification.of(demoStore, traffic.keys(), counted, null, err());
    }
    return Verification.of(demoStore, traffic.keys(), durableRun.totals(counted),
        durableRun.expected().inFlight(), err());
  }

  /** The run's summary; verified as {@link Verification#verified} says. */
  private Summary summary(String runId, Traffic traffic, BufferStats stats, DemoStore demoStore,
      Timing timing, Verification verification, @Nullable DurableRun durableRun) {
    long[] counted = traffic.expectedCounts();
    long accepted = Arrays.stream(counted).sum();
    long distinct = Arrays.stream(counted).filter(count -> count != 0).count();
    DemoStore.Counters counters = demoStore.counters();
    return new Summary(store.option, runId, threads, keys, zipf, accepted, distinct,
        counters.writes(), demoStore.writeUnit(), counters.batches(), counters.rows(),
        timing.trafficSeconds(), timing.closeSeconds(),
        verification.verified(stats, accepted, traffic.refused()), verification.mismatches,
        stats.droppedSum(), stop().signalled(),
        (durableRun != null) ? durableRun.summary(stats, verification.inFlightStored) : null);
  }

  private void printSummary(Summary summary, Verification verification, BufferStats stats,
      long refused) {
    PrintWriter out = out();
    SummaryPrinter.print(out, summary, verification, stats, refused);
    if (json) {
      out.println(summary.toJson());
    }
    out.flush();
  }

  private Duration duration() {
    Duration duration = this.duration;
    return (duration != null) ? duration : DEFAULT_DURATION;
  }

  /** A run id that sorts by time and is unique: {@code 20250101T120000Z-1a2b3c}. */
  private static String newRunId() {
    String time = ZonedDateTime.now(ZoneOffset.UTC)
        .format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT));
    return time + "-" + String.format(Locale.ROOT, "%06x",
        new SecureRandom().nextInt(1 << 24));
  }

  /**
   * The store, the {@code --data} or the {@code --durable} directory, or the durable buffer
   * cannot be used: the run ends with exit status 1 once this has been {@linkplain #print
   * printed}.
   */
  private static final class CannotUse extends Exception {
    private static final long serialVersionUID = 1L;
    /** What failed, then perhaps how to fix it. */
    private final transient List<String> lines;

    CannotUse(String... lines) {
      super(lines[0], null, /* enableSuppression= */ false, /* writableStackTrace= */ false);
      this.lines = List.of(lines);
    }

    /** Prints the lines to {@code err}. */
    void print(PrintWriter err) {
      lines.forEach(err::println);
    }
  }
}
