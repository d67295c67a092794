package dev.statbuffer.redis;

import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private standalone Redis server for one test, started like the nodes of
 * {@link RedisTestCluster} ({@code redis-server} from the {@code PATH}, without cluster mode): a
 * free loopback port, its own temporary directory, no persistence. {@link #stop()} ends its
 * process (by the process handle, that is by pid); {@link #close()} stops it and deletes the
 * directory, and a JVM shutdown hook stops it if the JVM exits first. Never the shared server
 * at 6379. Thread-safe.
 */
final class RedisTestServer implements AutoCloseable {
  private static final Duration STARTUP = Duration.ofSeconds(20);

  private final Path dir;
  private final int port;
  private final Process process;
  private final Thread shutdownHook;

  private RedisTestServer(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
    this.shutdownHook = new Thread(this::stop, "redis-test-server-stop-" + port);
  }

  /**
   * Starts a server and returns once it accepts connections.
   *
   * @return the running server; close it
   * @throws IOException if it cannot be started or does not come up in 20 seconds
   */
  static RedisTestServer start() throws IOException {
    Path dir = Files.createTempDirectory("statbuffer-redis-server");
    int port = RedisTestCluster.freePorts(1).get(0);
    Process process = new ProcessBuilder("redis-server",
        "--port", Integer.toString(port),
        "--dir", dir.toString(),
        "--save", "",
        "--appendonly", "no",
        "--repl-diskless-sync-delay", "0", // a replica syncs at once, not after 5 s
        "--bind", "127.0.0.1")
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
        .start();
    RedisTestServer server = new RedisTestServer(dir, port, process);
    Runtime.getRuntime().addShutdownHook(server.shutdownHook);
    long deadline = System.nanoTime() + STARTUP.toNanos();
    while (!RedisTestCluster.accepts(port)) {
      if (System.nanoTime() > deadline || !process.isAlive()) {
        String log = server.log();
        server.close();
        throw new IOException("redis-server on port " + port + " did not come up:\n" + log);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        server.close();
        throw new IOException("interrupted while starting redis-server", e);
      }
    }
    return server;
  }

  /**
   * The server's port.
   *
   * @return the port
   */
  int port() {
    return port;
  }

  /**
   * The server's URI.
   *
   * @return a URI of 127.0.0.1 and the port
   */
  RedisURI uri() {
    return RedisURI.create("127.0.0.1", port);
  }

  /**
   * Runs {@code redis-cli} against this server.
   *
   * @param args the command and its arguments
   * @return what it printed
   * @throws IOException if redis-cli fails
   */
  String cli(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1",
        "-p", Integer.toString(port)));
    command.addAll(List.of(args));
    return RedisTestCluster.run(command, Duration.ofSeconds(20));
  }

  /**
   * Stops ({@code SIGSTOP}) or resumes ({@code SIGCONT}) the server: a frozen server keeps its
   * connections open and answers nothing, replication included.
   *
   * @param frozen true to stop it, false to resume it
   * @throws IOException if {@code kill} fails
   */
  void freeze(boolean frozen) throws IOException {
    RedisTestCluster.run(List.of("kill", frozen ? "-STOP" : "-CONT",
        Long.toString(process.pid())), Duration.ofSeconds(5));
  }

  /** Ends the server's process (SIGTERM, then SIGKILL after 5 s) and waits for it. Idempotent. */
  void stop() {
    if (!process.isAlive()) {
      return;
    }
    try {
      // A frozen server only acts on SIGTERM once resumed.
      RedisTestCluster.run(List.of("kill", "-CONT", Long.toString(process.pid())),
          Duration.ofSeconds(5));
    } catch (IOException e) {
      // It ended meanwhile.
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** The server's log, for a failure message. */
  String log() {
    try {
      return Files.readString(dir.resolve("redis.log"), StandardCharsets.UTF_8);
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /** Stops the server and deletes its directory. */
  @Override
  public void close() {
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down; the hook runs (or ran) stop, which is idempotent.
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // A leftover temporary directory is harmless.
    }
  }
}
