/**
 * StatBuffer core: buffered per-key counters that flush on an interval, retry without loss and
 * dump on close. Exports only the public API; the engine is package-private. Requires nothing but
 * {@code java.base} (logging goes through {@link java.lang.System.Logger}).
 */
module dev.statbuffer {
  exports dev.statbuffer;
}
