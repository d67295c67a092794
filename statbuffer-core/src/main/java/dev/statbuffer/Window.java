package dev.statbuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One key's open window: a striped, retirable counter.
 *
 * <h2>Design</h2>
 * A window sums the deltas of one key from its first increment until it is handed over. It is a
 * small relative of {@link java.util.concurrent.atomic.LongAdder}: writers CAS a {@code base}
 * word, and the first CAS that fails because of contention installs an array of stripes, after
 * which every writer CASes the stripe that its thread hashes to. Unlike a LongAdder, a window can
 * be <em>retired</em> exactly once: {@link #retire()} swaps every word it owns to the sentinel
 * {@link #RETIRED} with {@code getAndSet} and returns the sum of what it swapped out.
 *
 * <h2>Who may call what</h2>
 * {@link #add} is called by any number of incrementing threads. {@link #retire} may be called by
 * several threads at once (the drainer, {@code flush}, {@code close}, a writer that found its slot
 * full); exactly one of them, the one whose swap of {@code base} returned a live value, is the
 * owner and receives the sum; the others get {@link #NOT_OWNER}. {@link #sum} is a racy read for
 * {@code count(key)}.
 *
 * <h2>Why no delta is lost or counted twice</h2>
 * Every delta enters through a successful CAS on one word (base or one stripe) that expected a
 * live value. Retirement swaps each of those words to {@code RETIRED} with an atomic
 * {@code getAndSet}, so for each word the successful CASes that precede the swap are included in
 * the owner's sum, and every CAS that follows it fails (it expected a live value) and makes the
 * writer see {@code RETIRED} and return {@link #RETIRED}, after which the writer opens a new
 * window. The stripe array is installed with a CAS from {@code null}, and the owner swaps the array
 * reference to {@link #RETIRED_STRIPES} before it retires the slots of the array it swapped out,
 * so an array is either seen and drained by the owner or never installed at all.
 *
 * <h2>The base word</h2>
 * {@code base} packs two things: the high 32 bits are the window's due tick (written once, before
 * the window is published, and carried unchanged by every CAS), the low 32 bits are a signed count.
 * That keeps the due tick without a field of its own, so a window is 32 bytes, like a LongAdder.
 * The low half never holds {@link Integer#MIN_VALUE}: that value marks the word retired
 * ({@link #BASE_RETIRED}). An add that would take the low half out of {@code (MIN_VALUE, MAX_VALUE]}
 * goes to the stripes instead, which hold full longs; so does a window's first delta when it does
 * not fit.
 *
 * <h2>Overflow</h2>
 * Every stripe is kept within {@code [-SLOT_LIMIT, SLOT_LIMIT]}, so the sum of all words of a
 * window never overflows a {@code long}. A write that would leave that range returns
 * {@link #FULL}; the caller then hands the window over early and writes the delta into a fresh
 * window.
 *
 * <p>Memory: besides the header a window holds the key, the wheel link, the stripes reference and
 * the base word: 32 bytes with compressed pointers. Stripes exist only for keys that saw
 * contention (or a count beyond 32 bits): {@code (STRIPES + 1) * 128} bytes, allocated once (the
 * one allocation an increment on an open window can make).
 */
final class Window<K> {
  /** The value of a retired stripe. Live stripes never hold it: they stay within the limit. */
  static final long RETIRED = Long.MIN_VALUE;
  /** The value of a retired base word: its low half is {@code Integer.MIN_VALUE}. */
  static final long BASE_RETIRED = 0x8000_0000L;
  private static final long TICK_BITS = 0xFFFF_FFFF_0000_0000L;
  /** What {@link #retire()} returns to a caller that did not retire the window. */
  static final long NOT_OWNER = Long.MIN_VALUE;
  /** The largest magnitude a single word may hold. */
  static final long SLOT_LIMIT = Long.MAX_VALUE / 256;

  static final int ADDED = 0;
  static final int RETIRED_WINDOW = 1;
  static final int FULL = 2;

  /**
   * Longs between two stripes: 128 bytes, so stripes never share a cache line (nor its pair).
   * Slot 0 is left empty too: it shares a line with the array's length, which every writer reads.
   */
  private static final int SPACING = 16;
  private static final int STRIPES = stripeCount();
  private static final int STRIPE_BITS = Integer.numberOfTrailingZeros(STRIPES);
  private static final long[] RETIRED_STRIPES = new long[0];

  private static final VarHandle BASE;
  private static final VarHandle STRIPES_REF;
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      BASE = lookup.findVarHandle(Window.class, "base", long.class);
      STRIPES_REF = lookup.findVarHandle(Window.class, "stripes", long[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  // Declared first so that HotSpot lays it out right after `base` (offsets 16 and 24): an add
  // reads both, and on one cache line more often than if they were 16 bytes apart.
  private volatile long[] stripes;
  private volatile long base;

  final K key;
  /** The next window in the same wheel bucket; written only by the thread that links it. */
  Window<K> next;

  /** Creates a window whose first delta is already counted; {@code |delta| <= SLOT_LIMIT}. */
  Window(K key, long delta, int dueTick) {
    this.key = key;
    long tick = ((long) dueTick) << 32;
    if (delta > Integer.MIN_VALUE && delta <= Integer.MAX_VALUE) {
      BASE.set(this, tick | (delta & 0xFFFF_FFFFL)); // plain stores: published later via the map
    } else {
      BASE.set(this, tick);
      long[] cells = new long[(STRIPES + 1) * SPACING];
      cells[SPACING] = delta;
      STRIPES_REF.set(this, cells);
    }
  }

  /**
   * The tick at which the window is due. Meaningful while the window is live; a caller that races
   * its retirement may read a wrong tick, which is harmless: a retired window is skipped by
   * everyone who finds it.
   */
  int dueTick() {
    long word = base;
    return ((int) word == Integer.MIN_VALUE) ? 0 : (int) (word >>> 32);
  }

  /**
   * Adds {@code delta}, whose magnitude is at most {@link #SLOT_LIMIT}.
   *
   * @return {@link #ADDED}, {@link #RETIRED_WINDOW} when the window was handed over (open a new
   *     one), or {@link #FULL} when the word would leave its range (hand this window over early)
   */
  int add(long delta) {
    long[] cells = stripes;
    if (cells == null) {
      long current = base;
      int count = (int) current;
      if (count == Integer.MIN_VALUE) {
        return RETIRED_WINDOW;
      }
      long updated = count + delta; // cannot overflow: |delta| <= SLOT_LIMIT
      if (updated > Integer.MIN_VALUE && updated <= Integer.MAX_VALUE
          && BASE.compareAndSet(this, current, (current & TICK_BITS) | (updated & 0xFFFF_FFFFL))) {
        return ADDED;
      }
      // Contended, beyond 32 bits, or retired meanwhile: move to the stripes, as LongAdder does.
      cells = stripes;
      if (cells == null) {
        cells = installStripes();
      }
    }
    return addToStripe(cells, delta);
  }

  private long[] installStripes() {
    long[] fresh = new long[(STRIPES + 1) * SPACING];
    long[] witness = (long[]) STRIPES_REF.compareAndExchange(this, (long[]) null, fresh);
    return (witness == null) ? fresh : witness;
  }

  private int addToStripe(long[] cells, long delta) {
    if (cells == RETIRED_STRIPES) {
      return RETIRED_WINDOW;
    }
    int index = probe();
    for (;;) {
      int slot = ((index & (STRIPES - 1)) + 1) * SPACING;
      long current = (long) SLOT.getVolatile(cells, slot);
      if (current == RETIRED) {
        return RETIRED_WINDOW;
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
   * Retires the window. Idempotent and safe to race.
   *
   * @return the window's sum if this call retired it, else {@link #NOT_OWNER}
   */
  long retire() {
    int count = (int) (long) BASE.getAndSet(this, BASE_RETIRED);
    if (count == Integer.MIN_VALUE) {
      return NOT_OWNER;
    }
    long sum = count;
    long[] cells = (long[]) STRIPES_REF.getAndSet(this, RETIRED_STRIPES);
    if (cells != null) {
      for (int slot = SPACING; slot < cells.length; slot += SPACING) {
        long value = (long) SLOT.getAndSet(cells, slot, RETIRED);
        if (value != RETIRED) {
          sum += value;
        }
      }
    }
    return sum;
  }

  /** Returns true once the window was retired. */
  boolean isRetired() {
    return (int) base == Integer.MIN_VALUE;
  }

  /** A racy sum for {@code count(key)}: each word is read once; retired words count as zero. */
  long sum() {
    int count = (int) base;
    long sum = (count == Integer.MIN_VALUE) ? 0 : count;
    long value;
    long[] cells = stripes;
    if (cells != null) {
      for (int slot = SPACING; slot < cells.length; slot += SPACING) {
        value = (long) SLOT.getVolatile(cells, slot);
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
  private static int probe() {
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
