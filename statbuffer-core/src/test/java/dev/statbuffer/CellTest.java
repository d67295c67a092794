package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A {@link Cell} on one thread: the packed base word (state and tick in the high half, count in
 * the low half), hand-overs that take the delta since the last one, dormant reopening, idle
 * removal and retirement.
 */
class CellTest {

  /** Retires the cell and returns everything it still held. */
  private static long retireAll(Cell<String> cell) {
    long word = cell.kill();
    return Cell.isDead(word) ? Cell.NOT_OWNER : Cell.count(word) + cell.retireStripes();
  }

  @Test
  void add_keepsDueTick_andSums() {
    Cell<String> cell = new Cell<>("k", 5, 123_456);
    assertThat(cell.add(-7)).isEqualTo(Cell.ADDED);
    assertThat(cell.add(3)).isEqualTo(Cell.ADDED);
    assertThat(Cell.distance(cell.word(), 123_450)).isEqualTo(6);
    assertThat(cell.sum()).isEqualTo(1);
    assertThat(retireAll(cell)).isEqualTo(1);
    assertThat(Cell.isDead(cell.word())).isTrue();
  }

  @Test
  void add_beyond32Bits_goesToStripes_exactSum() {
    Cell<String> cell = new Cell<>("k", Integer.MAX_VALUE, 42);
    assertThat(cell.add(Integer.MAX_VALUE)).isEqualTo(Cell.ADDED);
    assertThat(cell.add(-1L - Integer.MAX_VALUE)).isEqualTo(Cell.ADDED);
    assertThat(cell.add(10L * Integer.MAX_VALUE)).isEqualTo(Cell.ADDED);
    long expected = 2L * Integer.MAX_VALUE + (-1L - Integer.MAX_VALUE) + 10L * Integer.MAX_VALUE;
    assertThat(Cell.distance(cell.word(), 42)).isZero();
    assertThat(cell.sum()).isEqualTo(expected);
    assertThat(cell.handOver(Cell.dormantStamp(50))).isEqualTo(expected);
  }

  @Test
  void firstDelta_beyond32Bits_kept() {
    long big = 3L * Integer.MAX_VALUE;
    Cell<String> cell = new Cell<>("k", big, 7);
    assertThat(cell.add(1)).isEqualTo(Cell.ADDED);
    assertThat(retireAll(cell)).isEqualTo(big + 1);
  }

  @Test
  void lowHalfNeverTakesTheDeadValue() {
    Cell<String> cell = new Cell<>("k", Integer.MIN_VALUE + 1L, 1);
    assertThat(Cell.isDead(cell.word())).isFalse();
    assertThat(cell.add(-1)).isEqualTo(Cell.ADDED); // would hit MIN_VALUE: goes to a stripe
    assertThat(Cell.isDead(cell.word())).isFalse();
    assertThat(retireAll(cell)).isEqualTo((long) Integer.MIN_VALUE);
  }

  @Test
  void handOver_takesDeltaSinceLast_andCellTurnsDormant() {
    Cell<String> cell = new Cell<>("k", 4, 10);
    assertThat(cell.handOver(Cell.dormantStamp(20))).isEqualTo(4);
    assertThat(cell.isOpen()).isFalse();
    assertThat(Cell.distance(cell.word(), 20)).isZero();
    // A dormant cell takes no add until a window opens, and a second hand-over takes nothing.
    assertThat(cell.add(1)).isEqualTo(Cell.UNOPENED);
    assertThat(cell.handOver(Cell.dormantStamp(21))).isEqualTo(Cell.NOT_OWNER);
    assertThat(cell.open(6, 30)).isEqualTo(Cell.ADDED);
    assertThat(cell.open(1, 31)).isEqualTo(Cell.ALREADY_OPEN);
    assertThat(cell.add(2)).isEqualTo(Cell.ADDED);
    assertThat(Cell.distance(cell.word(), 30)).isZero();
    assertThat(cell.handOver(Cell.dormantStamp(40))).isEqualTo(8);
  }

  @Test
  void handOver_ofStripedCell_takesStripesAndKeepsThem() {
    Cell<String> cell = new Cell<>("k", 3L * Integer.MAX_VALUE, 1); // striped from the start
    assertThat(cell.handOver(Cell.dormantStamp(2))).isEqualTo(3L * Integer.MAX_VALUE);
    assertThat(cell.open(5, 3)).isEqualTo(Cell.ADDED);
    assertThat(cell.add(2L * Integer.MAX_VALUE)).isEqualTo(Cell.ADDED);
    assertThat(cell.sum()).isEqualTo(5 + 2L * Integer.MAX_VALUE);
    assertThat(cell.handOver(Cell.dormantStamp(4))).isEqualTo(5 + 2L * Integer.MAX_VALUE);
    assertThat(cell.sum()).isZero();
  }

  @Test
  void open_deltaBeyondBase_opensEmptyForTheCallerToAdd() {
    Cell<String> cell = new Cell<>("k", 1, 1);
    cell.handOver(Cell.dormantStamp(2));
    assertThat(cell.open(5L * Integer.MAX_VALUE, 3)).isEqualTo(Cell.UNOPENED);
    assertThat(cell.isOpen()).isTrue();
    assertThat(cell.add(5L * Integer.MAX_VALUE)).isEqualTo(Cell.ADDED);
    assertThat(cell.handOver(Cell.dormantStamp(4))).isEqualTo(5L * Integer.MAX_VALUE);
  }

  @Test
  void killIfIdle_onlyDormantAndEmpty() {
    Cell<String> cell = new Cell<>("k", 1, 1);
    assertThat(cell.killIfIdle(cell.word())).isEqualTo(Cell.NOT_OWNER); // open
    cell.handOver(Cell.dormantStamp(2));
    long word = cell.word();
    cell.open(1, 5);
    assertThat(cell.killIfIdle(word)).isEqualTo(Cell.NOT_OWNER); // reopened since the read
    cell.handOver(Cell.dormantStamp(6));
    assertThat(cell.killIfIdle(cell.word())).isZero();
    assertThat(cell.add(1)).isEqualTo(Cell.DEAD);
    assertThat(cell.open(1, 9)).isEqualTo(Cell.DEAD);
    assertThat(cell.kill()).isEqualTo(Cell.DEAD_WORD);
  }

  @Test
  void kill_twice_secondFindsItDead_andAddsSeeDead() {
    Cell<String> cell = new Cell<>("k", 1, 0);
    assertThat(retireAll(cell)).isEqualTo(1);
    assertThat(retireAll(cell)).isEqualTo(Cell.NOT_OWNER);
    assertThat(cell.add(1)).isEqualTo(Cell.DEAD);
    assertThat(cell.sum()).isZero();
  }

  @Test
  void distance_wrapsAt31Bits() {
    long tick = (1L << 31) - 5; // just below the 31-bit wrap
    long word = Cell.openStamp(tick + 10);
    assertThat(Cell.distance(word, tick)).isEqualTo(10);
    assertThat(Cell.distance(Cell.dormantStamp(tick - 3), tick)).isEqualTo(-3);
    assertThat(Cell.distance(Cell.openStamp(tick + (1L << 29)), tick)).isEqualTo(1 << 29);
    assertThat(Cell.isOpen(word)).isTrue();
    assertThat(Cell.isOpen(Cell.dormantStamp(tick))).isFalse();
    assertThat(Cell.isDead(Cell.dormantStamp(tick))).isFalse();
  }
}
