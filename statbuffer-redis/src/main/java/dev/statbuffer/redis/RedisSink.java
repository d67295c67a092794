package dev.statbuffer.redis;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisScriptingAsyncCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.StringCodec;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * A {@link BatchFlushHandler} that adds each batch's counts to counters in Redis or Redis Cluster,
 * with pipelining and, by default, exactly once.
 *
 * <pre>{@code
 * RedisSink<String> sink = RedisSink.<String>builder(redisClient)   // RedisClient or RedisClusterClient
 *     .keyMapper(page -> "views:" + page)                           // string counters: INCRBY
 *     .build();
 * StatBuffer<String> views = StatBuffer.newBuilder().buildBatched(sink);
 * }</pre>
 *
 * <h2>How a batch is written</h2>
 * The batch is split into <em>parts</em>: the whole batch on a standalone server, one part per hash
 * slot on a cluster. Each part is one call of a Lua script ({@code EVALSHA}) that, atomically:
 * <ol>
 *   <li>returns at once if the part's <em>marker</em> key exists (the batch was applied before),
 *       renewing the marker's TTL;
 *   <li>reads every counter first, writing nothing, to find those Redis would refuse (another
 *       type, a value that is not a 64-bit integer): Redis does not roll a script back;
 *   <li>applies {@code INCRBY} (string counters) or {@code HINCRBY} (hash counters) to the others,
 *       refreshing the TTL of each counter key when {@link Builder#expireAfter} is set (an
 *       increment that would overflow is refused by Redis without being written);
 *   <li>sets the marker with the TTL {@link Builder#markerTtl}, recording the refused counters.
 * </ol>
 * All the script calls of a batch are queued on the sink's connection and written with one flush:
 * one round trip per node the batch touches, never one per key. On a cluster each part is routed
 * to its slot's node (Lettuce follows {@code MOVED}/{@code ASK} redirections), and the marker key
 * carries a hash tag of that slot ({@code statbuffer:batch:<name>:{tag}:id}), so it lives, and
 * migrates, with the counters it guards.
 *
 * <p><strong>Markers are per sink {@link Builder#name name} and batch id: two sinks that receive
 * the same batches must have different names</strong>, or the second one skips every batch the
 * first applied.
 *
 * <h2>Guarantees</h2>
 * With exactly-once on (the default), a retried batch — same {@link FlushBatch#id()} — applies
 * only the parts whose marker is missing: every part is applied exactly once, as long as each
 * retry comes within {@code markerTtl} of the previous attempt (a retry that finds a marker
 * renews its TTL). On success {@link #flush} returns; if any part is not confirmed it throws a
 * {@link RedisSinkException} naming the node, slot, keys and Redis' answer of each failed part,
 * and the buffer retries the batch. With exactly-once off there are no markers: a part whose reply
 * was lost may be applied twice on a retry (at-least-once).
 *
 * <h2>Bad keys</h2>
 * A counter Redis refuses for good (its key holds a list, a set or another type; its value is
 * not a 64-bit integer; the addition would overflow) does not hold the batch back: the rest is
 * applied, and {@link #flush} throws a {@link dev.statbuffer.RejectedKeysException} naming each
 * buffer key summed into a refused counter, under an id {@code <batch id>-<part>-d<index>}, with
 * a {@link RedisCounterRejectedException} as the reason. The buffer drops those keys at once
 * ({@code onDrop}) and counts the rest delivered. The marker records the refusals, so a retry of
 * the batch reports the same ones and applies nothing again; a dropped count replayed as a batch
 * of its own under its rejection id is applied once, like any batch.
 *
 * <h2>Ownership and threads</h2>
 * {@link Builder#build()} opens one connection (a cluster connection for a
 * {@link RedisClusterClient}) with auto-flush off, used only by this sink; {@link #close()}
 * closes it. The sink never shuts the client down: the caller owns the client. Thread-safe:
 * concurrent {@link #flush} calls share the connection (a flush may push out another thread's
 * queued commands early, which is harmless).
 *
 * @param <K> the buffer's key type
 */
public final class RedisSink<K> implements BatchFlushHandler<K>, AutoCloseable {
  private static final System.Logger LOG = System.getLogger(RedisSink.class.getName());

  /** How often a waiting flush pushes out queued commands again (redirections, reconnects). */
  private static final long REFLUSH_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /**
   * The longest {@link Builder#expireAfter} and {@link Builder#markerTtl}: 100 years. The script
   * sets TTLs after its increments, and Redis rejects an expiry past its 64-bit millisecond clock
   * only then (a script is not rolled back): the bound keeps every TTL one Redis accepts.
   */
  static final Duration MAX_TTL = Duration.ofDays(36_500);

  private final Transport transport;
  private final Function<? super K, String> keyMapper;
  private final Function<? super K, String> hashKeyMapper;
  private final Function<? super K, String> fieldMapper;
  private final long expireMillis;
  private final boolean exactlyOnce;
  private final long markerTtlMillis;
  private final String markerPrefix;
  private final String name;
  private final Duration timeout;
  private final AtomicBoolean closed = new AtomicBoolean();

  private final LongAdder batches = new LongAdder();
  private final LongAdder failedBatches = new LongAdder();
  private final LongAdder roundTrips = new LongAdder();
  private final LongAdder commands = new LongAdder();
  private final LongAdder appliedParts = new LongAdder();
  private final LongAdder skippedParts = new LongAdder();
  private final LongAdder failedParts = new LongAdder();
  private final LongAdder increments = new LongAdder();
  private final LongAdder rejectedIncrements = new LongAdder();

  private RedisSink(Builder<K> builder, Transport transport) {
    this.transport = transport;
    this.keyMapper = builder.keyMapper;
    this.hashKeyMapper = builder.hashKeyMapper;
    this.fieldMapper = builder.fieldMapper;
    this.expireMillis = (builder.expireAfter == null) ? 0 : builder.expireAfter.toMillis();
    this.exactlyOnce = builder.exactlyOnce;
    this.markerTtlMillis = builder.markerTtl.toMillis();
    this.markerPrefix = builder.markerPrefix;
    this.name = builder.name;
    this.timeout = builder.timeout;
  }

  /**
   * Starts a sink on a standalone Redis server (or a replica set's primary) reached through
   * {@code client}'s default URI.
   *
   * @param client the client; the sink opens one connection with it and never shuts it down
   * @param <K> the buffer's key type
   * @return a new builder
   * @throws NullPointerException if {@code client} is null
   */
  public static <K> Builder<K> builder(RedisClient client) {
    return new Builder<>(Objects.requireNonNull(client, "client"), null);
  }

  /**
   * Starts a sink on a Redis Cluster reached through {@code client}.
   *
   * @param client the cluster client; the sink opens one cluster connection with it and never
   *     shuts it down
   * @param <K> the buffer's key type
   * @return a new builder
   * @throws NullPointerException if {@code client} is null
   */
  public static <K> Builder<K> builder(RedisClusterClient client) {
    return new Builder<>(null, Objects.requireNonNull(client, "client"));
  }

  /**
   * Adds the batch's counts to their counters: one script call per part, all parts pipelined, one
   * round trip per node. Returns once every part is confirmed applied (or already applied).
   *
   * @param batch the batch
   * @throws RejectedKeysException if every part was applied (or found applied) except counters
   *     that Redis refused for good ({@code WRONGTYPE}, not an integer, overflow): one rejection
   *     per buffer key summed into such a counter, with a {@link RedisCounterRejectedException}
   *     as its cause and an id derived from the batch id, the part and the key's place in it. A
   *     retry of the batch (exactly-once on) applies nothing again and reports the same
   *     rejections, even if the counters were fixed in between
   * @throws RedisSinkException if a part failed or did not answer within the timeout; the parts
   *     not listed in it were applied (with their refused counters recorded in their markers)
   * @throws InterruptedException if interrupted while waiting for Redis; the batch may be partly
   *     applied, and a retry with exactly-once on applies the rest
   * @throws NullPointerException if a mapper returned null for a key
   * @throws IllegalArgumentException if buffer keys mapped to one counter add up past a 64-bit
   *     integer (the message names the Redis key and field); nothing of the batch was sent
   * @throws IllegalStateException if the sink is closed
   */
  @Override
  public void flush(FlushBatch<K> batch) throws InterruptedException, RejectedKeysException {
    if (closed.get()) {
      throw new IllegalStateException("RedisSink is closed");
    }
    batches.increment();
    boolean ok = false;
    try {
      List<Part> parts = split(batch);
      send(parts, /* fullScript= */ false);
      await(parts);
      List<Part> lostScript = new ArrayList<>();
      for (Part part : parts) {
        if (part.failure instanceof RedisCommandExecutionException
            && String.valueOf(part.failure.getMessage()).startsWith("NOSCRIPT")) {
          lostScript.add(part);
        }
      }
      if (!lostScript.isEmpty()) {
        // The node restarted, failed over or flushed its script cache: send the script itself.
        LOG.log(System.Logger.Level.DEBUG, "Redis lost the sink script; re-sending it with EVAL");
        send(lostScript, /* fullScript= */ true);
        await(lostScript);
      }
      List<RedisSinkException.PartFailure> failures = new ArrayList<>();
      List<RejectedKeysException.Rejection> rejections = new ArrayList<>();
      for (Part part : parts) {
        if (part.reply == null) {
          failedParts.increment();
          failures.add(part.failure(timeout));
          continue;
        }
        int refused = part.reply.refusals().size();
        if (part.reply.status() == PartScript.Status.APPLIED) {
          appliedParts.increment();
          increments.add(part.increments().size() - refused);
          rejectedIncrements.add(refused);
        } else {
          skippedParts.increment();
        }
        if (refused > 0 && part.reply.status() != PartScript.Status.FOREIGN) {
          Rejections.collect(batch.id(), part, keyMapper == null, rejections);
        }
      }
      if (!failures.isEmpty()) {
        // Transient: the buffer retries the whole batch; parts applied now find their markers.
        throw new RedisSinkException(batch.id(), parts.size(), failures);
      }
      ok = true;
      if (!rejections.isEmpty()) {
        throw new RejectedKeysException(rejections);
      }
    } finally {
      if (!ok) {
        failedBatches.increment();
      }
    }
  }

  /** Groups the batch's counts into parts: one for a standalone server, one per slot on a cluster. */
  private List<Part> split(FlushBatch<K> batch) {
    Map<Integer, Part> bySlot = new LinkedHashMap<>();
    boolean cluster = transport.cluster();
    for (Map.Entry<K, Long> entry : batch.counts().entrySet()) {
      K key = entry.getKey();
      long delta = entry.getValue();
      String redisKey;
      String field = null;
      if (keyMapper != null) {
        redisKey = Objects.requireNonNull(keyMapper.apply(key),
            () -> "keyMapper returned null for key " + key);
      } else {
        redisKey = Objects.requireNonNull(hashKeyMapper.apply(key),
            () -> "hashMapper's key function returned null for key " + key);
        field = Objects.requireNonNull(fieldMapper.apply(key),
            () -> "hashMapper's field function returned null for key " + key);
      }
      int slot = cluster ? SlotHash.getSlot(redisKey.getBytes(StandardCharsets.UTF_8)) : -1;
      Part part = bySlot.get(slot);
      if (part == null) {
        part = new Part(slot, transport.node(slot), markerKey(slot, batch.id()));
        bySlot.put(slot, part);
      }
      part.add(key, redisKey, field, delta);
    }
    return new ArrayList<>(bySlot.values());
  }

  /** The marker key of the part in {@code slot} (-1 on a standalone server) of batch {@code id}. */
  String markerKey(int slot, String id) {
    return (slot >= 0)
        ? markerPrefix + name + ":{" + SlotTags.tag(slot) + "}:" + id
        : markerPrefix + name + ":" + id;
  }

  /** Queues one script call per part, then writes them all: one round trip per node. */
  private void send(List<Part> parts, boolean fullScript) {
    RedisScriptingAsyncCommands<String, String> commands = transport.commands();
    Set<String> nodes = new HashSet<>();
    String mode = (keyMapper != null) ? "s" : "h";
    for (Part part : parts) {
      String[] keys = part.keys();
      String[] args = part.args(exactlyOnce ? markerTtlMillis : 0, expireMillis, mode);
      part.reset();
      try {
        part.future = fullScript
            ? commands.<String>eval(PartScript.SOURCE, ScriptOutputType.VALUE, keys, args)
            : commands.<String>evalsha(PartScript.SHA, ScriptOutputType.VALUE, keys, args);
      } catch (RuntimeException e) {
        part.failure = e;
      }
      nodes.add(part.node);
    }
    this.commands.add(parts.size());
    transport.flushCommands();
    roundTrips.add(nodes.size());
  }

  /**
   * Waits, up to the timeout for all together, for every part's reply. A part whose reply came
   * is collected even when the deadline passed while waiting for an earlier part.
   */
  private void await(List<Part> parts) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Part part : parts) {
      if (part.future == null) {
        continue;
      }
      for (;;) {
        if (part.future.isDone()) {
          collect(part);
          break;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          part.future.get(Math.min(left, REFLUSH_NANOS), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
          // Commands re-queued by a redirection or a reconnect wait for a flush: push them out.
          transport.flushCommands();
        } catch (ExecutionException e) {
          // collected on the next turn
        }
      }
    }
  }

  private void collect(Part part) throws InterruptedException {
    try {
      PartScript.Reply reply = PartScript.parse(part.future.get());
      if (reply.status() == PartScript.Status.FOREIGN) {
        // Its recorded refusals (if any) name places in other counters: they cannot be mapped.
        LOG.log(System.Logger.Level.WARNING, () -> "Marker " + part.marker + " was written for "
            + "other counters: the part was skipped"
            + (reply.refusals().isEmpty() ? "" : " (its first attempt had "
                + reply.refusals().size() + " counters refused by Redis, which cannot be named "
                + "now and count as delivered)")
            + ". If two sinks receive the same batches, give "
            + "each its own name(...) (this one is '" + name + "'); otherwise the mappers map "
            + "the retried batch to other keys than its first attempt.");
      }
      part.reply = reply;
    } catch (ExecutionException e) {
      part.failure = (e.getCause() != null) ? e.getCause() : e;
    } catch (IllegalStateException e) { // cancelled, or a reply the script does not give
      part.failure = e;
    }
  }

  /**
   * A snapshot of what this sink has done: round trips, commands, applied and skipped parts.
   *
   * @return the stats
   */
  public RedisSinkStats stats() {
    return new RedisSinkStats(batches.sum(), failedBatches.sum(), roundTrips.sum(),
        commands.sum(), appliedParts.sum(), skippedParts.sum(), failedParts.sum(),
        increments.sum(), rejectedIncrements.sum());
  }

  /**
   * The pipelined writes so far (one per node per batch); same as {@code stats().roundTrips()}.
   *
   * @return the round trips
   */
  public long roundTrips() {
    return roundTrips.sum();
  }

  /** Whether this sink writes to a Redis Cluster. */
  boolean isCluster() {
    return transport.cluster();
  }

  /**
   * Closes the connection this sink opened. Idempotent. Does not shut the client down. A flush
   * still waiting fails; later flushes throw {@link IllegalStateException}.
   */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      transport.close();
    }
  }

  @Override
  public String toString() {
    return "RedisSink[" + (transport.cluster() ? "cluster" : "standalone " + transport.node(-1))
        + ", " + (keyMapper != null ? "string" : "hash") + " counters, exactlyOnce="
        + exactlyOnce + "]";
  }

  /** The connection, standalone or cluster. Thread-safe. */
  private interface Transport {
    boolean cluster();

    /** The node serving {@code slot} (ignored on a standalone server), as host:port. */
    String node(int slot);

    RedisScriptingAsyncCommands<String, String> commands();

    void flushCommands();

    void close();
  }

  private static final class StandaloneTransport implements Transport {
    final StatefulRedisConnection<String, String> connection;
    final String node;

    StandaloneTransport(StatefulRedisConnection<String, String> connection, String node) {
      this.connection = connection;
      this.node = node;
    }

    @Override
    public boolean cluster() {
      return false;
    }

    @Override
    public String node(int slot) {
      return node;
    }

    @Override
    public RedisScriptingAsyncCommands<String, String> commands() {
      return connection.async();
    }

    @Override
    public void flushCommands() {
      connection.flushCommands();
    }

    @Override
    public void close() {
      connection.close();
    }
  }

  private static final class ClusterTransport implements Transport {
    final StatefulRedisClusterConnection<String, String> connection;

    ClusterTransport(StatefulRedisClusterConnection<String, String> connection) {
      this.connection = connection;
    }

    @Override
    public boolean cluster() {
      return true;
    }

    @Override
    public String node(int slot) {
      RedisClusterNode node = connection.getPartitions().getPartitionBySlot(slot);
      if (node == null || node.getUri() == null) {
        return "(no node known for slot " + slot + ")";
      }
      return node.getUri().getHost() + ":" + node.getUri().getPort();
    }

    @Override
    public RedisScriptingAsyncCommands<String, String> commands() {
      return connection.async();
    }

    @Override
    public void flushCommands() {
      connection.flushCommands();
    }

    @Override
    public void close() {
      connection.close();
    }
  }

  /**
   * Configures a {@link RedisSink}. Set exactly one of {@link #keyMapper} and {@link #hashMapper}.
   * Defaults: no counter TTL, exactly-once on, marker TTL 1 hour, marker prefix
   * {@code "statbuffer:batch:"}, name {@code "default"}, timeout 10 seconds, no client name.
   *
   * <p><strong>Two sinks that receive the same batches need different {@link #name}s</strong>:
   * markers are per sink name and batch id, so a second sink of the same name skips the batch. Not thread-safe: configure
   * it on one thread, then call {@link #build()}.
   *
   * @param <K> the buffer's key type
   */
  public static final class Builder<K> {
    private final RedisClient client;
    private final RedisClusterClient clusterClient;
    private Function<? super K, String> keyMapper;
    private Function<? super K, String> hashKeyMapper;
    private Function<? super K, String> fieldMapper;
    private Duration expireAfter;
    private boolean exactlyOnce = true;
    private Duration markerTtl = Duration.ofHours(1);
    private String markerPrefix = "statbuffer:batch:";
    private String name = "default";
    private boolean markerOptionSet;
    private Duration timeout = Duration.ofSeconds(10);
    private String clientName;

    private Builder(RedisClient client, RedisClusterClient clusterClient) {
      this.client = client;
      this.clusterClient = clusterClient;
    }

    /**
     * Counts each key in a string counter ({@code INCRBY}) named by {@code keyMapper}. Keys that
     * map to the same counter are added up.
     *
     * @param keyMapper the Redis key of a buffer key; must not return null
     * @return this builder
     * @throws NullPointerException if {@code keyMapper} is null
     */
    public Builder<K> keyMapper(Function<? super K, String> keyMapper) {
      this.keyMapper = Objects.requireNonNull(keyMapper, "keyMapper");
      return this;
    }

    /**
     * Counts each key in a field of a hash ({@code HINCRBY}): {@code keyMapper} names the hash,
     * {@code fieldMapper} the field.
     *
     * @param keyMapper the Redis key of the hash holding a buffer key's counter; not returning null
     * @param fieldMapper the field of that hash; not returning null
     * @return this builder
     * @throws NullPointerException if either function is null
     */
    public Builder<K> hashMapper(Function<? super K, String> keyMapper,
                                 Function<? super K, String> fieldMapper) {
      this.hashKeyMapper = Objects.requireNonNull(keyMapper, "keyMapper");
      this.fieldMapper = Objects.requireNonNull(fieldMapper, "fieldMapper");
      return this;
    }

    /**
     * Gives every counter key written a TTL, refreshed on each write ({@code PEXPIRE}); for hash
     * counters the TTL is the whole hash's. Default: none (counters persist).
     *
     * @param expireAfter the TTL, at least 1 ms and at most 36500 days (100 years)
     * @return this builder
     * @throws NullPointerException if {@code expireAfter} is null
     * @throws IllegalArgumentException if it is shorter than 1 ms or longer than 36500 days
     */
    public Builder<K> expireAfter(Duration expireAfter) {
      this.expireAfter = requireTtl("expireAfter", expireAfter, Duration.ofMillis(1), "1 ms");
      return this;
    }

    /**
     * Whether each part of a batch is applied together with a marker of the batch id, so that a
     * retried batch is applied once. Default true. Off, the sink writes no markers and a retry
     * may apply a part twice; {@link #build()} then rejects the marker options
     * ({@link #markerTtl}, {@link #markerPrefix}, {@link #name}).
     *
     * @param exactlyOnce true for exactly-once
     * @return this builder
     */
    public Builder<K> exactlyOnce(boolean exactlyOnce) {
      this.exactlyOnce = exactlyOnce;
      return this;
    }

    /**
     * How long a batch marker lives after the last attempt that reached it: a retry that finds
     * a marker renews its TTL, so markers live as long as retries keep coming. A retry later
     * than this after the previous attempt applies the part again, so it should exceed the
     * longest gap between retries of a batch (an outage). A marker is lost, like any write, if
     * its node fails over before replicating it; then so are the counts it guards.
     * Each marker costs about 100 bytes of Redis memory, and there is one per batch on a
     * standalone server but one per slot a batch touches on a cluster. Default 1 hour.
     *
     * @param markerTtl the marker TTL, at least 1 second and at most 36500 days (100 years)
     * @return this builder
     * @throws NullPointerException if {@code markerTtl} is null
     * @throws IllegalArgumentException if it is shorter than 1 second or longer than 36500 days
     */
    public Builder<K> markerTtl(Duration markerTtl) {
      this.markerTtl = requireTtl("markerTtl", markerTtl, Duration.ofSeconds(1), "1 second");
      this.markerOptionSet = true;
      return this;
    }

    /** A TTL option within [min, MAX_TTL], or an exception naming the option and the value. */
    private static Duration requireTtl(String option, Duration value, Duration min,
                                       String minText) {
      Objects.requireNonNull(value, option);
      if (value.compareTo(min) < 0) {
        throw new IllegalArgumentException(option + " must be at least " + minText + ": " + value);
      }
      if (value.compareTo(MAX_TTL) > 0) {
        throw new IllegalArgumentException(
            option + " must be at most " + MAX_TTL + " (36500 days): " + value);
      }
      return value;
    }

    /**
     * The sink's name, part of its marker keys. <strong>Two sinks that receive the same batches
     * (one handler fanning a batch out to string totals and to per-day hashes, say) must have
     * different names</strong> (or marker prefixes): with the same name the second sink finds
     * the first one's marker, takes the batch for applied and skips it, and its counts are lost
     * (it logs a warning when it notices). Keep a sink's name across restarts, so that a retry
     * after a restart finds its markers. Default {@code "default"}.
     *
     * @param name the name, non-empty, without braces or whitespace
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if it is empty or contains a brace or whitespace
     */
    public Builder<K> name(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isEmpty() || name.indexOf('{') >= 0 || name.indexOf('}') >= 0
          || name.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(
            "name must be non-empty without braces or whitespace: '" + name + "'");
      }
      this.name = name;
      this.markerOptionSet = true;
      return this;
    }

    /**
     * The prefix of marker keys: {@code prefix + name + ":" + id} on a standalone server,
     * {@code prefix + name + ":{tag}:" + id} on a cluster (see {@link #name}). Default
     * {@code "statbuffer:batch:"}.
     *
     * @param markerPrefix the prefix, without braces (they would change the hash slot)
     * @return this builder
     * @throws NullPointerException if {@code markerPrefix} is null
     * @throws IllegalArgumentException if it contains a brace
     */
    public Builder<K> markerPrefix(String markerPrefix) {
      Objects.requireNonNull(markerPrefix, "markerPrefix");
      if (markerPrefix.indexOf('{') >= 0 || markerPrefix.indexOf('}') >= 0) {
        throw new IllegalArgumentException("markerPrefix must not contain braces: " + markerPrefix);
      }
      this.markerPrefix = markerPrefix;
      this.markerOptionSet = true;
      return this;
    }

    /**
     * How long one flush waits for all its replies before it fails the parts still unanswered.
     * Default 10 seconds.
     *
     * @param timeout the timeout, positive
     * @return this builder
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if it is zero or negative
     */
    public Builder<K> timeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isZero() || timeout.isNegative()) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * A name for the sink's connection ({@code CLIENT SETNAME}), shown by {@code CLIENT LIST}.
     * On a standalone server the name is set again after every reconnect. On a cluster it is set
     * on the node connections open when the sink is built (best effort: Lettuce opens node
     * connections lazily). Default: none.
     *
     * @param clientName the name: no spaces or newlines
     * @return this builder
     * @throws NullPointerException if {@code clientName} is null
     * @throws IllegalArgumentException if it is empty or contains whitespace
     */
    public Builder<K> clientName(String clientName) {
      Objects.requireNonNull(clientName, "clientName");
      if (clientName.isEmpty() || clientName.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(
            "clientName must be non-empty without whitespace: '" + clientName + "'");
      }
      this.clientName = clientName;
      return this;
    }

    /**
     * Opens the sink's connection, loads its script and returns the sink.
     *
     * @return a new sink, owning its connection
     * @throws IllegalStateException if neither or both of {@code keyMapper} and
     *     {@code hashMapper} are set, or if {@code markerTtl}, {@code markerPrefix} or
     *     {@code name} is set with {@code exactlyOnce(false)} (there are no markers then)
     * @throws io.lettuce.core.RedisException if Redis cannot be reached
     */
    public RedisSink<K> build() {
      if (keyMapper == null && hashKeyMapper == null) {
        throw new IllegalStateException("set keyMapper (string counters) or hashMapper (hashes)");
      }
      if (keyMapper != null && hashKeyMapper != null) {
        throw new IllegalStateException("keyMapper and hashMapper are both set; choose one");
      }
      if (!exactlyOnce && markerOptionSet) {
        throw new IllegalStateException("markerTtl, markerPrefix and name configure the markers "
            + "of exactly-once, but exactlyOnce is false: drop them or exactlyOnce(false)");
      }
      return new RedisSink<>(this, (client != null) ? standalone() : cluster());
    }

    private Transport standalone() {
      StatefulRedisConnection<String, String> connection = client.connect(StringCodec.UTF8);
      try {
        if (clientName != null) {
          connection.sync().clientSetname(clientName);
          String name = clientName;
          // Lettuce does not replay CLIENT SETNAME after a reconnect: name the new connection.
          connection.addListener(new RedisConnectionStateListener() {
            @Override
            public void onRedisConnected(RedisChannelHandler<?, ?> handler, SocketAddress address) {
              connection.async().clientSetname(name);
              connection.flushCommands();
            }
          });
        }
        String node = "redis";
        try {
          // laddr= is the server's own address (Redis 6.2+).
          for (String field : connection.sync().clientInfo().trim().split(" ")) {
            if (field.startsWith("laddr=")) {
              node = field.substring("laddr=".length());
            }
          }
        } catch (RedisException e) {
          LOG.log(System.Logger.Level.DEBUG, "CLIENT INFO failed; node named 'redis'", e);
        }
        loadScript(connection.sync().scriptLoad(PartScript.SOURCE));
        connection.setAutoFlushCommands(false);
        return new StandaloneTransport(connection, node);
      } catch (RuntimeException e) {
        connection.close();
        throw e;
      }
    }

    private Transport cluster() {
      StatefulRedisClusterConnection<String, String> connection =
          clusterClient.connect(StringCodec.UTF8);
      try {
        if (clientName != null) {
          connection.sync().clientSetname(clientName);
        }
        loadScript(connection.sync().scriptLoad(PartScript.SOURCE));
        connection.setAutoFlushCommands(false);
        return new ClusterTransport(connection);
      } catch (RuntimeException e) {
        connection.close();
        throw e;
      }
    }

    private static void loadScript(String sha) {
      if (!PartScript.SHA.equals(sha)) {
        throw new IllegalStateException("Redis named the sink script " + sha + ", expected "
            + PartScript.SHA);
      }
    }
  }
}
