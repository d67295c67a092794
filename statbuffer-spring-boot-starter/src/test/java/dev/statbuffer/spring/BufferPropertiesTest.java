package dev.statbuffer.spring;

import static dev.statbuffer.spring.TestSupport.cause;
import static dev.statbuffer.spring.TestSupport.config;
import static dev.statbuffer.spring.TestSupport.field;
import static dev.statbuffer.spring.TestSupport.messages;
import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.FlushBatch;
import dev.statbuffer.FlushHandler;
import dev.statbuffer.StatBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.ResolvableType;

/**
 * Properties to buffers: every option reaches the builder, the beans are found by name and type,
 * the handler sink works, and bad declarations fail start-up with the property and the fix.
 */
class BufferPropertiesTest {
  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class))
      .withBean("recorder", Recorder.class, Recorder::new);

  @Test
  void everyOptionReachesTheBuilder() {
    runner.withPropertyValues(
        "statbuffer.buffers.page-views.interval=250ms",
        "statbuffer.buffers.page-views.jitter=2s",
        "statbuffer.buffers.page-views.backoff=3s",
        "statbuffer.buffers.page-views.max-backoff=4m",
        "statbuffer.buffers.page-views.max-attempts=7",
        "statbuffer.buffers.page-views.max-keys=1234",
        "statbuffer.buffers.page-views.max-batch-size=56",
        "statbuffer.buffers.page-views.shutdown-timeout=9s",
        "statbuffer.buffers.page-views.flush-timeout=11s",
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder").run(context -> {
          assertThat(context).hasNotFailed();
          StatBuffer<?> buffer = context.getBean("page-views", StatBuffer.class);
          assertThat(buffer.name()).isEqualTo("page-views");
          Object config = config(buffer);
          assertThat(field(config, "intervalNanos")).isEqualTo(
              Duration.ofMillis(250).toNanos());
          assertThat(field(config, "jitterNanos")).isEqualTo(Duration.ofSeconds(2).toNanos());
          Object backoff = field(config, "backoff");
          assertThat(field(backoff, "initialNanos")).isEqualTo(Duration.ofSeconds(3).toNanos());
          assertThat(field(backoff, "maxNanos")).isEqualTo(Duration.ofMinutes(4).toNanos());
          assertThat(field(backoff, "maxAttempts")).isEqualTo(7);
          assertThat(field(config, "maxKeys")).isEqualTo(1234L);
          assertThat(field(config, "maxBatchSize")).isEqualTo(56);
          assertThat(field(config, "shutdownTimeoutNanos")).isEqualTo(
              Duration.ofSeconds(9).toNanos());
          assertThat(field(config, "flushTimeoutNanos")).isEqualTo(
              Duration.ofSeconds(11).toNanos());
          assertThat(field(config, "shutdownHook")).isEqualTo(false);
        });
  }

  @Test
  void optionsLeftOutKeepTheCoreDefaults() {
    runner.withPropertyValues("statbuffer.buffers.plain.sink.type=handler",
        "statbuffer.buffers.plain.sink.handler=recorder").run(context -> {
          Object config = config(context.getBean("plain", StatBuffer.class));
          assertThat(field(config, "intervalNanos")).isEqualTo(Duration.ofSeconds(5).toNanos());
          assertThat(field(config, "jitterNanos")).isEqualTo(0L);
          Object backoff = field(config, "backoff");
          assertThat(field(backoff, "initialNanos")).isEqualTo(Duration.ofSeconds(1).toNanos());
          assertThat(field(backoff, "maxNanos")).isEqualTo(Duration.ofSeconds(30).toNanos());
          assertThat(field(backoff, "maxAttempts")).isEqualTo(Integer.MAX_VALUE);
          assertThat(field(config, "maxKeys")).isEqualTo(Long.MAX_VALUE);
          assertThat(field(config, "maxBatchSize")).isEqualTo(1000);
          assertThat(field(config, "shutdownTimeoutNanos")).isEqualTo(
              Duration.ofSeconds(30).toNanos());
          assertThat(field(config, "flushTimeoutNanos")).isEqualTo(
              Duration.ofSeconds(30).toNanos());
          assertThat(field(config, "shutdownHook")).isEqualTo(false);
          assertThat(field(config, "listener")).isNull(); // no MeterRegistry, no listener
        });
  }

  @Test
  void buffersAreBeansByNameAndByType() {
    runner.withUserConfiguration(Consumer.class).withPropertyValues(
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder",
        "statbuffer.buffers.downloads.sink.type=handler",
        "statbuffer.buffers.downloads.sink.handler=recorder").run(context -> {
          assertThat(context).hasNotFailed();
          Consumer consumer = context.getBean(Consumer.class);
          assertThat(consumer.views).isSameAs(context.getBean("page-views"));
          assertThat(consumer.downloads).isSameAs(context.getBean("downloads"));
          assertThat(consumer.views.name()).isEqualTo("page-views");
          assertThat(consumer.downloads.name()).isEqualTo("downloads");
          assertThat(consumer.all).containsOnlyKeys("page-views", "downloads");
          assertThat(context.getBeanNamesForType(
              ResolvableType.forClassWithGenerics(StatBuffer.class, String.class)))
              .containsExactlyInAnyOrder("page-views", "downloads");
          assertThat(context.getBean(StatBufferRegistry.class).buffers())
              .containsOnlyKeys("page-views", "downloads");
        });
  }

  @Test
  void handlerSinkReceivesTheCounts() {
    runner.withPropertyValues("statbuffer.buffers.page-views.interval=1h",
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder").run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          views.increment("/home");
          views.increment("/home", 4);
          views.increment("/pricing");
          views.flushAll().get(10, TimeUnit.SECONDS);
          assertThat(context.getBean(Recorder.class).counts)
              .containsExactlyInAnyOrderEntriesOf(Map.of("/home", 5L, "/pricing", 1L));
        });
  }

  @Test
  void batchHandlerBeanIsUsedBatched() {
    runner.withBean("batches", BatchRecorder.class, BatchRecorder::new).withPropertyValues(
        "statbuffer.buffers.page-views.interval=1h",
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=batches").run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          views.increment("a", 2);
          views.increment("b", 3);
          views.flushAll().get(10, TimeUnit.SECONDS);
          assertThat(context.getBean(BatchRecorder.class).batches).containsExactly(
              Map.of("a", 2L, "b", 3L));
        });
  }

  @Test
  void contextCloseDeliversTheRest() {
    Recorder recorder = new Recorder();
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class))
        .withBean("recorder", Recorder.class, () -> recorder)
        .withPropertyValues("statbuffer.buffers.page-views.interval=1h",
            "statbuffer.buffers.page-views.sink.type=handler",
            "statbuffer.buffers.page-views.sink.handler=recorder")
        .run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          for (int i = 0; i < 1000; i++) {
            views.increment("k" + (i % 10));
          }
          assertThat(recorder.counts).isEmpty(); // an hour to go
        });
    assertThat(recorder.counts).hasSize(10).allSatisfy((key, count) -> assertThat(count)
        .isEqualTo(100L));
  }

  /**
   * Stand-ins for the web server (stopped at {@code DEFAULT_PHASE - 2048}) and for Lettuce's
   * connection factory (phase 0) see the buffer open and closed, in that order.
   */
  @Test
  void buffersCloseBetweenTheWebServerAndLettucePhases() {
    Map<String, Boolean> closedWhenStopped = new ConcurrentHashMap<>();
    runner.withBean("webServer", PhaseProbe.class, () -> new PhaseProbe("webServer",
            org.springframework.context.SmartLifecycle.DEFAULT_PHASE - 2048, closedWhenStopped))
        .withBean("lettuce", PhaseProbe.class, () -> new PhaseProbe("lettuce", 0,
            closedWhenStopped))
        .withPropertyValues("statbuffer.buffers.page-views.sink.type=handler",
            "statbuffer.buffers.page-views.sink.handler=recorder")
        .run(context -> {
          StatBuffer<?> views = context.getBean("page-views", StatBuffer.class);
          context.getBeansOfType(PhaseProbe.class).values().forEach(p -> p.buffer = views);
        });
    assertThat(closedWhenStopped).containsExactlyInAnyOrderEntriesOf(
        Map.of("webServer", false, "lettuce", true));
  }

  /**
   * The buffers' stop is synchronous: a slow sink holds the phase up however short the lifecycle
   * processor's timeout per shutdown phase, so the phase-0 probe finds every count delivered.
   */
  @Test
  void theTimeoutPerShutdownPhaseDoesNotCutTheCloseShort() {
    Map<String, Boolean> closedWhenStopped = new ConcurrentHashMap<>();
    Map<String, Long> deliveredWhenStopped = new ConcurrentHashMap<>();
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(StatBufferAutoConfiguration.class))
        .withBean("lifecycleProcessor",
            org.springframework.context.support.DefaultLifecycleProcessor.class, () -> {
              var processor = new org.springframework.context.support.DefaultLifecycleProcessor();
              processor.setTimeoutPerShutdownPhase(50);
              return processor;
            })
        .withBean("slow", FlushHandler.class, () -> (FlushHandler<String>) (key, count) ->
            Thread.sleep(500))
        .withBean("lettuce", PhaseProbe.class, () -> new PhaseProbe("lettuce", 0,
            closedWhenStopped) {
          @Override
          public void stop() {
            deliveredWhenStopped.put("lettuce", buffer.stats().deliveredSum());
            super.stop();
          }
        })
        .withPropertyValues("statbuffer.buffers.page-views.interval=1h",
            "statbuffer.buffers.page-views.sink.type=handler",
            "statbuffer.buffers.page-views.sink.handler=slow")
        .run(context -> {
          @SuppressWarnings("unchecked")
          StatBuffer<String> views = context.getBean("page-views", StatBuffer.class);
          context.getBean(PhaseProbe.class).buffer = views;
          views.increment("a", 3);
          views.increment("b", 4);
        });
    assertThat(closedWhenStopped).containsEntry("lettuce", true);
    assertThat(deliveredWhenStopped).containsEntry("lettuce", 7L);
  }

  /** Records, when it stops, whether the buffer was closed. */
  static class PhaseProbe implements org.springframework.context.SmartLifecycle {
    private final String name;
    private final int phase;
    private final Map<String, Boolean> closedWhenStopped;
    private volatile boolean running;
    volatile StatBuffer<?> buffer;

    PhaseProbe(String name, int phase, Map<String, Boolean> closedWhenStopped) {
      this.name = name;
      this.phase = phase;
      this.closedWhenStopped = closedWhenStopped;
    }

    @Override
    public void start() {
      running = true;
    }

    @Override
    public void stop() {
      closedWhenStopped.put(name, buffer.isClosed());
      running = false;
    }

    @Override
    public boolean isRunning() {
      return running;
    }

    @Override
    public int getPhase() {
      return phase;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Bad input
  // -------------------------------------------------------------------------------------------

  @Test
  void unknownSinkTypeFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.type=kafka").run(context -> {
      assertThat(context).hasFailed();
      Throwable failure = context.getStartupFailure();
      assertThat(messages(failure)).contains("statbuffer.buffers.page-views.sink.type");
      FailureAnalysis analysis = new StatBufferFailureAnalyzer().analyze(failure);
      assertThat(analysis.getDescription()).contains("statbuffer.buffers.page-views.sink.type")
          .contains("kafka");
      assertThat(analysis.getAction()).contains("statbuffer.buffers.page-views.sink.type")
          .contains("jdbc, redis, handler");
    });
  }

  @Test
  void missingSinkTypeFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.interval=1s").run(context -> {
      StatBufferConfigurationException e = configFailure(context.getStartupFailure());
      assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.type");
      assertThat(e.getMessage()).contains("is not set").contains("jdbc, redis or handler");
    });
  }

  @Test
  void unparseableDurationFailsStartupNamingTheProperty() {
    runner.withPropertyValues("statbuffer.buffers.page-views.interval=5 parsecs",
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder").run(context -> {
          assertThat(context).hasFailed();
          Throwable failure = context.getStartupFailure();
          assertThat(messages(failure)).contains("statbuffer.buffers.page-views.interval");
          FailureAnalysis analysis = new StatBufferFailureAnalyzer().analyze(failure);
          assertThat(analysis.getDescription())
              .contains("statbuffer.buffers.page-views.interval").contains("5 parsecs");
          assertThat(analysis.getAction()).contains("statbuffer.buffers.page-views.interval")
              .contains("5s");
        });
  }

  @Test
  void negativeDurationFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.backoff=-1s",
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.backoff");
          assertThat(e.getMessage()).contains("must not be negative").contains("Fix:");
          FailureAnalysis analysis = new StatBufferFailureAnalyzer().analyze(
              context.getStartupFailure());
          assertThat(analysis.getDescription()).contains("statbuffer.buffers.page-views.backoff");
          assertThat(analysis.getAction()).contains("at least 0");
        });
  }

  @Test
  void zeroMaxAttemptsFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.max-attempts=0",
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.max-attempts");
          assertThat(e.fix()).contains("at least 1");
        });
  }

  @Test
  void optionOfAnotherSinkTypeFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=recorder",
        "statbuffer.buffers.page-views.sink.table=page_views").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.table");
          assertThat(e.getMessage()).contains("applies to sink type jdbc");
        });
  }

  @Test
  void missingHandlerBeanFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=nope").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.handler");
          assertThat(e.getMessage()).contains("no bean of that name");
        });
  }

  @Test
  void handlerBeanOfWrongTypeFailsStartup() {
    runner.withBean("text", String.class, () -> "not a handler").withPropertyValues(
        "statbuffer.buffers.page-views.sink.type=handler",
        "statbuffer.buffers.page-views.sink.handler=text").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.getMessage()).contains("neither a FlushHandler nor a BatchFlushHandler");
        });
  }

  @Test
  void redisWithoutConnectionFactoryFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.page-views.sink.type=redis",
        "statbuffer.buffers.page-views.sink.key-prefix=views:").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.page-views.sink.type");
          assertThat(e.getMessage()).contains("no RedisConnectionFactory bean")
              .contains("spring-boot-starter-data-redis");
        });
  }

  @Test
  void bufferNamedLikeAnExistingBeanFailsStartup() {
    runner.withPropertyValues("statbuffer.buffers.recorder.sink.type=handler",
        "statbuffer.buffers.recorder.sink.handler=recorder").run(context -> {
          StatBufferConfigurationException e = configFailure(context.getStartupFailure());
          assertThat(e.property()).isEqualTo("statbuffer.buffers.recorder");
          assertThat(e.fix()).contains("rename the buffer");
        });
  }

  @Test
  void noBuffersDeclaredMeansNoBuffers() {
    runner.run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context.getBeansOfType(StatBuffer.class)).isEmpty();
      assertThat(context).hasSingleBean(StatBufferLifecycle.class);
    });
  }

  @Test
  void lifecyclePhaseIsConfigurable() {
    runner.withPropertyValues("statbuffer.lifecycle.phase=42").run(context ->
        assertThat(context.getBean(StatBufferLifecycle.class).getPhase()).isEqualTo(42));
    runner.run(context -> assertThat(context.getBean(StatBufferLifecycle.class).getPhase())
        .isEqualTo(StatBufferLifecycle.DEFAULT_PHASE));
  }

  static StatBufferConfigurationException configFailure(Throwable failure) {
    assertThat(failure).as("start-up failure").isNotNull();
    StatBufferConfigurationException e = cause(failure, StatBufferConfigurationException.class);
    assertThat(e).as(messages(failure)).isNotNull();
    FailureAnalysis analysis = new StatBufferFailureAnalyzer().analyze(failure);
    assertThat(analysis.getDescription()).contains(e.property());
    assertThat(analysis.getAction()).contains(e.fix());
    return e;
  }

  /** A per-key handler bean that keeps what it receives. */
  static final class Recorder implements FlushHandler<String> {
    final Map<String, Long> counts = new ConcurrentHashMap<>();

    @Override
    public void flush(String key, long count) {
      counts.merge(key, count, Long::sum);
    }
  }

  /** A batch handler bean that keeps its batches. */
  static final class BatchRecorder implements BatchFlushHandler<String> {
    final List<Map<String, Long>> batches = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void flush(FlushBatch<String> batch) {
      batches.add(Map.copyOf(batch.counts()));
    }
  }

  /** Injects buffers the ways an application would. */
  @Configuration(proxyBeanMethods = false)
  static class Consumer {
    StatBuffer<String> views;
    StatBuffer<String> downloads;
    Map<String, StatBuffer<String>> all;

    @Bean
    String wiring(@Qualifier("page-views") StatBuffer<String> views,
        @Qualifier("downloads") StatBuffer<String> downloads,
        Map<String, StatBuffer<String>> all) {
      this.views = views;
      this.downloads = downloads;
      this.all = all;
      return "wired";
    }
  }
}
