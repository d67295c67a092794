package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A buffer of per-key counters. Each {@link #increment} lands in the key's counter; an
 * {@code interval} (plus a random {@code jitter}) after the first increment since the key's last
 * hand-over, what the key counted since then is handed to the flush handler as one count. Failed
 * flushes are retried with exponential backoff and are never discarded silently;
 * {@link #close()} delivers everything still buffered.
 *
 * <pre>{@code
 * StatBuffer<String> views = StatBuffer.newBuilder()
 *     .interval(Duration.ofSeconds(5))
 *     .build((String page, long count) -> repository.addViews(page, count));
 * views.increment("/home");
 * }</pre>
 *
 * <p>Thread-safe: every method may be called from any thread. {@code increment} on a key that has
 * an open window takes no lock and allocates nothing; so does a {@link Counter} handle.
 *
 * <h2>Design</h2>
 * This class is the public face: the increment fast path, the lifecycle gate, flush and close.
 * The engine is in rooms of its own: {@link Increments} (every other increment path, and the
 * {@link Counter} handles), {@link Cell} (a key's counter that never resets),
 * {@link Cells} (the key table and what happens under the hand-over lock), {@link TimingWheel}
 * (where cells wait), {@link Drain} (when they are handed over), {@link Batcher} and
 * {@link Deliveries} (everything after hand-over; its sums and listener calls in
 * {@link Outcomes}), {@link Flushes} (hand-overs asked for:
 * {@code flush}, {@code flushAll} and close's dump), {@link Backoff}, {@link Target} (per-key or
 * batch handler) and {@link Config}. A durable buffer adds {@link Durability} (its directory),
 * {@link DurableCell} and {@link KeySlots} (counts in mapped files), {@link Journal} (hand-overs
 * recorded) and {@link Recovery} (the start after a crash).
 *
 * <h2>Close, and why no increment that returned true is lost</h2>
 * {@code lifecycle} counts the writers inside the slow path (making a cell, or handing one over)
 * and carries the {@code CLOSED} bit. A slow-path writer increments the count and then reads the
 * bit; {@code close()} sets the bit and then waits for the count to reach zero. Afterwards no
 * cell can be made, every live cell is in the table, and {@code close()} retires them all under
 * the hand-over lock. A fast-path add either lands before its cell is retired (and is delivered)
 * or finds it dead, looks again, sees {@code CLOSED} and returns false. Once closed,
 * {@code accepted == deliveredSum + droppedSum}.
 *
 * @param <K> the key type: any object with {@code equals} and {@code hashCode}
 */
public final class StatBuffer<K> implements AutoCloseable {
  /** The {@code lifecycle} bit that closes the buffer; the bits below count slow-path writers. */
  private static final long CLOSED = 1L << 62;

  private static final VarHandle LIFECYCLE;

  static {
    try {
      LIFECYCLE = MethodHandles.lookup().findVarHandle(StatBuffer.class, "lifecycle", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Config config;
  private final @Nullable ExecutorService ownedExecutor;
  private final @Nullable Thread shutdownHook;
  private final PendingKeys pending;
  private final Cells<K> cells;
  /** The table itself, read directly by the increment fast path. */
  private final ConcurrentHashMap<K, Cell<K>> table;
  private final Deliveries<K> deliveries;
  private final Drain<K> drain;
  private final Increments<K> increments;
  private final Flushes<K> flushes;
  /** A durable buffer's directory, or null in memory. */
  private final @Nullable Durability<K> durable;

  private volatile long lifecycle;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final AtomicInteger closeCalls = new AtomicInteger();

  private StatBuffer(Config config, Target<K> target, @Nullable Durability<K> durable) {
    this.config = config;
    this.durable = durable;
    Executor given = config.executor;
    ExecutorService owned = null;
    Executor executor;
    if (given == null) {
      owned = Threads.newDefaultExecutor(config.name);
      executor = owned;
    } else {
      executor = given;
    }
    this.ownedExecutor = owned;
    this.pending = new PendingKeys(config.maxKeys, config.pressureKeys);
    this.cells = new Cells<>(pending);
    this.table = cells.map;
    this.deliveries = new Deliveries<>(config, target, executor, new Threads.Pool(ownedExecutor),
        pending, durable);
    this.drain = new Drain<>(config, cells, deliveries, this::isClosed);
    this.increments = new Increments<>(config.name, new LifecycleGate(), cells, pending, drain,
        deliveries);
    this.flushes = new Flushes<>(cells, deliveries, drain, increments);
    List<Delivery<K>> recovered = (durable != null) ? recover(durable) : List.of();
    this.shutdownHook = config.shutdownHook ? Threads.addShutdownHook(config.name, this::close)
        : null;
    deliveries.submit(recovered);
  }

  /** Takes up what an earlier process left in a durable buffer's directory. */
  private List<Delivery<K>> recover(Durability<K> durable) {
    cells.lock.lock();
    try {
      return durable.recover(deliveries, pending, config.maxBatchSize);
    } catch (RuntimeException | Error e) {
      durable.abandon();
      if (ownedExecutor != null) {
        ownedExecutor.shutdown();
      }
      throw e;
    } finally {
      cells.lock.unlock();
    }
  }

  /**
   * Returns a builder with every option at its default.
   *
   * @return a new builder
   */
  public static Builder newBuilder() {
    return new Builder();
  }

  /**
   * Adds one to {@code key}'s count.
   *
   * @param key the key, not null
   * @return true if recorded; false if the buffer is closed, or the key has no open window and
   *     {@code maxKeys} windows are pending
   * @throws NullPointerException if {@code key} is null
   */
  public boolean increment(K key) {
    return increment(key, 1L);
  }

  /**
   * Adds {@code delta} (which may be negative) to {@code key}'s count.
   *
   * <p>On a key with an open window this takes no lock and allocates nothing. It never runs a
   * handler, on any executor. The one wait: a key without an open window when {@code maxKeys}
   * windows are pending waits up to 20 ms for deliveries to make room (not at all while the
   * handler makes no progress), so a healthy burst of new keys is slowed to the handler's pace
   * instead of refused.
   *
   * @param key the key, not null
   * @param delta the amount to add
   * @return true if recorded; false if the buffer is closed, or the key has no open window and
   *     {@code maxKeys} windows are pending (counted in {@link BufferStats#rejected()})
   * @throws NullPointerException if {@code key} is null
   */
  public boolean increment(K key, long delta) {
    requireNonNull(key, "key");
    if (delta > Cell.SLOT_LIMIT || delta < -Cell.SLOT_LIMIT || delta == 0) {
      return increments.unusual(key, delta);
    }
    // Not needed for conservation (close() retires every cell, so a later add goes to the slow
    // path, which checks), but it makes the answer linearizable: once one increment has returned
    // false because of close(), no later one returns true. A plain load on x86.
    if ((lifecycle & CLOSED) != 0) {
      return false;
    }
    Cell<K> cell = table.get(key);
    if (cell != null) {
      int result = cell.add(delta);
      return (result == Cell.ADDED) || increments.slow(key, delta, cell, result);
    }
    return increments.slow(key, delta, null, Cell.DEAD);
  }

  /**
   * The lifecycle gate of {@link Increments}: a slow-path writer increments the count and then
   * reads the bit; {@code close()} sets the bit and then waits for the count to reach zero.
   */
  private final class LifecycleGate implements Increments.Gate {
    @Override
    public boolean isClosed() {
      return (lifecycle & CLOSED) != 0;
    }

    @Override
    public boolean enter() {
      long state = (long) LIFECYCLE.getAndAdd(StatBuffer.this, 1L);
      if ((state & CLOSED) != 0) {
        LIFECYCLE.getAndAdd(StatBuffer.this, -1L);
        return false;
      }
      return true;
    }

    @Override
    public void exit() {
      LIFECYCLE.getAndAdd(StatBuffer.this, -1L);
    }
  }

  /**
   * Returns a handle that counts for {@code key}, for code that counts the same key many times:
   * it keeps the key's counter, so an increment through it skips the table lookup. A handle stays
   * valid for the buffer's whole life; when the key's counter was removed while idle, the next
   * increment finds or makes a new one.
   *
   * @param key the key, not null
   * @return a handle; thread-safe
   * @throws NullPointerException if {@code key} is null
   */
  public Counter counter(K key) {
    requireNonNull(key, "key");
    return increments.new Handle(key, this);
  }

  /**
   * A handle bound to one key of one buffer, from {@link StatBuffer#counter}. Thread-safe.
   */
  public interface Counter {

    /**
     * Adds one to the key's count; the same result as {@code buffer.increment(key)}.
     *
     * @return true if recorded; false as for {@link StatBuffer#increment(Object)}
     */
    boolean increment();

    /**
     * Adds {@code delta} to the key's count; the same result as
     * {@code buffer.increment(key, delta)}.
     *
     * @param delta the amount to add
     * @return true if recorded; false as for {@link StatBuffer#increment(Object, long)}
     */
    boolean increment(long delta);
  }

  /**
   * Returns the count buffered for {@code key} and not yet taken for flushing. The read is not
   * atomic with concurrent increments: it includes some subset of the writes that race with it.
   *
   * @param key the key, not null
   * @return the open window's sum (possibly zero), or empty when the key has no open window
   * @throws NullPointerException if {@code key} is null
   */
  public OptionalLong count(K key) {
    requireNonNull(key, "key");
    Cell<K> cell = table.get(key);
    if (cell == null || !cell.isOpen()) {
      return OptionalLong.empty();
    }
    long sum = cell.sum();
    return cell.isOpen() ? OptionalLong.of(sum) : OptionalLong.empty();
  }

  /**
   * Hands {@code key}'s open window to the handler now, without waiting for its interval, and
   * re-sends the key's earlier counts that await a retry without waiting out their backoff.
   *
   * @param key the key, not null
   * @return a future that completes when those counts are delivered (at once when the key has
   *     no open window and nothing on its way, or its sum is zero), or completes exceptionally
   *     when one of them is dropped
   * @throws NullPointerException if {@code key} is null
   */
  public CompletableFuture<Void> flush(K key) {
    requireNonNull(key, "key");
    return flushes.flush(key);
  }

  /**
   * Hands every open window to the handler now. Counts that await a retry keep their backoff.
   *
   * @return a future that completes when those counts, and every earlier count still awaiting
   *     delivery or retry, are delivered; it completes exceptionally if any of them is dropped
   */
  public CompletableFuture<Void> flushAll() {
    return flushes.flushAll();
  }

  /**
   * Returns a snapshot of the buffer's counters.
   *
   * @return the stats
   */
  public BufferStats stats() {
    return deliveries.outcomes().stats(pending.get(), pending.rejected());
  }

  /**
   * Returns how far behind the buffer is: the age of its oldest open window and of its oldest
   * count handed over but not yet delivered (running, queued, or awaiting a retry). Meant for
   * gauges: it walks the windows due first and the deliveries in flight, so it costs more than
   * {@link #stats()}.
   *
   * @return the lag
   */
  public BufferLag lag() {
    return drain.lag();
  }

  /**
   * Returns the buffer's name, used in logs and thread names.
   *
   * @return the name
   */
  public String name() {
    return config.name;
  }

  /**
   * Returns whether {@link #close()} has begun.
   *
   * @return true once closing has begun
   */
  public boolean isClosed() {
    return (lifecycle & CLOSED) != 0;
  }

  /**
   * Closes the buffer and dumps it: later increments return false; every buffered count,
   * including those awaiting a retry, is delivered, retrying (without waiting out long backoffs)
   * until {@code shutdownTimeout}; what is still undelivered then goes to {@code onDrop}. Returns
   * when that is done. Idempotent: a second call waits for the first to finish.
   *
   * <p>A handler still running when the timeout ends is not interrupted; its count is reported to
   * {@code onDrop}, and if it later returns normally a warning is logged.
   */
  @Override
  public void close() {
    if (closeCalls.getAndIncrement() > 0) {
      if (!deliveries.calledFromHandler()) { // a handler must not wait for itself
        terminated.join();
      }
      return;
    }
    try {
      closeCounting();
      flushes.dump();
      deliveries.awaitAll();
    } finally {
      drain.cancelWakeUp();
      if (ownedExecutor != null) {
        ownedExecutor.shutdown();
      }
      Threads.removeShutdownHook(shutdownHook);
      if (durable != null) {
        durable.close();
      }
      config.closeResources();
      terminated.complete(null);
    }
  }

  private void closeCounting() {
    deliveries.beginClose(config.ticker.read() + config.shutdownTimeoutNanos);
    LIFECYCLE.getAndBitwiseOr(this, CLOSED);
    // Slow-path writers are short and never block, so this wait is brief.
    while (((long) LIFECYCLE.getVolatile(this) & ~CLOSED) != 0) {
      Thread.onSpinWait();
    }
  }

  @Override
  public String toString() {
    return "StatBuffer[" + config.name + ", " + stats() + "]";
  }

  /**
   * For tests: stops as a killed process would, at a quiescent point: no more hand-overs or
   * deliveries, the directory released with its files as they are (mapped writes stay in the
   * page cache, as they do when a process dies). The handler must ignore calls that race it.
   */
  void crashForTests() {
    LIFECYCLE.getAndBitwiseOr(this, CLOSED);
    drain.cancelWakeUp();
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
    Threads.removeShutdownHook(shutdownHook);
    if (durable != null) {
      durable.abandon();
    }
  }

  /** Cells in the table, live or dead but not yet removed; for tests. */
  int cellCount() {
    return table.size();
  }

  /** The key's cell, or null; for tests. */
  @Nullable Cell<K> cellOf(K key) {
    return table.get(key);
  }

  /**
   * Configures and builds a {@link StatBuffer}. Each option has one method; a bad value throws
   * {@link IllegalArgumentException} naming the option and the value, and a null throws
   * {@link NullPointerException} naming the parameter.
   *
   * <p>Defaults:
   * <ul>
   *   <li>{@code name}: {@code "statbuffer-N"}, N counting buffers in this JVM
   *   <li>{@code interval}: 5 s
   *   <li>{@code jitter}: 0
   *   <li>{@code backoff}: 1 s
   *   <li>{@code maxBackoff}: 30 s
   *   <li>{@code maxAttempts}: unlimited ({@link Integer#MAX_VALUE})
   *   <li>{@code maxKeys}: unlimited ({@link Long#MAX_VALUE})
   *   <li>{@code maxBatchSize}: 1000
   *   <li>{@code executor}: the buffer's own daemon threads (as many as cores, at least two,
   *       released when idle)
   *   <li>{@code shutdownTimeout}: 30 s
   *   <li>{@code flushTimeout}: 30 s
   *   <li>{@code shutdownHook}: true
   *   <li>{@code ticker}: {@link Ticker#system()}; {@code scheduler}: {@link Scheduler#system()}
   *   <li>{@code listener}: none
   * </ul>
   *
   * <p>Not thread-safe: configure it on one thread. {@code build} copies the options, so a
   * builder may be reused.
   */
  public static final class Builder {
    private static final AtomicInteger NAMES = new AtomicInteger();

    private @Nullable String name;
    private Duration interval = Duration.ofSeconds(5);
    private Duration jitter = Duration.ZERO;
    private Duration backoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private int maxAttempts = Integer.MAX_VALUE;
    private long maxKeys = Long.MAX_VALUE;
    private int maxBatchSize = 1000;
    private @Nullable Executor executor;
    private Duration shutdownTimeout = Duration.ofSeconds(30);
    private Duration flushTimeout = Duration.ofSeconds(30);
    private final List<AutoCloseable> closeAfterDump = new ArrayList<>();
    private boolean shutdownHook = true;
    private Ticker ticker = Ticker.system();
    private Scheduler scheduler = Scheduler.system();
    private @Nullable BufferListener listener;

    private Builder() {}

    /**
     * Names the buffer in logs and thread names.
     *
     * @param name the name, not null or blank
     * @return this builder
     */
    public Builder name(String name) {
      requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name must not be blank");
      }
      this.name = name;
      return this;
    }

    /**
     * Sets how long after a window's first increment its count is handed over. Zero hands
     * windows over as soon as the buffer wakes (within a millisecond or so).
     *
     * @param interval at least zero; default 5 s
     * @return this builder
     */
    public Builder interval(Duration interval) {
      this.interval = Config.requireDuration("interval", interval);
      return this;
    }

    /**
     * Sets the most random extra delay added to each window's interval, so that many processes
     * started together do not flush in step.
     *
     * @param jitter at least zero; default 0
     * @return this builder
     */
    public Builder jitter(Duration jitter) {
      this.jitter = Config.requireDuration("jitter", jitter);
      return this;
    }

    /**
     * Sets the delay before the first retry of a failed flush; each later retry waits twice as
     * long, up to {@link #maxBackoff}.
     *
     * @param backoff at least zero; default 1 s
     * @return this builder
     */
    public Builder backoff(Duration backoff) {
      this.backoff = Config.requireDuration("backoff", backoff);
      return this;
    }

    /**
     * Sets the longest delay between two retries.
     *
     * @param maxBackoff at least zero; default 30 s. If shorter than {@code backoff}, every
     *     retry waits {@code backoff}.
     * @return this builder
     */
    public Builder maxBackoff(Duration maxBackoff) {
      this.maxBackoff = Config.requireDuration("maxBackoff", maxBackoff);
      return this;
    }

    /**
     * Sets how many failed calls a count survives before it goes to {@code onDrop}.
     *
     * @param maxAttempts at least 1; default unlimited
     * @return this builder
     */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1: " + maxAttempts);
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * Bounds the pending windows (open, or handed over and not yet delivered). Near the bound the
     * oldest windows are handed over early; at the bound, an increment of a key without an open
     * window waits up to 20 ms for deliveries to make room (not at all while the handler makes no
     * progress), then returns false, counts in {@link BufferStats#rejected()} and is logged (the
     * first refusal, then at most one summary line every 5 s).
     *
     * @param maxKeys at least 1; default unlimited
     * @return this builder
     */
    public Builder maxKeys(long maxKeys) {
      if (maxKeys < 1) {
        throw new IllegalArgumentException("maxKeys must be at least 1: " + maxKeys);
      }
      this.maxKeys = maxKeys;
      return this;
    }

    /**
     * Sets the most keys in one {@link FlushBatch} (batched handlers), and the most per-key
     * deliveries run by one executor task.
     *
     * @param maxBatchSize at least 1; default 1000
     * @return this builder
     */
    public Builder maxBatchSize(int maxBatchSize) {
      if (maxBatchSize < 1) {
        throw new IllegalArgumentException("maxBatchSize must be at least 1: " + maxBatchSize);
      }
      this.maxBatchSize = maxBatchSize;
      return this;
    }

    /**
     * Sets where handlers run. The buffer never shuts down an executor it was given. Hand-over
     * (the drain) runs on the {@linkplain #scheduler scheduler}'s thread, never here, so handlers
     * that hang never stop it. A direct executor ({@code Runnable::run}) runs handlers on whichever
     * thread hands counts over: the scheduler's timer thread, or a thread calling {@code flush},
     * {@code flushAll} or {@code close} (never one calling {@code increment}). That suits tests;
     * in production a slow handler would then hold up the timer that every buffer shares.
     *
     * @param executor the executor; default: the buffer's own daemon threads
     * @return this builder
     */
    public Builder executor(Executor executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Sets how long {@link StatBuffer#close()} keeps delivering before it drops what is left.
     *
     * @param timeout at least zero; default 30 s
     * @return this builder
     */
    public Builder shutdownTimeout(Duration timeout) {
      this.shutdownTimeout = Config.requireDuration("shutdownTimeout", timeout);
      return this;
    }

    /**
     * Sets how long one handler call may run. A call still running then counts as a failed
     * attempt: it is retried on a fresh call after the backoff, and its thread is interrupted
     * (drivers and pools that honour interrupts give up their wait). If the abandoned call still
     * returns normally before the count is settled, the count is delivered; so with a handler
     * that is not idempotent, a call that ends up succeeding after its timeout may have been
     * retried too. The sinks of this project apply a batch id once, which makes a late commit of
     * an abandoned call harmless. While calls are abandoned, the buffer's own executor adds a
     * thread for each (up to as many again), so healthy calls keep running.
     *
     * @param timeout positive, or zero for no limit; default 30 s
     * @return this builder
     */
    public Builder flushTimeout(Duration timeout) {
      this.flushTimeout = Config.requireDuration("flushTimeout", timeout);
      return this;
    }

    /**
     * Closes {@code resource} when the buffer closes, after the dump: typically the connection pool
     * the handler writes through. An application that closes its pool in a shutdown hook of its
     * own races the buffer's hook, and the dump then fails; handing the pool to the buffer orders
     * the two. Resources close in the order they were added; what one throws is logged, and the
     * rest still close.
     *
     * @param resource closed once, after the buffer's last delivery or drop
     * @return this builder
     */
    public Builder closeAfterDump(AutoCloseable resource) {
      closeAfterDump.add(requireNonNull(resource, "resource"));
      return this;
    }

    /**
     * Sets whether the buffer is closed (and so dumped) when the JVM shuts down.
     *
     * @param enabled default true
     * @return this builder
     */
    public Builder shutdownHook(boolean enabled) {
      this.shutdownHook = enabled;
      return this;
    }

    /**
     * Sets the time source; tests pass a fake one to drive windows without sleeping.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets what wakes the buffer when a window or retry is due.
     *
     * @param scheduler the scheduler; default {@link Scheduler#system()}
     * @return this builder
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets a listener that observes every hand-over, delivery, failure, drop and rejection, for
     * metrics. Without one, the buffer makes no listener calls at all.
     *
     * @param listener the listener; default none
     * @return this builder
     */
    public Builder listener(BufferListener listener) {
      this.listener = requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds a buffer that hands each key's count to {@code handler} separately.
     *
     * @param handler the handler, not null
     * @param <K> the key type
     * @return a new buffer
     */
    public <K> StatBuffer<K> build(FlushHandler<? super K> handler) {
      requireNonNull(handler, "handler");
      return new StatBuffer<>(config(), new Target.PerKey<>(handler), null);
    }

    /**
     * Builds a buffer that hands counts to {@code handler} in batches of up to
     * {@code maxBatchSize} keys.
     *
     * @param handler the handler, not null
     * @param <K> the key type
     * @return a new buffer
     */
    public <K> StatBuffer<K> buildBatched(BatchFlushHandler<K> handler) {
      requireNonNull(handler, "handler");
      return new StatBuffer<>(config(), new Target.Batched<>(handler), null);
    }

    /**
     * Continues as a durable buffer: its counts live in memory-mapped files in {@code directory},
     * so an increment that returned true survives the death of the process (SIGKILL, an OOM kill,
     * {@code Runtime.halt}), and the next buffer built on the directory delivers it. Options set
     * on this builder before the call carry over; see {@link DurableBuilder}.
     *
     * @param directory the buffer's own directory (made if missing); one live buffer at a time
     * @param codec turns keys into the bytes the files keep, and back
     * @param <K> the key type
     * @return a builder of durable buffers
     * @throws NullPointerException if an argument is null
     */
    public <K> DurableBuilder<K> durable(Path directory, KeyCodec<K> codec) {
      return new DurableBuilder<>(config(), requireNonNull(directory, "directory"),
          requireNonNull(codec, "codec"));
    }

    /** Freezes the options. */
    private Config config() {
      return new Config(nameOrDefault(), interval.toNanos(), jitter.toNanos(), backoff.toNanos(),
          maxBackoff.toNanos(), maxAttempts, maxKeys, maxBatchSize, shutdownTimeout.toNanos(),
          flushTimeout.toNanos(), List.copyOf(closeAfterDump), executor, scheduler, ticker,
          shutdownHook, listener);
    }

    private String nameOrDefault() {
      return (name != null) ? name : "statbuffer-" + NAMES.incrementAndGet();
    }
  }

  /**
   * Builds a durable buffer (from {@link Builder#durable}): counts kept in memory-mapped files in
   * its directory, so that a process killed at any instant loses no increment that returned true.
   *
   * <p>What it promises: the next buffer built on the directory delivers every count the dead
   * process accepted and did not deliver, and delivers again, under their original batch ids,
   * the batches it had handed to the handler without an answer (a sink that applies a batch id
   * once, as the JDBC and Redis sinks do, applies them once). At most one increment per thread
   * that had not returned when the process died may be delivered too. {@code close()} delivers
   * everything and leaves nothing pending; what it cannot deliver within {@code shutdownTimeout}
   * stays in the directory for the next start instead of going to {@code onDrop}. Power loss or an
   * OS crash loses at most what was counted in the last {@code syncInterval}, plus one force.
   *
   * <p>Limits: one live buffer per directory (this JVM or another: a second {@code build} throws
   * {@link IllegalStateException}); a key's codec bytes are at most {@code maxKeyBytes}; one
   * increment's delta is within plus or minus 2^40.
   *
   * <p>Defaults: {@code syncInterval} 1 s; {@code maxKeyBytes} 32 (a 64-byte slot per key).
   *
   * <p>Not thread-safe: configure it on one thread.
   *
   * @param <K> the key type
   */
  public static final class DurableBuilder<K> {
    private final Config config;
    private final Path directory;
    private final KeyCodec<K> codec;
    private Duration syncInterval = Duration.ofSeconds(1);
    private int maxKeyBytes = 32;

    private DurableBuilder(Config config, Path directory, KeyCodec<K> codec) {
      this.config = config;
      this.directory = directory;
      this.codec = codec;
    }

    /**
     * Sets how often the files are forced to the storage device, which bounds what power loss or
     * an OS crash can lose. (A killed process loses nothing either way: its writes are in the
     * kernel's page cache.)
     *
     * @param interval the interval, positive
     * @return this builder
     * @throws IllegalArgumentException if not positive
     * @throws NullPointerException if null
     */
    public DurableBuilder<K> syncInterval(Duration interval) {
      requireNonNull(interval, "interval");
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("syncInterval must be positive: " + interval);
      }
      this.syncInterval = interval;
      return this;
    }

    /**
     * Sets the longest key the files can keep, in codec bytes; a longer key is refused with
     * {@link IllegalArgumentException} by {@code increment}. Each key takes a slot of this size
     * plus 32 bytes, rounded up to 64.
     *
     * @param bytes from 1 to 65 000
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public DurableBuilder<K> maxKeyBytes(int bytes) {
      if (bytes < 1 || bytes > 65_000) {
        throw new IllegalArgumentException("maxKeyBytes must be from 1 to 65000: " + bytes);
      }
      this.maxKeyBytes = bytes;
      return this;
    }

    /**
     * Builds a durable buffer that hands each key's count to {@code handler} separately. What an
     * earlier process left in the directory is delivered first (without batch ids, so at least
     * once).
     *
     * @param handler the handler, not null
     * @return a new buffer, already delivering what it recovered
     * @throws IllegalStateException if a live buffer holds the directory, or its files are
     *     damaged or of another format (naming the file)
     */
    public StatBuffer<K> build(FlushHandler<? super K> handler) {
      requireNonNull(handler, "handler");
      return new StatBuffer<>(config, new Target.PerKey<>(handler), open());
    }

    /**
     * Builds a durable buffer that hands counts to {@code handler} in batches. Batches an earlier
     * process left undelivered go first, under their original ids.
     *
     * @param handler the handler, not null
     * @return a new buffer, already delivering what it recovered
     * @throws IllegalStateException if a live buffer holds the directory, or its files are
     *     damaged or of another format (naming the file)
     */
    public StatBuffer<K> buildBatched(BatchFlushHandler<K> handler) {
      requireNonNull(handler, "handler");
      return new StatBuffer<>(config, new Target.Batched<>(handler), open());
    }

    private Durability<K> open() {
      return Durability.open(config.name, new Durability.Spec<>(directory, codec,
          syncInterval.toNanos(), maxKeyBytes));
    }
  }
}
