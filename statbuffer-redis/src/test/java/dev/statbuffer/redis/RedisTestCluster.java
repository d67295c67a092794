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
 * A throw-away Redis Cluster on loopback ports, for tests and benchmarks: three masters without
 * replicas by default, or masters with replicas ({@link #start(int, int, Duration)}), whose
 * nodes a test can kill ({@link #kill}), start again as replicas ({@link #restart}) or freeze
 * ({@link #freeze}). Needs {@code redis-server} and {@code redis-cli} on the {@code PATH}.
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
 * <dir>/nodes-P.conf --dir <dir> --save "" --appendonly no --repl-diskless-sync-delay 0
 * --bind 127.0.0.1} (and {@code --cluster-node-timeout}) in a fresh temporary
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
  private static final int SLOTS = 16_384;

  private final Path dir;
  private final List<Integer> ports;
  private final int replicas;
  private final Duration nodeTimeout;
  private final List<Process> processes = new ArrayList<>();
  private final Thread shutdownHook;
  private boolean closed;

  private RedisTestCluster(Path dir, List<Integer> ports, int replicas, Duration nodeTimeout) {
    this.dir = dir;
    this.ports = List.copyOf(ports);
    this.replicas = replicas;
    this.nodeTimeout = nodeTimeout;
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
    return start(nodes, 0, Duration.ofSeconds(15));
  }

  /**
   * Starts a cluster of {@code masters} masters with {@code replicasPerMaster} replicas each, and
   * returns once every node reports {@code cluster_state:ok}, every replica's link to its
   * master is up and every node sees every replica as one. A master that dies is failed over
   * after about {@code nodeTimeout}.
   *
   * @param masters the number of masters, at least 3
   * @param replicasPerMaster replicas of each master, at least 0
   * @param nodeTimeout the nodes' {@code cluster-node-timeout}
   * @return the running cluster; close it
   * @throws IOException if a process cannot be started
   * @throws IllegalStateException if the cluster does not come up in 30 seconds
   */
  public static RedisTestCluster start(int masters, int replicasPerMaster, Duration nodeTimeout)
      throws IOException {
    if (masters < 3 || replicasPerMaster < 0) {
      throw new IllegalArgumentException("masters must be at least 3 and replicas at least 0: "
          + masters + ", " + replicasPerMaster);
    }
    RedisTestCluster cluster = new RedisTestCluster(
        Files.createTempDirectory("statbuffer-redis-cluster"),
        freePorts(masters * (1 + replicasPerMaster)), replicasPerMaster, nodeTimeout);
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
      Process process = startNode(port);
      synchronized (this) {
        processes.add(process);
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
    if (replicas > 0) {
      create.add("--cluster-replicas");
      create.add(Integer.toString(replicas));
    }
    create.add("--cluster-yes");
    run(create, STARTUP);
    for (int port : ports) {
      waitUntil(deadline, "node " + port + " to report cluster_state:ok",
          () -> cli(port, "cluster", "info").contains("cluster_state:ok"));
      waitUntil(deadline, "node " + port + " to see every node",
          () -> cli(port, "cluster", "nodes").lines().count() == ports.size());
    }
    long replicaCount = ports.size() - ports.size() / (1 + replicas);
    for (int port : ports) {
      waitUntil(deadline, "replica " + port + " to sync", () -> {
        String info = cli(port, "info", "replication");
        return info.contains("role:master") || info.contains("master_link_status:up");
      });
      // A replica's role reaches the other nodes by gossip, and a client's topology (which the
      // sink's WAIT follows) may come from any of them.
      waitUntil(deadline, "node " + port + " to see every replica", () -> cli(port, "cluster",
          "nodes").lines().filter(line -> line.split(" ")[2].contains("slave")).count()
          == replicaCount);
    }
  }

  /**
   * Starts {@code redis-server} for the node on {@code port}, with its own cluster config file
   * (kept across a {@link #restart}) and its log appended to {@code redis-<port>.log}.
   */
  private Process startNode(int port) throws IOException {
    Path log = dir.resolve("redis-" + port + ".log");
    return new ProcessBuilder("redis-server",
        "--cluster-enabled", "yes",
        "--port", Integer.toString(port),
        "--cluster-config-file", dir.resolve("nodes-" + port + ".conf").toString(),
        "--dir", dir.toString(),
        "--save", "",
        "--appendonly", "no",
        "--repl-diskless-sync-delay", "0", // a (re)started replica syncs at once, not after 5 s
        "--cluster-node-timeout", Long.toString(nodeTimeout.toMillis()),
        "--bind", "127.0.0.1")
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  /**
   * The ports of the nodes that are masters now, as {@code CLUSTER NODES} on a live node says.
   *
   * @return the masters' ports
   * @throws IOException if no node answers
   */
  public synchronized List<Integer> masterPorts() throws IOException {
    List<Integer> masters = new ArrayList<>();
    for (String line : clusterNodes().split("\n")) {
      String[] fields = line.split(" ");
      if (fields.length > 7 && fields[2].contains("master") && !fields[2].contains("fail")) {
        String address = fields[1].substring(0, fields[1].indexOf('@'));
        masters.add(Integer.parseInt(address.substring(address.lastIndexOf(':') + 1)));
      }
    }
    return masters;
  }

  /** CLUSTER NODES from the first node that answers. */
  private String clusterNodes() throws IOException {
    IOException last = null;
    for (int i = 0; i < ports.size(); i++) {
      if (processes.get(i).isAlive()) {
        try {
          return cli(ports.get(i), "cluster", "nodes");
        } catch (IOException e) {
          last = e;
        }
      }
    }
    throw new IOException("no node answers", last);
  }

  /**
   * Kills the node on {@code port} with SIGKILL (no chance to reply or replicate anything more).
   *
   * @param port the node's port
   * @throws InterruptedException if interrupted while waiting for it to die
   */
  public synchronized void kill(int port) throws InterruptedException {
    Process process = processes.get(ports.indexOf(port));
    process.destroyForcibly(); // SIGKILL on Unix
    process.waitFor(5, TimeUnit.SECONDS);
  }

  /**
   * The port of a live replica of the master on {@code masterPort}, as that master's
   * {@code CLUSTER NODES} says.
   *
   * @param masterPort a master's port
   * @return a replica's port
   * @throws IOException if the master does not answer
   * @throws IllegalStateException if it has no live replica
   */
  public int replicaOf(int masterPort) throws IOException {
    List<Integer> replicas = replicasOf(masterPort);
    if (replicas.isEmpty()) {
      throw new IllegalStateException("no live replica of " + masterPort + " in\n"
          + cli(masterPort, "cluster", "nodes"));
    }
    return replicas.get(0);
  }

  /**
   * Whether a live replica of the master on {@code masterPort} has its link to it up (it has
   * synced and follows the replication stream).
   *
   * @param masterPort a master's port
   * @return whether such a replica exists
   * @throws IOException if a node does not answer
   */
  public boolean hasSyncedReplica(int masterPort) throws IOException {
    for (int replica : replicasOf(masterPort)) {
      if (cli(replica, "info", "replication").contains("master_link_status:up")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether the node on {@code port} serves slots, as its own {@code CLUSTER NODES} says.
   *
   * @param port a node's port
   * @return whether it is a master with slots
   * @throws IOException if the node does not answer
   */
  public boolean servesSlots(int port) throws IOException {
    return cli(port, "cluster", "nodes").lines().map(line -> line.split(" "))
        .anyMatch(fields -> fields.length > 8 && fields[2].contains("myself")
            && fields[2].contains("master"));
  }

  /** The live replicas of the master on {@code masterPort}, as its CLUSTER NODES says. */
  private List<Integer> replicasOf(int masterPort) throws IOException {
    String nodes = cli(masterPort, "cluster", "nodes");
    String masterId = null;
    for (String line : nodes.split("\n")) {
      if (line.contains("myself")) {
        masterId = line.split(" ")[0];
      }
    }
    List<Integer> replicas = new ArrayList<>();
    for (String line : nodes.split("\n")) {
      String[] fields = line.split(" ");
      if (fields.length > 3 && fields[3].equals(masterId) && !fields[2].contains("fail")) {
        replicas.add(port(fields[1]));
      }
    }
    return replicas;
  }

  /**
   * Starts again the node on {@code port} after {@link #kill}, with its cluster config (its
   * node id) but without data (no persistence), and waits until it is back as a replica: a
   * killed master whose replica was promoted ({@link #awaitFailover}) rejoins as a replica of
   * that node. Returns once it is a replica whose link to its master is up and every live node
   * sees it as a replica that is not failing.
   *
   * @param port the killed node's port
   * @param limit how long to wait
   * @throws IOException if the process cannot be started
   * @throws IllegalStateException if the node is still running, or not back in time
   * @throws InterruptedException if interrupted
   */
  public void restart(int port, Duration limit) throws IOException, InterruptedException {
    synchronized (this) {
      int index = ports.indexOf(port);
      if (closed || processes.get(index).isAlive()) {
        throw new IllegalStateException("node " + port + " is running, or the cluster closed");
      }
      processes.set(index, startNode(port));
    }
    long deadline = System.nanoTime() + limit.toNanos();
    waitUntil(deadline, "restarted node " + port + " to accept connections",
        () -> accepts(port));
    waitUntil(deadline, "restarted node " + port + " to sync as a replica", () -> {
      String info = cli(port, "info", "replication");
      return info.contains("role:slave") && info.contains("master_link_status:up");
    });
    for (int i = 0; i < ports.size(); i++) {
      int other = ports.get(i);
      if (alive(i)) {
        waitUntil(deadline, "node " + other + " to see restarted node " + port + " as a live"
            + " replica", () -> cli(other, "cluster", "nodes").lines().map(line -> line.split(" "))
                .anyMatch(fields -> fields.length > 2 && port(fields[1]) == port
                    && fields[2].contains("slave") && !fields[2].contains("fail")));
      }
    }
  }

  private synchronized boolean alive(int index) {
    return processes.get(index).isAlive();
  }

  /** The port of a {@code CLUSTER NODES} address, {@code ip:port@cport}. */
  private static int port(String address) {
    String hostPort = address.substring(0, address.indexOf('@'));
    return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
  }

  /**
   * The last {@code lines} lines of every node's log, for a failure message.
   *
   * @param lines how many lines of each log
   * @return the logs, each under a header naming its node
   */
  public String logTails(int lines) {
    StringBuilder text = new StringBuilder();
    for (int port : ports) {
      text.append("--- redis-").append(port).append(".log\n");
      try {
        List<String> log = Files.readAllLines(dir.resolve("redis-" + port + ".log"),
            StandardCharsets.UTF_8);
        log.subList(Math.max(0, log.size() - lines), log.size())
            .forEach(line -> text.append(line).append('\n'));
      } catch (IOException | UncheckedIOException e) {
        text.append("(unreadable: ").append(e).append(")\n");
      }
    }
    return text.toString();
  }

  /**
   * Stops ({@code SIGSTOP}) or resumes ({@code SIGCONT}) the node on {@code port}: a frozen node
   * keeps its connections open and answers nothing, its replication included.
   *
   * @param port the node's port
   * @param frozen true to stop it, false to resume it
   * @throws IOException if {@code kill} fails
   */
  public synchronized void freeze(int port, boolean frozen) throws IOException {
    long pid = processes.get(ports.indexOf(port)).pid();
    run(List.of("kill", frozen ? "-STOP" : "-CONT", Long.toString(pid)), Duration.ofSeconds(5));
  }

  /**
   * Waits until every live node reports {@code cluster_state:ok} and, in its own view, a master
   * that is not failing or suspected serves every slot, {@code deadPort} none (after
   * {@link #kill}, its replica's promotion).
   *
   * @param deadPort the killed master's port
   * @param limit how long to wait
   * @throws IllegalStateException if that does not happen in time
   * @throws InterruptedException if interrupted
   */
  public void awaitFailover(int deadPort, Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    for (int i = 0; i < ports.size(); i++) {
      int port = ports.get(i);
      if (port != deadPort && alive(i)) {
        // In this node's own view: the dead node serves no slot, and every slot's master is
        // neither failing nor suspected (cluster_slots_ok counts those slots).
        waitUntil(deadline, "node " + port + " to report cluster_state:ok after the failover",
            () -> {
              String info = cli(port, "cluster", "info");
              return info.contains("cluster_state:ok")
                  && info.contains("cluster_slots_ok:" + SLOTS)
                  && cli(port, "cluster", "nodes").lines().map(line -> line.split(" "))
                      .noneMatch(fields -> fields.length > 8 && port(fields[1]) == deadPort);
            });
      }
    }
  }

  /**
   * Closes {@code connections}, shuts {@code client} down, then stops the cluster: what a test
   * class does after all its tests. Null arguments are skipped.
   *
   * @param cluster the cluster, or null
   * @param client the client, or null
   * @param connections connections to close first
   */
  public static void stop(RedisTestCluster cluster, RedisClusterClient client,
                          AutoCloseable... connections) {
    try {
      for (AutoCloseable connection : connections) {
        if (connection != null) {
          try {
            connection.close();
          } catch (Exception e) {
            // closing a test connection: nothing to do about it
          }
        }
      }
      if (client != null) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
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

  /** {@code count} free loopback ports whose port + 10000 is free too. */
  static List<Integer> freePorts(int count) throws IOException {
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

  /** Whether something accepts connections on the loopback {@code port}. */
  static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Runs {@code command}, returning its output; fails if it fails or outlasts {@code limit}. */
  static String run(List<String> command, Duration limit) throws IOException {
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
