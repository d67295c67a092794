package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class DurationConverterTest {
  private final DurationConverter converter = new DurationConverter();

  @Test
  void convert_unitsAndIso_parse() {
    assertThat(converter.convert("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(converter.convert("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(converter.convert("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(converter.convert("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(converter.convert("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(converter.convert("3")).isEqualTo(Duration.ofSeconds(3));
    assertThat(converter.convert("PT0.25S")).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void convert_garbage_throwsSayingWhatIsAllowed() {
    assertThatThrownBy(() -> converter.convert("10x"))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'10x' is not a duration")
        .hasMessageContaining("10s");
  }

  @Test
  void format_roundTrips() {
    assertThat(DurationConverter.format(Duration.ofSeconds(10))).isEqualTo("10s");
    assertThat(DurationConverter.format(Duration.ofMillis(500))).isEqualTo("500ms");
    assertThat(DurationConverter.format(Duration.ofMillis(1500))).isEqualTo("1.5s");
  }
}
