package dev.statbuffer.redis;

import dev.statbuffer.BufferListener;
import dev.statbuffer.StatBuffer;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * One server of a Redis fleet, in a JVM of its own ({@link RedisFleetProcessesTest}): counts
 * uniformly random keys out of a shared key space, at a set rate, into a Redis Cluster through a
 * {@link RedisSink} with default settings (so it waits for a replica on nodes that have one),
 * until a line or the end of its standard input arrives; then closes its buffer (which delivers
 * what is pending) and prints:
 *
 * <ul>
 *   <li>{@code DELIVERED <sum>} while it runs, at most every 100 ms: the sum the buffer has
 *       delivered so far (progress, for the test to wait on);
 *   <li>{@code FAILED attempt <n>: <error>}: the first failed flushes (all are counted);
 *   <li>{@code STATUS <time> running|closing ...}: the buffer's and the sink's statistics, every
 *       second, then {@code CLOSED in <n> ms} once the buffer is closed;
 *   <li>{@code SENT c0,c1,...}: the increments it counted per key (those {@code increment}
 *       accepted);
 *   <li>{@code RESULT key=value ...}: increments made and accepted, failed calls, the sums
 *       delivered and dropped;
 *   <li>{@code FAILED_PARTS {kind=count, ...}}: the parts of failed flushes by what went wrong
 *       (see {@link Recorder#kind});
 *   <li>{@code STATS ...}: the sink's statistics; {@code BUFFER ...}: the buffer's.
 * </ul>
 *
 * <p>The buffer has the default settings but a short interval, a short backoff (100 ms, at most
 * 1 s, so that it catches up soon after a failover) and no shutdown hook. Arguments: the cluster
 * nodes' ports (comma-separated, on 127.0.0.1), namespace (counters are
 * {@code fleet:<ns>:k<i>}), seed, keys, increments per second, interval in milliseconds, and a
 * burst period in milliseconds: 0 spreads the increments evenly (every millisecond), a period
 * {@code p} makes each period's increments at its start, as fast as the thread can.
 */
public final class RedisFleetWriter {
  /** Failed flushes printed (more are counted). */
  private static final int PRINTED_FAILURES = 40;
  private static final long PROGRESS_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private RedisFleetWriter() {}

  /** Reports progress and failures. */
  private static final class Recorder implements BufferListener {
    final LongAdder delivered = new LongAdder();
    final LongAdder failedCalls = new LongAdder();
    final LongAdder dropped = new LongAdder();
    /** Failed parts by {@link #kind}. */
    final Map<String, LongAdder> failedParts = new ConcurrentSkipListMap<>();
    final AtomicLong lastProgress = new AtomicLong(System.nanoTime() - PROGRESS_NANOS);

    @Override
    public void delivered(String buffer, int keys, long sum, int attempt, long nanos) {
      delivered.add(sum);
      long now = System.nanoTime();
      long last = lastProgress.get();
      if (now - last >= PROGRESS_NANOS && lastProgress.compareAndSet(last, now)) {
        System.out.println(Fleet.DELIVERED + " " + delivered.sum());
      }
    }

    @Override
    public void failed(String buffer, int keys, long sum, int attempt, Exception error,
        long nanos, long retryDelayNanos) {
      failedCalls.increment();
      if (error instanceof RedisSinkException) {
        for (RedisSinkException.PartFailure failure : ((RedisSinkException) error).failures()) {
          failedParts.computeIfAbsent(kind(failure.reply()), k -> new LongAdder()).increment();
        }
      } else {
        failedParts.computeIfAbsent("other", k -> new LongAdder()).increment();
      }
      if (failedCalls.sum() <= PRINTED_FAILURES) {
        System.out.println("FAILED attempt " + attempt + " (" + keys + " keys, sum " + sum
            + "): " + String.valueOf(error).replace('\n', ' '));
      }
    }

    /**
     * What became of a failed part: {@code inFlight} (sent to a node that died before it
     * answered the script or the {@code WAIT} after it: the kill came during the flush),
     * {@code notSent} (its node had been unreachable for half a second), {@code wait} (too few
     * replicas acknowledged it in time), {@code clusterDown} (refused while a master was failing),
     * {@code moved}, or {@code other}.
     */
    static String kind(String reply) {
      if (reply.contains("was lost and has not come back") || reply.contains("no reply to WAIT")
          || reply.contains("Connection reset") || reply.contains("Connection closed")) {
        return "inFlight";
      } else if (reply.contains("has been down for") || reply.contains("cannot connect")) {
        return "notSent";
      } else if (reply.startsWith("ReplicaWaitException")) {
        return "wait";
      } else if (reply.startsWith("CLUSTERDOWN")) {
        return "clusterDown";
      } else if (reply.startsWith("MOVED") || reply.startsWith("ASK")) {
        return "moved";
      }
      return "other";
    }

    @Override
    public void dropped(String buffer, int keys, long sum, Exception lastError) {
      dropped.add(sum);
      System.out.println("DROPPED " + keys + " keys, sum " + sum + ": " + lastError);
    }
  }

  /**
   * Runs the writer.
   *
   * @param args ports, namespace, seed, keys, rate, interval ms, burst period ms
   */
  public static void main(String[] args) throws Exception {
    List<RedisURI> uris = new ArrayList<>();
    for (String port : args[0].split(",")) {
      uris.add(RedisURI.create("127.0.0.1", Integer.parseInt(port)));
    }
    String ns = args[1];
    long seed = Long.parseLong(args[2]);
    int keys = Integer.parseInt(args[3]);
    long rate = Long.parseLong(args[4]);
    Duration interval = Duration.ofMillis(Long.parseLong(args[5]));
    long burstNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args[6]));

    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong closingSince = new AtomicLong();
    Thread stdin = new Thread(() -> {
      try {
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      } catch (IOException e) {
        // The parent is gone: stop as well.
      }
      stop.set(true);
    }, "stop-on-stdin");
    stdin.setDaemon(true);
    stdin.start();

    long[] sent = new long[keys];
    long made = 0;
    Recorder recorder = new Recorder();
    RedisClusterClient client = RedisClusterClient.create(uris);
    RedisSink<String> sink = RedisSink.<String>builder(client)
        .keyMapper(k -> "fleet:" + ns + ":" + k)
        .build();
    StatBuffer<String> buffer = StatBuffer.newBuilder()
        .name("fleet-writer-" + seed)
        .interval(interval)
        .backoff(Duration.ofMillis(100))
        .maxBackoff(Duration.ofSeconds(1))
        .shutdownTimeout(Duration.ofSeconds(30)) // room for a failover still under way
        .shutdownHook(false)
        .listener(recorder)
        .buildBatched(sink);
    Thread status = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        long since = closingSince.get();
        System.out.println("STATUS " + LocalTime.now()
            + ((since == 0) ? " running: " : " closing for "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since) + " ms: ")
            + buffer.stats() + " " + sink.stats());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "status");
    status.setDaemon(true);
    status.start();
    SplittableRandom random = new SplittableRandom(seed);
    String[] names = new String[keys];
    for (int k = 0; k < keys; k++) {
      names[k] = "k" + k;
    }
    long start = System.nanoTime();
    while (!stop.get()) {
      long now = System.nanoTime();
      long elapsed = (burstNanos == 0) ? now - start
          : ((now - start) / burstNanos + 1) * burstNanos;
      long due = elapsed * rate / 1_000_000_000L;
      while (made < due) {
        int k = random.nextInt(keys);
        if (buffer.increment(names[k])) {
          sent[k]++;
        }
        made++;
      }
      LockSupport.parkNanos(1_000_000);
    }
    long closing = System.nanoTime();
    closingSince.set(closing);
    buffer.close();
    status.interrupt();
    System.out.println("CLOSED in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing)
        + " ms");

    long accepted = 0;
    for (long count : sent) {
      accepted += count;
    }
    Fleet.printSent(sent);
    System.out.println("RESULT increments=" + made
        + " accepted=" + accepted
        + " failedCalls=" + recorder.failedCalls.sum()
        + " delivered=" + buffer.stats().deliveredSum()
        + " dropped=" + buffer.stats().droppedSum()
        + " droppedReported=" + recorder.dropped.sum());
    System.out.println("FAILED_PARTS " + recorder.failedParts);
    System.out.println("STATS " + sink.stats());
    System.out.println("BUFFER " + buffer.stats());
    sink.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    System.out.flush();
    System.exit(0);
  }
}
