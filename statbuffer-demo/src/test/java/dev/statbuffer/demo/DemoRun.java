package dev.statbuffer.demo;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the demo in this JVM with captured output, and reads its JSON summary line. */
record DemoRun(int exitCode, String out, String err) {
  private static final Pattern FIELD =
      Pattern.compile("\"([A-Za-z]+)\":(\"(?:[^\"\\\\]|\\\\.)*\"|true|false|null|-?[0-9.]+)");

  static DemoRun of(String... args) {
    return of(UnaryOperator.identity(), args);
  }

  static DemoRun of(UnaryOperator<DemoStore> storeDecorator, String... args) {
    DemoCommand command = new DemoCommand();
    command.storeDecorator = storeDecorator;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = DemoCommand.commandLine(command)
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .execute(args);
    return new DemoRun(code, out.toString(), err.toString());
  }

  /** The last line of the output. */
  String lastLine() {
    List<String> lines = out.lines().toList();
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }

  /** The fields of the JSON object on the last line (strings unquoted; numbers as text). */
  Map<String, String> json() {
    return parseJson(lastLine());
  }

  static Map<String, String> parseJson(String line) {
    if (!line.startsWith("{") || !line.endsWith("}")) {
      throw new AssertionError("the last line is not a JSON object: " + line);
    }
    Map<String, String> fields = new HashMap<>();
    Matcher m = FIELD.matcher(line);
    while (m.find()) {
      String value = m.group(2);
      fields.put(m.group(1), value.startsWith("\"") ? value.substring(1, value.length() - 1)
          : value);
    }
    return fields;
  }

  @Override
  public String toString() {
    return "exit " + exitCode + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
  }
}
