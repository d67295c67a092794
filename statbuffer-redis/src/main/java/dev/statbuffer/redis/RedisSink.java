package dev.statbuffer.redis;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

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
 *   <li>records the part as applied, with the refused counters: for a batch a buffer numbered
 *       ({@link FlushBatch#sender()}), in its sender's record in the slot's state hash, which
 *       keeps only the numbers above the sender's watermark of settled batches (memory bounded
 *       by slots and senders, not by the update rate; see {@code PartScript}); for other
 *       batches (replays, rejected keys' own batches, hand-made ones), in a marker key per
 *       batch and part; both with the TTL {@link Builder#markerTtl}, which is also
 *       {@link #idempotencyHorizon()}.
 * </ol>
 * All the script calls of a batch are queued on the sink's connection and written with one flush:
 * one round trip per node the batch touches, never one per key. On a cluster each part is routed
 * to its slot's node (Lettuce follows {@code MOVED}/{@code ASK} redirections), and the marker key
 * carries a hash tag of that slot ({@code statbuffer:batch:<name>:{tag}:id}), so it lives, and
 * migrates, with the counters it guards.
 *
 * <p><strong>Markers and state are per sink {@link Builder#name name}: two sinks that receive
 * the same batches must have different names</strong>, or the second one skips every batch the
 * first applied.
 *
 * <h2>Replicas and failover</h2>
 * Where a node has a replica (by default; see {@link Builder#waitForReplicas}), each node's
 * parts are followed by {@code WAIT} on the same connection, and a part is acknowledged only
 * once a replica has it. Parts are sent on the connection of the node that serves their slot;
 * the parts of a node whose connection has been down for half a second fail at once, so a dead
 * master holds only its own parts, and the topology is refreshed after failures so that the
 * retry reaches the promoted replica.
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
  /*
   * Implementation notes.
   *
   * The rooms: this class is the public face and the order of a flush: split (Splitter: buffer
   * keys into Parts, one per slot, with the keys that guard them), send and await
   * (Sending.run: the pipelined script calls and WAITs, their replies or failures, over the
   * Transport, the one Lettuce connection to a standalone server or a cluster), then tally
   * (here: the stats, the failed parts into a RedisSinkException, and the refused counters into
   * a RejectedKeysException through Rejections). PartScript holds the script and its contract,
   * ReplicaCounts the nodes' replicas for the default WAIT, StatsCounter the running counts.
   * No room imports this one, but the parts log under its name, as the sink always has.
   *
   * What may race, and why no count is lost or doubled: several buffers (threads) may flush,
   * onDrop and close one sink at once. A flush keeps its parts to itself (see Sending) and
   * shares only the transport, the replica counts and the stats adders, each thread-safe and
   * documented where it lives. close() flips `closed` once (compare-and-set) and closes the
   * connection: a flush that passed the check before it fails its waiting parts (connection
   * closed), and the buffer retries or drops the batch; a later flush throws
   * IllegalStateException before sending anything. Whatever fails after Redis applied a part
   * (a lost reply, a WAIT short of replicas, a close) is retried under the same batch id, and
   * the part's record (marker or state hash) makes the retry apply nothing twice; a part counts
   * as applied in the stats only when its own reply says so.
   */

  /**
   * The longest {@link Builder#expireAfter} and {@link Builder#markerTtl}: 100 years. The script
   * sets TTLs after its increments, and Redis rejects an expiry past its 64-bit millisecond clock
   * only then (a script is not rolled back): the bound keeps every TTL one Redis accepts.
   */
  static final Duration MAX_TTL = Duration.ofDays(36_500);

  private static final System.Logger LOG = System.getLogger(RedisSink.class.getName());

  private final Transport transport;
  private final Splitter<K> splitter;
  private final Sending sending;
  private final StatsCounter stats = new StatsCounter();
  private final boolean exactlyOnce;
  private final long markerTtlMillis;
  private final Duration timeout;
  private final AtomicBoolean closed = new AtomicBoolean();

  private RedisSink(Builder<K> builder, Transport transport) {
    this.transport = transport;
    this.exactlyOnce = builder.exactlyOnce;
    this.markerTtlMillis = builder.markerTtl.toMillis();
    this.timeout = builder.timeout;
    this.splitter = new Splitter<>(builder.keyMapper, builder.hashKeyMapper,
        builder.fieldMapper, builder.exactlyOnce, builder.markerPrefix, builder.name,
        transport.cluster(), transport::node);
    this.sending = new Sending(transport, stats, builder.timeout, builder.waitReplicas,
        builder.waitTimeout, exactlyOnce ? markerTtlMillis : 0,
        (builder.expireAfter == null) ? 0 : builder.expireAfter.toMillis(), splitter.hash(),
        builder.name);
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
    stats.batches.increment();
    boolean ok = false;
    try {
      Part.Numbered numbered = splitter.numbered(batch);
      List<Part> parts = splitter.split(batch, numbered != null, /* sealId= */ null);
      sending.run(parts, numbered);
      tally(batch.id(), parts);
      List<RejectedKeysException.Rejection> rejections =
          Rejections.of(batch.id(), parts, splitter.hash());
      ok = true;
      if (!rejections.isEmpty()) {
        throw new RejectedKeysException(rejections);
      }
    } finally {
      if (!ok) {
        stats.failedBatches.increment();
      }
    }
  }

  /**
   * Counts the parts' outcomes in the stats and throws if any part failed (a part may be applied
   * and failed: its {@code WAIT} fell short), asking for a topology refresh first.
   */
  private void tally(String batchId, List<Part> parts) {
    List<RedisSinkException.PartFailure> failures = new ArrayList<>();
    for (Part part : parts) {
      if (part.reply == null || part.failure != null) {
        stats.failedParts.increment();
        failures.add(part.failure(timeout));
        if (part.reply == null) {
          continue;
        }
      }
      int refused = part.reply.refusals().size();
      if (part.reply.status() == PartScript.Status.APPLIED) {
        stats.appliedParts.increment();
        stats.increments.add(part.increments().size() - refused);
        stats.rejectedIncrements.add(refused);
      } else {
        stats.skippedParts.increment();
      }
    }
    if (!failures.isEmpty()) {
      // Transient: the buffer retries the whole batch; parts applied now find their records.
      transport.refresh();
      throw new RedisSinkException(batchId, parts.size(), failures);
    }
  }

  /**
   * How long this sink recognizes a batch it applied: {@link Builder#markerTtl} (one hour by
   * default), the TTL of its markers and of the senders' records in its state hashes. A buffer
   * retries a batch only within this horizon of its hand-over and drops it after, so a retry
   * never comes after the record that makes it harmless has expired. Each write of a record
   * renews it, a retry that finds it included.
   *
   * @return the marker TTL; empty with {@code exactlyOnce(false)}, when the sink remembers
   *     nothing
   */
  @Override
  public Optional<Duration> idempotencyHorizon() {
    return exactlyOnce ? Optional.of(Duration.ofMillis(markerTtlMillis)) : Optional.empty();
  }

  /**
   * Reports the dropped batch (the default's logging), then, for a batch numbered by a buffer,
   * seals it: in each slot it touches, a part an attempt applied gets a marker under the batch
   * id (so a dead-letter replay of the batch, which has no sender, skips it and reports the same
   * refusals), and a part no attempt applied is recorded as dropped, so that an abandoned call
   * still on its way applies nothing. A replay then applies exactly what was not applied. A part
   * whose node cannot be reached now is not sealed (logged): if an attempt applied it without its
   * reply arriving, a replay applies it again. Waits for Redis up to {@link Builder#timeout}.
   *
   * @param batch the batch the buffer gave up on
   * @param lastError why
   */
  @Override
  public void onDrop(FlushBatch<K> batch, Exception lastError) {
    BatchFlushHandler.super.onDrop(batch, lastError);
    Part.Numbered numbered = splitter.numbered(batch);
    if (numbered == null || closed.get()) {
      return;
    }
    try {
      List<Part> parts = splitter.split(batch, /* numbered= */ true, /* sealId= */ batch.id());
      sending.run(parts, numbered);
      for (Part part : parts) {
        if (part.reply == null || part.failure != null) {
          LOG.log(System.Logger.Level.WARNING, () -> "Could not seal dropped batch "
              + batch.id() + " in " + part.failure(timeout) + ": a replay of its dead letter"
              + " applies that part again if an attempt applied it without its reply arriving");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Could not seal dropped batch " + batch.id(), e);
    }
  }

  /**
   * A snapshot of what this sink has done: round trips, commands, applied and skipped parts.
   *
   * @return the stats
   */
  public RedisSinkStats stats() {
    return stats.snapshot();
  }

  /**
   * The pipelined writes so far (one per node per batch); same as {@code stats().roundTrips()}.
   *
   * @return the round trips
   * @deprecated public only for the benchmark, which now reads {@link #stats()}: use
   *     {@code stats().roundTrips()} ({@link RedisSinkStats#roundTrips()}). Kept because no
   *     public signature is removed.
   */
  @Deprecated
  public long roundTrips() {
    return stats.roundTrips.sum();
  }

  /** Whether this sink writes to a Redis Cluster. */
  boolean isCluster() {
    return splitter.cluster();
  }

  /**
   * The marker key of the part in {@code slot} (-1 on a standalone server) of batch {@code id}:
   * for tests, which read markers in Redis.
   */
  String markerKey(int slot, String id) {
    return splitter.markerKey(slot, id);
  }

  /**
   * The state hash of the numbered batches applied in {@code slot} (-1 on a standalone server):
   * for tests, which read it in Redis.
   */
  String stateKey(int slot) {
    return splitter.stateKey(slot);
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
        + ", " + (splitter.hash() ? "hash" : "string") + " counters, exactlyOnce="
        + exactlyOnce + "]";
  }

  /**
   * Configures a {@link RedisSink}. Set exactly one of {@link #keyMapper} and {@link #hashMapper}.
   * Defaults: no counter TTL, exactly-once on, marker TTL 1 hour, marker prefix
   * {@code "statbuffer:batch:"}, name {@code "default"}, timeout 10 seconds, no client name,
   * replica waits: {@code WAIT} for one replica (1 second) on the nodes that have one.
   *
   * <p><strong>Two sinks that receive the same batches need different {@link #name}s</strong>:
   * markers are per sink name and batch id, so a second sink of the same name skips the batch.
   *
   * <p>The builder connects nothing until {@link #build()}: each option is checked when it is
   * set, their combination when {@code build()} is called, and only then does {@code build()}
   * open the sink's connection and talk to Redis over it (see {@link #build()}). Not
   * thread-safe: configure it on one thread, then call {@link #build()}.
   *
   * @param <K> the buffer's key type
   */
  public static final class Builder<K> {
    private final @Nullable RedisClient client;
    private final @Nullable RedisClusterClient clusterClient;
    private @Nullable Function<? super K, String> keyMapper;
    private @Nullable Function<? super K, String> hashKeyMapper;
    private @Nullable Function<? super K, String> fieldMapper;
    private @Nullable Duration expireAfter;
    private boolean exactlyOnce = true;
    private Duration markerTtl = Duration.ofHours(1);
    private String markerPrefix = "statbuffer:batch:";
    private String name = "default";
    private boolean markerOptionSet;
    private Duration timeout = Duration.ofSeconds(10);
    private @Nullable String clientName;
    private int waitReplicas = Sending.AUTO_REPLICAS;
    private Duration waitTimeout = Duration.ofSeconds(1);

    private Builder(@Nullable RedisClient client, @Nullable RedisClusterClient clusterClient) {
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
     * longest gap between retries of a batch (an outage). It is also the TTL of the state
     * hashes of numbered batches and the sink's {@link RedisSink#idempotencyHorizon()}: a
     * buffer drops a batch rather than retry it later than this after its hand-over. A marker
     * costs about 140-150 bytes of Redis memory for this long (one per part of a batch without a
     * sender); a numbered batch costs nothing lasting beyond its sender's record per slot
     * (about 25-45 bytes per sender and slot, plus the slot's hash). Default 1 hour.
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
     * Acknowledges a part only once its writes reached {@code replicas} replicas: after each
     * node's script calls the sink sends {@code WAIT replicas timeout} on the same connection,
     * and a part whose node reports fewer replicas fails (the buffer retries the batch; the
     * retry finds the part applied, renews its record and waits again). {@code 0} turns it off.
     *
     * <p>Default (not called): one replica, with a 1 second timeout (at most half the sink's
     * {@link #timeout}), on every node that has a reachable replica, nothing on the others. The
     * sink asks each node it writes to, about once a second, on the node's own connection and
     * together with a flush's commands (no extra round trip): {@code INFO replication}, whose
     * replicas in state {@code online} that acknowledged within the last 3 seconds count. A node
     * not asked yet (or not for 5 seconds) counts as the sink's view of the cluster topology
     * shows it; a standalone server is first asked when the sink is built. So a replica that
     * comes online (an old master rejoining as the promoted master's replica) is waited for
     * within about a second, and a flush whose question finds a replica that its guess missed
     * sends {@code WAIT} before acknowledging. A replica that goes away is no longer waited for
     * within about a second, one that stops acknowledging (frozen, cut off) within about 5
     * seconds: the flushes that waited for it meanwhile fail and are retried, the later ones
     * succeed without waiting, rather than every write failing. Set explicitly, the nodes are
     * not asked: every node must reach {@code replicas} replicas, and a node without them fails
     * every part.
     *
     * <p>{@code WAIT} makes an acknowledged write survive the loss of its master, as long as one
     * of the replicas that acknowledged it is promoted; it is not a consensus: a failover that
     * promotes a replica that had not acknowledged the write (or an acknowledged one that dies
     * as well) still loses it.
     *
     * @param replicas how many replicas must acknowledge, 0 for none
     * @param timeout {@code WAIT}'s timeout: at least 1 ms (Redis reads 0 as forever), and
     *     shorter than {@link #timeout}
     * @return this builder
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code replicas} is negative or {@code timeout} is
     *     shorter than 1 ms
     */
    public Builder<K> waitForReplicas(int replicas, Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (replicas < 0) {
        throw new IllegalArgumentException("replicas must be at least 0: " + replicas);
      }
      if (timeout.compareTo(Duration.ofMillis(1)) < 0) {
        throw new IllegalArgumentException("the WAIT timeout must be at least 1 ms: " + timeout);
      }
      this.waitReplicas = replicas;
      this.waitTimeout = timeout;
      return this;
    }

    /**
     * Checks the options together, then connects: the only step of the builder that talks to
     * Redis. It opens the sink's connection (a cluster connection for a
     * {@link RedisClusterClient}), names it if {@link #clientName} is set, and loads the sink's
     * script ({@code SCRIPT LOAD}). On a standalone server it also asks the server its own
     * address ({@code CLIENT INFO}, for the node named in errors) and, with the default replica
     * waits, its replicas ({@code INFO replication}). If any of that fails, the connection is
     * closed again.
     *
     * @return a new sink, owning its connection
     * @throws IllegalStateException if neither or both of {@code keyMapper} and
     *     {@code hashMapper} are set, if {@code markerTtl}, {@code markerPrefix} or
     *     {@code name} is set with {@code exactlyOnce(false)} (there are no markers then), or if
     *     the {@code WAIT} timeout of {@link #waitForReplicas} is not shorter than
     *     {@link #timeout}
     * @throws io.lettuce.core.RedisException if Redis cannot be reached
     */
    public RedisSink<K> build() {
      if (keyMapper == null && hashKeyMapper == null) {
        throw new IllegalStateException("set keyMapper (string counters) or hashMapper (hashes)");
      }
      if (keyMapper != null && hashKeyMapper != null) {
        throw new IllegalStateException("keyMapper and hashMapper are both set; choose one");
      }
      if (waitTimeout.compareTo(timeout) >= 0 && waitReplicas > 0) {
        throw new IllegalStateException("the WAIT timeout (" + waitTimeout + ") must be shorter"
            + " than the sink's timeout (" + timeout + ")");
      }
      if (!exactlyOnce && markerOptionSet) {
        throw new IllegalStateException("markerTtl, markerPrefix and name configure the markers "
            + "of exactly-once, but exactlyOnce is false: drop them or exactlyOnce(false)");
      }
      boolean askReplicas = waitReplicas == Sending.AUTO_REPLICAS;
      // builder(RedisClient) or builder(RedisClusterClient) set exactly one of the two clients.
      Transport transport = (client != null)
          ? Transport.open(client, clientName, askReplicas)
          : Transport.open(Objects.requireNonNull(clusterClient, "clusterClient"), clientName);
      return new RedisSink<>(this, transport);
    }
  }
}
