package dev.statbuffer.demo;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Lets Ctrl-C (SIGINT) or SIGTERM end a run cleanly: stop the traffic, dump the buffer, verify,
 * print the summary, and exit with the run's status.
 *
 * <h2>Design</h2>
 * A signal starts the JVM's shutdown, which runs the shutdown hooks and then exits. The hook
 * installed here does not do the work itself: the main thread is in the middle of the run and owns
 * the buffer, the store and the output. The hook asks the main thread to stop (the same
 * {@link #requestStop()} with which the traffic reports that it has made all its increments),
 * then waits until the main thread calls {@link #finish(int)} after its last line of output, and
 * ends the JVM with {@link Runtime#halt(int)} and the run's exit status (0 when verified): exiting
 * normally from a hook would leave the JVM's status at 130 (128 + SIGINT), and
 * {@code System.exit} may not be called from a hook.
 *
 * <p>When no signal comes, {@link #finish(int)} removes the hook and the program exits as usual.
 * If the signal arrives while {@code finish} runs, {@code removeShutdownHook} fails because the
 * shutdown has begun; the hook then finds {@code finished} already counted down and halts with
 * the status written just before. The hook waits at most {@link #HOOK_WAIT_SECONDS}, in case the
 * main thread is stuck (a store that hangs), and then halts with status 1.
 *
 * <p>Thread-safe: {@link #requestStop()} and {@link #awaitStop} may be called from any thread;
 * {@link #install()} and {@link #finish(int)} by the main thread, once each.
 */
final class StopSignal {
  /** How long the hook waits for the main thread before it gives up. */
  static final long HOOK_WAIT_SECONDS = 120;

  private final PrintWriter out;
  private final PrintWriter err;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final CountDownLatch finished = new CountDownLatch(1);
  private final Thread hook = new Thread(this::onShutdown, "statbuffer-demo-shutdown");
  private volatile boolean signalled;
  private volatile int exitCode = 1;

  /**
   * Creates the signal; nothing is installed yet.
   *
   * @param out the output to flush before halting
   * @param err the error output to flush before halting
   */
  StopSignal(PrintWriter out, PrintWriter err) {
    this.out = out;
    this.err = err;
  }

  /** Installs the shutdown hook. */
  void install() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Asks the run to stop now (the traffic is done, or a signal came). Idempotent. */
  void requestStop() {
    stop.countDown();
  }

  /**
   * Whether a signal (rather than the end of the traffic) asked for the stop.
   *
   * @return true after a SIGINT or SIGTERM
   */
  boolean signalled() {
    return signalled;
  }

  /**
   * Waits until a stop is requested or {@code nanos} pass.
   *
   * @param nanos the most to wait; negative to wait without limit
   * @throws InterruptedException if interrupted
   */
  void awaitStop(long nanos) throws InterruptedException {
    if (nanos < 0) {
      stop.await();
    } else {
      stop.await(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Called by the main thread after its last output: removes the hook, or, if the JVM is
   * already shutting down, lets the hook halt it with {@code code}.
   *
   * @param code the run's exit status
   */
  void finish(int code) {
    exitCode = code;
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook runs (or is about to); it halts with exitCode once finished is counted down.
    }
    finished.countDown();
  }

  private void onShutdown() {
    signalled = true;
    requestStop();
    try {
      if (!finished.await(HOOK_WAIT_SECONDS, TimeUnit.SECONDS)) {
        err.println("statbuffer-demo: the run did not finish within " + HOOK_WAIT_SECONDS
            + " s of the signal; exiting without a summary");
        exitCode = 1;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    out.flush();
    err.flush();
    System.out.flush();
    System.err.flush();
    Runtime.getRuntime().halt(exitCode);
  }
}
