package dev.statbuffer.spring;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.spring.StatBufferProperties.Sink;
import dev.statbuffer.spring.StatBufferProperties.SinkType;

/**
 * Makes the sink of one {@link SinkType} for a declared buffer. One bean per sink type, defined
 * only when that sink's classes are present, so {@link StatBufferRegistry} never touches an
 * absent class. Implementations are thread-safe.
 */
interface SinkFactory {

  /** The sink type this factory makes. */
  SinkType type();

  /**
   * Makes and checks the sink: afterwards it is ready to take counts (its tables exist, its
   * connection is open).
   *
   * @param buffer the buffer's name
   * @param prefix the sink's property prefix, {@code statbuffer.buffers.<name>.sink}
   * @param sink the sink's properties
   * @return the sink; the registry closes it after the buffer if it is {@link AutoCloseable}
   * @throws StatBufferConfigurationException naming the property and the fix when the sink cannot
   *     work
   */
  BatchFlushHandler<String> create(String buffer, String prefix, Sink sink);
}
