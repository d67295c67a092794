/**
 * StatBuffer core: buffered per-key counters that flush on an interval, retry without loss and
 * dump on close. Exports only the public API; the engine is package-private. Requires nothing at
 * run time but the JDK's own {@code java.base} and {@code jdk.jfr} (logging goes through
 * {@link java.lang.System.Logger}); JSpecify's {@code @Nullable} is needed only to compile.
 */
module dev.statbuffer {
  requires jdk.jfr; // the flush and drop events; part of every JDK, free when not recording
  // @Nullable on the API: needed only to compile (static); transitive, so that a modular user
  // that has it sees the annotations. The annotations are ignored at run time without it.
  requires static transitive org.jspecify;
  exports dev.statbuffer;
}
