package dev.statbuffer.spring;

import dev.statbuffer.spring.StatBufferProperties.SinkType;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.Ordered;

/**
 * Explains a start-up failure caused by a {@code statbuffer.*} property: a
 * {@link StatBufferConfigurationException} (its problem and fix), or a value that does not bind
 * at all (a duration such as {@code 5 parsecs}, an unknown sink type), for which it says what the
 * property takes. Runs before Spring Boot's generic bind analyzer. Registered in
 * {@code META-INF/spring.factories}. Stateless and thread-safe.
 */
final class StatBufferFailureAnalyzer implements FailureAnalyzer, Ordered {

  @Override
  public @Nullable FailureAnalysis analyze(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof StatBufferConfigurationException e) {
        return new FailureAnalysis("Invalid StatBuffer configuration: " + e.property() + " "
            + e.problem(), "Fix " + e.property() + ": " + e.fix(), e);
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof BindException e && e.getName().toString().startsWith("statbuffer.")) {
        return bindFailure(e);
      }
    }
    return null;
  }

  private static FailureAnalysis bindFailure(BindException e) {
    String name = e.getName().toString();
    ConfigurationProperty property = e.getProperty();
    Class<?> type = e.getTarget().getType().resolve(Object.class);
    StringBuilder description = new StringBuilder("Invalid StatBuffer configuration: ")
        .append(name);
    if (property != null) {
      description.append(" = \"").append(property.getValue()).append('"');
      if (property.getOrigin() != null) {
        description.append(" (").append(property.getOrigin()).append(')');
      }
    }
    description.append(" is not ").append(expected(type)).append('.');
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    if (root != e && root.getMessage() != null) {
      description.append(" Reason: ").append(root.getMessage());
    }
    return new FailureAnalysis(description.toString(),
        "Set " + name + " to " + expected(type) + ".", e);
  }

  private static String expected(Class<?> type) {
    if (type == Duration.class) {
      return "a duration such as 500ms, 5s, 1m or 2h (a bare number means milliseconds;"
          + " ISO-8601 such as PT5S works too)";
    }
    if (type == SinkType.class) {
      return "one of " + Arrays.stream(SinkType.values())
          .map(t -> t.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
      return "a whole number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    return "a valid " + type.getSimpleName();
  }

  /**
   * Before Spring Boot's own analyzers, which would describe the same bind failure generically.
   *
   * @return the highest precedence
   */
  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE;
  }
}
