package dev.statbuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * One key's counter for the key's whole life in the buffer: a striped cell that is never replaced
 * while the key keeps counting, and is retired once, when the key has been idle for an interval
 * (or the buffer closes).
 *
 * <h2>State</h2>
 * The {@code base} word packs the cell's state into its high half and a signed 32-bit count into
 * its low half:
 * <ul>
 *   <li><b>OPEN</b>: a window is open, due at the tick in the stamp (bit 0 of the stamp set).
 *   <li><b>DORMANT</b>: handed over, no window open; the stamp holds the tick at which the cell
 *   counts as idle and may be removed (bit 0 clear). The base count of a dormant cell is zero.
 *   <li><b>DEAD</b>: retired; the low half is {@link Integer#MIN_VALUE}, which a live count never
 *   takes. A writer that sees it looks the key up again and makes a new cell.
 * </ul>
 * Ticks are kept to 31 bits and compared by their signed 31-bit distance to the drain's tick
 * ({@link #distance}): exact for anything within about 124 days at the coarsest tick.
 *
 * <h2>Counts never reset; deltas telescope</h2>
 * Writers add to {@code base} (CAS) and, once a CAS fails from contention, to stripes, like
 * {@link java.util.concurrent.atomic.LongAdder}. A hand-over takes the delta since the last one.
 * Each word keeps its own watermark folded in: a word holds "its adds minus what earlier
 * hand-overs took of it", and a hand-over takes a word with one atomic swap to zero (base: a CAS
 * to the dormant stamp with count zero; stripes: {@code getAndSet(0)}). Every successful add is a
 * CAS on one word, and each word's adds are ordered with its swaps, so every add is taken by
 * exactly one hand-over: the first whose swap of that word follows it. The sum over hand-overs
 * telescopes to the sum of adds; nothing is lost or counted twice, and no object is allocated per
 * interval. (Keeping the watermarks inside the words keeps a cell at 32 bytes, like a LongAdder,
 * and bounds every word by what one interval adds rather than by the key's lifetime.)
 *
 * <h2>Who may call what</h2>
 * {@link #add} and {@link #open} are called by any number of incrementing threads.
 * {@link #handOver}, {@link #killIfIdle}, {@link #kill} and {@link #retireStripes} are called
 * only under the buffer's hand-over lock, so one at a time. {@link #sum} is a racy read.
 *
 * <h2>Races, and why no count is lost</h2>
 * <ul>
 *   <li><b>Add vs hand-over on base.</b> A writer's CAS expects the word it read; a hand-over's CAS
 *   changes the word, so one of them retries. A base add therefore lands either in the taken
 *   window or in the dormant cell, and a dormant cell's base takes no add: the writer opens a
 *   window with its delta in the same CAS ({@link #open}).
 *   <li><b>Add vs hand-over on a stripe.</b> A striped writer reads the state (OPEN), CASes its
 *   stripe, then reads the state again. A hand-over first swaps {@code base} to DORMANT, then
 *   swaps the stripes. If the writer's stripe CAS came after the stripe swap, its second read
 *   follows the base swap and sees DORMANT (or a newer window): it gets
 *   {@link #ADDED_UNOPENED} and opens a window, which holds its delta. If the CAS came before,
 *   the delta went with the hand-over, and a window it may open holds nothing (a zero window is
 *   never handed over). Benign either way.
 *   <li><b>Add vs idle removal.</b> {@link #killIfIdle} CASes a dormant, zero base to DEAD, then
 *   swaps the stripes array to a retired marker and every slot to {@link #RETIRED}, returning what
 *   the slots held. A base writer's CAS fails against DEAD. A stripe CAS that succeeded came
 *   before the swap of its slot, so its delta is in the returned remainder, which the remover
 *   hands over; the writer, seeing DEAD afterwards, reports {@link #ADDED}. A stripe CAS after
 *   the swap fails ({@code RETIRED} is never a live value) and reports {@link #DEAD}.
 *   <li><b>Add vs close.</b> {@link #kill} swaps the base to DEAD whatever its state, then the
 *   stripes as above: the same argument.
 * </ul>
 *
 * <h2>Overflow</h2>
 * The base count stays within {@code (MIN_VALUE, MAX_VALUE]}; an add that would leave it goes to
 * the stripes, which hold longs within {@code [-SLOT_LIMIT, SLOT_LIMIT]}, so the sum of a cell's
 * words never overflows. A stripe add that would leave that range returns {@link #FULL}: the
 * caller hands the cell over early, which empties the words, and adds again.
 *
 * <p>A durable buffer's cells are {@link DurableCell}s: the same state word, with the counts in a
 * file's slot instead of {@code base} and the stripes. (An in-memory buffer never loads that class,
 * so the JIT still sees one implementation of every method here.)
 *
 * <p>Memory: header, key, wheel link, stripes reference and base word: 32 bytes with compressed
 * pointers. Stripes exist only for keys that saw contention (or more than 2^31 in one window):
 * {@code (STRIPES + 1) * 128} bytes, allocated once in the cell's life.
 */
class Cell<K> {
  /** The value of a retired stripe slot. Live slots never hold it: they stay within the limit. */
  static final long RETIRED = Long.MIN_VALUE;
  /** The whole base word of a dead cell. */
  static final long DEAD_WORD = 0x8000_0000L;
  /** What the hand-over and removal methods return when they did nothing. */
  static final long NOT_OWNER = Long.MIN_VALUE;
  /** The largest magnitude a single word may hold. */
  static final long SLOT_LIMIT = Long.MAX_VALUE / 256;

  /** The delta was added to an open window. */
  static final int ADDED = 0;
  /** The cell is dead: nothing was added; look the key up again. */
  static final int DEAD = 1;
  /** A stripe would leave its range: nothing was added; hand the cell over, then add again. */
  static final int FULL = 2;
  /** No window is open: nothing was added; open one ({@link #open}). */
  static final int UNOPENED = 3;
  /** The delta was added, but a hand-over raced the add: open a window with no delta. */
  static final int ADDED_UNOPENED = 4;
  /** From {@link #open}: a window was already open; nothing was added. */
  static final int ALREADY_OPEN = 5;

  private static final long COUNT_BITS = 0xFFFF_FFFFL;
  private static final long OPEN_BIT = 1L << 32;

  /**
   * Longs between two stripes: 128 bytes, so stripes never share a cache line (nor its pair).
   * Slot 0 is left empty too: it shares a line with the array's length, which every writer reads.
   */
  private static final int SPACING = 16;
  /** Stripes per contended cell (a power of two); durable cells bind as many slots at most. */
  static final int STRIPES = stripeCount();
  private static final int STRIPE_BITS = Integer.numberOfTrailingZeros(STRIPES);
  private static final long[] RETIRED_STRIPES = new long[0];

  private static final VarHandle BASE;
  private static final VarHandle STRIPES_REF;
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      BASE = lookup.findVarHandle(Cell.class, "base", long.class);
      STRIPES_REF = lookup.findVarHandle(Cell.class, "stripes", long[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  // Declared first so that HotSpot lays it out right after `base` (offsets 16 and 24): an add
  // reads both, and on one cache line more often than if they were 16 bytes apart.
  private volatile long @Nullable [] stripes; // null until the key sees contention
  private volatile long base;

  final K key;
  /** The next cell in the same wheel bucket; written only by the thread that links the cell. */
  @Nullable Cell<K> next;

  /** Creates an open cell whose first delta is counted; {@code |delta| <= SLOT_LIMIT}. */
  Cell(K key, long delta, long dueTick) {
    this.key = key;
    long stamp = openStamp(dueTick);
    if (fitsBase(delta)) {
      BASE.set(this, stamp | (delta & COUNT_BITS)); // plain stores: published later via the map
    } else {
      BASE.set(this, stamp);
      long[] cells = new long[(STRIPES + 1) * SPACING];
      cells[SPACING] = delta;
      STRIPES_REF.set(this, cells);
    }
  }

  /** The base word's high half for a window due at {@code tick}. */
  static long openStamp(long tick) {
    return ((tick << 33) & ~COUNT_BITS) | OPEN_BIT;
  }

  /** The base word's high half for a dormant cell that is idle from {@code tick} on. */
  static long dormantStamp(long tick) {
    return (tick << 33) & ~COUNT_BITS;
  }

  /**
   * The signed distance from {@code tick} to the tick in {@code word}'s stamp, in ticks: positive
   * when the stamp is later. Exact within 2^30 ticks.
   */
  static int distance(long word, long tick) {
    int stampTick = (int) (word >>> 33);
    return ((stampTick - (int) tick) << 1) >> 1;
  }

  static boolean isDead(long word) {
    return (int) word == Integer.MIN_VALUE;
  }

  static boolean isOpen(long word) {
    return (word & OPEN_BIT) != 0 && !isDead(word);
  }

  /** The count in a base word. */
  static int count(long word) {
    return (int) word;
  }

  private static boolean fitsBase(long value) {
    return value > Integer.MIN_VALUE && value <= Integer.MAX_VALUE;
  }

  /** The base word, read with volatile semantics. */
  long word() {
    return base;
  }

  /**
   * Adds {@code delta}, whose magnitude is at most {@link #SLOT_LIMIT}.
   *
   * @return {@link #ADDED}, {@link #UNOPENED}, {@link #ADDED_UNOPENED}, {@link #DEAD} or
   *     {@link #FULL}
   */
  int add(long delta) {
    long[] cells = stripes;
    long word = base;
    if (!isOpen(word)) {
      return isDead(word) ? DEAD : UNOPENED;
    }
    if (cells == null) {
      long updated = count(word) + delta; // cannot overflow: |delta| <= SLOT_LIMIT
      if (fitsBase(updated)
          && BASE.compareAndSet(this, word, (word & ~COUNT_BITS) | (updated & COUNT_BITS))) {
        return ADDED;
      }
      word = base;
      if (!isOpen(word)) {
        // A hand-over or a removal won the race: nothing was added, and no stripes are needed.
        return isDead(word) ? DEAD : UNOPENED;
      }
      // Contended or beyond 32 bits: move to the stripes, as LongAdder does.
      cells = stripes;
      if (cells == null) {
        cells = installStripes();
      }
    }
    int result = addToStripe(cells, delta);
    if (result != ADDED) {
      return result;
    }
    // After the stripe CAS (see "Add vs hand-over on a stripe").
    word = base;
    return (isOpen(word) || isDead(word)) ? ADDED : ADDED_UNOPENED;
  }

  /**
   * Opens a window due at {@code dueTick} on a dormant cell, holding {@code delta} when it fits the
   * base word ({@code |delta| <= SLOT_LIMIT}).
   *
   * @return {@link #ADDED} when this call opened the window with the delta in it,
   *     {@link #UNOPENED} when it opened the window without the delta (it does not fit the base
   *     word: add it), {@link #ALREADY_OPEN} when a window was open (nothing added), or
   *     {@link #DEAD}
   */
  int open(long delta, long dueTick) {
    long stamp = openStamp(dueTick);
    for (;;) {
      long word = base;
      if (isDead(word)) {
        return DEAD;
      } else if (isOpen(word)) {
        return ALREADY_OPEN;
      }
      boolean fits = fitsBase(count(word) + delta);
      long updated = fits ? count(word) + delta : count(word);
      if (BASE.compareAndSet(this, word, stamp | (updated & COUNT_BITS))) {
        return fits ? ADDED : UNOPENED;
      }
    }
  }

  private long[] installStripes() {
    long[] fresh = new long[(STRIPES + 1) * SPACING];
    long[] witness = (long[]) STRIPES_REF.compareAndExchange(this, (long[]) null, fresh);
    return (witness == null) ? fresh : witness;
  }

  private int addToStripe(long[] cells, long delta) {
    if (cells == RETIRED_STRIPES) {
      return DEAD;
    }
    int index = probe();
    for (;;) {
      int slot = ((index & (STRIPES - 1)) + 1) * SPACING;
      long current = (long) SLOT.getVolatile(cells, slot);
      if (current == RETIRED) {
        return DEAD;
      }
      long updated = current + delta;
      if (updated > SLOT_LIMIT || updated < -SLOT_LIMIT) {
        return FULL;
      }
      if (SLOT.compareAndSet(cells, slot, current, updated)) {
        return ADDED;
      }
      // Another thread shares this stripe: try a random one for this write.
      index = ThreadLocalRandom.current().nextInt();
    }
  }

  /**
   * Hands the open window over: the cell turns dormant with {@code idleStamp} (from
   * {@link #dormantStamp}) and every word gives up what it holds. Under the hand-over lock.
   *
   * @return the window's sum, or {@link #NOT_OWNER} when no window was open
   */
  long handOver(long idleStamp) {
    long word;
    do {
      word = base;
      if (!isOpen(word)) {
        return NOT_OWNER;
      }
    } while (!BASE.compareAndSet(this, word, idleStamp));
    long sum = count(word);
    long[] cells = stripes;
    if (cells != null) { // never RETIRED_STRIPES: only a kill installs that, and it kills base
      for (int slot = SPACING; slot < cells.length; slot += SPACING) {
        sum += (long) SLOT.getAndSet(cells, slot, 0L);
      }
    }
    return sum;
  }

  /**
   * Retires a dormant cell with nothing in its base word. Under the hand-over lock.
   *
   * @return what the stripes still held (adds that raced the removal: see the class comment), or
   *     {@link #NOT_OWNER} when the cell was not dormant and empty
   */
  long killIfIdle(long word) {
    if (isOpen(word) || isDead(word) || count(word) != 0
        || !BASE.compareAndSet(this, word, DEAD_WORD)) {
      return NOT_OWNER;
    }
    return retireStripes();
  }

  /**
   * Retires the cell whatever its state; follow with {@link #retireStripes}. Under the hand-over
   * lock.
   *
   * @return the base word it had ({@link #isDead} if it was dead already)
   */
  long kill() {
    return (long) BASE.getAndSet(this, DEAD_WORD);
  }

  /** After the base died: retires the stripes and returns what they held. */
  long retireStripes() {
    long sum = 0;
    long[] cells = (long[]) STRIPES_REF.getAndSet(this, RETIRED_STRIPES);
    if (cells != null && cells != RETIRED_STRIPES) {
      for (int slot = SPACING; slot < cells.length; slot += SPACING) {
        long value = (long) SLOT.getAndSet(cells, slot, RETIRED);
        if (value != RETIRED) {
          sum += value;
        }
      }
    }
    return sum;
  }

  /** Whether a window is open. */
  boolean isOpen() {
    return isOpen(base);
  }

  /** A racy sum for {@code count(key)}: each word is read once; retired words count as zero. */
  long sum() {
    long word = base;
    long sum = isDead(word) ? 0 : count(word);
    long[] cells = stripes;
    if (cells != null) {
      for (int slot = SPACING; slot < cells.length; slot += SPACING) {
        long value = (long) SLOT.getVolatile(cells, slot);
        if (value != RETIRED) {
          sum += value;
        }
      }
    }
    return sum;
  }

  /**
   * A stable per-thread stripe hash. Fibonacci hashing spreads consecutive thread ids (how pools
   * number their workers) over distinct stripes.
   */
  @SuppressWarnings("deprecation") // Thread.getId() is the Java 17 spelling of threadId()
  static int probe() {
    return (int) ((Thread.currentThread().getId() * 0x9E3779B97F4A7C15L) >>> (64 - STRIPE_BITS));
  }

  /**
   * Twice the CPUs, at least 8 and at most 32: a thread keeps its stripe (its hash is fixed), so
   * more stripes than threads make lasting collisions rare. Only contended keys get stripes.
   */
  private static int stripeCount() {
    int cpus = Runtime.getRuntime().availableProcessors();
    int count = 8;
    while (count < 2 * cpus && count < 32) {
      count <<= 1;
    }
    return count;
  }
}
