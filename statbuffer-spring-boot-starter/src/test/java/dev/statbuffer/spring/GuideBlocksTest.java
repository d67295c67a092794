package dev.statbuffer.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ReadmeBlocks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles the {@code ```java} blocks of {@code docs/guides/spring-boot.md} against this module's
 * test class path (the starter, Spring Boot, Spring MVC, Micrometer): each block must be a
 * complete compilation unit with its package, imports and a top-level type.
 */
class GuideBlocksTest {
  private static final Pattern TYPE = Pattern.compile(
      "(?m)^(?:public\\s+)?(?:final\\s+|abstract\\s+)*(?:class|record|interface|enum)\\s+(\\w+)");

  @Test
  void springBootGuideJavaBlocks_compileAsCompleteClasses(@TempDir Path out) throws IOException {
    List<String> blocks = ReadmeBlocks.javaBlocks("docs/guides/spring-boot.md");
    Map<String, String> sources = new LinkedHashMap<>();
    for (String block : blocks) {
      assertThat(block).as("a package declaration").containsPattern("(?m)^package [\\w.]+;");
      Matcher type = TYPE.matcher(block);
      assertThat(type.find()).as("a top-level type in:\n" + block).isTrue();
      assertThat(sources.put(type.group(1), block)).as("one block per type").isNull();
    }
    assertThat(sources).containsKeys("PageViewsController", "PageViewsApplication",
        "DailyViewsConfiguration");
    ReadmeBlocks.assertCompile(sources, out);
  }
}
