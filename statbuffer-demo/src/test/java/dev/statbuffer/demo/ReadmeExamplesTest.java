package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.statbuffer.testing.ReadmeBlocks;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every {@code ```java} block of the repository's README.md and of the JDBC and Redis
 * sinks' READMEs against the real modules, so the examples cannot rot. Each block becomes the body
 * of a method whose parameters are that README's stand-ins: {@code repository},
 * {@code dataSource} and {@code redisClient} for the root README, {@code dataSource} for the JDBC
 * README, none for the Redis README (its example makes its own client).
 */
class ReadmeExamplesTest {
  private static final String PREAMBLE = String.join("\n",
      "package readme;",
      "import dev.statbuffer.*;",
      "import dev.statbuffer.jdbc.*;",
      "import dev.statbuffer.redis.*;",
      "import dev.statbuffer.testing.ManualClock;",
      "import com.zaxxer.hikari.*;",
      "import io.lettuce.core.RedisClient;",
      "import io.lettuce.core.cluster.RedisClusterClient;",
      "import java.nio.file.Path;",
      "import java.time.*;",
      "import java.util.*;",
      "import java.util.concurrent.*;",
      "import java.util.concurrent.atomic.*;",
      "import javax.sql.DataSource;",
      "");

  /** Where the README is, from the repository root, and the parameters its blocks may use. */
  private record Readme(String path, String parameters, int minBlocks) {}

  private static final List<Readme> READMES = List.of(
      new Readme("README.md", "Repository%d repository, DataSource dataSource,"
          + " RedisClient redisClient", 5),
      new Readme("statbuffer-jdbc/README.md", "DataSource dataSource", 2),
      new Readme("statbuffer-redis/README.md", "", 2));

  @Test
  void readmeJavaBlocks_compile(@TempDir Path out) throws IOException {
    Map<String, String> sources = new LinkedHashMap<>();
    for (Readme readme : READMES) {
      List<String> blocks = ReadmeBlocks.javaBlocks(readme.path());
      assertThat(blocks).as("java blocks in " + readme.path())
          .hasSizeGreaterThanOrEqualTo(readme.minBlocks());
      for (int b = 0; b < blocks.size(); b++) {
        int index = sources.size() + 1;
        sources.put("Example" + index, PREAMBLE
            + "interface Repository" + index + " {\n"
            + "  void addViews(String page, long count) throws Exception;\n"
            + "  void addAll(String batchId, Map<String, Long> counts) throws Exception;\n"
            + "}\n"
            + "// " + readme.path() + ", java block " + (b + 1) + "\n"
            + "class Example" + index + " {\n"
            + "  static void run(" + String.format(readme.parameters(), index)
            + ") throws Exception {\n"
            + blocks.get(b)
            + "  }\n}\n");
      }
    }
    ReadmeBlocks.assertCompile(sources, out);
  }
}
