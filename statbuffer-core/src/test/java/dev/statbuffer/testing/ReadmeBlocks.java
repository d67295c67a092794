package dev.statbuffer.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Compiles the {@code ```java} blocks of the repository's READMEs against the test class path of
 * the module that asks, so that the examples cannot rot. Each module compiles the READMEs whose
 * examples its class path can see. Stateless; thread-safe.
 */
public final class ReadmeBlocks {
  private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

  private ReadmeBlocks() {}

  /** The repository root: the first directory above the working directory that holds mvnw. */
  public static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("mvnw"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("repository root above the working directory").isNotNull();
    return dir;
  }

  /**
   * The {@code ```java} blocks of a markdown file under the repository root, in order.
   *
   * @param readme the file, relative to the root, such as {@code "statbuffer-jdbc/README.md"}
   * @return the blocks' text
   * @throws IOException if the file cannot be read
   */
  public static List<String> javaBlocks(String readme) throws IOException {
    String text = Files.readString(root().resolve(readme), StandardCharsets.UTF_8);
    Matcher matcher = JAVA_BLOCK.matcher(text);
    List<String> blocks = new ArrayList<>();
    while (matcher.find()) {
      blocks.add(matcher.group(1));
    }
    return blocks;
  }

  /**
   * Compiles the given compilation units (simple class name to source, all in package
   * {@code readme}) with the test class path, and fails with the compiler's messages if any does
   * not compile.
   *
   * @param sources class name to source text
   * @param out a directory for the class files
   * @throws IOException if the compiler's file manager fails
   */
  public static void assertCompile(Map<String, String> sources, Path out) throws IOException {
    List<JavaFileObject> units = new ArrayList<>();
    sources.forEach((name, code) -> units.add(new Source(name, code)));
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, null,
        StandardCharsets.UTF_8)) {
      List<String> options = List.of("-classpath", System.getProperty("java.class.path"),
          "-d", out.toString(), "--release", "17", "-proc:none");
      boolean ok = compiler.getTask(null, files, diagnostics, options, null, units).call();
      assertThat(ok).as("README examples compile:\n" + diagnostics.getDiagnostics()).isTrue();
    }
  }

  /**
   * Compiles the given compilation units as {@link #assertCompile} does, and returns a class
   * loader that loads the compiled classes, with the caller's test class path as its parent, so
   * that a test can run what a document shows. Units may declare any package; each name must be
   * the simple name of the unit's top-level type.
   *
   * @param sources class name to source text
   * @param out a directory for the class files, which the loader reads
   * @return a loader of the compiled classes; close it when done
   * @throws IOException if the compiler's file manager fails
   */
  public static URLClassLoader compileAndLoad(Map<String, String> sources, Path out)
      throws IOException {
    assertCompile(sources, out);
    return new URLClassLoader(new URL[] {out.toUri().toURL()},
        ReadmeBlocks.class.getClassLoader());
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
