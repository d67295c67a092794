package dev.statbuffer.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Puts a flush's parts on the wire and collects their outcome ({@link #run}): {@link #send}
 * queues one script call per part on its node's connection, each node's calls followed by a
 * {@code WAIT} when its writes must reach replicas, and writes them all with one flush per node
 * (one round trip per node); {@link #await} waits, up to the sink's timeout for all together,
 * for every part's reply and its node's {@code WAIT}, and records on each part its reply or its
 * failure. Thread-safe.
 *
 * <h2>What may race, and why no count is lost or doubled</h2>
 * <ul>
 *   <li>A flush's {@link Part}s are confined to the flushing thread: it sets their futures in
 *       {@link #send} and reads them in {@link #await}. Lettuce completes the futures on its I/O
 *       threads; a reply is read only through the future ({@code isDone}/{@code get}), which
 *       publishes it to the flushing thread.
 *   <li>Concurrent flushes queue commands on the same per-node connections, and one flush's
 *       {@code flushCommands()} may write out another's queued commands early: harmless, each
 *       command is written once, in the order it was queued, and each future is completed once
 *       by its own reply.
 *   <li>A {@code WAIT} covers every earlier write of its connection, including other flushes'
 *       parts: it can only make a part safer than asked, never less.
 *   <li>A part counts as applied only when its script's reply is collected. A part whose reply
 *       does not come (timeout, a link down, a cut connection) fails even if Redis applied it;
 *       the buffer then retries the batch, and the part's record in Redis (marker or state hash)
 *       makes the retry skip it: a count is never lost for a lost reply, and never applied twice.
 *   <li>The stats are {@link StatsCounter} adders: each command, round trip and {@code WAIT} is
 *       counted once, by the thread that sent it.
 * </ul>
 */
final class Sending {
  /** The sink's logger: what the sink logs keeps one name, whichever room it comes from. */
  private static final System.Logger LOG = System.getLogger(RedisSink.class.getName());

  /** How often a waiting flush pushes out queued commands again (reconnects). */
  private static final long REFLUSH_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** {@code waitForReplicas} not set: WAIT for one replica on nodes that have one. */
  static final int AUTO_REPLICAS = -1;

  private final Transport transport;
  /** The nodes' replicas as they report them, for {@link #AUTO_REPLICAS}. */
  private final ReplicaCounts replicaCounts;
  private final StatsCounter stats;
  private final Duration timeout;
  /** Replicas each part must reach: {@link #AUTO_REPLICAS}, 0 (no WAIT) or a number. */
  private final int waitReplicas;
  private final long waitMillis;
  private final long ttlMillis;
  private final long expireMillis;
  private final String mode;
  private final String sinkName;

  /**
   * A sending over {@code transport}.
   *
   * @param transport the sink's connection
   * @param stats where commands, round trips and {@code WAIT}s are counted
   * @param timeout how long one flush waits for all its replies
   * @param waitReplicas replicas each part must reach: {@link #AUTO_REPLICAS}, 0 or a number
   * @param waitTimeout {@code WAIT}'s timeout as configured
   * @param ttlMillis the TTL of markers and state hashes, 0 with exactly-once off
   * @param expireMillis the TTL of counter keys, 0 for none
   * @param hash whether counters are hash fields (else strings)
   * @param sinkName the sink's name, for the warning about a record of other counters
   */
  Sending(Transport transport, StatsCounter stats, Duration timeout, int waitReplicas,
          Duration waitTimeout, long ttlMillis, long expireMillis, boolean hash,
          String sinkName) {
    this.transport = transport;
    this.replicaCounts = transport.replicaCounts();
    this.stats = stats;
    this.timeout = timeout;
    this.waitReplicas = waitReplicas;
    // The default's WAIT timeout fits in the sink's timeout, so that a slow replica fails the
    // part before the sink stops waiting for it.
    this.waitMillis = (waitReplicas == AUTO_REPLICAS)
        ? Math.max(1, Math.min(waitTimeout.toMillis(), timeout.toMillis() / 2))
        : waitTimeout.toMillis();
    this.ttlMillis = ttlMillis;
    this.expireMillis = expireMillis;
    this.mode = hash ? "h" : "s";
    this.sinkName = sinkName;
  }

  /**
   * Sends the parts ({@link #send}) and waits for them ({@link #await}), then sends again, with
   * the script itself, the parts whose node had lost the script ({@code NOSCRIPT}: the node
   * restarted, failed over or flushed its script cache) and waits for those.
   *
   * @param parts the parts of one batch
   * @param numbered the batch's number and sender, or null for a marker-guarded batch
   * @throws InterruptedException if interrupted while waiting
   */
  void run(List<Part> parts, Part.@Nullable Numbered numbered) throws InterruptedException {
    send(parts, /* fullScript= */ false, numbered);
    await(parts);
    List<Part> lostScript = new ArrayList<>();
    for (Part part : parts) {
      if (part.failure instanceof RedisCommandExecutionException
          && String.valueOf(part.failure.getMessage()).startsWith("NOSCRIPT")) {
        lostScript.add(part);
      }
    }
    if (!lostScript.isEmpty()) {
      LOG.log(System.Logger.Level.DEBUG, "Redis lost the sink script; re-sending it with EVAL");
      send(lostScript, /* fullScript= */ true, numbered);
      await(lostScript);
    }
  }

  /**
   * Queues one script call per part on the connection of its node, each node's calls followed by
   * a {@code WAIT} when its writes must reach replicas, then writes them all: one round trip per
   * node. The parts of a node whose connection is down are failed at once, not queued. A part
   * with a {@link Part#sealMarker} is sealed rather than applied.
   *
   * @param parts the parts, their outcome of an earlier sending forgotten
   * @param fullScript whether to send the script itself ({@code EVAL}) rather than its SHA-1
   * @param numbered the batch's number and sender, or null for a marker-guarded batch
   */
  void send(List<Part> parts, boolean fullScript, Part.@Nullable Numbered numbered) {
    Map<String, List<Part>> byNode = new LinkedHashMap<>();
    for (Part part : parts) {
      part.reset();
      byNode.computeIfAbsent(part.node, n -> new ArrayList<>()).add(part);
    }
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
      if (transport.down(group.getKey(), link)) {
        failAll(group.getValue(), new RedisConnectionException("the connection to "
            + group.getKey() + " has been down for " + TimeUnit.NANOSECONDS.toMillis(
                Transport.DOWN_GRACE_NANOS) + " ms or more (reconnecting); not sent"));
        continue;
      }
      RedisAsyncCommands<String, String> commands = link.async();
      links.add(link);
      // Before the parts: a probe this queues is answered before them (see ReplicaCounts).
      int replicas = (waitReplicas == AUTO_REPLICAS)
          ? Math.min(1, replicaCounts.replicas(group.getKey(), link)) : waitReplicas;
      for (Part part : group.getValue()) {
        part.link = link;
        boolean seal = part.sealMarker != null;
        String[] keys = seal ? part.sealKeys() : part.keys();
        // Only onDrop seals, and only a numbered batch (Splitter#split's sealId).
        String[] args = seal
            ? part.sealArgs(ttlMillis, Objects.requireNonNull(numbered, "numbered"))
            : part.args(ttlMillis, expireMillis, mode, numbered);
        try {
          part.future = fullScript
              ? commands.<String>eval(PartScript.SOURCE, ScriptOutputType.VALUE, keys, args)
              : commands.<String>evalsha(PartScript.SHA, ScriptOutputType.VALUE, keys, args);
          stats.commands.increment();
        } catch (RuntimeException e) {
          part.failure = e;
        }
      }
      if (replicas > 0) {
        Part.Replication replication = new Part.Replication(replicas, waitMillis);
        try {
          replication.future = commands.waitForReplication(replicas, waitMillis);
          stats.replicaWaits.increment();
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
    stats.roundTrips.add(links.size());
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
   * part. A part whose node's connection stays down for {@link Transport#DOWN_GRACE_NANOS}
   * fails without waiting out the timeout.
   *
   * @param parts the parts {@link #send} sent
   * @throws InterruptedException if interrupted while waiting
   */
  void await(List<Part> parts) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Part part : parts) {
      if (part.future == null) {
        continue;
      }
      if (waitFor(part.future, part, deadline)) {
        collect(part, part.future);
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
      stats.roundTrips.add(sent.size());
      stats.replicaWaits.add(
          sent.stream().filter(replication -> replication.future != null).count());
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
      stats.replicaWaitFailures.increment();
      part.failure = new ReplicaWaitException(problem + " (applied on the master; the"
          + " retry finds it applied and waits again)");
      if (waitReplicas == AUTO_REPLICAS) {
        // Its replica may be gone: let the retry decide on the node's own answer.
        replicaCounts.probeNow(part.node, linkOf(part));
      }
    }
  }

  /**
   * Waits for {@code future} until {@code deadline}, pushing out queued commands meanwhile;
   * gives up early when the connection to {@code part}'s node has been down for
   * {@link Transport#DOWN_GRACE_NANOS}.
   *
   * @return whether the future is done
   */
  private boolean waitFor(Future<?> future, Part part, long deadline)
      throws InterruptedException {
    StatefulRedisConnection<String, String> link = linkOf(part);
    for (;;) {
      if (future.isDone()) {
        return true;
      }
      long now = System.nanoTime();
      long left = deadline - now;
      if (left <= 0) {
        return false;
      }
      if (transport.down(part.node, link)) {
        return false;
      }
      try {
        future.get(Math.min(left, REFLUSH_NANOS), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        // Commands re-queued by a reconnect wait for a flush: push them out.
        link.flushCommands();
        transport.flushCommands();
      } catch (ExecutionException e) {
        return true;
      }
    }
  }

  /**
   * The connection {@code part} was sent on: {@link #send} sets it before the part's future and
   * its {@code WAIT}, and {@link ReplicaCounts#catchUp} sends a late {@code WAIT} only on it.
   */
  private static StatefulRedisConnection<String, String> linkOf(Part part) {
    return Objects.requireNonNull(part.link, "part.link (set by send before its future or WAIT)");
  }

  /**
   * Records the part's parsed reply, or its failure; warns of a record of other counters.
   *
   * @param part the part
   * @param future its script call's reply ({@link Part#future}), done
   */
  private void collect(Part part, RedisFuture<String> future) throws InterruptedException {
    try {
      PartScript.Reply reply = PartScript.parse(future.get());
      if (reply.status() == PartScript.Status.FOREIGN) {
        // Its recorded refusals (if any) name places in other counters: they cannot be mapped.
        LOG.log(System.Logger.Level.WARNING, () -> "The record of this batch in " + part.guard
            + " was written for other counters: the part was skipped"
            + (reply.refusals().isEmpty() ? "" : " (its first attempt had "
                + reply.refusals().size() + " counters refused by Redis, which cannot be named "
                + "now and count as delivered)")
            + ". If two sinks receive the same batches, give "
            + "each its own name(...) (this one is '" + sinkName + "'); otherwise the mappers map "
            + "the retried batch to other keys than its first attempt.");
      }
      part.reply = reply;
    } catch (ExecutionException e) {
      part.failure = (e.getCause() != null) ? e.getCause() : e;
    } catch (IllegalStateException e) { // cancelled, or a reply the script does not give
      part.failure = e;
    }
  }

  /** A part whose write did not reach enough replicas in time ({@code WAIT}). */
  static final class ReplicaWaitException extends RedisException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with {@code message}.
     *
     * @param message what {@code WAIT} said, and what it means for the part
     */
    ReplicaWaitException(String message) {
      super(message);
    }
  }
}
