package dev.statbuffer.redis;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.StatBuffer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Measures the Redis memory of exactly-once against the memory of the counters (issue 14): a
 * fleet of buffers (one sender each) on a number of keys, interval 1 s, into a private standalone
 * server or a private three-master cluster, with the per-slot state (numbered batches) or with
 * one marker per batch and slot (the batches' sender hidden, as before issue 14). Prints the sum
 * of {@code MEMORY USAGE} of the counters, of the state hashes and of the markers after the run.
 *
 * <p>Run: {@code java -cp <test classpath> dev.statbuffer.redis.FleetMemoryBench
 * <cluster|standalone> <state|markers> [buffers] [keys] [seconds] [increments/s per buffer]
 * [markerTtl seconds]}.
 */
public final class FleetMemoryBench {
  private FleetMemoryBench() {}

  /**
   * Runs one measurement.
   *
   * @param args see the class comment
   * @throws Exception if the run fails
   */
  public static void main(String[] args) throws Exception {
    if (args[0].equals("wait")) {
      waitCost(Integer.parseInt(args[1]));
      return;
    }
    boolean clustered = args[0].equals("cluster");
    boolean markers = args[1].equals("markers");
    int buffers = (args.length > 2) ? Integer.parseInt(args[2]) : 8;
    int keys = (args.length > 3) ? Integer.parseInt(args[3]) : 10_000;
    int seconds = (args.length > 4) ? Integer.parseInt(args[4]) : 20;
    int rate = (args.length > 5) ? Integer.parseInt(args[5]) : 5_000;
    int markerTtl = (args.length > 6) ? Integer.parseInt(args[6]) : 3600;
    int port = 20_000 + new SplittableRandom().nextInt(9_000);
    Process standalone = clustered ? null : new ProcessBuilder("redis-server", "--port",
        Integer.toString(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try (RedisTestCluster cluster = clustered ? RedisTestCluster.start() : null) {
      List<Integer> nodes = clustered ? cluster.ports() : List.of(port);
      io.lettuce.core.cluster.RedisClusterClient clusterClient =
          clustered ? cluster.newClient() : null;
      RedisClient client = null;
      if (!clustered) {
        Thread.sleep(500);
        client = RedisClient.create(RedisURI.create("127.0.0.1", port));
      }
      List<RedisSink<String>> sinks = new ArrayList<>();
      List<StatBuffer<String>> fleet = new ArrayList<>();
      for (int b = 0; b < buffers; b++) {
        RedisSink.Builder<String> builder = clustered
            ? RedisSink.<String>builder(clusterClient) : RedisSink.<String>builder(client);
        RedisSink<String> sink = builder.keyMapper(k -> "c:" + k)
            .markerTtl(Duration.ofSeconds(markerTtl)).build();
        sinks.add(sink);
        fleet.add(StatBuffer.newBuilder().interval(Duration.ofSeconds(1)).shutdownHook(false)
            .buildBatched(markers ? hideSender(sink) : sink));
      }
      run(fleet, keys, seconds, rate);
      report(args, nodes, sinks);
      sinks.forEach(RedisSink::close);
      if (clusterClient != null) {
        clusterClient.shutdown();
      }
      if (client != null) {
        client.shutdown();
      }
    } finally {
      if (standalone != null) {
        standalone.destroyForcibly().waitFor();
      }
    }
  }

  /**
   * The cost of {@code WAIT}: {@code batches} batches of 22 random keys flushed one after another
   * into a three-master cluster with a replica each, without and with waiting for a replica;
   * prints the mean and the 50th and 99th percentile of a flush.
   */
  static void waitCost(int batches) throws Exception {
    try (RedisTestCluster cluster = RedisTestCluster.start(3, 1, Duration.ofSeconds(5))) {
      io.lettuce.core.cluster.RedisClusterClient client = cluster.newClient();
      for (int round = 0; round < 2; round++) {
        for (boolean wait : new boolean[] {false, true}) {
          RedisSink.Builder<String> builder = RedisSink.<String>builder(client)
              .keyMapper(k -> "w:" + k);
          if (!wait) {
            builder.waitForReplicas(0, Duration.ofSeconds(1));
          }
          try (RedisSink<String> sink = builder.build()) {
            SplittableRandom random = new SplittableRandom(round);
            long[] nanos = new long[batches];
            String sender = "00112233445566778899aabb";
            for (int b = 0; b < batches; b++) {
              Map<String, Long> counts = new java.util.HashMap<>();
              while (counts.size() < 22) {
                counts.put(Integer.toString(random.nextInt(10_000)), 1L);
              }
              long t0 = System.nanoTime();
              sink.flush(NumberedBatch.of(sender, b + 1 + round * batches * 2L
                  + (wait ? batches : 0), b + 1 + round * batches * 2L + (wait ? batches : 0),
                  counts));
              nanos[b] = System.nanoTime() - t0;
            }
            java.util.Arrays.sort(nanos);
            long sum = 0;
            for (long n : nanos) {
              sum += n;
            }
            System.out.printf("WAIT %s round %d: %d batches of 22 keys, mean %d us, p50 %d us,"
                    + " p99 %d us; %s%n", wait ? "on " : "off", round, batches,
                sum / batches / 1000, nanos[batches / 2] / 1000, nanos[batches * 99 / 100] / 1000,
                sink.stats());
          }
        }
      }
      client.shutdown();
    }
  }

  /** Increments random keys from one thread per buffer at {@code rate} per second each. */
  static void run(List<StatBuffer<String>> fleet, int keys, int seconds, int rate)
      throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
    for (int b = 0; b < fleet.size(); b++) {
      StatBuffer<String> buffer = fleet.get(b);
      SplittableRandom random = new SplittableRandom(b);
      threads.add(new Thread(() -> {
        long start = System.nanoTime();
        for (long i = 0; System.nanoTime() < end; i++) {
          buffer.increment(Integer.toString(random.nextInt(keys)), 1);
          if (i % 100 == 0) {
            long due = start + i * 1_000_000_000L / rate;
            long wait = due - System.nanoTime();
            if (wait > 0) {
              try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
              } catch (InterruptedException e) {
                return;
              }
            }
          }
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread thread : threads) {
      thread.join();
    }
    for (StatBuffer<String> buffer : fleet) {
      buffer.close();
    }
  }

  /** The sink behind a view of each batch without its sender: the marker scheme. */
  static BatchFlushHandler<String> hideSender(RedisSink<String> sink) {
    return batch -> sink.flush(new FlushBatch<>() {
      @Override
      public String id() {
        return batch.id();
      }

      @Override
      public Map<String, Long> counts() {
        return batch.counts();
      }

      @Override
      public int attempt() {
        return batch.attempt();
      }

      @Override
      public Optional<String> sender() {
        return Optional.empty();
      }
    });
  }

  /** Sums MEMORY USAGE by kind of key over {@code nodes} and prints one line. */
  static void report(String[] args, List<Integer> nodes, List<RedisSink<String>> sinks) {
    long counters = 0;
    long state = 0;
    long marker = 0;
    long counterKeys = 0;
    long stateKeys = 0;
    long markerKeys = 0;
    for (int port : nodes) {
      RedisClient node = RedisClient.create(RedisURI.create("127.0.0.1", port));
      RedisCommands<String, String> sync = node.connect().sync();
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        var scan = sync.scan(cursor, ScanArgs.Builder.limit(1000));
        for (String key : scan.getKeys()) {
          Long bytes = sync.memoryUsage(key);
          long b = (bytes == null) ? 0 : bytes;
          if (key.startsWith("c:")) {
            counters += b;
            counterKeys++;
          } else if (key.endsWith(":S")) {
            state += b;
            stateKeys++;
          } else {
            marker += b;
            markerKeys++;
          }
        }
        cursor = scan;
      } while (!cursor.isFinished());
      node.shutdown();
    }
    System.out.printf("%s: counters %d keys %d B; state %d keys %d B (%.1f%%); markers %d keys"
            + " %d B (%.1f%% of counters); sinks %s%n", String.join(" ", args), counterKeys,
        counters, stateKeys, state, 100.0 * state / counters, markerKeys, marker,
        100.0 * marker / counters, sinks.get(0).stats());
  }
}
