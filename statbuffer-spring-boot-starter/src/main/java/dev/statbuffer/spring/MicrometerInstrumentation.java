package dev.statbuffer.spring;

import dev.statbuffer.BufferListener;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.micrometer.JdbcSinkMetrics;
import dev.statbuffer.micrometer.RedisSinkMetrics;
import dev.statbuffer.micrometer.StatBufferMetrics;
import dev.statbuffer.redis.RedisSink;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.util.ClassUtils;

/**
 * Binds each buffer's meters ({@link StatBufferMetrics}, the listener's handler timers, and the
 * sink's {@link JdbcSinkMetrics} or {@link RedisSinkMetrics}) to the application's
 * {@link MeterRegistry}: the only one, or the {@code @Primary} one (Spring Boot's composite when
 * there are several). Without a registry bean it does nothing. Thread-safe.
 */
final class MicrometerInstrumentation implements BufferInstrumentation {
  private static final boolean JDBC =
      ClassUtils.isPresent("dev.statbuffer.jdbc.JdbcSink", MicrometerInstrumentation.class
          .getClassLoader());
  private static final boolean REDIS =
      ClassUtils.isPresent("dev.statbuffer.redis.RedisSink", MicrometerInstrumentation.class
          .getClassLoader());

  private final ObjectProvider<MeterRegistry> registries;
  private boolean resolved;
  /** Null until resolved, and afterwards when the application has no (unique) registry. */
  private @Nullable MeterRegistry registry;
  private @Nullable BufferListener listener;
  /** Keeps the binders reachable: gauges may hold their state weakly. */
  private final List<MeterBinder> binders = new ArrayList<>();

  MicrometerInstrumentation(ObjectProvider<MeterRegistry> registries) {
    this.registries = registries;
  }

  @Override
  public synchronized @Nullable BufferListener listener() {
    resolve();
    return listener;
  }

  @Override
  public synchronized void bind(StatBuffer<String> buffer, Object sink) {
    resolve();
    MeterRegistry registry = this.registry;
    if (registry == null) {
      return;
    }
    bind(registry, new StatBufferMetrics(buffer));
    if (JDBC && JdbcBinding.matches(sink)) {
      bind(registry, JdbcBinding.metrics(buffer.name(), sink));
    } else if (REDIS && RedisBinding.matches(sink)) {
      bind(registry, RedisBinding.metrics(buffer.name(), sink));
    }
  }

  private void bind(MeterRegistry registry, MeterBinder binder) {
    binder.bindTo(registry);
    binders.add(binder);
  }

  /** Looks the registry up once, when the first buffer is made (after the metrics set-up). */
  private void resolve() {
    if (!resolved) {
      resolved = true;
      registry = registries.getIfUnique();
      listener = (registry != null) ? StatBufferMetrics.listener(registry) : null;
    }
  }

  /** Loaded only when statbuffer-jdbc is present. */
  private static final class JdbcBinding {
    static boolean matches(Object sink) {
      return sink instanceof JdbcSink<?>;
    }

    static MeterBinder metrics(String buffer, Object sink) {
      return new JdbcSinkMetrics(buffer, (JdbcSink<?>) sink);
    }
  }

  /** Loaded only when statbuffer-redis is present. */
  private static final class RedisBinding {
    static boolean matches(Object sink) {
      return sink instanceof RedisSink<?>;
    }

    static MeterBinder metrics(String buffer, Object sink) {
      return new RedisSinkMetrics(buffer, (RedisSink<?>) sink);
    }
  }
}
