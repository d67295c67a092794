package dev.statbuffer.spring;

import static dev.statbuffer.spring.TestSupport.config;
import static dev.statbuffer.spring.TestSupport.field;
import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.FlushHandler;
import dev.statbuffer.StatBuffer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Meters bound with a MeterRegistry, and the health indicator's UP and DOWN. */
class MetricsAndHealthTest {

  @Test
  void metersAreBoundToTheAutoConfiguredRegistry() {
    // The metrics auto-configurations are listed after StatBuffer's on purpose: the ordering
    // of StatBufferAutoConfiguration must still make the registry exist first.
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class,
            DataSourceAutoConfiguration.class, MetricsAutoConfiguration.class,
            SimpleMetricsExportAutoConfiguration.class,
            CompositeMeterRegistryAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + TestSupport.h2Url(),
            "statbuffer.buffers.page-views.interval=1h",
            "statbuffer.buffers.page-views.sink.type=jdbc",
            "statbuffer.buffers.page-views.sink.table=page_views",
            "statbuffer.buffers.page-views.sink.key-columns=page",
            "statbuffer.buffers.page-views.sink.count-column=views",
            "statbuffer.buffers.page-views.sink.create-tables=true")
        .run(context -> {
          assertThat(context).hasNotFailed();
          MeterRegistry registry = context.getBean(MeterRegistry.class);
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          assertThat(field(config(views), "listener")).as("handler timers").isNotNull();
          views.increment("/home", 5);
          views.flushAll().get(10, TimeUnit.SECONDS);

          assertThat(registry.get("statbuffer.delivered").tag("buffer", "page-views")
              .functionCounter().count()).isEqualTo(5.0);
          assertThat(registry.get("statbuffer.pending.keys").tag("buffer", "page-views")
              .gauge()).isNotNull();
          assertThat(registry.get("statbuffer.handler").tag("buffer", "page-views").timer()
              .count()).isEqualTo(1);
          assertThat(registry.get("statbuffer.sink.rows").tag("buffer", "page-views")
              .tag("sink", "jdbc").functionCounter().count()).isEqualTo(1.0);
        });
  }

  @Test
  void metersAreBoundToAUserRegistry() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class))
        .withBean(MeterRegistry.class, () -> registry)
        .withBean("recorder", BufferPropertiesTest.Recorder.class,
            BufferPropertiesTest.Recorder::new)
        .withPropertyValues("statbuffer.buffers.a.sink.type=handler",
            "statbuffer.buffers.a.sink.handler=recorder",
            "statbuffer.buffers.b.sink.type=handler",
            "statbuffer.buffers.b.sink.handler=recorder")
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(registry.find("statbuffer.delivered").functionCounters())
              .extracting(c -> c.getId().getTag("buffer")).containsExactlyInAnyOrder("a", "b");
        });
  }

  @Test
  void healthIsUpWhileBuffersKeepUp() {
    healthRunner().withPropertyValues("statbuffer.buffers.good.sink.type=handler",
        "statbuffer.buffers.good.sink.handler=recorder").run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> good = context.getBean("good", StatBuffer.class);
          good.increment("x", 3);
          good.flushAll().get(10, TimeUnit.SECONDS);
          Health health = context.getBean(StatBufferHealthIndicator.class).health();
          assertThat(health.getStatus()).isEqualTo(Status.UP);
          Map<?, ?> details = (Map<?, ?>) health.getDetails().get("good");
          assertThat(details.get("status")).isEqualTo("UP");
          assertThat(details.get("deliveredSum")).isEqualTo(3L);
          assertThat(details.get("droppedSum")).isEqualTo(0L);
          assertThat(details.get("oldestHandedOver")).isEqualTo("PT0S");
        });
  }

  @Test
  void healthIsDownOnceAfterADrop() {
    healthRunner().withPropertyValues("statbuffer.buffers.lossy.max-attempts=1",
        "statbuffer.buffers.lossy.sink.type=handler",
        "statbuffer.buffers.lossy.sink.handler=failing",
        "statbuffer.buffers.good.sink.type=handler",
        "statbuffer.buffers.good.sink.handler=recorder").run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> lossy = context.getBean("lossy", StatBuffer.class);
          StatBufferHealthIndicator indicator = context.getBean(StatBufferHealthIndicator.class);
          assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);
          lossy.increment("x", 4);
          lossy.flushAll().handle((ok, error) -> null).get(10, TimeUnit.SECONDS);
          assertThat(lossy.stats().droppedSum()).isEqualTo(4);

          Health down = indicator.health();
          assertThat(down.getStatus()).isEqualTo(Status.DOWN);
          Map<?, ?> lossyDetails = (Map<?, ?>) down.getDetails().get("lossy");
          assertThat(lossyDetails.get("status")).isEqualTo("DOWN");
          assertThat(lossyDetails.get("droppedSinceLastCheck")).isEqualTo(4L);
          assertThat((List<?>) lossyDetails.get("problems")).singleElement().asString()
              .contains("dropped a sum of 4");
          assertThat(((Map<?, ?>) down.getDetails().get("good")).get("status")).isEqualTo("UP");

          assertThat(indicator.health().getStatus()).as("no drop since").isEqualTo(Status.UP);
        });
  }

  @Test
  void healthIsDownWhileCountsWaitForRetriesLongerThanMaxLag() {
    healthRunner().withPropertyValues("statbuffer.health.max-lag=100ms",
        "statbuffer.buffers.stuck.backoff=1h",
        "statbuffer.buffers.stuck.shutdown-timeout=100ms",
        "statbuffer.buffers.stuck.sink.type=handler",
        "statbuffer.buffers.stuck.sink.handler=failing").run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> stuck = context.getBean("stuck", StatBuffer.class);
          StatBufferHealthIndicator indicator = context.getBean(StatBufferHealthIndicator.class);
          stuck.increment("x");
          stuck.flushAll(); // fails, and waits an hour for its retry
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          Health health = indicator.health();
          while (health.getStatus() != Status.DOWN && System.nanoTime() < deadline) {
            Thread.sleep(20);
            health = indicator.health();
          }
          assertThat(health.getStatus()).isEqualTo(Status.DOWN);
          Map<?, ?> details = (Map<?, ?>) health.getDetails().get("stuck");
          assertThat((List<?>) details.get("problems")).singleElement().asString()
              .contains("statbuffer.health.max-lag");
          assertThat(indicator.health().getStatus()).as("still stuck").isEqualTo(Status.DOWN);
        });
  }

  @Test
  void healthIndicatorCanBeSwitchedOff() {
    healthRunner().withPropertyValues("management.health.statbuffer.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean(StatBufferHealthIndicator.class));
    healthRunner().run(context -> assertThat(context)
        .hasBean("statbufferHealthIndicator"));
  }

  @Test
  void nonPositiveMaxLagFailsStartup() {
    healthRunner().withPropertyValues("statbuffer.health.max-lag=0s").run(context -> {
      StatBufferConfigurationException e = BufferPropertiesTest.configFailure(
          context.getStartupFailure());
      assertThat(e.property()).isEqualTo("statbuffer.health.max-lag");
    });
  }

  private static ApplicationContextRunner healthRunner() {
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class,
            StatBufferHealthContributorAutoConfiguration.class))
        .withBean("recorder", BufferPropertiesTest.Recorder.class,
            BufferPropertiesTest.Recorder::new)
        .withBean("failing", Failing.class, Failing::new);
  }

  /** A sink that is down. */
  static final class Failing implements FlushHandler<String> {
    @Override
    public void flush(String key, long count) throws Exception {
      throw new Exception("sink down (on purpose)");
    }

    @Override
    public void onDrop(String key, long count, Exception lastError) {
      // expected in these tests; keep the log quiet
    }
  }
}
