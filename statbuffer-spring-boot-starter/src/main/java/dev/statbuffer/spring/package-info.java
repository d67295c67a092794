/**
 * Spring Boot auto-configuration for StatBuffer: buffers declared under
 * {@code statbuffer.buffers.<name>} become beans of type {@code StatBuffer<String>} named after
 * the buffer, flushing to a JDBC or Redis sink (or a handler bean), with Micrometer meters, an
 * actuator health indicator, and a shutdown phase that delivers every buffered count before the
 * DataSource or the Redis client closes. Start at {@link StatBufferAutoConfiguration}.
 */
package dev.statbuffer.spring;
