package dev.statbuffer.redis;

import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.StringCodec;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The sink's one Lettuce connection, to a standalone server or to a cluster: it opens it, names
 * the node of a slot, hands out the per-node connection ("link") a node's commands are queued
 * on, tells whether a link has been down too long, refreshes the cluster topology, pushes out
 * queued commands and closes. Auto-flush is off: commands wait on their link until a flush.
 *
 * <p>Everything both kinds share lives here; {@link Standalone} and {@link Cluster} hold only
 * what differs: how a slot maps to a node, how a node's link is found, and the topology (a
 * cluster has one to refresh and to read replicas from; a standalone server has none).
 *
 * <h2>What may race, and why it is safe</h2>
 * One transport serves every concurrent flush of its sink, and Lettuce's own threads reconnect
 * and re-send underneath. A transport carries commands and never counts anything, so its races
 * can fail or delay a part but never apply one twice or lose one: a part that fails is retried
 * by the buffer, and the part's record in Redis makes the retry apply nothing twice.
 * <ul>
 *   <li>{@link #down}: flushes read and update the time each node was first seen down in a
 *       {@link ConcurrentHashMap}. Two threads that find a link down at once both call
 *       {@code computeIfAbsent}, and the first time wins; a thread that finds it open removes the
 *       entry. The verdict is racy (a link may come back just after it), but the race is benign:
 *       a node wrongly thought down has its parts failed and retried.
 *   <li>{@link #refresh}: a compare-and-set on the last refresh time, then one on a flag held
 *       until the refresh completes, lets one thread ask at a time and at most every
 *       {@link Cluster#REFRESH_NANOS}; the others return at once.
 *   <li>{@link #flushCommands} and a link's own {@code flushCommands()} may push out another
 *       thread's queued commands early: harmless, they are sent as they would be anyway.
 *   <li>The cluster's topology ({@link #node}, the replicas of a node) is Lettuce's, replaced as a
 *       whole on a refresh: a part routed on the old one gets {@code MOVED} and is retried.
 * </ul>
 */
abstract sealed class Transport permits Transport.Standalone, Transport.Cluster {
  /** The sink's logger: what the sink logs keeps one name, whichever room it comes from. */
  private static final System.Logger LOG = System.getLogger(RedisSink.class.getName());

  /**
   * How long a flush keeps waiting for a node whose connection is down: a cut connection
   * reconnects (and Lettuce re-sends) within milliseconds; a dead node does not, and its parts
   * should not hold the batch, and the buffer's threads, for the whole sink timeout.
   */
  static final long DOWN_GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  private final StatefulConnection<String, String> connection;
  private final ReplicaCounts replicaCounts;
  /** Since when (nanoTime) a node's link has been seen down, by node; absent when up. */
  private final Map<String, Long> downSince = new ConcurrentHashMap<>();

  private Transport(StatefulConnection<String, String> connection, ReplicaCounts replicaCounts) {
    this.connection = connection;
    this.replicaCounts = replicaCounts;
  }

  /**
   * Opens a connection to the standalone server of {@code client}'s default URI, names it
   * ({@code CLIENT SETNAME}, again after each reconnect), asks the server its own address
   * ({@code CLIENT INFO}), asks it for its replicas when {@code askReplicas}, loads the script,
   * and turns auto-flush off. Closes the connection if any of it fails.
   *
   * @param client the client, which stays the caller's
   * @param clientName the connection's name, or null for none
   * @param askReplicas whether to ask {@code INFO replication} now (default replica waits)
   * @return the transport, owning the connection
   * @throws RedisException if the server cannot be reached or refuses a command
   * @throws IllegalStateException if the server names the script with another SHA-1
   */
  static Transport open(RedisClient client, @Nullable String clientName, boolean askReplicas) {
    StatefulRedisConnection<String, String> connection = client.connect(StringCodec.UTF8);
    try {
      if (clientName != null) {
        connection.sync().clientSetname(clientName);
        // Lettuce does not replay CLIENT SETNAME after a reconnect: name the new connection.
        connection.addListener(new RedisConnectionStateListener() {
          @Override
          public void onRedisConnected(RedisChannelHandler<?, ?> handler, SocketAddress address) {
            connection.async().clientSetname(clientName).whenComplete((ok, e) -> {
              if (e != null) {
                LOG.log(System.Logger.Level.DEBUG, "CLIENT SETNAME after a reconnect failed", e);
              }
            });
            connection.flushCommands();
          }
        });
      }
      String node = "redis";
      try {
        // laddr= is the server's own address (Redis 6.2+).
        for (String field : connection.sync().clientInfo().trim().split(" ", -1)) {
          if (field.startsWith("laddr=")) {
            node = field.substring("laddr=".length());
          }
        }
      } catch (RedisException e) {
        LOG.log(System.Logger.Level.DEBUG, "CLIENT INFO failed; node named 'redis'", e);
      }
      // The first answer, so that the first flushes need not guess (see ReplicaCounts).
      int replicas = askReplicas ? ReplicaCounts.count(connection.sync().info("replication")) : -1;
      checkScript(connection.sync().scriptLoad(PartScript.SOURCE));
      connection.setAutoFlushCommands(false);
      return new Standalone(connection, node, replicas);
    } catch (RuntimeException e) {
      connection.close();
      throw e;
    }
  }

  /**
   * Opens a cluster connection with {@code client}, names the node connections open now
   * ({@code CLIENT SETNAME}, best effort: Lettuce opens the others lazily), loads the script on
   * every master and turns auto-flush off. Closes the connection if any of it fails.
   *
   * @param client the cluster client, which stays the caller's
   * @param clientName the connections' name, or null for none
   * @return the transport, owning the connection
   * @throws RedisException if the cluster cannot be reached or refuses a command
   * @throws IllegalStateException if a node names the script with another SHA-1
   */
  static Transport open(RedisClusterClient client, @Nullable String clientName) {
    StatefulRedisClusterConnection<String, String> connection = client.connect(StringCodec.UTF8);
    try {
      if (clientName != null) {
        connection.sync().clientSetname(clientName);
      }
      checkScript(connection.sync().scriptLoad(PartScript.SOURCE));
      connection.setAutoFlushCommands(false);
      return new Cluster(client, connection);
    } catch (RuntimeException e) {
      connection.close();
      throw e;
    }
  }

  private static void checkScript(String sha) {
    if (!PartScript.SHA.equals(sha)) {
      throw new IllegalStateException("Redis named the sink script " + sha + ", expected "
          + PartScript.SHA);
    }
  }

  /**
   * Whether this is a cluster connection.
   *
   * @return true on a cluster, false on a standalone server
   */
  final boolean cluster() {
    return this instanceof Cluster;
  }

  /**
   * The node serving {@code slot}, as {@code host:port}; on a cluster whose topology knows no
   * node for it, a text in parentheses saying so (which {@link #link} refuses).
   *
   * @param slot the hash slot (ignored on a standalone server)
   * @return the node's name
   */
  abstract String node(int slot);

  /**
   * The connection to {@code node}, on which its commands are queued, connecting if needed
   * until {@code deadline}.
   *
   * @param node a node as {@link #node} names it
   * @param deadline when to give up connecting ({@link System#nanoTime()})
   * @return the node's connection
   * @throws RedisConnectionException if there is none by then
   */
  abstract StatefulRedisConnection<String, String> link(String node, long deadline);

  /**
   * Asks for a fresh cluster topology, at most every so often and without waiting for it;
   * nothing on a standalone server.
   */
  void refresh() {}

  /**
   * The replicas of the nodes, as the nodes report them (for the default replica waits).
   *
   * @return the counts, shared by every flush of the sink
   */
  final ReplicaCounts replicaCounts() {
    return replicaCounts;
  }

  /**
   * Whether the link to {@code node} has been down for {@link #DOWN_GRACE_NANOS} or longer, as
   * the sink's flushes saw it (a link that just went down is given the time to reconnect:
   * Lettuce sends what was queued once it is back).
   *
   * @param node the node
   * @param link its connection
   * @return true if its parts should fail now rather than wait
   */
  final boolean down(String node, StatefulRedisConnection<String, String> link) {
    if (link.isOpen()) {
      downSince.remove(node);
      return false;
    }
    long now = System.nanoTime();
    return now - downSince.computeIfAbsent(node, n -> now) >= DOWN_GRACE_NANOS;
  }

  /** Pushes out the commands queued on the connection (all its node connections, on a cluster). */
  final void flushCommands() {
    connection.flushCommands();
  }

  /** Closes the connection (and a cluster's node connections); the client stays open. */
  final void close() {
    connection.close();
  }

  /** A standalone server (or a replica set's primary): one node, one link, no topology. */
  static final class Standalone extends Transport {
    private final StatefulRedisConnection<String, String> connection;
    private final String node;

    /**
     * A transport over {@code connection}.
     *
     * @param connection the open connection, auto-flush off
     * @param node the server's name ({@code host:port})
     * @param replicas what the server said of its replicas when opened, or -1 when not asked
     */
    Standalone(StatefulRedisConnection<String, String> connection, String node, int replicas) {
      // No topology: the server's last answer, the first one from the build.
      super(connection, new ReplicaCounts(null));
      this.connection = connection;
      this.node = node;
      if (replicas >= 0) {
        replicaCounts().seed(node, replicas);
      }
    }

    @Override
    String node(int slot) {
      return node;
    }

    @Override
    StatefulRedisConnection<String, String> link(String node, long deadline) {
      return connection;
    }
  }

  /**
   * A cluster connection whose parts are sent on the node connections it holds (the ones its
   * own routing uses), so that a part's {@code WAIT} follows it on the same connection. A part
   * sent to a node that no longer serves its slot gets {@code MOVED} (or {@code ASK}) as its
   * reply: it fails, the topology is refreshed, and the buffer's retry goes to the new node.
   */
  static final class Cluster extends Transport {
    /** The least time between two topology refreshes the sink asks for. */
    static final long REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private final RedisClusterClient client;
    private final StatefulRedisClusterConnection<String, String> connection;
    private final AtomicLong lastRefresh = new AtomicLong(System.nanoTime() - REFRESH_NANOS);
    private final AtomicBoolean refreshing = new AtomicBoolean();

    /**
     * A transport over {@code connection}.
     *
     * @param client the client that opened it, asked for topology refreshes
     * @param connection the open cluster connection, auto-flush off
     */
    Cluster(RedisClusterClient client, StatefulRedisClusterConnection<String, String> connection) {
      // The nodes' own answers, with the topology's view for the nodes not asked (lately).
      super(connection, new ReplicaCounts(node -> topologyReplicas(connection, node)));
      this.client = client;
      this.connection = connection;
    }

    @Override
    String node(int slot) {
      RedisClusterNode node = connection.getPartitions().getPartitionBySlot(slot);
      if (node == null || node.getUri() == null) {
        return "(no node known for slot " + slot + ")";
      }
      return node.getUri().getHost() + ":" + node.getUri().getPort();
    }

    @Override
    StatefulRedisConnection<String, String> link(String node, long deadline) {
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

    /**
     * The live replicas of {@code node} as {@code connection}'s topology shows them: it may lag
     * (nothing refreshes it when a replica joins), hence {@link ReplicaCounts}.
     */
    private static int topologyReplicas(StatefulRedisClusterConnection<String, String> connection,
                                        String node) {
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
    void refresh() {
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
  }
}
