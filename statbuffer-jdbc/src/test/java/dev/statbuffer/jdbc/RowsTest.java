package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.FlushBatch;
import dev.statbuffer.jdbc.Rows.Row;
import dev.statbuffer.testing.TestBatch;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** {@link Rows}: keys to counter rows, without a database. */
class RowsTest {
  private static final List<String> ONE_KEY = List.of("page");
  private static final List<String> TWO_KEYS = List.of("page_id", "day");

  @Test
  void oneKeyColumn_noMapper_keysAreTheValuesInFixedOrder() {
    Rows<String> rows = new Rows<>("t", ONE_KEY, "n", null);

    // Case-insensitively first, so that case-insensitive collations lock rows in this order too.
    assertThat(describe(rows.of(batch("b", 1L, "A", 2L, "a", 3L, "B", 4L))))
        .containsExactly("A=2", "a=3", "B=4", "b=1");
  }

  @Test
  void sameCounts_anyIterationOrder_sameRowsInSameOrder() {
    Rows<String> rows = new Rows<>("t", ONE_KEY, "n", null);

    List<Row> forward = rows.of(batch("x", 1L, "y", 2L, "z", 3L));
    List<Row> backward = rows.of(batch("z", 3L, "y", 2L, "x", 1L));

    assertThat(forward).isEqualTo(backward);
    assertThat(describe(forward)).containsExactly("x=1", "y=2", "z=3");
  }

  @Test
  void numbersOfDifferentTypes_orderedByValue() {
    Rows<Object> rows = new Rows<>("t", ONE_KEY, "n", null);

    assertThat(describe(rows.of(batch(10, 1L, 9L, 2L, new java.math.BigDecimal("9.5"), 3L))))
        .containsExactly("9=2", "9.5=3", "10=1");
  }

  @Test
  void mapper_twoKeysToOneRow_countsAdded() {
    Rows<String> rows = new Rows<>("t", ONE_KEY, "n", lowerCase());

    assertThat(describe(rows.of(batch("a", 1L, "A", 2L, "b", 5L)))).containsExactly("a=3", "b=5");
  }

  @Test
  void mapper_countsOfOneRowCancelOut_rowLeftOut() {
    Rows<String> rows = new Rows<>("t", ONE_KEY, "n", lowerCase());

    assertThat(rows.of(batch("a", 5L, "A", -5L))).isEmpty();
  }

  @Test
  void mapper_countsOfOneRowOverflow_illegalArgumentNamingRowAndTable() {
    Rows<String> rows = new Rows<>("page_views", ONE_KEY, "views", lowerCase());

    assertThatThrownBy(() -> rows.of(batch("a", Long.MAX_VALUE, "A", 1L)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("row [a] (key columns [page], count column views) of table"
            + " page_views overflow a BIGINT when added")
        .hasCauseInstanceOf(ArithmeticException.class);
  }

  @Test
  void mapper_compositeKey_rowsOrderedColumnByColumn() {
    Rows<String> rows = new Rows<>("t", TWO_KEYS, "n", key -> key.split("/"));

    assertThat(describe(rows.of(batch("2/b", 1L, "1/b", 2L, "1/a", 3L))))
        .containsExactly("[1, a]=3", "[1, b]=2", "[2, b]=1");
  }

  @Test
  void mapper_wrongNumberOfValues_illegalArgumentNamingColumns() {
    Rows<String> rows = new Rows<>("t", TWO_KEYS, "n", key -> new Object[] {key});

    assertThatThrownBy(() -> rows.of(batch("k", 1L)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("keyMapper returned 1 values for key k but table t has 2 key columns"
            + " [page_id, day]: return one value per key column, in that order");
  }

  @Test
  void mapper_returnsNull_illegalArgument() {
    Rows<String> rows = new Rows<>("t", TWO_KEYS, "n", key -> null);

    assertThatThrownBy(() -> rows.of(batch("k", 1L)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("keyMapper returned null for key k but table t has 2 key columns");
  }

  @Test
  void mapper_nullValue_illegalArgumentNamingColumn() {
    Rows<String> rows = new Rows<>("t", TWO_KEYS, "n", key -> new Object[] {key, null});

    assertThatThrownBy(() -> rows.of(batch("k", 1L)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("keyMapper returned null for column day of table t for key k: key columns are"
            + " part of the primary key and cannot be null");
  }

  @Test
  void mapper_reusesItsArray_rowsKeepTheirValues() {
    Object[] shared = new Object[1];
    Rows<String> rows = new Rows<>("t", ONE_KEY, "n", key -> {
      shared[0] = key;
      return shared;
    });

    assertThat(describe(rows.of(batch("a", 1L, "b", 2L)))).containsExactly("a=1", "b=2");
  }

  @Test
  void keysOf_rowSharedByKeys_orderedByCountThenText() {
    Rows<String> rows = new Rows<>("t", ONE_KEY, "n", lowerCase());
    FlushBatch<String> batch = batch("Ab", 2L, "aB", 1L, "AB", 2L, "c", 9L);
    Row ab = rows.of(batch).get(0);

    List<String> keys = new ArrayList<>();
    rows.keysOf(batch, ab).forEach(e -> keys.add(e.getKey() + "=" + e.getValue()));

    assertThat(keys).containsExactly("aB=1", "AB=2", "Ab=2");
  }

  private static Function<String, Object[]> lowerCase() {
    return key -> new Object[] {key.toLowerCase(Locale.ROOT)};
  }

  /** A batch of the given keys and counts, iterated in the given order. */
  @SuppressWarnings("unchecked")
  private static <K> FlushBatch<K> batch(Object... keysAndCounts) {
    Map<K, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < keysAndCounts.length; i += 2) {
      counts.put((K) keysAndCounts[i], (Long) keysAndCounts[i + 1]);
    }
    return TestBatch.of(counts);
  }

  private static List<String> describe(List<Row> rows) {
    List<String> described = new ArrayList<>();
    for (Row row : rows) {
      described.add(row.key() + "=" + row.count());
    }
    return described;
  }
}
