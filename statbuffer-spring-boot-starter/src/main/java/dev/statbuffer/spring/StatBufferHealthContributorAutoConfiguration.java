package dev.statbuffer.spring;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@code statbuffer} health contributor
 * ({@link StatBufferHealthIndicator}), when Spring Boot's health support
 * ({@code spring-boot-health}, part of the actuator) is on the class path. Switch it off with
 * {@code management.health.statbuffer.enabled=false}.
 *
 * <p>Stateless; Spring calls it once, at start-up.
 */
@AutoConfiguration(after = StatBufferAutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class})
@ConditionalOnBean(StatBufferRegistry.class)
@ConditionalOnEnabledHealthIndicator("statbuffer")
public final class StatBufferHealthContributorAutoConfiguration {

  /** Created by Spring. */
  StatBufferHealthContributorAutoConfiguration() {}

  /**
   * The indicator; its bean name makes the contributor's name {@code statbuffer}.
   *
   * @param registry the buffers
   * @param properties for {@code statbuffer.health.max-lag}
   * @return the indicator
   */
  @Bean
  @ConditionalOnMissingBean(name = "statbufferHealthIndicator")
  static StatBufferHealthIndicator statbufferHealthIndicator(StatBufferRegistry registry,
      StatBufferProperties properties) {
    return new StatBufferHealthIndicator(registry, properties.getHealth().getMaxLag());
  }
}
