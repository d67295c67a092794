package dev.statbuffer.example.pageviews;

import java.util.List;
import java.util.regex.Pattern;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Reads the stored views of a page from the table the {@code page-views} buffer's sink writes:
 * {@code page_views(page, views)} unless {@code page-views.table} names another.
 *
 * <p>The table name is the sink's own setting, {@code statbuffer.buffers.page-views.sink.table},
 * so the reads and the writes always meet in the same table. The name is checked to be a plain
 * SQL identifier (optionally {@code schema.table}) before it goes into SQL; the database folds it
 * as it folds unquoted names, which is what the sink does too. Thread-safe.
 */
@Component
public class StoredViews {
  private static final Pattern NAME =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

  private final JdbcTemplate jdbc;
  private final String select;

  /**
   * Creates the reader.
   *
   * @param jdbc the application's {@code JdbcTemplate}
   * @param table the sink's counter table
   * @throws IllegalArgumentException if {@code table} is not a plain SQL identifier
   */
  public StoredViews(JdbcTemplate jdbc,
      @Value("${statbuffer.buffers.page-views.sink.table}") String table) {
    if (!NAME.matcher(table).matches()) {
      throw new IllegalArgumentException("statbuffer.buffers.page-views.sink.table must be a SQL"
          + " identifier (letters, digits and _, optionally schema.table): " + table);
    }
    this.jdbc = jdbc;
    this.select = "SELECT views FROM " + table + " WHERE page = ?";
  }

  /**
   * Returns the views stored for a page.
   *
   * @param page the page
   * @return the stored count, 0 when the page has no row
   * @throws org.springframework.dao.DataAccessException if the database cannot be read
   */
  public long of(String page) {
    List<Long> rows = jdbc.queryForList(select, Long.class, page);
    return rows.isEmpty() ? 0 : rows.get(0);
  }
}
