package dev.statbuffer.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
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
  private static final Pattern JAVA_BLOCK =
      Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

  private static final String PREAMBLE = String.join("\n",
      "package readme;",
      "import dev.statbuffer.*;",
      "import dev.statbuffer.jdbc.*;",
      "import dev.statbuffer.redis.*;",
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
    Path root = findRoot();
    List<JavaFileObject> sources = new ArrayList<>();
    int index = 0;
    for (Readme readme : READMES) {
      String text = Files.readString(root.resolve(readme.path()), StandardCharsets.UTF_8);
      Matcher matcher = JAVA_BLOCK.matcher(text);
      int blocks = 0;
      while (matcher.find()) {
        index++;
        blocks++;
        String name = "Example" + index;
        String source = PREAMBLE
            + "interface Repository" + index + " {\n"
            + "  void addViews(String page, long count) throws Exception;\n"
            + "  void addAll(String batchId, Map<String, Long> counts) throws Exception;\n"
            + "}\n"
            + "// " + readme.path() + ", java block " + blocks + "\n"
            + "class " + name + " {\n"
            + "  static void run(" + String.format(readme.parameters(), index)
            + ") throws Exception {\n"
            + matcher.group(1)
            + "  }\n}\n";
        sources.add(new Source(name, source));
      }
      assertThat(blocks).as("java blocks in " + readme.path()).isGreaterThanOrEqualTo(
          readme.minBlocks());
    }

    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, null,
        StandardCharsets.UTF_8)) {
      List<String> options = List.of("-classpath", System.getProperty("java.class.path"),
          "-d", out.toString(), "--release", "17", "-proc:none");
      boolean ok = compiler.getTask(null, files, diagnostics, options, null, sources).call();
      assertThat(ok).as("README examples compile:\n" + diagnostics.getDiagnostics()).isTrue();
    }
  }

  private static Path findRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("mvnw"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("repository root above the working directory").isNotNull();
    return dir;
  }

  private static final class Source extends SimpleJavaFileObject {
    private final String code;

    Source(String name, String code) {
      super(URI.create("string:///readme/" + name + ".java"), Kind.SOURCE);
      this.code = code;
    }

    @Override
    public CharSequence getCharContent(boolean ignoreEncodingErrors) {
      return code;
    }
  }
}
