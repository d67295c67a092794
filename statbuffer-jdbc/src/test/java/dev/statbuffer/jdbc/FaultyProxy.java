package dev.statbuffer.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * A TCP proxy on 127.0.0.1 between the sink and PostgreSQL that cuts connections on purpose.
 * Each accepted connection gets a {@link Fault} from the plan, by its index (0, 1, 2, ...). A cut
 * closes both sockets, so both ends see the connection die at once. Thread-safe; one thread
 * accepts and two threads per connection pump the bytes.
 */
final class FaultyProxy implements AutoCloseable {

  /** What happens to one connection. */
  enum Kind {
    /** Forward everything. */
    NONE,
    /** Forward {@code bytes} bytes from the client, then cut: the server sees a torn request. */
    CUT_REQUEST,
    /** Forward {@code bytes} bytes from the server, then cut: the client sees a torn reply. */
    CUT_REPLY,
    /**
     * Cut instead of forwarding the server's reply to a committed write: the database committed
     * and the client never hears it. PostgreSQL sends the completion of an auto-committed
     * statement ({@code INSERT 0 n}) or of {@code COMMIT} only after the commit is durable.
     */
    CUT_AFTER_COMMIT,
    /** Like {@link #CUT_AFTER_COMMIT}, but only for an explicit {@code COMMIT}'s reply. */
    CUT_AFTER_EXPLICIT_COMMIT
  }

  /** A connection's fault. */
  record Fault(Kind kind, long bytes) {
    static final Fault NONE = new Fault(Kind.NONE, 0);
  }

  private static final byte[] INSERT_TAG = "INSERT 0 ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] COMMIT_TAG = "COMMIT\0".getBytes(StandardCharsets.US_ASCII);

  private final String targetHost;
  private final int targetPort;
  private final IntFunction<Fault> plan;
  private final ServerSocket server;
  private final Thread acceptor;
  private final List<Socket> sockets = new ArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger cuts = new AtomicInteger();
  private final AtomicInteger commitCuts = new AtomicInteger();
  private volatile boolean closed;

  FaultyProxy(String targetHost, int targetPort, IntFunction<Fault> plan) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.plan = plan;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.acceptor = new Thread(this::acceptLoop, "faulty-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Connections accepted so far. */
  int connections() {
    return connections.get();
  }

  /** Connections cut so far, for any reason. */
  int cuts() {
    return cuts.get();
  }

  /** Connections cut right after the database committed. */
  int commitCuts() {
    return commitCuts.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Fault fault = plan.apply(connections.getAndIncrement());
        Socket upstream = new Socket(targetHost, targetPort);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        synchronized (sockets) {
          sockets.add(client);
          sockets.add(upstream);
        }
        Link link = new Link(client, upstream);
        start(() -> pump(link, client, upstream, fault.kind() == Kind.CUT_REQUEST, fault,
            new byte[0][]));
        byte[][] tags = (fault.kind() == Kind.CUT_AFTER_COMMIT)
            ? new byte[][] {INSERT_TAG, COMMIT_TAG}
            : (fault.kind() == Kind.CUT_AFTER_EXPLICIT_COMMIT) ? new byte[][] {COMMIT_TAG}
            : new byte[0][];
        start(() -> pump(link, upstream, client, fault.kind() == Kind.CUT_REPLY, fault, tags));
      } catch (IOException e) {
        if (!closed) {
          throw new IllegalStateException("proxy accept failed", e);
        }
      }
    }
  }

  private static void start(Runnable pump) {
    Thread thread = new Thread(pump, "faulty-proxy-pump");
    thread.setDaemon(true);
    thread.start();
  }

  /** The two sockets of one proxied connection, cut at most once. */
  private final class Link {
    private final Socket a;
    private final Socket b;
    private boolean cut;

    Link(Socket a, Socket b) {
      this.a = a;
      this.b = b;
    }

    synchronized void cut(boolean afterCommit) {
      if (!cut) {
        cut = true;
        cuts.incrementAndGet();
        if (afterCommit) {
          commitCuts.incrementAndGet();
        }
      }
      close();
    }

    void close() {
      closeQuietly(a);
      closeQuietly(b);
    }
  }

  private void pump(Link link, Socket from, Socket to, boolean cutAfterBytes, Fault fault,
      byte[][] commitTags) {
    boolean cutAtCommit = commitTags.length > 0;
    byte[] buffer = new byte[16 * 1024];
    byte[] tail = new byte[0]; // the end of the previous read, so a tag split in two is found
    long forwarded = 0;
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      for (;;) {
        int n = in.read(buffer);
        if (n < 0) {
          link.close();
          return;
        }
        if (cutAtCommit && containsAny(commitTags, tail, buffer, n)) {
          link.cut(/* afterCommit= */ true);
          return;
        }
        if (cutAfterBytes && forwarded + n >= fault.bytes()) {
          out.write(buffer, 0, (int) (fault.bytes() - forwarded));
          out.flush();
          link.cut(/* afterCommit= */ false);
          return;
        }
        out.write(buffer, 0, n);
        out.flush();
        forwarded += n;
        if (cutAtCommit) {
          int keep = Math.min(n, 16);
          tail = java.util.Arrays.copyOfRange(buffer, n - keep, n);
        }
      }
    } catch (IOException e) {
      link.close();
    }
  }

  private static boolean containsAny(byte[][] tags, byte[] tail, byte[] buffer, int n) {
    byte[] data = new byte[tail.length + n];
    System.arraycopy(tail, 0, data, 0, tail.length);
    System.arraycopy(buffer, 0, data, tail.length, n);
    for (byte[] tag : tags) {
      outer:
      for (int i = 0; i + tag.length <= data.length; i++) {
        for (int j = 0; j < tag.length; j++) {
          if (data[i + j] != tag[j]) {
            continue outer;
          }
        }
        return true;
      }
    }
    return false;
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    synchronized (sockets) {
      for (Socket socket : sockets) {
        closeQuietly(socket);
      }
    }
    try {
      acceptor.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
