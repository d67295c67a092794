/**
 * Micrometer meters for StatBuffer: {@link dev.statbuffer.micrometer.StatBufferMetrics} binds a
 * buffer's gauges and counters and provides the listener that times handler calls;
 * {@link dev.statbuffer.micrometer.JdbcSinkMetrics} and
 * {@link dev.statbuffer.micrometer.RedisSinkMetrics} bind the sinks' counters (each needs its
 * sink module, an optional dependency). Every meter is tagged {@code buffer=<name>}.
 */
package dev.statbuffer.micrometer;
