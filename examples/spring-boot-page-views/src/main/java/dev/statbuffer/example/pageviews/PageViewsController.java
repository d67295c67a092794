package dev.statbuffer.example.pageviews;

import dev.statbuffer.StatBuffer;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * The page-view endpoints.
 *
 * <ul>
 *   <li>{@code POST /pages/{page}/views}: counts one view of the page in the {@code page-views}
 *       buffer and answers {@code 202 Accepted} (the view is stored within the buffer's interval,
 *       or when the application stops). {@code 503} when the view was not counted: the buffer is
 *       closed (the application is stopping), or {@code max-keys} pages are already pending.
 *   <li>{@code GET /pages/{page}/views}: the page's {@link PageViews} as JSON, {@code stored} from
 *       the table and {@code pending} from the buffer.
 * </ul>
 *
 * <p>A page name longer than {@value #MAX_PAGE_LENGTH} characters or with control characters is
 * refused with {@code 400}: the sink's key column is a {@code VARCHAR(255)}, and a key the
 * database refuses would fail its whole batch on every retry.
 */
@RestController
@RequestMapping("/pages/{page}/views")
public class PageViewsController {
  /** The longest page name accepted, in characters: the width of the table's key column. */
  public static final int MAX_PAGE_LENGTH = 255;

  private final StatBuffer<String> views;
  private final StoredViews stored;

  /**
   * Creates the controller.
   *
   * @param views the {@code page-views} buffer the starter declares
   * @param stored reads the table the buffer's sink writes
   */
  public PageViewsController(@Qualifier("page-views") StatBuffer<String> views,
      StoredViews stored) {
    this.views = views;
    this.stored = stored;
  }

  /**
   * Counts one view of a page.
   *
   * @param page the page
   * @return {@code 202 Accepted}, without a body
   * @throws ResponseStatusException {@code 400} for a page name that cannot be stored,
   *     {@code 503} when the buffer refused the view (closed, or at {@code max-keys})
   */
  @PostMapping
  public ResponseEntity<Void> count(@PathVariable("page") String page) {
    check(page);
    if (!views.increment(page)) {
      throw new ResponseStatusException(HttpStatus.SERVICE_UNAVAILABLE, views.isClosed()
          ? "the page-views buffer is closed: the application is stopping"
          : "too many pages are pending (statbuffer.buffers.page-views.max-keys)");
    }
    return ResponseEntity.accepted().build();
  }

  /**
   * Returns the stored and the pending views of a page.
   *
   * @param page the page
   * @return the page, its stored views and its views still in the buffer
   * @throws ResponseStatusException {@code 400} for a page name that cannot be stored
   */
  @GetMapping
  public PageViews get(@PathVariable("page") String page) {
    check(page);
    long pending = views.count(page).orElse(0);
    return new PageViews(page, stored.of(page), pending);
  }

  private static void check(String page) {
    if (page.isEmpty() || page.codePointCount(0, page.length()) > MAX_PAGE_LENGTH
        || page.codePoints().anyMatch(Character::isISOControl)) {
      throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "a page name has 1 to "
          + MAX_PAGE_LENGTH + " characters and no control characters");
    }
  }
}
