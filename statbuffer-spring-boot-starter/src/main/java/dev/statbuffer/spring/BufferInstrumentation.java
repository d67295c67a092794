package dev.statbuffer.spring;

import dev.statbuffer.BufferListener;
import dev.statbuffer.StatBuffer;
import org.jspecify.annotations.Nullable;

/**
 * Observes the buffers {@link StatBufferRegistry} makes, without the registry knowing the
 * observer's types (Micrometer is optional). Implementations are thread-safe.
 */
interface BufferInstrumentation {

  /**
   * The listener to set on every buffer's builder, or null for none. Asked once per buffer,
   * before it is built.
   */
  @Nullable BufferListener listener();

  /**
   * Called once a buffer is built.
   *
   * @param buffer the buffer
   * @param sink its sink (a {@code JdbcSink}, a {@code RedisSink} or the application's handler)
   */
  void bind(StatBuffer<String> buffer, Object sink);
}
