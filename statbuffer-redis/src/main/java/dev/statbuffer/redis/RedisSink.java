package dev.statbuffer.redis;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.RejectedKeysException;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.StringCodec;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
  private static final System.Logger LOG = System.getLogger(RedisSink.class.getName());

  /** How often a waiting flush pushes out queued commands again (reconnects). */
  private static final long REFLUSH_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /**
   * How long a flush keeps waiting for a node whose connection is down: a cut connection
   * reconnects (and Lettuce re-sends) within milliseconds; a dead node does not, and its parts
   * should not hold the batch, and the buffer's threads, for the whole {@link Builder#timeout}.
   */
  private static final long DOWN_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  /** {@link Builder#waitForReplicas} not set: WAIT for one replica on nodes that have one. */
  static final int AUTO_REPLICAS = -1;

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
  /** Replicas each part must reach: {@link #AUTO_REPLICAS}, 0 (no WAIT) or a number. */
  private final int waitReplicas;
  private final long waitMillis;
  /** The nodes' replicas as they report them, for {@link #AUTO_REPLICAS}. */
  private final ReplicaCounts replicaCounts;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Since when (nanoTime) a node's connection has been seen down, by node; absent when up. */
  private final Map<String, Long> downSince = new ConcurrentHashMap<>();

  private final LongAdder batches = new LongAdder();
  private final LongAdder failedBatches = new LongAdder();
  private final LongAdder roundTrips = new LongAdder();
  private final LongAdder commands = new LongAdder();
  private final LongAdder appliedParts = new LongAdder();
  private final LongAdder skippedParts = new LongAdder();
  private final LongAdder failedParts = new LongAdder();
  private final LongAdder increments = new LongAdder();
  private final LongAdder rejectedIncrements = new LongAdder();
  private final LongAdder replicaWaits = new LongAdder();
  private final LongAdder replicaWaitFailures = new LongAdder();

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
    this.waitReplicas = builder.waitReplicas;
    // The default's WAIT timeout fits in the sink's timeout, so that a slow replica fails the
    // part before the sink stops waiting for it.
    this.waitMillis = (builder.waitReplicas == AUTO_REPLICAS)
        ? Math.max(1, Math.min(builder.waitTimeout.toMillis(), builder.timeout.toMillis() / 2))
        : builder.waitTimeout.toMillis();
    this.replicaCounts = transport.replicaCounts();
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
      Part.Numbered numbered = numbered(batch);
      List<Part> parts = split(batch, numbered != null);
      run(parts, numbered, null);
      List<RedisSinkException.PartFailure> failures = new ArrayList<>();
      List<RejectedKeysException.Rejection> rejections = new ArrayList<>();
      for (Part part : parts) {
        if (part.reply == null || part.failure != null) {
          failedParts.increment();
          failures.add(part.failure(timeout));
          if (part.reply == null) {
            continue;
          }
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
        // Transient: the buffer retries the whole batch; parts applied now find their records.
        transport.refresh();
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

  /**
   * The sender's record field, number and watermark of a batch numbered by a buffer, or null for
   * a batch guarded by a marker (no sender, or exactly-once off).
   */
  private Part.Numbered numbered(FlushBatch<K> batch) {
    Optional<String> sender = batch.sender();
    if (!exactlyOnce || sender.isEmpty() || batch.sequence() < 1) {
      return null;
    }
    // settledBelow() <= sequence() by contract; a batch breaking it must not skip itself.
    long below = Math.max(0, Math.min(batch.settledBelow(), batch.sequence()));
    return new Part.Numbered(senderField(sender.get()), batch.sequence(), below);
  }

  /**
   * A sender's field in the state hashes: its hex digits as base64url (16 characters for a
   * buffer's 24), or {@code ~} and the sender as it is when it is not an even number of hex
   * digits. The two forms never meet ({@code ~} is not a base64url digit), and base64url of n
   * bytes has a length no other byte count gives, so different senders get different fields.
   */
  static String senderField(String sender) {
    if (sender.isEmpty() || sender.length() % 2 != 0 || !sender.matches("[0-9a-f]+")) {
      return "~" + sender;
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(HexFormat.of().parseHex(sender));
  }

  /** Runs the parts' scripts (with WAITs), re-sending with EVAL those whose node lost it. */
  private void run(List<Part> parts, Part.Numbered numbered, String sealId)
      throws InterruptedException {
    send(parts, false, numbered, sealId);
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
      send(lostScript, true, numbered, sealId);
      await(lostScript);
    }
  }

  /**
   * Groups the batch's counts into parts: one for a standalone server, one per slot on a cluster.
   * A numbered batch's parts are guarded by their slot's state hash, others by a marker each.
   */
  private List<Part> split(FlushBatch<K> batch, boolean numbered) {
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
        part = new Part(slot, transport.node(slot),
            numbered ? stateKey(slot) : markerKey(slot, batch.id()));
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

  /**
   * The state hash of the numbered batches applied in {@code slot} (-1 on a standalone server):
   * one field per sender. {@code S} is not a character of batch ids, so no marker key is a state
   * key.
   */
  String stateKey(int slot) {
    return (slot >= 0)
        ? markerPrefix + name + ":{" + SlotTags.tag(slot) + "}:S"
        : markerPrefix + name + ":S";
  }

  /**
   * Queues one script call per part on the connection of its node, each node's calls followed by
   * a {@code WAIT} when its writes must reach replicas, then writes them all: one round trip per
   * node. The parts of a node whose connection is down are failed at once, not queued.
   */
  private void send(List<Part> parts, boolean fullScript, Part.Numbered numbered, String sealId) {
    Map<String, List<Part>> byNode = new LinkedHashMap<>();
    for (Part part : parts) {
      part.reset();
      byNode.computeIfAbsent(part.node, n -> new ArrayList<>()).add(part);
    }
    String mode = (keyMapper != null) ? "s" : "h";
    long ttl = exactlyOnce ? markerTtlMillis : 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    List<StatefulRedisConnection<String, String>> links = new ArrayList<>();
    for (Map.Entry<String, List<Part>> group : byNode.entrySet()) {
      StatefulRedisConnection<String, String> link;
      try {
        link = transport.link(group.getKey(), deadline);
      } catch (RuntimeException e) {
        failAll(group.getValue(), e);
        continue;
      }
      if (down(group.getKey(), link)) {
        failAll(group.getValue(), new RedisConnectionException("the connection to "
            + group.getKey() + " has been down for " + TimeUnit.NANOSECONDS.toMillis(
                DOWN_GRACE_NANOS) + " ms or more (reconnecting); not sent"));
        continue;
      }
      RedisAsyncCommands<String, String> commands = link.async();
      links.add(link);
      // Before the parts: a probe this queues is answered before them (see ReplicaCounts).
      int replicas = (waitReplicas == AUTO_REPLICAS)
          ? Math.min(1, replicaCounts.replicas(group.getKey(), link)) : waitReplicas;
      for (Part part : group.getValue()) {
        part.link = link;
        boolean seal = sealId != null;
        String[] keys = seal ? part.sealKeys(markerKey(part.slot, sealId)) : part.keys();
        String[] args = seal ? part.sealArgs(ttl, numbered)
            : part.args(ttl, expireMillis, mode, numbered);
        try {
          part.future = fullScript
              ? commands.<String>eval(PartScript.SOURCE, ScriptOutputType.VALUE, keys, args)
              : commands.<String>evalsha(PartScript.SHA, ScriptOutputType.VALUE, keys, args);
          this.commands.increment();
        } catch (RuntimeException e) {
          part.failure = e;
        }
      }
      if (replicas > 0) {
        Part.Replication replication = new Part.Replication(replicas, waitMillis);
        try {
          replication.future = commands.waitForReplication(replicas, waitMillis);
          replicaWaits.increment();
        } catch (RuntimeException e) {
          replication.future = null;
        }
        for (Part part : group.getValue()) {
          part.replication = replication;
        }
      }
    }
    // Each connection written to, even one the cluster connection has meanwhile replaced.
    for (StatefulRedisConnection<String, String> link : links) {
      link.flushCommands();
    }
    roundTrips.add(links.size());
  }

  /**
   * Whether the connection to {@code node} has been down for {@link #DOWN_GRACE_NANOS} or
   * longer, as this sink's flushes saw it (a connection that just went down is given the time to
   * reconnect: Lettuce sends what was queued once it is back).
   */
  private boolean down(String node, StatefulRedisConnection<String, String> link) {
    if (link.isOpen()) {
      downSince.remove(node);
      return false;
    }
    long now = System.nanoTime();
    return now - downSince.computeIfAbsent(node, n -> now) >= DOWN_GRACE_NANOS;
  }

  private static void failAll(List<Part> parts, Throwable failure) {
    for (Part part : parts) {
      part.failure = failure;
    }
  }

  /**
   * Waits, up to the timeout for all together, for every part's reply and then its node's
   * {@code WAIT}, then for the late {@code WAIT}s of {@link ReplicaCounts#catchUp}. A part
   * whose reply came is collected even when the deadline passed while waiting for an earlier
   * part. A part whose node's connection stays down for {@link #DOWN_GRACE_NANOS} fails without
   * waiting out the timeout.
   */
  private void await(List<Part> parts) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Part part : parts) {
      if (part.future == null) {
        continue;
      }
      if (waitFor(part.future, part, deadline)) {
        collect(part);
      } else if (!part.future.isDone() && System.nanoTime() < deadline) {
        part.failure = new RedisConnectionException("the connection to " + part.node
            + " was lost and has not come back; no reply");
      }
      checkReplication(part, deadline);
    }
    if (waitReplicas != AUTO_REPLICAS) {
      return;
    }
    List<Part> late = replicaCounts.catchUp(parts, waitMillis);
    if (!late.isEmpty()) {
      Set<Part.Replication> sent = Collections.newSetFromMap(new IdentityHashMap<>());
      late.forEach(part -> sent.add(part.replication));
      roundTrips.add(sent.size());
      replicaWaits.add(sent.stream().filter(replication -> replication.future != null).count());
      // WAIT answers within waitMillis (at most half the timeout): give it that even when the
      // parts' replies used up the deadline.
      long lateDeadline = Math.max(deadline,
          System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * waitMillis));
      for (Part part : late) {
        checkReplication(part, lateDeadline);
      }
    }
  }

  /**
   * Waits until {@code deadline} for the {@code WAIT} sent after {@code part}, if any and if the
   * part was applied, and fails the part when too few replicas acknowledged it; with default
   * waits, a failed {@code WAIT} has its node asked for its replicas at once.
   */
  private void checkReplication(Part part, long deadline) throws InterruptedException {
    Part.Replication replication = part.replication;
    if (replication == null || part.reply == null || part.failure != null) {
      return;
    }
    String problem = null;
    if (replication.future == null) {
      problem = "WAIT could not be sent";
    } else if (!waitFor(replication.future, part, deadline)) {
      // waitFor gives up early when the node's connection is down: say which it was.
      problem = (System.nanoTime() < deadline)
          ? "no reply to WAIT: the connection to " + part.node + " was lost"
          : "no reply to WAIT within " + timeout;
    } else {
      try {
        long acked = replication.future.get();
        if (acked < replication.replicas) {
          problem = "WAIT " + replication.replicas + " " + replication.timeoutMillis
              + ": " + acked + " of " + replication.replicas + " replicas acknowledged the write"
              + " in time";
        }
      } catch (ExecutionException e) {
        problem = "WAIT failed: " + e.getCause();
      }
    }
    if (problem != null) {
      replicaWaitFailures.increment();
      part.failure = new ReplicaWaitException(problem + " (applied on the master; the"
          + " retry finds it applied and waits again)");
      if (waitReplicas == AUTO_REPLICAS) {
        // Its replica may be gone: let the retry decide on the node's own answer.
        replicaCounts.probeNow(part.node, part.link);
      }
    }
  }

  /**
   * Waits for {@code future} until {@code deadline}, pushing out queued commands meanwhile;
   * gives up early when the connection to {@code part}'s node has been down for
   * {@link #DOWN_GRACE_NANOS}.
   *
   * @return whether the future is done
   */
  private boolean waitFor(Future<?> future, Part part, long deadline)
      throws InterruptedException {
    for (;;) {
      if (future.isDone()) {
        return true;
      }
      long now = System.nanoTime();
      long left = deadline - now;
      if (left <= 0) {
        return false;
      }
      if (down(part.node, part.link)) {
        return false;
      }
      try {
        future.get(Math.min(left, REFLUSH_NANOS), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        // Commands re-queued by a reconnect wait for a flush: push them out.
        part.link.flushCommands();
        transport.flushCommands();
      } catch (ExecutionException e) {
        return true;
      }
    }
  }

  private void collect(Part part) throws InterruptedException {
    try {
      PartScript.Reply reply = PartScript.parse(part.future.get());
      if (reply.status() == PartScript.Status.FOREIGN) {
        // Its recorded refusals (if any) name places in other counters: they cannot be mapped.
        LOG.log(System.Logger.Level.WARNING, () -> "The record of this batch in " + part.guard
            + " was written for other counters: the part was skipped"
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
    Part.Numbered numbered = numbered(batch);
    if (numbered == null || closed.get()) {
      return;
    }
    try {
      List<Part> parts = split(batch, true);
      run(parts, numbered, batch.id());
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
    return new RedisSinkStats(batches.sum(), failedBatches.sum(), roundTrips.sum(),
        commands.sum(), appliedParts.sum(), skippedParts.sum(), failedParts.sum(),
        increments.sum(), rejectedIncrements.sum(), replicaWaits.sum(),
        replicaWaitFailures.sum());
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

  /** A part whose write did not reach enough replicas in time ({@code WAIT}). */
  static final class ReplicaWaitException extends RedisException {
    private static final long serialVersionUID = 1L;

    ReplicaWaitException(String message) {
      super(message);
    }
  }

  /** The connection, standalone or cluster. Thread-safe. */
  private interface Transport {
    boolean cluster();

    /** The node serving {@code slot} (ignored on a standalone server), as host:port. */
    String node(int slot);

    /**
     * The connection to {@code node} (as {@link #node} names it), connecting if needed until
     * {@code deadline} ({@link System#nanoTime()}).
     *
     * @throws RuntimeException if there is none
     */
    StatefulRedisConnection<String, String> link(String node, long deadline);

    /** The replicas of the nodes, as the nodes report them (default waits). */
    ReplicaCounts replicaCounts();

    /** Asks for a fresh cluster topology, at most every so often; nothing on a standalone server. */
    void refresh();

    void flushCommands();

    void close();
  }

  private static final class StandaloneTransport implements Transport {
    final StatefulRedisConnection<String, String> connection;
    final String node;
    /** No topology: the server's last answer, the first one from the build. */
    final ReplicaCounts replicaCounts = new ReplicaCounts(null);

    /** {@code replicas}: what the server said at the build, or -1 when it was not asked. */
    StandaloneTransport(StatefulRedisConnection<String, String> connection, String node,
                        int replicas) {
      this.connection = connection;
      this.node = node;
      if (replicas >= 0) {
        replicaCounts.seed(node, replicas);
      }
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
    public StatefulRedisConnection<String, String> link(String node, long deadline) {
      return connection;
    }

    @Override
    public ReplicaCounts replicaCounts() {
      return replicaCounts;
    }

    @Override
    public void refresh() {}

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
   * A cluster connection whose parts are sent on the node connections it holds (the ones its
   * own routing uses), so that a part's {@code WAIT} follows it on the same connection. A part
   * sent to a node that no longer serves its slot gets {@code MOVED} (or {@code ASK}) as its
   * reply: it fails, the topology is refreshed, and the buffer's retry goes to the new node.
   */
  private static final class ClusterTransport implements Transport {
    /** The least time between two topology refreshes the sink asks for. */
    private static final long REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    final RedisClusterClient client;
    final StatefulRedisClusterConnection<String, String> connection;
    /** The nodes' own answers, with the topology's view for the nodes not asked (lately). */
    final ReplicaCounts replicaCounts = new ReplicaCounts(this::replicas);
    private final AtomicLong lastRefresh = new AtomicLong(System.nanoTime() - REFRESH_NANOS);
    private final AtomicBoolean refreshing = new AtomicBoolean();

    ClusterTransport(RedisClusterClient client,
                     StatefulRedisClusterConnection<String, String> connection) {
      this.client = client;
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
    public StatefulRedisConnection<String, String> link(String node, long deadline) {
      int colon = node.lastIndexOf(':');
      if (node.startsWith("(") || colon < 0) {
        throw new RedisConnectionException(node);
      }
      CompletableFuture<StatefulRedisConnection<String, String>> future =
          connection.getConnectionAsync(node.substring(0, colon),
              Integer.parseInt(node.substring(colon + 1)));
      try {
        return future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RedisConnectionException("interrupted while connecting to " + node, e);
      } catch (ExecutionException e) {
        throw new RedisConnectionException("cannot connect to " + node + ": " + e.getCause(),
            e.getCause());
      } catch (TimeoutException e) {
        throw new RedisConnectionException("cannot connect to " + node + " in time", e);
      }
    }

    @Override
    public ReplicaCounts replicaCounts() {
      return replicaCounts;
    }

    /**
     * The live replicas of {@code node} as the connection's topology shows them: it may lag
     * (nothing refreshes it when a replica joins), hence {@link ReplicaCounts}.
     */
    int replicas(String node) {
      RedisClusterNode master = null;
      for (RedisClusterNode candidate : connection.getPartitions()) {
        if (candidate.getUri() != null && node.equals(candidate.getUri().getHost() + ":"
            + candidate.getUri().getPort())) {
          master = candidate;
          break;
        }
      }
      if (master == null) {
        return 0;
      }
      int replicas = 0;
      for (RedisClusterNode candidate : connection.getPartitions()) {
        if (master.getNodeId().equals(candidate.getSlaveOf())
            && !candidate.is(RedisClusterNode.NodeFlag.FAIL)
            && !candidate.is(RedisClusterNode.NodeFlag.EVENTUAL_FAIL)
            && !candidate.is(RedisClusterNode.NodeFlag.HANDSHAKE)
            && !candidate.is(RedisClusterNode.NodeFlag.NOADDR)) {
          replicas++;
        }
      }
      return replicas;
    }

    @Override
    public void refresh() {
      long now = System.nanoTime();
      long last = lastRefresh.get();
      if (now - last < REFRESH_NANOS || !lastRefresh.compareAndSet(last, now)
          || !refreshing.compareAndSet(false, true)) {
        return;
      }
      try {
        client.refreshPartitionsAsync().whenComplete((ok, e) -> {
          refreshing.set(false);
          if (e != null) {
            LOG.log(System.Logger.Level.DEBUG, "Cluster topology refresh failed", e);
          }
        });
      } catch (RuntimeException e) {
        refreshing.set(false);
        LOG.log(System.Logger.Level.DEBUG, "Cluster topology refresh failed", e);
      }
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
    private int waitReplicas = AUTO_REPLICAS;
    private Duration waitTimeout = Duration.ofSeconds(1);

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
      if (waitTimeout.compareTo(timeout) >= 0 && waitReplicas > 0) {
        throw new IllegalStateException("the WAIT timeout (" + waitTimeout + ") must be shorter"
            + " than the sink's timeout (" + timeout + ")");
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
        int replicas = -1;
        if (waitReplicas == AUTO_REPLICAS) {
          // The first answer, so that the first flushes need not guess (see ReplicaCounts).
          replicas = ReplicaCounts.count(connection.sync().info("replication"));
        }
        loadScript(connection.sync().scriptLoad(PartScript.SOURCE));
        connection.setAutoFlushCommands(false);
        return new StandaloneTransport(connection, node, replicas);
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
        return new ClusterTransport(clusterClient, connection);
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
