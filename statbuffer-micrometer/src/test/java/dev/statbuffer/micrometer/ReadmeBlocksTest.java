package dev.statbuffer.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ReadmeBlocks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compiles the {@code ```java} blocks of this module's README, as a method taking a DataSource. */
class ReadmeBlocksTest {
  private static final String PREAMBLE = String.join("\n",
      "package readme;",
      "import dev.statbuffer.*;",
      "import dev.statbuffer.jdbc.*;",
      "import dev.statbuffer.micrometer.*;",
      "import io.micrometer.core.instrument.MeterRegistry;",
      "import io.micrometer.core.instrument.simple.SimpleMeterRegistry;",
      "import java.time.*;",
      "import javax.sql.DataSource;",
      "");

  @Test
  void readmeJavaBlocks_compile(@TempDir Path out) throws IOException {
    List<String> blocks = ReadmeBlocks.javaBlocks("statbuffer-micrometer/README.md");
    assertThat(blocks).isNotEmpty();
    Map<String, String> sources = new LinkedHashMap<>();
    for (int b = 0; b < blocks.size(); b++) {
      sources.put("Example" + b, PREAMBLE + "class Example" + b + " {\n"
          + "  static void run(DataSource dataSource) throws Exception {\n"
          + blocks.get(b) + "  }\n}\n");
    }
    ReadmeBlocks.assertCompile(sources, out);
  }
}
