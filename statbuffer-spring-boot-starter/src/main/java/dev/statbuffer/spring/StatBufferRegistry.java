package dev.statbuffer.spring;

import static dev.statbuffer.spring.Checks.option;
import static dev.statbuffer.spring.Checks.required;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.BufferListener;
import dev.statbuffer.BufferStats;
import dev.statbuffer.FlushHandler;
import dev.statbuffer.StatBuffer;
import dev.statbuffer.spring.StatBufferProperties.Buffer;
import dev.statbuffer.spring.StatBufferProperties.Sink;
import dev.statbuffer.spring.StatBufferProperties.SinkType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;

/**
 * Makes and owns the buffers declared under {@code statbuffer.buffers}. Each declared buffer is a
 * bean named after it, of type {@code StatBuffer<String>}, made by {@link #buffer(String)}; inject
 * it by name ({@code @Qualifier("page-views") StatBuffer<String> views}) rather than calling this
 * class.
 *
 * <p>Every buffer is built with {@code shutdownHook(false)}: {@link StatBufferLifecycle} closes
 * them in its shutdown phase, through {@link #close()}, while their sinks still work.
 *
 * <p>Thread-safe.
 */
public final class StatBufferRegistry implements AutoCloseable {
  /** The registry's bean name; the buffer beans name it as their factory bean. */
  public static final String BEAN_NAME = "statBufferRegistry";

  private static final Log LOG = LogFactory.getLog(StatBufferRegistry.class);
  private static final String DURATION_FIX =
      "set a duration of at least 0, such as 500ms, 5s or 1m.";

  private final StatBufferProperties properties;
  private final Map<SinkType, SinkFactory> sinkFactories = new EnumMap<>(SinkType.class);
  /** Null without Micrometer on the class path. */
  private final @Nullable BufferInstrumentation instrumentation;
  private final ConfigurableListableBeanFactory beanFactory;

  private final Map<String, StatBuffer<String>> buffers = new LinkedHashMap<>();
  /** Sinks this registry made and must close after their buffers (Redis connections). */
  private final List<AutoCloseable> ownedSinks = new ArrayList<>();
  private boolean closed;

  StatBufferRegistry(StatBufferProperties properties, ObjectProvider<SinkFactory> sinkFactories,
      ObjectProvider<BufferInstrumentation> instrumentation,
      ConfigurableListableBeanFactory beanFactory) {
    this.properties = properties;
    sinkFactories.orderedStream().forEach(f -> this.sinkFactories.putIfAbsent(f.type(), f));
    this.instrumentation = instrumentation.getIfAvailable();
    this.beanFactory = beanFactory;
  }

  /**
   * Returns the declared buffer {@code name}, making it on the first call: the bean factory
   * method of the buffer beans. Making it checks every option and the sink (the JDBC sink's
   * tables, the Redis sink's connection), so a declaration that cannot work fails the
   * application's start-up.
   *
   * @param name the buffer's name, a key of {@code statbuffer.buffers}
   * @return the buffer
   * @throws StatBufferConfigurationException naming the property and the fix when a property
   *     cannot work
   * @throws IllegalArgumentException if no buffer of that name is declared
   * @throws IllegalStateException if the registry is closed
   */
  public synchronized StatBuffer<String> buffer(String name) {
    StatBuffer<String> existing = buffers.get(name);
    if (existing != null) {
      return existing;
    }
    if (closed) {
      throw new IllegalStateException("StatBufferRegistry is closed: buffer " + name
          + " can no longer be made");
    }
    Buffer config = properties.getBuffers().get(name);
    if (config == null) {
      throw new IllegalArgumentException("No buffer named '" + name
          + "' under statbuffer.buffers; declared: " + properties.getBuffers().keySet());
    }
    String prefix = "statbuffer.buffers." + name;
    StatBuffer.Builder builder = StatBuffer.newBuilder().shutdownHook(false);
    option(prefix, "give the buffer a name that is not blank.", () -> builder.name(name));
    option(prefix + ".interval", DURATION_FIX, () -> builder.interval(config.getInterval()));
    option(prefix + ".jitter", DURATION_FIX, () -> builder.jitter(config.getJitter()));
    option(prefix + ".backoff", DURATION_FIX, () -> builder.backoff(config.getBackoff()));
    option(prefix + ".max-backoff", DURATION_FIX,
        () -> builder.maxBackoff(config.getMaxBackoff()));
    option(prefix + ".shutdown-timeout", DURATION_FIX,
        () -> builder.shutdownTimeout(config.getShutdownTimeout()));
    option(prefix + ".flush-timeout", DURATION_FIX,
        () -> builder.flushTimeout(config.getFlushTimeout()));
    Integer maxAttempts = config.getMaxAttempts();
    if (maxAttempts != null) {
      option(prefix + ".max-attempts", "set a whole number of at least 1, or leave it out for"
          + " unlimited retries.", () -> builder.maxAttempts(maxAttempts));
    }
    Long maxKeys = config.getMaxKeys();
    if (maxKeys != null) {
      option(prefix + ".max-keys", "set a whole number of at least 1, or leave it out for no"
          + " bound.", () -> builder.maxKeys(maxKeys));
    }
    option(prefix + ".max-batch-size", "set a whole number of at least 1, such as 1000.",
        () -> builder.maxBatchSize(config.getMaxBatchSize()));

    Object handler = sink(name, prefix + ".sink", config.getSink());
    BufferListener listener = (instrumentation != null) ? instrumentation.listener() : null;
    if (listener != null) {
      builder.listener(listener);
    }
    StatBuffer<String> buffer = build(builder, handler);
    buffers.put(name, buffer);
    if (instrumentation != null) {
      try {
        instrumentation.bind(buffer, handler);
      } catch (RuntimeException e) {
        LOG.warn("Could not bind the meters of StatBuffer '" + name + "'", e);
      }
    }
    return buffer;
  }

  @SuppressWarnings("unchecked")
  private static StatBuffer<String> build(StatBuffer.Builder builder, Object handler) {
    if (handler instanceof BatchFlushHandler<?> batched) {
      return builder.buildBatched((BatchFlushHandler<String>) batched);
    }
    return builder.build((FlushHandler<String>) handler);
  }

  /** Makes the buffer's sink: a BatchFlushHandler, or the application's handler bean. */
  private Object sink(String buffer, String prefix, Sink sink) {
    SinkType type = sink.getType();
    if (type == null) {
      throw new StatBufferConfigurationException(prefix + ".type", "is not set.",
          "set it to jdbc, redis or handler.");
    }
    checkOnlyTypeOptions(prefix, sink, type);
    if (type == SinkType.HANDLER) {
      return handlerBean(buffer, prefix, sink);
    }
    SinkFactory factory = sinkFactories.get(type);
    if (factory == null) {
      throw new StatBufferConfigurationException(prefix + ".type",
          "is " + lower(type) + ", but that sink is not on the class path.",
          (type == SinkType.JDBC) ? "add the dependency dev.statbuffer:statbuffer-jdbc."
              : "add the dependencies dev.statbuffer:statbuffer-redis and"
                  + " org.springframework.boot:spring-boot-starter-data-redis.");
    }
    BatchFlushHandler<String> made = factory.create(buffer, prefix, sink);
    if (made instanceof AutoCloseable closeable) {
      ownedSinks.add(closeable);
    }
    return made;
  }

  private Object handlerBean(String buffer, String prefix, Sink sink) {
    String bean = required(prefix + ".handler", sink.getHandler(),
        "set it to the name of a FlushHandler<String> or BatchFlushHandler<String> bean.");
    if (!beanFactory.containsBean(bean)) {
      throw new StatBufferConfigurationException(prefix + ".handler",
          "names bean '" + bean + "', and there is no bean of that name.",
          "define a FlushHandler<String> or BatchFlushHandler<String> bean of that name, or fix"
              + " the name.");
    }
    Object handler = beanFactory.getBean(bean);
    if (!(handler instanceof FlushHandler<?>) && !(handler instanceof BatchFlushHandler<?>)) {
      throw new StatBufferConfigurationException(prefix + ".handler",
          "names bean '" + bean + "', a " + handler.getClass().getName()
              + ", which is neither a FlushHandler nor a BatchFlushHandler.",
          "name a FlushHandler<String> or BatchFlushHandler<String> bean.");
    }
    beanFactory.registerDependentBean(bean, buffer); // the buffer is destroyed before its handler
    return handler;
  }

  /** Fails on an option of another sink type: it would be ignored, which hides a mistake. */
  private static void checkOnlyTypeOptions(String prefix, Sink sink, SinkType type) {
    only(prefix, "table", sink.getTable() != null, SinkType.JDBC, type);
    only(prefix, "key-columns", notEmpty(sink.getKeyColumns()), SinkType.JDBC, type);
    only(prefix, "count-column", sink.getCountColumn() != null, SinkType.JDBC, type);
    only(prefix, "key-column-types", notEmpty(sink.getKeyColumnTypes()), SinkType.JDBC, type);
    only(prefix, "create-tables", sink.isCreateTables(), SinkType.JDBC, type);
    only(prefix, "key-prefix", sink.getKeyPrefix() != null, SinkType.REDIS, type);
    only(prefix, "hash", sink.getHash() != null, SinkType.REDIS, type);
    only(prefix, "expire-after", sink.getExpireAfter() != null, SinkType.REDIS, type);
    only(prefix, "handler", sink.getHandler() != null, SinkType.HANDLER, type);
  }

  private static void only(String prefix, String option, boolean set, SinkType owner,
      SinkType type) {
    if (set && owner != type) {
      throw new StatBufferConfigurationException(prefix + "." + option,
          "applies to sink type " + lower(owner) + ", but " + prefix + ".type is " + lower(type)
              + ".",
          "remove it, or set " + prefix + ".type to " + lower(owner) + ".");
    }
  }

  private static boolean notEmpty(List<String> list) {
    return list != null && !list.isEmpty();
  }

  private static String lower(SinkType type) {
    return type.name().toLowerCase(Locale.ROOT);
  }

  /**
   * The buffers made so far, by name, in declaration order: every declared buffer once the
   * application has started.
   *
   * @return an unmodifiable snapshot
   */
  public synchronized Map<String, StatBuffer<String>> buffers() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(buffers));
  }

  /**
   * Closes every buffer, all at once, each delivering what it holds within its
   * {@code shutdown-timeout}; then closes the sinks' own connections (never the application's
   * DataSource or Redis client). Logs each buffer's totals, at WARN if it dropped counts. Later
   * calls wait for the buffers to close and do nothing else; buffers not made yet can no longer
   * be made.
   */
  @Override
  public void close() {
    List<StatBuffer<String>> open;
    List<AutoCloseable> sinks;
    boolean first;
    synchronized (this) {
      first = !closed;
      closed = true;
      open = new ArrayList<>(buffers.values());
      sinks = new ArrayList<>(ownedSinks);
    }
    closeAll(open);
    if (!first) {
      return;
    }
    for (AutoCloseable sink : sinks) {
      try {
        sink.close();
      } catch (Exception e) {
        LOG.warn("Could not close " + sink, e);
      }
    }
    for (StatBuffer<String> buffer : open) {
      BufferStats stats = buffer.stats();
      String totals = "StatBuffer '" + buffer.name() + "' closed: delivered "
          + stats.deliveredSum() + ", dropped " + stats.droppedSum();
      if (stats.droppedSum() != 0) {
        LOG.warn(totals);
      } else if (LOG.isDebugEnabled()) {
        LOG.debug(totals);
      }
    }
  }

  /** Closes the buffers in parallel, so that shutdown takes the longest close, not their sum. */
  private static void closeAll(List<StatBuffer<String>> open) {
    if (open.size() == 1) {
      open.get(0).close();
      return;
    }
    List<Thread> threads = new ArrayList<>();
    for (StatBuffer<String> buffer : open) {
      Thread thread = new Thread(buffer::close, "statbuffer-close-" + buffer.name());
      thread.start();
      threads.add(thread);
    }
    boolean interrupted = false;
    for (Thread thread : threads) {
      for (;;) {
        try {
          thread.join(); // the sinks must outlive every close, so wait whatever happens
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public synchronized String toString() {
    return "StatBufferRegistry" + buffers.keySet();
  }
}
