package dev.statbuffer.spring;

import static java.util.Objects.requireNonNull;

import org.springframework.context.SmartLifecycle;

/**
 * Closes the declared buffers, and so delivers every count they hold, in a {@link SmartLifecycle}
 * stop phase between the web server and the sinks' resources:
 *
 * <ul>
 *   <li>after the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}) and its stop
 *       ({@code DEFAULT_PHASE - 2048}), and after the usual producers of increments (task
 *       executors and schedulers, message listener containers: {@code DEFAULT_PHASE} or just
 *       below), so requests in flight still count;
 *   <li>before Spring Data Redis's {@code LettuceConnectionFactory} (phase 0), which shuts the
 *       Redis client down when it stops;
 *   <li>before the {@code DataSource}, which closes at bean destruction, after every phase.
 * </ul>
 *
 * <p>{@link #stop()} is synchronous: it returns once every buffer is closed (each within its
 * {@code shutdown-timeout}), so {@code spring.lifecycle.timeout-per-shutdown-phase} does not cut
 * it short. Closing is final: a later {@link #start()} (after {@code ConfigurableApplicationContext
 * #stop()}) does not reopen the buffers, whose increments then return false.
 *
 * <p>Thread-safe.
 */
public final class StatBufferLifecycle implements SmartLifecycle {
  /**
   * The default phase, {@code SmartLifecycle.DEFAULT_PHASE - 4096}: below the web server's phases
   * (stopped earlier) and far above {@code LettuceConnectionFactory}'s 0 (stopped later). Set
   * {@code statbuffer.lifecycle.phase} to move it.
   */
  public static final int DEFAULT_PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

  private final StatBufferRegistry registry;
  private final int phase;
  private volatile boolean running;

  /**
   * Creates the lifecycle.
   *
   * @param registry the buffers to close
   * @param phase the phase to stop in
   */
  public StatBufferLifecycle(StatBufferRegistry registry, int phase) {
    this.registry = requireNonNull(registry, "registry");
    this.phase = phase;
  }

  /** Marks the lifecycle running; the buffers run from the moment they are made. */
  @Override
  public void start() {
    running = true;
  }

  /** Closes every buffer (delivering what it holds) and then the sinks' own connections. */
  @Override
  public void stop() {
    try {
      registry.close();
    } finally {
      running = false;
    }
  }

  /**
   * Whether {@link #start()} ran and {@link #stop()} has not.
   *
   * @return true while running
   */
  @Override
  public boolean isRunning() {
    return running;
  }

  /**
   * The phase the buffers are closed in.
   *
   * @return the phase
   */
  @Override
  public int getPhase() {
    return phase;
  }
}
