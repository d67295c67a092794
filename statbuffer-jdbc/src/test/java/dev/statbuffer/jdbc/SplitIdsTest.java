package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The ids {@link Split} derives: deterministic, distinct, within the ledger's 64 characters. */
class SplitIdsTest {
  /** A core batch id: 24 hex digits, a dash, a base-36 sequence number. */
  private static final String CORE_ID = "0123456789abcdef01234567-2bcd9e1";

  @Test
  void ids_ofACoreBatch_readableAndDistinct() {
    assertThat(Split.pieceId(CORE_ID, 500, 999)).isEqualTo(CORE_ID + "-dw-rr");
    assertThat(Split.splitId(CORE_ID)).isEqualTo(CORE_ID + "-s");
    assertThat(Split.rejectedId(CORE_ID + "-dw-dx", 0)).isEqualTo(CORE_ID + "-dw-dx-d");
    assertThat(Split.rejectedId(CORE_ID + "-dw-dx", 11)).isEqualTo(CORE_ID + "-dw-dx-db");
  }

  @Test
  void ids_ofEveryPieceOfABisection_distinct() {
    Set<String> ids = new HashSet<>();
    ids.add(CORE_ID);
    collect(ids, 0, 1000, true);
    // Each piece, its claim and (for single rows) its rejection id: all distinct.
    assertThat(ids).hasSize(1 + (1999 - 1) + 1999 + 1000);
  }

  private static void collect(Set<String> ids, int lo, int hi, boolean root) {
    String id = root ? CORE_ID : Split.pieceId(CORE_ID, lo, hi);
    assertThat(root || ids.add(id)).isTrue();
    assertThat(ids.add(Split.splitId(id))).isTrue();
    if (hi - lo == 1) {
      assertThat(ids.add(Split.rejectedId(id, 0))).isTrue();
      return;
    }
    int mid = (lo + hi) >>> 1;
    collect(ids, lo, mid, false);
    collect(ids, mid, hi, false);
  }

  @Test
  void ids_fromALongBatchId_fitTheLedger() {
    String longId = "a".repeat(64);
    String piece = Split.pieceId(longId, 0, 1);
    assertThat(piece).hasSizeLessThanOrEqualTo(64).matches("[0-9a-z-]+")
        .isEqualTo(Split.pieceId(longId, 0, 1)).isNotEqualTo(Split.pieceId(longId, 1, 2));
    assertThat(Split.splitId(longId)).hasSizeLessThanOrEqualTo(64);
    assertThat(Split.rejectedId(Split.rejectedId(piece, 0), 0)).hasSizeLessThanOrEqualTo(64);
  }

  @Test
  void chunkDepth_smallestDepthWhosePiecesFit() {
    assertThat(Split.chunkDepth(100, 100)).isZero(); // fits: one transaction, as before
    assertThat(Split.chunkDepth(1, 1)).isZero();
    assertThat(Split.chunkDepth(101, 100)).isEqualTo(1);
    assertThat(Split.chunkDepth(1000, 100)).isEqualTo(4); // 16 pieces of 62 or 63 rows
    assertThat(Split.chunkDepth(1000, 1)).isEqualTo(10);
    assertThat(Split.chunkDepth(Integer.MAX_VALUE, 1)).isEqualTo(31);
  }

  @Test
  void chunks_ofEverySize_coverTheRowsInOrderAndFit() {
    for (int rows : new int[] {2, 3, 101, 999, 1000, 1001, 4096, 5000}) {
      for (int max : new int[] {1, 2, 37, 100, 128, 250, 999}) {
        List<int[]> pieces = new ArrayList<>();
        chunks(pieces, 0, rows, Split.chunkDepth(rows, max));
        int next = 0;
        for (int[] piece : pieces) {
          assertThat(piece[0]).isEqualTo(next);
          assertThat(piece[1] - piece[0]).as("%d rows, max %d", rows, max).isBetween(1, max);
          next = piece[1];
        }
        assertThat(next).isEqualTo(rows);
      }
    }
  }

  /** The pieces of depth {@code depth} under {@code [lo, hi)}, as Split walks them. */
  private static void chunks(List<int[]> out, int lo, int hi, int depth) {
    if (depth == 0 || hi - lo <= 1) {
      out.add(new int[] {lo, hi});
      return;
    }
    int mid = (lo + hi) >>> 1;
    chunks(out, lo, mid, depth - 1);
    chunks(out, mid, hi, depth - 1);
  }

  @Test
  void chunkIds_distinctFromEveryPieceIdOfTheBatch() {
    Set<String> ids = new HashSet<>();
    ids.add(CORE_ID);
    collect(ids, 0, 1000, true);
    for (int depth = 1; depth <= Split.chunkDepth(1000, 1); depth++) {
      assertThat(ids.add(Split.chunkId(CORE_ID, depth))).isTrue();
    }
    assertThat(Split.chunkId(CORE_ID, 4)).isEqualTo(CORE_ID + "-c4");
    assertThat(Split.chunkId("a".repeat(64), 4)).hasSize(41).startsWith("h");
  }
}
