package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The default {@code WAIT} on a cluster follows the replicas each master reports (issue 14), not
 * only the client's cached topology, which nothing refreshes when a killed master comes back as
 * the promoted master's replica. On a private cluster of three masters with a replica each
 * (started and stopped here): the master of the test's key is killed, its replica takes over
 * (no replica: no WAIT), the killed node comes back as that replica's replica (WAIT again, with
 * no failure to make the sink refresh its topology), and is killed again (no WAIT again, without
 * every write failing). Every count is applied exactly once.
 */
class ClusterReplicaWaitTest {
  private static final Duration NODE_TIMEOUT = Duration.ofMillis(2000);
  /** How long the sink may take to follow a replica coming or going (it asks every second). */
  private static final Duration BOUND = Duration.ofSeconds(10);
  /** The longest wait for a failover or a restart, or for the sink to reach the new master. */
  private static final Duration LIMIT = Duration.ofSeconds(30);

  @Test
  void killedMasterRejoinsAsReplica_waitedFor_thenKilledAgain_notWaitedFor() throws Exception {
    try (RedisTestCluster cluster = RedisTestCluster.start(3, 1, NODE_TIMEOUT)) {
      RedisClusterClient client = cluster.newClient();
      StatefulRedisClusterConnection<String, String> admin = client.connect();
      String key = "crw:" + Long.toString(System.nanoTime(), 36) + ":a";
      try (RedisSink<String> sink = RedisSink.<String>builder(client)
          .keyMapper(k -> k)
          .timeout(Duration.ofSeconds(5))
          .build()) {
        ReplicaWaitFlusher flusher = new ReplicaWaitFlusher(sink, key);
        int master = admin.getPartitions().getMasterBySlot(SlotHash.getSlot(key)).getUri()
            .getPort();
        int replica = cluster.replicaOf(master);
        assertThat(flusher.flush()).as(flusher.log())
            .isEqualTo(new ReplicaWaitFlusher.Attempt(true, true, null));
        String note = "master " + master + ", replica " + replica;
        try {
          cluster.kill(master);
          cluster.awaitFailover(master, LIMIT);
          assertThat(flusher.flushUntil(a -> a.ok() && !a.waited(), 3, LIMIT))
              .as("%s: flushes to the promoted replica, which has no replica, without WAIT:\n%s",
                  note, flusher.log()).isTrue();

          cluster.restart(master, LIMIT);
          assertThat(flusher.flushUntil(a -> a.ok() && a.waited(), 3, BOUND))
              .as("%s: flushes with WAIT once the killed master is back as a replica:\n%s",
                  note, flusher.log()).isTrue();
          // WAIT said the new replica has the writes (the ones before it synced come with its
          // sync): it has every acknowledged count.
          assertThat(readOnReplica(master, key))
              .isEqualTo(Long.toString(flusher.acknowledged()));

          cluster.kill(master);
          assertThat(flusher.flushUntil(a -> a.ok() && !a.waited(), 5, BOUND))
              .as("%s: flushes without WAIT once the replica is killed:\n%s",
                  note, flusher.log()).isTrue();
          System.out.println("Cluster replica waits (" + note + "): " + flusher.failures()
              + " failed attempts\n" + flusher.log());
        } catch (AssertionError | RuntimeException e) {
          System.out.println("Redis logs:\n" + cluster.logTails(40));
          throw e;
        }
        assertThat(flusher.pending()).isFalse();
        assertThat(admin.sync().get(key)).isEqualTo(Long.toString(flusher.acknowledged()));
      } finally {
        RedisTestCluster.stop(null, client, admin);
      }
    }
  }

  /** {@code GET key} on the replica on {@code port} ({@code READONLY} first). */
  private static String readOnReplica(int port, String key) {
    RedisClient direct = RedisClient.create(RedisURI.create("127.0.0.1", port));
    try (StatefulRedisConnection<String, String> connection = direct.connect()) {
      connection.sync().readOnly();
      return connection.sync().get(key);
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(5));
    }
  }
}
