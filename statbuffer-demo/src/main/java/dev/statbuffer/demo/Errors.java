package dev.statbuffer.demo;

/** Turns exceptions into the one-line messages the demo prints. Stateless. */
final class Errors {
  private Errors() {}

  /**
   * The exception's message followed by those of its causes, each in parentheses, leaving out a
   * cause's message that is already part of the text (drivers and pools often repeat it).
   *
   * @param e the exception
   * @return one line, such as {@code Connection is not available (Connection refused)}
   */
  static String rootMessage(Throwable e) {
    Throwable root = e;
    StringBuilder message = new StringBuilder(String.valueOf(e.getMessage()));
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
      if (root.getMessage() != null && !message.toString().contains(root.getMessage())) {
        message.append(" (").append(root.getMessage()).append(')');
      }
    }
    return message.toString();
  }
}
