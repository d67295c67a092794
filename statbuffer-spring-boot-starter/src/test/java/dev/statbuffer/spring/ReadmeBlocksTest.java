package dev.statbuffer.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ReadmeBlocks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compiles the {@code ```java} blocks of this module's README: each is a class of its own. */
class ReadmeBlocksTest {
  private static final String PREAMBLE = String.join("\n",
      "package readme;",
      "import dev.statbuffer.*;",
      "import org.springframework.beans.factory.annotation.Qualifier;",
      "import org.springframework.stereotype.Service;",
      "");

  @Test
  void readmeJavaBlocks_compile(@TempDir Path out) throws IOException {
    List<String> blocks = ReadmeBlocks.javaBlocks("statbuffer-spring-boot-starter/README.md");
    assertThat(blocks).isNotEmpty();
    Map<String, String> sources = new LinkedHashMap<>();
    for (int b = 0; b < blocks.size(); b++) {
      sources.put("Example" + b, PREAMBLE + blocks.get(b));
    }
    ReadmeBlocks.assertCompile(sources, out);
  }
}
