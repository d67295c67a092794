package dev.statbuffer.example.pageviews;

/**
 * The views of one page, as {@code GET /pages/{page}/views} answers them:
 * {@code {"page": "home", "stored": 120, "pending": 3}}.
 *
 * <p>The two numbers are read one after the other, not atomically: a hand-over between the two
 * reads can show a count in both or in neither. Their sum is exact once the buffer is idle.
 *
 * @param page the page, as given in the path
 * @param stored the views stored in the table (0 when the page has no row yet)
 * @param pending the views counted in the buffer's open window and not yet handed to the sink
 *     (0 when there is none)
 */
public record PageViews(String page, long stored, long pending) {}
