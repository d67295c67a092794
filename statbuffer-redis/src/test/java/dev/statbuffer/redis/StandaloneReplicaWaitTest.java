package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The default {@code WAIT} on a standalone server follows the replicas the server reports
 * (issue 14), not what it reported when the sink was built: a replica attached later is waited
 * for, and one that stops or freezes is no longer waited for, without every write failing. Each
 * test starts its own servers ({@link RedisTestServer}: free ports, never the shared server) and
 * stops them; they fail, not skip, without {@code redis-server}.
 */
class StandaloneReplicaWaitTest {
  /** How long the sink may take to follow a change (it asks about once a second). */
  private static final Duration BOUND = Duration.ofSeconds(10);
  /**
   * A frozen replica is dropped once its last acknowledgement is more than 3 s old, and each
   * flush waiting for it meanwhile waits out WAIT's timeout (1 s): more time than {@link #BOUND}.
   */
  private static final Duration FROZEN_BOUND = Duration.ofSeconds(20);
  private static final String KEY = "rw:a";

  private static RedisSink<String> sink(RedisClient client) {
    return RedisSink.<String>builder(client)
        .keyMapper(k -> k)
        .timeout(Duration.ofSeconds(5))
        .build();
  }

  @Test
  void replicaAttachedAfterBuild_waitedFor_thenStopped_notWaitedFor() throws Exception {
    try (RedisTestServer master = RedisTestServer.start()) {
      RedisClient client = RedisClient.create(master.uri());
      try (StatefulRedisConnection<String, String> admin = client.connect();
           RedisSink<String> sink = sink(client)) {
        ReplicaWaitFlusher flusher = new ReplicaWaitFlusher(sink, KEY);
        assertThat(flusher.flush()).isEqualTo(new ReplicaWaitFlusher.Attempt(true, false, null));
        assertThat(sink.stats().replicaWaits()).isZero();

        try (RedisTestServer replica = RedisTestServer.start()) {
          replica.cli("replicaof", "127.0.0.1", Integer.toString(master.port()));
          awaitOnline(master, replica);
          assertThat(flusher.flushUntil(a -> a.ok() && a.waited(), 3, BOUND))
              .as("flushes with WAIT once the replica is online:\n%s", flusher.log()).isTrue();
          assertThat(flusher.failures()).as(flusher.log()).isZero();
          // WAIT said the replica has the writes: it has every acknowledged count.
          assertThat(replica.cli("get", KEY).trim())
              .isEqualTo(Long.toString(flusher.acknowledged()));

          replica.stop();
          assertThat(flusher.flushUntil(a -> a.ok() && !a.waited(), 5, BOUND))
              .as("flushes without WAIT once the replica is gone:\n%s", flusher.log()).isTrue();
          System.out.println("Replica stopped: " + flusher.failures() + " failed attempts\n"
              + flusher.log());
        }
        assertThat(flusher.pending()).isFalse();
        assertThat(admin.sync().get(KEY)).isEqualTo(Long.toString(flusher.acknowledged()));
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
      }
    }
  }

  @Test
  void replicaFrozen_notWaitedForOnceItStopsAcknowledging_waitedForAgainWhenResumed()
      throws Exception {
    try (RedisTestServer master = RedisTestServer.start();
         RedisTestServer replica = RedisTestServer.start()) {
      replica.cli("replicaof", "127.0.0.1", Integer.toString(master.port()));
      awaitOnline(master, replica);
      RedisClient client = RedisClient.create(master.uri());
      try (RedisSink<String> sink = sink(client)) {
        ReplicaWaitFlusher flusher = new ReplicaWaitFlusher(sink, KEY);
        assertThat(flusher.flush()).isEqualTo(new ReplicaWaitFlusher.Attempt(true, true, null));

        replica.freeze(true);
        try {
          assertThat(flusher.flushUntil(a -> a.ok() && !a.waited(), 5, FROZEN_BOUND))
              .as("flushes without WAIT once the frozen replica stops acknowledging:\n%s",
                  flusher.log()).isTrue();
        } finally {
          replica.freeze(false);
        }
        System.out.println("Replica frozen: " + flusher.failures() + " failed attempts\n"
            + flusher.log());
        assertThat(flusher.flushUntil(a -> a.ok() && a.waited(), 3, BOUND))
            .as("flushes with WAIT once the replica resumed:\n%s", flusher.log()).isTrue();
        assertThat(replica.cli("get", KEY).trim())
            .isEqualTo(Long.toString(flusher.acknowledged()));
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
      }
    }
  }

  /**
   * Waits until {@code master} reports {@code replica} online and {@code replica} has its link
   * to it up (it has loaded the master's data).
   */
  private static void awaitOnline(RedisTestServer master, RedisTestServer replica)
      throws Exception {
    long deadline = System.nanoTime() + BOUND.toNanos();
    String info = "";
    while (System.nanoTime() < deadline) {
      info = master.cli("info", "replication");
      if (info.contains("port=" + replica.port() + ",state=online")
          && replica.cli("info", "replication").contains("master_link_status:up")) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the replica did not come online in " + BOUND + ":\n" + info
        + "\n" + replica.log());
  }
}
