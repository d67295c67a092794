package dev.statbuffer.spring;

import dev.statbuffer.StatBuffer;
import java.lang.reflect.Field;
import java.util.UUID;

/** Helpers shared by the starter's tests. */
final class TestSupport {
  private TestSupport() {}

  /** A fresh in-memory H2 database that outlives its connections (and the context's pool). */
  static String h2Url() {
    return "jdbc:h2:mem:sb" + UUID.randomUUID().toString().replace("-", "")
        + ";DB_CLOSE_DELAY=-1";
  }

  /** Every message of the cause chain, one a line. */
  static String messages(Throwable failure) {
    StringBuilder text = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      text.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
    }
    return text.toString();
  }

  /** The first exception of {@code type} in the cause chain, or null. */
  static <T extends Throwable> T cause(Throwable failure, Class<T> type) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  /** The buffer's frozen options (the core's package-private {@code Config}), read reflectively. */
  static Object config(StatBuffer<?> buffer) {
    return field(buffer, "config");
  }

  /** A field's value, read reflectively: the options have no getters. */
  static Object field(Object target, String name) {
    try {
      Field field = target.getClass().getDeclaredField(name);
      field.setAccessible(true);
      return field.get(target);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("No field " + name + " in " + target.getClass(), e);
    }
  }
}
