package dev.statbuffer.spring;

import dev.statbuffer.jdbc.JdbcSink;
import dev.statbuffer.micrometer.StatBufferMetrics;
import dev.statbuffer.redis.RedisSink;
import io.micrometer.core.instrument.MeterRegistry;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Auto-configuration of StatBuffer: one {@code StatBuffer<String>} bean per entry of
 * {@code statbuffer.buffers}, named after it, with its sink (the application's
 * {@code DataSource} for {@code jdbc}, its Lettuce connection factory for {@code redis}, or a
 * handler bean), its meters when there is a {@link MeterRegistry} bean, and
 * {@link StatBufferLifecycle} closing the buffers at shutdown while their sinks still work.
 *
 * <p>Ordered after the DataSource, Redis and metrics auto-configurations, so that their beans
 * exist when the buffers are made. See {@link StatBufferProperties} for the properties and
 * {@link StatBufferHealthContributorAutoConfiguration} for the health indicator.
 *
 * <p>Stateless; Spring calls it once, at start-up.
 */
@AutoConfiguration(afterName = {
    "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
    "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure"
        + ".CompositeMeterRegistryAutoConfiguration",
    "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple"
        + ".SimpleMetricsExportAutoConfiguration"})
@EnableConfigurationProperties(StatBufferProperties.class)
@Import(StatBufferRegistrar.class)
public final class StatBufferAutoConfiguration {

  /** Created by Spring. */
  StatBufferAutoConfiguration() {}

  /**
   * The registry that makes the buffer beans and closes them.
   *
   * @param properties the properties
   * @param sinkFactories the sink factories of the sinks on the class path
   * @param instrumentation the meters' binder, if Micrometer is on the class path
   * @param beanFactory for the handler beans of {@code sink.type: handler}
   * @return the registry
   */
  @Bean(name = StatBufferRegistry.BEAN_NAME)
  static StatBufferRegistry statBufferRegistry(StatBufferProperties properties,
      ObjectProvider<SinkFactory> sinkFactories,
      ObjectProvider<BufferInstrumentation> instrumentation,
      ConfigurableListableBeanFactory beanFactory) {
    return new StatBufferRegistry(properties, sinkFactories, instrumentation, beanFactory);
  }

  /**
   * Closes the buffers in the shutdown phase {@code statbuffer.lifecycle.phase}.
   *
   * @param registry the registry
   * @param properties the properties
   * @return the lifecycle
   */
  @Bean
  static StatBufferLifecycle statBufferLifecycle(StatBufferRegistry registry,
      StatBufferProperties properties) {
    return new StatBufferLifecycle(registry, properties.getLifecycle().getPhase());
  }

  /** {@code sink.type: jdbc}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(JdbcSink.class)
  static class JdbcSinkConfiguration {
    @Bean
    static SinkFactory statBufferJdbcSinkFactory(ObjectProvider<DataSource> dataSources) {
      return new JdbcSinkFactory(dataSources);
    }
  }

  /** {@code sink.type: redis}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass({RedisSink.class, LettuceConnectionFactory.class})
  static class RedisSinkConfiguration {
    @Bean
    static SinkFactory statBufferRedisSinkFactory(
        ObjectProvider<RedisConnectionFactory> connectionFactories) {
      return new RedisSinkFactory(connectionFactories);
    }
  }

  /** Meters, bound when a {@link MeterRegistry} bean exists as the buffers are made. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass({MeterRegistry.class, StatBufferMetrics.class})
  static class MetricsConfiguration {
    @Bean
    static BufferInstrumentation statBufferMicrometerInstrumentation(
        ObjectProvider<MeterRegistry> registries) {
      return new MicrometerInstrumentation(registries);
    }
  }
}
