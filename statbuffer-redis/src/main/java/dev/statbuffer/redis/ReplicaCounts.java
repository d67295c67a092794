package dev.statbuffer.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;

/**
 * How many reachable replicas each node has, as the node itself says, for the default of
 * {@link RedisSink.Builder#waitForReplicas} ({@code WAIT} for one replica on the nodes that have
 * one). Thread-safe.
 *
 * <h2>What is asked</h2>
 * {@code INFO replication}, counting its {@code slaveN:ip=...,state=online,...,lag=L} lines
 * with {@code state=online} and {@code lag} at most {@link #LAG_LIMIT_SECONDS}. Not
 * {@code ROLE}: it lists replicas without the age of their last acknowledgement, so a replica
 * that is frozen or cut off (still connected as far as the master knows, for up to
 * {@code repl-timeout}) would count, and every write would wait out {@code WAIT}'s timeout and
 * fail. {@code lag} is the seconds since the replica's last {@code REPLCONF ACK}, which a live
 * replica sends every second, so it tells such a replica apart. Not {@code connected_slaves}
 * either: it also counts replicas still syncing, which cannot acknowledge anything yet.
 *
 * <h2>When it is asked</h2>
 * Only while the sink writes to the node, at most about once a second: when a flush finds the
 * node's answer older than {@link #REFRESH_NANOS}, it queues the question (a <em>probe</em>) on
 * the node's own connection ahead of the flush's script calls. The probe goes out with them, so
 * it adds no round trip, and no flush waits for its answer: the answer serves the decisions that
 * come after it. A {@code WAIT} that failed asks at once (flushed by itself), so that a replica
 * that went away costs the flushes already under way, not one more.
 *
 * <h2>How a node is decided</h2>
 * {@link #replicas}: the node's answer while it is at most {@link #TRUST_NANOS} old (the node is
 * the authority on which replicas are connected to it); otherwise the topology view when there
 * is one (a cluster: Lettuce's partitions, for a node not asked yet or not lately, such as one
 * just promoted), or else the last answer (a standalone server, whose first answer comes from
 * the sink's build).
 *
 * <h2>The first sending to a node, and replicas that come and go</h2>
 * No synchronous question is needed, not even for the first sending to a node. The probe is
 * queued ahead of the parts on the same connection, Redis answers a connection's commands in
 * order, and Lettuce completes them in order on its I/O thread, running the probe's callback
 * (which records the answer) before it completes the parts' replies. So when the sink has the
 * replies of parts it sent without {@code WAIT}, a probe that rode with them has answered, and
 * {@link #catchUp} asks {@link #known} again: if the node now has a replica, it sends
 * {@code WAIT} before the sink acknowledges those parts ({@code WAIT} covers every earlier write
 * of the connection). A wrong guess then costs one more round trip, never an acknowledgement
 * without {@code WAIT}, for the flushes that carry a probe. The flushes between two probes use
 * the value known: after a
 * replica comes online (an old master rejoining as the promoted master's replica), writes may be
 * acknowledged without {@code WAIT} for at most about a second (until the next probe) instead
 * of until the next topology refresh.
 *
 * <h2>What may race, and why it is safe</h2>
 * <ul>
 *   <li>Flushes on several threads decide for one node at once. Each reads an immutable
 *       {@link Answer} through an atomic reference; a compare-and-set on the node's last
 *       {@link Probe} lets one of them send the probe, and the others use the value known.
 *   <li>Answers may complete out of order (a cluster node's connection replaced between two
 *       probes): an answer replaces the known one only if its probe was sent later, so an old
 *       answer never overwrites a newer one.
 *   <li>A decision is old the moment it is made: a replica may attach or vanish right after it.
 *       Too few (no {@code WAIT} though a replica came): the check after the replies catches it
 *       when a probe rode with the flush; otherwise the writes are acknowledged as they would be
 *       without a replica, for at most about a second. Too many ({@code WAIT} though the replica
 *       is gone): the {@code WAIT} times out, its parts fail and the batch is retried, and the
 *       retry decides on the probe the failure sent. Neither loses nor doubles a count: a failed
 *       part is retried, and the sink's records make a retry apply nothing twice.
 *   <li>A late {@code WAIT}, like the one queued after the parts, covers the writes of the
 *       connection it goes on: were the connection cut and re-established between the parts'
 *       replies and it, it would cover nothing. Its window is one round trip, and only on the
 *       rare flushes that need it.
 *   <li>A probe that gets no answer (a node down): one at a time per node, another only after
 *       {@link #STUCK_NANOS}. A probe the node refuses (an ACL without {@code INFO}) is logged,
 *       and the view, or the last answer, stays in use.
 * </ul>
 */
final class ReplicaCounts {
  private static final System.Logger LOG = System.getLogger(ReplicaCounts.class.getName());

  /** How old a node's answer may get before the next flush to the node asks again. */
  static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** How long a node's answer is preferred to the topology view. */
  static final long TRUST_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** How long an unanswered probe keeps the next one from being sent. */
  static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(5);

  /**
   * The most seconds since a replica's last acknowledgement for it to count: a live replica
   * acknowledges every second (and at once when {@code WAIT} asks it to).
   */
  static final int LAG_LIMIT_SECONDS = 3;

  /** The topology's count for a node, or null when there is no topology (standalone). */
  private final @Nullable ToIntFunction<String> view;
  private final LongSupplier clock;
  private final Map<String, Node> nodes = new ConcurrentHashMap<>();

  /**
   * Counts without answers yet, on {@link System#nanoTime()}.
   *
   * @param view the replicas of a node as the topology shows them, or null without topology
   */
  ReplicaCounts(@Nullable ToIntFunction<String> view) {
    this(view, System::nanoTime);
  }

  /** Counts on {@code clock} (nanoseconds, as {@link System#nanoTime()}). */
  ReplicaCounts(@Nullable ToIntFunction<String> view, LongSupplier clock) {
    this.view = view;
    this.clock = clock;
  }

  /** Records what {@code node} said just now, outside a flush (when the sink is built). */
  void seed(String node, int replicas) {
    node(node).offer(new Answer(replicas, clock.getAsLong()));
  }

  /**
   * The replicas to count for {@code node} now; queues a probe on {@code link}, without
   * flushing it, when the node's answer is due for a refresh. Call it before queuing the
   * flush's commands on {@code link}, so that the probe's reply comes before theirs.
   *
   * @param node the node, as the sink names it
   * @param link the node's connection, which the caller flushes
   * @return the reachable replicas as far as known
   */
  int replicas(String node, StatefulRedisConnection<String, String> link) {
    Node state = node(node);
    long now = clock.getAsLong();
    Answer answer = state.answer.get();
    if (answer == null || now - answer.askedAt >= REFRESH_NANOS) {
      probe(node, state, link, now, false);
    }
    return decide(node, state, now);
  }

  /**
   * The replicas to count for {@code node} now, without asking it.
   *
   * @param node the node, as the sink names it
   * @return the reachable replicas as far as known
   */
  int known(String node) {
    return decide(node, node(node), clock.getAsLong());
  }

  /**
   * Asks {@code node} at once (flushing {@code link}) unless a probe is already on its way: a
   * {@code WAIT} on it failed, so its replicas may be gone.
   *
   * @param node the node, as the sink names it
   * @param link the node's connection
   */
  void probeNow(String node, StatefulRedisConnection<String, String> link) {
    probe(node, node(node), link, clock.getAsLong(), true);
  }

  /**
   * For the parts sent without {@code WAIT} and applied, to a node that has a replica now as far
   * as known (the answer to a probe queued ahead of them came in meanwhile): sends
   * {@code WAIT 1 waitMillis} now on each of their connections (it covers every earlier write
   * of the connection), flushes them, and returns those parts, each with its connection's
   * {@link Part.Replication} (whose future is null if it could not be sent).
   *
   * @param parts a flush's parts, their replies collected
   * @param waitMillis {@code WAIT}'s timeout
   * @return the parts given a late {@code WAIT}
   */
  List<Part> catchUp(List<Part> parts, long waitMillis) {
    List<Part> late = new ArrayList<>();
    IdentityHashMap<StatefulRedisConnection<String, String>, Part.Replication> waits =
        new IdentityHashMap<>();
    for (Part part : parts) {
      if (part.replication != null || part.reply == null || part.failure != null
          || part.link == null || known(part.node) < 1) {
        continue;
      }
      Part.Replication replication = waits.get(part.link);
      if (replication == null) {
        replication = new Part.Replication(1, waitMillis);
        try {
          replication.future = part.link.async().waitForReplication(1, waitMillis);
        } catch (RuntimeException e) {
          replication.future = null;
        }
        waits.put(part.link, replication);
      }
      part.replication = replication;
      late.add(part);
    }
    for (StatefulRedisConnection<String, String> link : waits.keySet()) {
      link.flushCommands();
    }
    return late;
  }

  /**
   * The replicas an {@code INFO replication} text lists as online and acknowledging: its
   * {@code slaveN:} lines with {@code state=online} and {@code lag} at most
   * {@link #LAG_LIMIT_SECONDS} (a line without {@code lag} counts).
   *
   * @param info the text of {@code INFO replication}
   * @return the count
   */
  static int count(String info) {
    int replicas = 0;
    for (String line : info.split("\r?\n", -1)) {
      int colon = line.indexOf(':');
      if (colon < 6 || !line.startsWith("slave")
          || !line.substring(5, colon).chars().allMatch(Character::isDigit)) {
        continue;
      }
      boolean online = false;
      long lag = 0;
      for (String field : line.substring(colon + 1).trim().split(",", -1)) {
        if (field.equals("state=online")) {
          online = true;
        } else if (field.startsWith("lag=")) {
          try {
            lag = Long.parseLong(field.substring("lag=".length()));
          } catch (NumberFormatException e) {
            lag = Long.MAX_VALUE;
          }
        }
      }
      if (online && lag <= LAG_LIMIT_SECONDS) {
        replicas++;
      }
    }
    return replicas;
  }

  private Node node(String node) {
    return nodes.computeIfAbsent(node, n -> new Node());
  }

  private int decide(String node, Node state, long now) {
    Answer answer = state.answer.get();
    if (answer != null && now - answer.askedAt <= TRUST_NANOS) {
      return answer.replicas;
    }
    if (view != null) {
      return view.applyAsInt(node);
    }
    return (answer == null) ? 0 : answer.replicas;
  }

  /**
   * Sends {@code INFO replication} on {@code link} if this thread wins the node's next probe:
   * none unanswered (for less than {@link #STUCK_NANOS}) and, unless {@code urgent}, none sent
   * within {@link #REFRESH_NANOS}.
   */
  private void probe(String node, Node state, StatefulRedisConnection<String, String> link,
                     long now, boolean urgent) {
    Probe last = state.probe.get();
    if (last != null) {
      long since = now - last.sentAt;
      if ((!last.answered.isDone() && since < STUCK_NANOS)
          || (!urgent && since < REFRESH_NANOS)) {
        return;
      }
    }
    Probe next = new Probe(now, new CompletableFuture<>());
    if (!state.probe.compareAndSet(last, next)) {
      return; // another thread asks
    }
    try {
      RedisFuture<String> reply = link.async().info("replication");
      reply.whenComplete((info, e) -> {
        try {
          if (e == null) {
            state.offer(new Answer(count(info), next.sentAt));
          } else {
            failed(node, state, e);
          }
        } finally {
          next.answered.complete(null);
        }
      });
      if (urgent) {
        link.flushCommands();
      }
    } catch (RuntimeException e) {
      next.answered.complete(null);
      failed(node, state, e);
    }
  }

  /**
   * Logs a probe that failed: the node's refusal ({@code NOPERM}: an ACL without {@code INFO})
   * once at WARNING, anything else (a lost connection, a node still loading) at DEBUG.
   */
  private static void failed(String node, Node state, Throwable e) {
    if (e instanceof RedisCommandExecutionException
        && String.valueOf(e.getMessage()).startsWith("NOPERM")
        && state.warned.compareAndSet(false, true)) {
      LOG.log(System.Logger.Level.WARNING, () -> node + " refused INFO replication (" + e
          + "): the sink cannot see its replicas come and go, and waits for replicas as the "
          + "cluster topology (or, on a standalone server, the last answer) shows them");
    } else {
      LOG.log(System.Logger.Level.DEBUG, () -> "Could not ask " + node + " for its replicas", e);
    }
  }

  /** One node's last answer and last probe. */
  private static final class Node {
    final AtomicReference<Answer> answer = new AtomicReference<>();
    final AtomicReference<Probe> probe = new AtomicReference<>();
    final AtomicBoolean warned = new AtomicBoolean();

    /** Keeps {@code next} unless the known answer came from a later probe. */
    void offer(Answer next) {
      answer.accumulateAndGet(next,
          (known, offered) -> (known != null && known.askedAt - offered.askedAt > 0)
              ? known : offered);
    }
  }

  /**
   * What a node said.
   *
   * @param replicas its reachable replicas
   * @param askedAt when the question was sent ({@link System#nanoTime()} scale): the node's
   *     state is at least that recent
   */
  private record Answer(int replicas, long askedAt) {}

  /**
   * A question sent to a node.
   *
   * @param sentAt when it was queued
   * @param answered completed once its reply (or failure) has been handled
   */
  private record Probe(long sentAt, CompletableFuture<Void> answered) {}
}
