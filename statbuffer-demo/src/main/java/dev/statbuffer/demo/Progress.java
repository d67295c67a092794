package dev.statbuffer.demo;

import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Prints one progress line a second while the demo runs: increments per second, the buffer's
 * pending keys, and the sink's batches, rows and store writes. On a terminal it rewrites one line
 * (carriage return); otherwise it prints plain lines, one a second.
 *
 * <p>Thread-safe: {@link #start} and {@link #stop} are called by the main thread; the line is
 * printed by the progress thread, through the {@link PrintWriter}'s own lock.
 */
final class Progress {
  private final PrintWriter out;
  private final boolean terminal;
  private final Traffic traffic;
  private final StatBuffer<String> buffer;
  private final DemoStore store;
  private final Thread thread;
  private volatile boolean running = true;
  private long startNanos;
  private int lastLength;
  private boolean lineOpen;

  /**
   * Creates the progress line; call {@link #start} to begin printing.
   *
   * @param out where to print
   * @param terminal whether {@code out} is a terminal (rewrite one line) or not (plain lines)
   * @param traffic the traffic, for its accepted increments
   * @param buffer the buffer, for its pending keys
   * @param store the store, for its sink's counters
   */
  Progress(PrintWriter out, boolean terminal, Traffic traffic, StatBuffer<String> buffer,
      DemoStore store) {
    this.out = out;
    this.terminal = terminal;
    this.traffic = traffic;
    this.buffer = buffer;
    this.store = store;
    this.thread = new Thread(this::loop, "statbuffer-demo-progress");
    thread.setDaemon(true);
  }

  /**
   * Starts printing, a line a second from {@code startNanos}.
   *
   * @param startNanos when the traffic started ({@link System#nanoTime()})
   */
  void start(long startNanos) {
    this.startNanos = startNanos;
    thread.start();
  }

  /**
   * Stops printing and, on a terminal, ends the rewritten line.
   *
   * @throws InterruptedException if interrupted while waiting for the progress thread
   */
  void stop() throws InterruptedException {
    running = false;
    thread.interrupt();
    thread.join();
    synchronized (this) {
      if (lineOpen) {
        out.println();
        out.flush();
        lineOpen = false;
      }
    }
  }

  private void loop() {
    long lastAccepted = 0;
    long lastNanos = startNanos;
    long tick = 1;
    while (running) {
      long due = startNanos + tick * 1_000_000_000L;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        try {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      }
      if (!running) {
        return;
      }
      long now = System.nanoTime();
      long accepted = traffic.accepted();
      double rate = (accepted - lastAccepted) / Math.max(1e-9, (now - lastNanos) / 1e9);
      lastAccepted = accepted;
      lastNanos = now;
      tick = Math.max(tick + 1, (now - startNanos) / 1_000_000_000L + 1);
      print(line((now - startNanos) / 1e9, accepted, rate));
    }
  }

  private String line(double elapsed, long accepted, double rate) {
    BufferStats stats = buffer.stats();
    DemoStore.Counters counters = store.counters();
    return String.format(Locale.ROOT,
        "%5.1fs  %,13.0f increments/s  total %,d  pending %,d windows  batches %,d  rows %,d"
            + "  %s %,d",
        elapsed, rate, accepted, stats.pendingKeys(), counters.batches(), counters.rows(),
        store.writeUnit(), counters.writes());
  }

  private synchronized void print(String line) {
    if (terminal) {
      int pad = Math.max(0, lastLength - line.length());
      out.print("\r" + line + " ".repeat(pad));
      lastLength = line.length();
      lineOpen = true;
    } else {
      out.println(line);
    }
    out.flush();
  }
}
