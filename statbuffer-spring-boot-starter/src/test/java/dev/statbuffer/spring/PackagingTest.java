package dev.statbuffer.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.commons.logging.LogFactory;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.core.io.support.SpringFactoriesLoader;
import org.springframework.core.io.support.SpringFactoriesLoader.FailureHandler;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/** What the jar declares: auto-configurations, their ordering, metadata, the phase. */
class PackagingTest {

  @Test
  void autoConfigurationsAreRegistered() throws IOException {
    assertThat(resource("META-INF/spring/"
        + "org.springframework.boot.autoconfigure.AutoConfiguration.imports"))
        .contains(StatBufferAutoConfiguration.class.getName())
        .contains(StatBufferHealthContributorAutoConfiguration.class.getName());
  }

  /** {@code afterName} ignores names that do not exist; these must all exist in Boot 4. */
  @Test
  void theAutoConfigurationsOrderedBeforeOursExist() throws ClassNotFoundException {
    AutoConfiguration annotation =
        StatBufferAutoConfiguration.class.getAnnotation(AutoConfiguration.class);
    assertThat(annotation.afterName()).hasSize(5);
    for (String name : annotation.afterName()) {
      assertThat(Class.forName(name)).isNotNull();
    }
  }

  @Test
  void configurationMetadataIsGenerated() throws IOException {
    assertThat(resource("META-INF/spring-configuration-metadata.json"))
        .contains("\"statbuffer.buffers\"")
        .contains("\"statbuffer.health.max-lag\"")
        .contains("\"statbuffer.lifecycle.phase\"")
        .contains("\"management.health.statbuffer.enabled\"");
  }

  @Test
  void failureAnalyzerIsRegistered() {
    // Some of Boot's analyzers need the application's bean factory: skip those, not ours.
    assertThat(SpringFactoriesLoader.forDefaultResourceLocation().load(FailureAnalyzer.class,
        null, FailureHandler.logging(LogFactory.getLog(PackagingTest.class))))
        .anyMatch(StatBufferFailureAnalyzer.class::isInstance);
  }

  /**
   * Stopping runs from the highest phase down: the web server's graceful shutdown and stop come
   * first, the buffers next, Lettuce's connection factory (and with it the Redis client) later;
   * the DataSource closes at bean destruction, after every phase.
   */
  @Test
  void buffersCloseAfterTheWebServerAndBeforeLettuce() {
    assertThat(StatBufferLifecycle.DEFAULT_PHASE)
        .isLessThan(WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE)
        .isLessThan(WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE)
        .isGreaterThan(new LettuceConnectionFactory().getPhase());
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = PackagingTest.class.getClassLoader().getResourceAsStream(name)) {
      assertThat(in).as(name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
