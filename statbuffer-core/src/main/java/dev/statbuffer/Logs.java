package dev.statbuffer;

import java.lang.System.Logger;

/**
 * The logger the failure and drop reports write to: {@code System.getLogger} of
 * {@code dev.statbuffer.StatBuffer}, replaceable by tests (the module reads no logging backend, so
 * a test captures records through a {@link Logger} of its own). Read only when a line is written,
 * never while a buffer is built or counts: the Lincheck tests snapshot the static state the code
 * under test reads, and a logging backend's object graph is not theirs to walk. Thread-safe.
 */
final class Logs {
  private static volatile Logger logger = System.getLogger(StatBuffer.class.getName());

  private Logs() {}

  static Logger logger() {
    return logger;
  }

  /** Replaces the logger; for tests. */
  static void use(Logger replacement) {
    logger = replacement;
  }
}
