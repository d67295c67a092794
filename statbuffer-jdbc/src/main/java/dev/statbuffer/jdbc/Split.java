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
import org.jspecify.annotations.Nullable;

/**
 * Applies a batch, in ordered chunks of bounded size when it is large, and when the database
 * refuses a piece of it for a data reason (see {@link Sql#isDataError}), isolates the refused
 * rows by bisection: the piece's rows, in their fixed order, are split into halves, each applied
 * in a transaction of its own, and a failing half is split again, down to single rows, which are
 * rejected. Everything else is applied in the same call. Any other failure is thrown, and the
 * buffer retries the whole batch.
 *
 * <h2>Pieces and ids</h2>
 *
 * <p>A piece is a range {@code [lo, hi)} of the batch's rows (in the sink's fixed order), taken
 * from one tree: the bisection of {@code [0, n)}, whose node {@code [lo, hi)} has the children
 * {@code [lo, mid)} and {@code [mid, hi)} with {@code mid = (lo + hi) >>> 1}. The root
 * {@code [0, n)} keeps the batch id; any other piece has the id {@code <batch id>-<lo>-<hi>}
 * (base 36). {@code <id>-s} marks a piece that was split into its two children, and a rejected
 * row is dropped under {@code <piece id>-d} (with a base-36 index after the {@code d} for the
 * second and further keys that map to the same row). {@code <batch id>-c<d>} (d in base 36)
 * marks a batch that was written in chunks: the nodes of depth {@code d} of the tree (a node of
 * one row is not split further). Ids longer than 64 characters are replaced by {@code h} and 40
 * hex digits of their SHA-256. These rows live in the ledger like batch ids and are pruned like
 * them.
 *
 * <h2>Chunks</h2>
 *
 * <p>A batch of at most {@code maxRows} rows is applied whole, under the batch id, in one
 * transaction, as it always was. A larger one is written as the nodes of depth {@code d}, the
 * smallest depth whose nodes hold at most {@code maxRows} rows (between about half of it and
 * all of it), each in a transaction of its own, in row order, so that no transaction holds more
 * than {@code maxRows} row locks and writers of overlapping keys pass each other chunk by chunk
 * instead of queueing behind whole batches. Each chunk is a piece like any other: it is applied
 * whole under its id, or, if the database refuses it for a data reason, bisected; so a bad key
 * costs the bisection of its chunk only.
 *
 * <h2>Exactly once</h2>
 *
 * <p>With the ledger, each piece is decided once, across concurrent calls of the same batch,
 * retries and crashes: a piece's id is inserted into the ledger by one transaction at most (it is
 * the ledger's key; an insert of an id that another transaction inserted and has not ended waits
 * for that transaction in PostgreSQL, MariaDB and MySQL, H2's writers of one table take turns on
 * a lock row, and SQLite has one writer at a time). That transaction either
 *
 * <ul>
 *   <li>writes the piece's rows (applied whole), or
 *   <li>inserts {@code <id>-s} with it and writes nothing (split into its halves), or
 *   <li>for the root only, inserts {@code <batch id>-c<d>} with it and writes nothing (written as
 *       the pieces of depth {@code d}).
 * </ul>
 *
 * <p>Whoever then finds the id in the ledger (its own insert of the id was not new) looks the
 * marks up, after its transaction ended, so the read sees what the deciding transaction
 * committed: no mark means the piece was applied whole (nothing to do); a mark means it was
 * split or chunked, and the call goes on with the pieces the mark names, under the same rules.
 * For the root the look-up is one query for {@code <id>-s} and {@code <id>-c1} to
 * {@code <id>-c<D>}, {@code D} the depth of single rows: every mark an earlier call could have
 * written, whatever its {@code maxRows}. So the pieces that hold the rows are always the leaves of
 * one tree of decisions, each leaf applied once: a row is applied once.
 *
 * <p>This holds when {@code maxRows} changes between calls of one batch (a process restarted with
 * another setting, or two processes configured differently). The chunking is the root's decision,
 * recorded with the root's id; a later call follows the recorded one, not its own setting: it
 * finds the root decided (applied whole, bisected, or chunked at depth {@code d}) and walks those
 * pieces, whose ids are derived from the batch's rows alone. A call whose setting would keep the
 * batch whole finds the root decided in the same way. Two calls that decide at once both insert
 * the root's id; one waits for the other and then follows its decision.
 *
 * <p>Why depths of the bisection tree rather than runs of exactly {@code maxRows} rows: the
 * chunking must be found again by a call that does not know it. Chunks by depth leave few
 * possible chunkings (one per depth, about {@code log2 n}), so a single query for exact ledger
 * keys finds the recorded one; runs of {@code c} rows would need {@code c} in the mark and a
 * prefix scan of the ledger (unreliable under collations and hashed long ids) to learn it. And the
 * chunks are then pieces of the same tree that bad keys are bisected in, with the same ids and
 * rules. The price is that chunks hold between about half of {@code maxRows} and all of it.
 *
 * <p>A single row that the database refuses is split like any piece and rejected under
 * {@code <piece id>-d}, an id nothing else uses; every later call of the batch finds it split and
 * rejects it again under the same id, even if the database would now accept it. So a dead-letter
 * replay of that id through the sink applies it once, and a piece that was split is never applied
 * whole afterwards.
 *
 * <p>Without the ledger, pieces are chunked and bisected the same way and nothing is exactly once.
 *
 * <p>Stateless apart from its collaborators; thread-safe.
 */
final class Split {
  private static final int MAX_ID = Sql.MAX_BATCH_ID;

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
    @Nullable SQLException tryRows(Connection connection, Sql sql, List<Row> rows)
        throws SQLException;
  }

  /**
   * A row that the database refused for good; {@code cause} is null when an earlier call found it
   * refused and the database accepts it now.
   */
  record Leaf(String id, Row row, @Nullable SQLException cause) {}

  /** What one call did. */
  static final class Result {
    /** Rows written by this call. */
    int written;
    /** Rejected rows, in row order. */
    final List<Leaf> rejected = new ArrayList<>();
  }

  /** What the ledger says of a piece whose id it holds: applied whole. */
  private static final int WHOLE = -1;
  /** What the ledger says of a piece whose id it holds: split into its halves. */
  private static final int HALVES = 0;

  private final Ledger ledger;
  private final boolean exactlyOnce;
  private final int maxRows;
  private final Whole whole;
  private final Probe probe;
  private final LongSupplier clock;

  /**
   * Creates the splitter of one sink.
   *
   * @param ledger the ledger's statements (unused without the ledger)
   * @param exactlyOnce whether pieces are recorded in the ledger
   * @param maxRows the most rows one transaction writes; larger batches are chunked
   * @param whole applies one piece
   * @param probe finds out why a row split by an earlier call is refused
   * @param clock epoch milliseconds for the ledger rows of splits
   */
  Split(Ledger ledger, boolean exactlyOnce, int maxRows, Whole whole, Probe probe,
      LongSupplier clock) {
    this.ledger = ledger;
    this.exactlyOnce = exactlyOnce;
    this.maxRows = maxRows;
    this.whole = whole;
    this.probe = probe;
    this.clock = clock;
  }

  /**
   * Applies {@code rows} (the batch's rows in their fixed order, not empty) under
   * {@code batchId}: whole if they fit one transaction, else in chunks; isolating refused rows.
   *
   * @throws SQLException on any failure but a data error; pieces applied before it stay applied
   *     (and recorded in the ledger, so the retry skips them)
   */
  Result run(Connection connection, Sql sql, String batchId, List<Row> rows)
      throws SQLException {
    Call call = new Call(connection, sql, batchId, rows);
    int depth = chunkDepth(rows.size(), maxRows);
    if (depth == 0) {
      call.piece(0, rows.size());
    } else {
      call.chunked(depth);
    }
    return call.result;
  }

  /** One call of {@link #run}: the batch, its connection and what was done so far. */
  private final class Call {
    final Connection connection;
    final Sql sql;
    final String batchId;
    final List<Row> rows;
    final Result result = new Result();

    Call(Connection connection, Sql sql, String batchId, List<Row> rows) {
      this.connection = connection;
      this.sql = sql;
      this.batchId = batchId;
      this.rows = rows;
    }

    /** Decides the root as chunked at {@code depth}, unless decided before, and goes on. */
    void chunked(int depth) throws SQLException {
      int n = rows.size();
      if (exactlyOnce && !ledger.claim(connection, sql, clock.getAsLong(), batchId,
          chunkId(batchId, depth))) {
        int decided = decision(batchId, true);
        if (decided == WHOLE) {
          return; // applied whole, by an earlier or a concurrent call with a larger maxRows
        }
        if (decided == HALVES) {
          halves(0, n); // bisected by a call that found the whole batch refused
          return;
        }
        depth = decided; // follow the recorded chunking, whatever this sink's maxRows
      }
      chunks(0, n, depth);
    }

    /** The pieces of depth {@code depth} under {@code [lo, hi)}, in row order. */
    private void chunks(int lo, int hi, int depth) throws SQLException {
      if (depth == 0 || hi - lo <= 1) {
        piece(lo, hi);
        return;
      }
      int mid = (lo + hi) >>> 1;
      chunks(lo, mid, depth - 1);
      chunks(mid, hi, depth - 1);
    }

    /** Applies piece {@code [lo, hi)} whole, or as the ledger or the database decides. */
    void piece(int lo, int hi) throws SQLException {
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
        if (!sql.isDataError(e)) {
          throw e;
        }
        refused = e;
      }
      if (exactlyOnce) {
        boolean decided = refused != null
            && ledger.claim(connection, sql, clock.getAsLong(), id, splitId(id));
        if (!decided) {
          int how = decision(id, root);
          if (how == WHOLE) {
            return; // applied whole, by an earlier or a concurrent call
          }
          if (how != HALVES) {
            chunks(lo, hi, how); // the root, chunked by a call with a smaller maxRows
            return;
          }
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
      halves(lo, hi);
    }

    private void halves(int lo, int hi) throws SQLException {
      int mid = (lo + hi) >>> 1;
      piece(lo, mid);
      piece(mid, hi);
    }

    /**
     * What the ledger says of piece {@code id}, which it holds: {@link #WHOLE}, {@link #HALVES},
     * or (the root only) the depth it was chunked at.
     */
    private int decision(String id, boolean root) throws SQLException {
      List<String> marks = new ArrayList<>();
      marks.add(splitId(id));
      if (root) {
        for (int depth = 1; depth <= chunkDepth(rows.size(), 1); depth++) {
          marks.add(chunkId(id, depth)); // every chunking an earlier call could have chosen
        }
      }
      int found = ledger.find(connection, sql, marks);
      return (found < 0) ? WHOLE : found;
    }
  }

  /**
   * The depth of the tree at which the pieces of {@code rows} rows hold at most {@code maxRows}
   * rows: 0 when the batch fits one transaction. The pieces of depth {@code d} hold
   * {@code floor(rows / 2^d)} or {@code ceil(rows / 2^d)} rows.
   */
  static int chunkDepth(int rows, int maxRows) {
    int depth = 0;
    while ((rows + (1L << depth) - 1) >> depth > maxRows) {
      depth++;
    }
    return depth;
  }

  /** The id that marks batch {@code batchId} as written in the pieces of depth {@code depth}. */
  static String chunkId(String batchId, int depth) {
    return fit(batchId + "-c" + Integer.toString(depth, 36));
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
