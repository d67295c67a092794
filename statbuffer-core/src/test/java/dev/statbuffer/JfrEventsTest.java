package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The flush and drop JFR events, read back from a real recording. */
class JfrEventsTest {

  @Test
  void recording_seesEveryHandlerCallAndEveryDrop(@TempDir Path dir) throws Exception {
    ManualClock clock = new ManualClock();
    Path file = dir.resolve("statbuffer.jfr");
    try (Recording recording = new Recording()) {
      recording.enable("dev.statbuffer.Flush");
      recording.enable("dev.statbuffer.Drop");
      recording.start();
      StatBuffer<String> buffer = StatBuffer.newBuilder().name("jfr").shutdownHook(false)
          .ticker(clock).scheduler(clock).executor(Runnable::run)
          .interval(Duration.ofSeconds(1)).backoff(Duration.ofSeconds(1)).maxAttempts(2)
          .buildBatched(new BatchFlushHandler<String>() {
            @Override
            public void flush(FlushBatch<String> batch) {
              if (batch.counts().containsKey("bad")) {
                throw new IllegalStateException("refused");
              }
            }

            @Override
            public void onDrop(FlushBatch<String> batch, Exception lastError) {}
          });
      buffer.increment("good", 3);
      buffer.flush("good").join();
      buffer.increment("bad", 5);
      clock.advance(Duration.ofSeconds(5));
      buffer.close();
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> events = RecordingFile.readAllEvents(file);
    List<RecordedEvent> flushes = events.stream()
        .filter(e -> e.getEventType().getName().equals("dev.statbuffer.Flush")).toList();
    List<RecordedEvent> drops = events.stream()
        .filter(e -> e.getEventType().getName().equals("dev.statbuffer.Drop")).toList();
    assertThat(flushes).extracting(e -> e.getString("buffer")).containsOnly("jfr");
    assertThat(flushes).extracting(e -> e.getLong("sum") + "/" + e.getInt("attempt") + "/"
        + e.getString("outcome")).containsExactly("3/1/success",
            "5/1/failure: java.lang.IllegalStateException",
            "5/2/failure: java.lang.IllegalStateException");
    assertThat(drops).singleElement().satisfies(drop -> {
      assertThat(drop.getLong("sum")).isEqualTo(5);
      assertThat(drop.getInt("keys")).isEqualTo(1);
      assertThat(drop.getInt("attempts")).isEqualTo(2);
      assertThat(drop.getString("reason")).contains("refused");
      assertThat(drop.getString("batchId")).isNotBlank();
    });
  }
}
