package dev.statbuffer.spring;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * A {@code statbuffer.*} property that cannot work: thrown while the buffers are created, so the
 * application fails to start instead of running a buffer that would drop its counts. The message
 * names the property, the problem and the fix; Spring Boot's start-up failure report shows them
 * as description and action.
 *
 * <p>Immutable, and so thread-safe.
 */
public final class StatBufferConfigurationException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /** The full name of the property at fault. */
  private final String property;
  /** What is wrong. */
  private final String problem;
  /** What to do about it. */
  private final String fix;

  /**
   * Creates the exception.
   *
   * @param property the full property name, such as
   *     {@code statbuffer.buffers.page-views.sink.table}
   * @param problem what is wrong, as a sentence
   * @param fix what to do about it, as a sentence
   * @param cause the underlying failure, or null
   */
  public StatBufferConfigurationException(String property, String problem, String fix,
      @Nullable Throwable cause) {
    super(requireNonNull(property, "property") + ": " + requireNonNull(problem, "problem")
        + " Fix: " + requireNonNull(fix, "fix"), cause);
    this.property = property;
    this.problem = problem;
    this.fix = fix;
  }

  /**
   * Creates the exception without a cause.
   *
   * @param property the full property name
   * @param problem what is wrong
   * @param fix what to do about it
   */
  public StatBufferConfigurationException(String property, String problem, String fix) {
    this(property, problem, fix, null);
  }

  /**
   * The property at fault.
   *
   * @return the full property name
   */
  public String property() {
    return property;
  }

  /**
   * What is wrong.
   *
   * @return the problem
   */
  public String problem() {
    return problem;
  }

  /**
   * What to do about it.
   *
   * @return the fix
   */
  public String fix() {
    return fix;
  }
}
