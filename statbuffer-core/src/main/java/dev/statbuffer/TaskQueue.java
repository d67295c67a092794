package dev.statbuffer;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * The handlers' executor as the buffer sees it: which tasks it was given and has not started
 * yet, so that the drain can tell when the handlers are behind and coalesce due windows (see
 * {@link Drain}, "Coalescing").
 *
 * <h2>What may race, and why no wake-up is lost</h2>
 * Tasks are submitted, started and refused on any thread while the drain asks
 * {@link #handlersBehind}. A task leaves {@code waiting} when it starts (or when the executor
 * did not take it), and then reads the drain's deferral flag through {@code whenEmpty}; the drain
 * sets that flag and then asks {@link #handlersBehind} again. The map's writes and reads are
 * volatile, so when the last waiting task starts, either the drain saw it gone or the task sees
 * the flag and asks for a drain. A task submitted in between refills the map, and its own start
 * repeats the check. Nothing here holds a count: a task's deliveries run whatever the check does
 * (its body runs in a {@code finally}).
 *
 * <p>A task that has waited an interval no longer counts and is forgotten: an executor that
 * accepted a task and will never run it (a discarding pool, one shut down under us) cannot keep
 * the drain deferring.
 *
 * <p>Thread-safe.
 */
final class TaskQueue {
  private final Executor executor;
  private final Ticker ticker;
  /** How long a task may wait and still mean "behind": one interval, at least one tick. */
  private final long patience;
  /** Tasks given to the executor and not started, with the ticker's time they were given. */
  private final ConcurrentHashMap<Object, Long> waiting = new ConcurrentHashMap<>();
  /** Run when the last waiting task starts: the drain, if it deferred a hand-over. */
  private volatile Runnable whenEmpty = () -> { };

  TaskQueue(Executor executor, Config config) {
    this.executor = executor;
    this.ticker = config.ticker;
    this.patience = Math.max(config.intervalNanos, config.tickNanos);
  }

  /** Tells {@code action} each time the last waiting task starts. */
  void whenEmpty(Runnable action) {
    this.whenEmpty = action;
  }

  /** Whether a task given less than an interval ago waits to start: the handlers are behind. */
  boolean handlersBehind() {
    if (waiting.isEmpty()) {
      return false;
    }
    long now = ticker.read();
    for (Iterator<Map.Entry<Object, Long>> it = waiting.entrySet().iterator(); it.hasNext(); ) {
      if (now - it.next().getValue() < patience) {
        return true;
      }
      it.remove(); // waited an interval: stuck or lost, no reason to hold windows back
    }
    return false;
  }

  /**
   * Gives {@code body} to the executor. Returns null if it took the task, or what it threw
   * (any throwable: a task the executor did not take never starts, and no longer waits).
   */
  @Nullable Throwable execute(Runnable body) {
    Object token = new Object();
    waiting.put(token, ticker.read());
    try {
      executor.execute(() -> {
        try {
          started(token);
        } finally {
          body.run(); // whatever the drain's wake-up did, the task's deliveries run
        }
      });
      return null;
    } catch (RuntimeException | Error e) {
      started(token);
      return e;
    }
  }

  private void started(Object token) {
    waiting.remove(token);
    if (!handlersBehind()) {
      whenEmpty.run();
    }
  }
}
