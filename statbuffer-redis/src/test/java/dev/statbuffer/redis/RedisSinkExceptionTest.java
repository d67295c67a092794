package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exception's values; no server needed. */
class RedisSinkExceptionTest {

  /** Regression: failures was transient, so a deserialized exception returned null. */
  @Test
  void serialized_thenRead_keepsFailuresInOrder() throws Exception {
    RedisSinkException original = new RedisSinkException("b-1", 3, List.of(
        new RedisSinkException.PartFailure("h:1", 7, List.of("k1", "k2"), "MOVED 7 h:2", null),
        new RedisSinkException.PartFailure("h:3", 9, List.of("k3"), "no reply within PT1S",
            new IllegalStateException("x"))));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(original);
    }
    RedisSinkException read;
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      read = (RedisSinkException) in.readObject();
    }
    assertThat(read.batchId()).isEqualTo("b-1");
    assertThat(read.getMessage()).isEqualTo(original.getMessage());
    assertThat(read.failures()).extracting(RedisSinkException.PartFailure::keys)
        .containsExactly(List.of("k1", "k2"), List.of("k3"));
    assertThat(read.failures().get(1).cause()).hasMessage("x");
  }
}
