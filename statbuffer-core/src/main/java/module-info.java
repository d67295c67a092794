/**
 * StatBuffer core: buffered per-key counters that flush on an interval, retry without loss and
 * dump on close. Exports only the public API; the engine is package-private. Requires nothing but
 * the JDK's own {@code java.base} and {@code jdk.jfr} (logging goes through
 * {@link java.lang.System.Logger}).
 */
module dev.statbuffer {
  requires jdk.jfr; // the flush and drop events; part of every JDK, free when not recording
  exports dev.statbuffer;
}
