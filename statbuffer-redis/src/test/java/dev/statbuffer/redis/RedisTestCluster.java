package dev.statbuffer.redis;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throw-away Redis Cluster of three masters (no replicas) on loopback ports, for tests and
 * benchmarks. Needs {@code redis-server} and {@code redis-cli} on the {@code PATH}.
 *
 * <pre>{@code
 * try (RedisTestCluster cluster = RedisTestCluster.start()) {
 *   RedisClusterClient client = RedisClusterClient.create(cluster.uris());
 *   ...
 *   client.shutdown();
 * }
 * }</pre>
 *
 * <p>Each node runs {@code redis-server --cluster-enabled yes --port P --cluster-config-file
 * <dir>/nodes-P.conf --dir <dir> --save "" --appendonly no --bind 127.0.0.1} in a fresh temporary
 * directory; {@code redis-cli --cluster create ... --cluster-yes} joins them, and {@link #start}
 * returns once every node reports {@code cluster_state:ok}. {@link #close()} stops the processes
 * and deletes the directory; a JVM shutdown hook does the same if the JVM exits first, so no
 * process outlives the JVM. Ports are chosen at random among free ones (a node also needs its port
 * + 10000 for the cluster bus).
 *
 * <p>Other modules reach this class through this module's test-jar
 * ({@code dev.statbuffer:statbuffer-redis}, type {@code test-jar}, scope test). Thread-safe.
 */
public final class RedisTestCluster implements AutoCloseable {
  private static final Duration STARTUP = Duration.ofSeconds(30);

  private final Path dir;
  private final List<Integer> ports;
  private final List<Process> processes = new ArrayList<>();
  private final Thread shutdownHook;
  private boolean closed;

  private RedisTestCluster(Path dir, List<Integer> ports) {
    this.dir = dir;
    this.ports = List.copyOf(ports);
    this.shutdownHook = new Thread(this::stopProcesses, "redis-test-cluster-stop");
  }

  /**
   * Starts a three-node cluster on free loopback ports.
   *
   * @return the running cluster; close it
   * @throws IOException if a process cannot be started
   * @throws IllegalStateException if the cluster does not come up in 30 seconds
   */
  public static RedisTestCluster start() throws IOException {
    return start(3);
  }

  /**
   * Starts a cluster of {@code nodes} masters (at least 3, as {@code redis-cli} requires) on free
   * loopback ports.
   *
   * @param nodes the number of masters
   * @return the running cluster; close it
   * @throws IOException if a process cannot be started
   * @throws IllegalStateException if the cluster does not come up in 30 seconds
   */
  public static RedisTestCluster start(int nodes) throws IOException {
    if (nodes < 3) {
      throw new IllegalArgumentException("nodes must be at least 3: " + nodes);
    }
    RedisTestCluster cluster = new RedisTestCluster(
        Files.createTempDirectory("statbuffer-redis-cluster"), freePorts(nodes));
    Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
    boolean started = false;
    try {
      cluster.launch();
      started = true;
      return cluster;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting the Redis cluster", e);
    } finally {
      if (!started) {
        cluster.close();
      }
    }
  }

  /**
   * The nodes' ports, in order.
   *
   * @return the ports
   */
  public List<Integer> ports() {
    return ports;
  }

  /**
   * A URI of every node, to seed a {@link RedisClusterClient}.
   *
   * @return the URIs
   */
  public List<RedisURI> uris() {
    List<RedisURI> uris = new ArrayList<>();
    for (int port : ports) {
      uris.add(RedisURI.create("127.0.0.1", port));
    }
    return uris;
  }

  /**
   * Creates a new cluster client seeded with every node. The caller shuts it down.
   *
   * @return a new client
   */
  public RedisClusterClient newClient() {
    return RedisClusterClient.create(uris());
  }

  /**
   * Runs {@code redis-cli -p port args...} and returns what it printed.
   *
   * @param port the node's port
   * @param args the command and its arguments
   * @return the standard output
   * @throws IOException if redis-cli cannot run or fails
   */
  public String cli(int port, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1",
        "-p", Integer.toString(port)));
    command.addAll(List.of(args));
    return run(command, Duration.ofSeconds(20));
  }

  private void launch() throws IOException, InterruptedException {
    for (int port : ports) {
      Path log = dir.resolve("redis-" + port + ".log");
      ProcessBuilder builder = new ProcessBuilder("redis-server",
          "--cluster-enabled", "yes",
          "--port", Integer.toString(port),
          "--cluster-config-file", dir.resolve("nodes-" + port + ".conf").toString(),
          "--dir", dir.toString(),
          "--save", "",
          "--appendonly", "no",
          "--bind", "127.0.0.1")
          .redirectErrorStream(true)
          .redirectOutput(log.toFile());
      synchronized (this) {
        processes.add(builder.start());
      }
    }
    long deadline = System.nanoTime() + STARTUP.toNanos();
    for (int port : ports) {
      waitUntil(deadline, "node " + port + " to accept connections", () -> accepts(port));
    }
    List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
    for (int port : ports) {
      create.add("127.0.0.1:" + port);
    }
    create.add("--cluster-yes");
    run(create, STARTUP);
    for (int port : ports) {
      waitUntil(deadline, "node " + port + " to report cluster_state:ok",
          () -> cli(port, "cluster", "info").contains("cluster_state:ok"));
    }
  }

  /** Stops every node and deletes the directory. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopProcesses();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down; the hook runs (or ran) stopProcesses, which is idempotent.
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // A leftover temporary directory is harmless.
    }
  }

  private synchronized void stopProcesses() {
    for (Process process : processes) {
      process.destroy();
    }
    for (Process process : processes) {
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  private static List<Integer> freePorts(int count) throws IOException {
    List<Integer> ports = new ArrayList<>();
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    for (int tries = 0; ports.size() < count; tries++) {
      if (tries > 1000) {
        throw new IOException("found no free loopback port pair");
      }
      int port = ThreadLocalRandom.current().nextInt(20_000, 30_000);
      if (!ports.contains(port) && free(loopback, port) && free(loopback, port + 10_000)) {
        ports.add(port);
      }
    }
    return ports;
  }

  private static boolean free(InetAddress address, int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(address, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String run(List<String> command, Duration limit) throws IOException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      process.getOutputStream().close();
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IOException("timed out: " + String.join(" ", command));
      }
      String text = new String(output, StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        throw new IOException("failed (" + process.exitValue() + "): " + String.join(" ", command)
            + "\n" + text);
      }
      return text;
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", command), e);
    }
  }

  private interface Check {
    boolean ok() throws IOException;
  }

  private static void waitUntil(long deadline, String what, Check check)
      throws InterruptedException {
    IOException last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (check.ok()) {
          return;
        }
      } catch (IOException e) {
        last = e;
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("timed out waiting for " + what, last);
  }
}
