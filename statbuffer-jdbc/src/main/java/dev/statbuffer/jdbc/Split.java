package dev.statbuffer.jdbc;

import dev.statbuffer.jdbc.Rows.Row;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Applies a batch, and when the database refuses it for a data reason (see
 * {@link Errors#isDataError}), isolates the refused rows by bisection: the batch's rows, in their
 * fixed order, are split into halves, each applied in a transaction of its own, and a failing half
 * is split again, down to single rows, which are rejected. Everything else is applied in the same
 * call. Any other failure is thrown, and the buffer retries the whole batch.
 *
 * <h2>Ids and the ledger</h2>
 *
 * <p>A piece is a range {@code [lo, hi)} of the batch's rows; the whole batch is {@code [0, n)}
 * and keeps the batch id, any other piece has the id {@code <batch id>-<lo>-<hi>} (base 36).
 * {@code <id>-s} marks a piece that was split, and a rejected row is dropped under
 * {@code <piece id>-d} (with a base-36 index after the {@code d} for the second and further keys
 * that map to the same row). Ids longer than 64 characters are replaced by {@code h} and 40 hex
 * digits of their SHA-256. These rows live in the ledger like batch ids and are pruned like them.
 *
 * <p>With the ledger, each piece is applied at most once, as a whole or through its halves, never
 * both, across concurrent calls of the same batch, retries and crashes. A piece's id is inserted
 * into the ledger by one transaction at most (it is the ledger's key; an insert of an id that
 * another transaction inserted and has not ended waits for that transaction in PostgreSQL,
 * MariaDB and MySQL, H2's writers of one table take turns on a lock row, and SQLite has one writer
 * at a time). That transaction either
 *
 * <ul>
 *   <li>writes the piece's rows (applied whole), or
 *   <li>inserts {@code <id>-s} with it and writes nothing (split).
 * </ul>
 *
 * <p>Whoever then finds the id in the ledger (its own insert of the id was not new) looks
 * {@code <id>-s} up, after its transaction ended, so the read sees what the deciding transaction
 * committed: absent means the piece was applied whole (nothing to do); present means it was
 * split, and the call goes on with the halves, under the same rules. A single row that the
 * database refuses is split like any piece and rejected under {@code <piece id>-d}, an id
 * nothing else uses; every later call of the batch finds it split and rejects it again under the
 * same id, even if the database would now accept it. So a dead-letter replay of that id through
 * the sink applies it once, and a batch that was split is never applied whole afterwards.
 *
 * <p>Without the ledger, pieces are bisected the same way and nothing is exactly once.
 *
 * <p>Stateless apart from its collaborators; thread-safe.
 */
final class Split {
  private static final int MAX_ID = JdbcSink.MAX_BATCH_ID;

  /** Applies a piece in one transaction, or rolls it back and throws. */
  interface Whole {
    /**
     * Applies {@code rows} under {@code id}.
     *
     * @return true if applied, false if the ledger held the id (nothing written)
     */
    boolean apply(Connection connection, Sql sql, String id, List<Row> rows) throws SQLException;
  }

  /** Writes rows without the ledger in a transaction that is always rolled back. */
  interface Probe {
    /**
     * Tries {@code rows}.
     *
     * @return the database's error, or null if it accepted them
     */
    SQLException tryRows(Connection connection, Sql sql, List<Row> rows) throws SQLException;
  }

  /** A row that the database refused for good. */
  record Leaf(String id, Row row, SQLException cause) {}

  /** What one call did. */
  static final class Result {
    /** Rows written by this call. */
    int written;
    /** Rejected rows, in row order. */
    final List<Leaf> rejected = new ArrayList<>();
  }

  private final Ledger ledger;
  private final boolean exactlyOnce;
  private final Whole whole;
  private final Probe probe;
  private final LongSupplier clock;
  private final String[] tables;

  /**
   * Creates the splitter of one sink.
   *
   * @param ledger the ledger's statements (unused without the ledger)
   * @param exactlyOnce whether pieces are recorded in the ledger
   * @param whole applies one piece
   * @param probe finds out why a row split by an earlier call is refused
   * @param clock epoch milliseconds for the ledger rows of splits
   * @param tables the counter table and the ledger (to tell H2's insert race from data errors)
   */
  Split(Ledger ledger, boolean exactlyOnce, Whole whole, Probe probe, LongSupplier clock,
      String... tables) {
    this.ledger = ledger;
    this.exactlyOnce = exactlyOnce;
    this.whole = whole;
    this.probe = probe;
    this.clock = clock;
    this.tables = tables.clone();
  }

  /**
   * Applies {@code rows} (the batch's rows in their fixed order, not empty) under
   * {@code batchId}, isolating refused rows.
   *
   * @throws SQLException on any failure but a data error; pieces applied before it stay applied
   *     (and recorded in the ledger, so the retry skips them)
   */
  Result run(Connection connection, Sql sql, String batchId, List<Row> rows)
      throws SQLException {
    Result result = new Result();
    piece(connection, sql, batchId, rows, 0, rows.size(), result);
    return result;
  }

  private void piece(Connection connection, Sql sql, String batchId, List<Row> rows, int lo,
      int hi, Result result) throws SQLException {
    boolean root = lo == 0 && hi == rows.size();
    String id = root ? batchId : pieceId(batchId, lo, hi);
    List<Row> part = rows.subList(lo, hi);
    SQLException refused = null;
    try {
      if (whole.apply(connection, sql, id, part)) {
        result.written += part.size();
        return;
      }
    } catch (SQLException e) {
      if (!Errors.isDataError(e, sql.dialect, tables)) {
        throw e;
      }
      refused = e;
    }
    if (exactlyOnce) {
      boolean decided = refused != null
          && ledger.claimSplit(connection, sql, clock.getAsLong(), id, splitId(id));
      if (!decided && !ledger.contains(connection, sql, splitId(id))) {
        return; // applied whole, by an earlier or a concurrent call
      }
    }
    if (hi - lo == 1) {
      if (refused == null) {
        // Split by an earlier call that found it refused: ask the database why, for the message.
        refused = probe.tryRows(connection, sql, part);
      }
      result.rejected.add(new Leaf(id, part.get(0), refused));
      return;
    }
    int mid = (lo + hi) >>> 1;
    piece(connection, sql, batchId, rows, lo, mid, result);
    piece(connection, sql, batchId, rows, mid, hi, result);
  }

  /** The id of rows {@code [lo, hi)} of batch {@code batchId}. */
  static String pieceId(String batchId, int lo, int hi) {
    return fit(batchId + "-" + Integer.toString(lo, 36) + "-" + Integer.toString(hi, 36));
  }

  /** The id that marks piece {@code id} as split. */
  static String splitId(String id) {
    return fit(id + "-s");
  }

  /**
   * The id the {@code index}th key (0-based) of a row rejected as piece {@code id} is dropped
   * under.
   */
  static String rejectedId(String id, int index) {
    return fit(id + "-d" + ((index == 0) ? "" : Integer.toString(index, 36)));
  }

  /** {@code id} if it fits the ledger, else a digest of it that does. */
  static String fit(String id) {
    if (id.length() <= MAX_ID) {
      return id;
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(id.getBytes(StandardCharsets.US_ASCII));
      return "h" + HexFormat.of().formatHex(digest, 0, 20);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
  }
}
