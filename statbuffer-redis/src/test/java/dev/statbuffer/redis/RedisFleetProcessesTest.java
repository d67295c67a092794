package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.KeyValue;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A fleet in the suite (issue 14): four producer JVMs ({@link RedisFleetWriter}) count uniformly
 * random keys out of 2 000 shared ones into a private Redis Cluster of three masters with a
 * replica each, through {@link RedisSink}s with default settings (so each node's writes are
 * acknowledged only once its replica has them: {@code WAIT 1 1000}) and a short interval. While
 * they flush, masters are killed with SIGKILL three times, each time a current master whose
 * replica is in sync: an original master; once its replica has taken over and the killed node is
 * back (without data, resynced as the new master's replica), a second original master; then the
 * replica promoted by the first kill, now replicated to the node killed first.
 *
 * <p>It proves that, across processes and failovers, each key's total in the cluster equals the
 * sum of the increments the writers' buffers accepted for it, exactly (no acknowledged write
 * lost with its master, no retry applied twice), and that no writer dropped anything. The kills
 * hit flushes under way: the writers report parts whose node died before answering.
 * {@link RedisFleetTest} has the single-JVM version with one kill. This one takes about 30 s on
 * two cores; the cluster and the writers are its own and are stopped by it.
 */
class RedisFleetProcessesTest {
  private static final int WRITERS = 4;
  private static final int KEYS = 2_000;
  /** Increments per second and writer. */
  private static final int RATE = 1_000;
  private static final int INTERVAL_MILLIS = 200;
  /**
   * The writers make their increments in bursts, every 50 ms: batches of about fifty keys, and
   * most of the time a flush under way. (Even traffic makes batches of a few keys: thousands of
   * flushes a second, which a 2-core machine does not keep up with.)
   */
  private static final int BURST_MILLIS = 50;
  private static final Duration NODE_TIMEOUT = Duration.ofMillis(2000);
  /** The longest wait for a failover, a restart or the writers' progress. */
  private static final Duration LIMIT = Duration.ofSeconds(30);

  @Test
  void fourWriterJvms_mastersKilledWhileFlushing_totalsExactAndNothingDropped() throws Exception {
    try (RedisTestCluster cluster = RedisTestCluster.start(3, 1, NODE_TIMEOUT)) {
      try {
        run(cluster);
      } catch (AssertionError | RuntimeException e) {
        System.out.println("Redis logs:\n" + cluster.logTails(60));
        throw e;
      }
    }
  }

  private static void run(RedisTestCluster cluster) throws Exception {
    String ns = "p" + Long.toString(System.nanoTime() & 0xFFFFFFFFFFL, 36);
    String ports = cluster.ports().stream().map(String::valueOf)
        .collect(Collectors.joining(","));
    List<String> kills = new ArrayList<>();
    List<Fleet.Output> outputs;
    try (Fleet fleet = Fleet.start(RedisFleetWriter.class, WRITERS,
        p -> List.of(ports, ns, Integer.toString(p + 1), Integer.toString(KEYS),
            Integer.toString(RATE), Integer.toString(INTERVAL_MILLIS),
            Integer.toString(BURST_MILLIS)))) {
      // Each kill comes once every writer has delivered again since the last one.
      fleet.awaitProgress(LIMIT);
      int first = killable(cluster, -1, -1);
      int promoted = cluster.replicaOf(first);
      kills.add(killAndRestart(cluster, first));

      fleet.awaitProgress(LIMIT);
      kills.add(killAndRestart(cluster, killable(cluster, -1, promoted)));

      fleet.awaitProgress(LIMIT);
      kills.add(killAndRestart(cluster, killable(cluster, promoted, -1)));

      fleet.awaitProgress(LIMIT);
      outputs = fleet.stop(Duration.ofSeconds(90));
    }

    long[] expected = Fleet.sent(outputs, KEYS);
    long[] actual = totals(cluster, ns);
    StringBuilder note = new StringBuilder("namespace " + ns + ", kills " + kills);
    long failedCalls = 0;
    long inFlight = 0;
    for (int p = 0; p < outputs.size(); p++) {
      Fleet.Output output = outputs.get(p);
      failedCalls += output.result().get("failedCalls");
      inFlight += output.failedParts().getOrDefault("inFlight", 0L);
      note.append("\nwriter ").append(p).append(": ").append(output.line("RESULT"))
          .append(", closed ").append(output.line("CLOSED"))
          .append("\n  failed parts ").append(output.line("FAILED_PARTS"))
          .append("\n  ").append(output.line("STATS"))
          .append("\n  ").append(output.line("BUFFER"));
    }
    System.out.println("Redis fleet processes run: " + note);
    for (Fleet.Output output : outputs) {
      assertThat(output.result().get("dropped")).as(output.text()).isZero();
      assertThat(output.result().get("droppedReported")).as(output.text()).isZero();
    }
    assertThat(failedCalls).as("failed flushes, retried (%s)", note).isPositive();
    assertThat(inFlight).as("parts sent to a master that died before answering: kills during "
        + "flushes (%s)", note).isPositive();
    assertThat(actual).as("totals per key (%s)%s", note, differences(expected, actual, ns))
        .isEqualTo(expected);
  }

  /**
   * A master to kill: one serving slots whose replica is in sync; {@code preferred} if it is
   * one, and never {@code excluded}.
   */
  private static int killable(RedisTestCluster cluster, int preferred, int excluded)
      throws Exception {
    List<Integer> candidates = new ArrayList<>();
    for (int port : cluster.masterPorts()) {
      if (port != excluded && cluster.servesSlots(port) && cluster.hasSyncedReplica(port)) {
        candidates.add(port);
      }
    }
    assertThat(candidates).as("masters with a replica in sync").isNotEmpty();
    return candidates.contains(preferred) ? preferred : candidates.get(0);
  }

  /**
   * Kills the master on {@code victim} with SIGKILL, waits until its replica serves its slots,
   * then starts it again and waits until it is that replica's replica.
   *
   * @return what happened, for the report
   */
  private static String killAndRestart(RedisTestCluster cluster, int victim) throws Exception {
    int replica = cluster.replicaOf(victim);
    LocalTime at = LocalTime.now();
    long start = System.nanoTime();
    cluster.kill(victim);
    cluster.awaitFailover(victim, LIMIT);
    long failover = System.nanoTime();
    assertThat(cluster.masterPorts()).as("masters after killing %d", victim).contains(replica)
        .doesNotContain(victim);
    cluster.restart(victim, LIMIT);
    return victim + " at " + at + " (replica " + replica + " promoted after "
        + TimeUnit.NANOSECONDS.toMillis(failover - start) + " ms, killed node back as its replica "
        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failover) + " ms later)";
  }

  /** Every key's total in the cluster (0 for a key never written). */
  private static long[] totals(RedisTestCluster cluster, String ns) {
    RedisClusterClient client = cluster.newClient();
    StatefulRedisClusterConnection<String, String> connection = client.connect();
    try {
      String[] keys = new String[KEYS];
      for (int k = 0; k < KEYS; k++) {
        keys[k] = key(ns, k);
      }
      long[] totals = new long[KEYS];
      for (KeyValue<String, String> value : connection.sync().mget(keys)) {
        if (value.hasValue()) {
          String key = value.getKey();
          totals[Integer.parseInt(key.substring(key.lastIndexOf(':') + 2))] =
              Long.parseLong(value.getValue());
        }
      }
      return totals;
    } finally {
      RedisTestCluster.stop(null, client, connection);
    }
  }

  private static String key(String ns, int k) {
    return "fleet:" + ns + ":k" + k;
  }

  /** The keys whose totals differ (the first 50), with their slots, for the failure message. */
  private static String differences(long[] expected, long[] actual, String ns) {
    StringBuilder text = new StringBuilder();
    int differ = 0;
    long missing = 0;
    long extra = 0;
    for (int k = 0; k < KEYS; k++) {
      long diff = actual[k] - expected[k];
      if (diff != 0) {
        missing += Math.max(0, -diff);
        extra += Math.max(0, diff);
        if (differ++ < 50) {
          text.append("\n  k").append(k).append(" slot ").append(SlotHash.getSlot(key(ns, k)))
              .append(": expected ").append(expected[k]).append(", actual ").append(actual[k]);
        }
      }
    }
    return (differ == 0) ? "" : "; " + differ + " keys differ, " + missing
        + " increments missing, " + extra + " extra:" + text;
  }
}
