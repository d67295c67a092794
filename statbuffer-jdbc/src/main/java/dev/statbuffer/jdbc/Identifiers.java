package dev.statbuffer.jdbc;

import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.Locale;

/**
 * How a database quotes identifiers and folds the case of unquoted ones. The sink folds each name
 * as the database would fold it unquoted, then quotes it: the SQL means what the unquoted name
 * means ({@code page_views} is {@code PAGE_VIEWS} in H2 and {@code page_views} in PostgreSQL), and
 * names that are keywords ({@code day} in H2) still work. Immutable.
 */
final class Identifiers {
  private enum Fold { UPPER, LOWER, NONE }

  private final String quote;
  private final Fold fold;

  private Identifiers(String quote, Fold fold) {
    this.quote = quote;
    this.fold = fold;
  }

  /**
   * Reads the quote string and the case folding from the connection's metadata.
   *
   * @param meta the metadata
   * @param fallbackQuote the dialect's quote, for a driver that reports none
   * @return the identifiers of that database
   * @throws SQLException if the metadata cannot be read
   */
  static Identifiers of(DatabaseMetaData meta, String fallbackQuote) throws SQLException {
    String quote = meta.getIdentifierQuoteString();
    return quotedWith((quote == null || quote.isBlank()) ? fallbackQuote : quote, meta);
  }

  /**
   * Quotes with {@code quote} whatever the driver reports, and reads the case folding from the
   * metadata.
   *
   * @param quote the quote
   * @param meta the metadata
   * @return the identifiers of that database
   * @throws SQLException if the metadata cannot be read
   */
  static Identifiers quotedWith(String quote, DatabaseMetaData meta) throws SQLException {
    Fold fold = meta.storesUpperCaseIdentifiers() ? Fold.UPPER
        : meta.storesLowerCaseIdentifiers() ? Fold.LOWER : Fold.NONE;
    return new Identifiers(quote.trim(), fold);
  }

  /** Folds and quotes a name; a {@code schema.table} name part by part. */
  String quote(String name) {
    int dot = name.indexOf('.');
    if (dot >= 0) {
      return quote(name.substring(0, dot)) + "." + quote(name.substring(dot + 1));
    }
    String folded = (fold == Fold.UPPER) ? name.toUpperCase(Locale.ROOT)
        : (fold == Fold.LOWER) ? name.toLowerCase(Locale.ROOT) : name;
    return quote + folded + quote;
  }
}
