package dev.statbuffer.bench;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * File chores of the durable benchmarks: what a durable buffer's directory holds, copying one (for
 * a fresh recovery per invocation) and deleting one. Knows the file names a durable buffer uses
 * ({@code keys-<n>.sb}, {@code journal-<n>.sb}, {@code lock}) and nothing of their contents.
 *
 * <p>Thread-safety: stateless; each call works on the directory it is given.
 */
public final class DurableFiles {
  /** The start of a key file's name. */
  public static final String KEY_FILE_PREFIX = "keys-";
  /** The start of a journal file's name. */
  public static final String JOURNAL_FILE_PREFIX = "journal-";
  /** The end of a key or journal file's name. */
  public static final String SUFFIX = ".sb";

  private DurableFiles() {}

  /**
   * Lists the regular files of a directory whose names start with {@code prefix} and end with
   * {@link #SUFFIX}, in name order.
   *
   * @param directory the directory
   * @param prefix {@link #KEY_FILE_PREFIX} or {@link #JOURNAL_FILE_PREFIX}
   * @return the files
   * @throws IOException if the directory cannot be listed
   */
  public static List<Path> files(Path directory, String prefix) throws IOException {
    try (Stream<Path> list = Files.list(directory)) {
      return list.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().startsWith(prefix)
              && p.getFileName().toString().endsWith(SUFFIX))
          .sorted()
          .toList();
    }
  }

  /**
   * Returns the total size of the files {@link #files} lists.
   *
   * @param directory the directory
   * @param prefix {@link #KEY_FILE_PREFIX} or {@link #JOURNAL_FILE_PREFIX}
   * @return their sizes in bytes, summed
   * @throws IOException if a file cannot be read
   */
  public static long bytes(Path directory, String prefix) throws IOException {
    long total = 0;
    for (Path file : files(directory, prefix)) {
      total += Files.size(file);
    }
    return total;
  }

  /**
   * Copies every regular file of {@code from} into a new directory {@code to}, then forces the
   * copies to the storage device, so that writing them back does not overlap what is measured
   * next.
   *
   * @param from the directory to copy (files only; it has no subdirectories)
   * @param to the new directory; must not exist
   * @throws IOException if a file cannot be copied or forced
   */
  public static void copy(Path from, Path to) throws IOException {
    Files.createDirectory(to);
    List<Path> sources;
    try (Stream<Path> list = Files.list(from)) {
      sources = list.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path source : sources) {
      Path target = to.resolve(source.getFileName().toString());
      Files.copy(source, target);
      try (FileChannel channel = FileChannel.open(target, StandardOpenOption.WRITE)) {
        channel.force(true);
      }
    }
  }

  /**
   * Deletes a directory and everything in it; does nothing if it does not exist.
   *
   * @param directory the directory, or null
   * @throws IOException if something cannot be deleted
   */
  public static void deleteRecursively(Path directory) throws IOException {
    if (directory == null || !Files.exists(directory)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(directory)) {
      for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
