package dev.statbuffer;

import java.nio.ByteBuffer;

/**
 * A durable buffer's cell: the state word of a {@link Cell} (open, dormant, dead, and the due
 * tick), with the key's counts in a slot of a mapped file ({@link KeySlots}) instead of the heap
 * words. A store into a shared file mapping is in the kernel's page cache as soon as it retires,
 * and the page cache outlives the process: an increment that returned true survives SIGKILL.
 *
 * <h2>The slot's words</h2>
 * {@code A} is the key's accepted total and {@code H} its handed-over total, both modulo 2^48,
 * for as long as the slot is bound to the key. {@code A}'s high bits hold the slot's binding
 * generation and a retired bit ({@link KeySlots}). This class keeps {@link #taken}, the heap copy
 * of the handed-over total: a hand-over takes {@code A - taken} and moves {@code taken} up; the
 * file's {@code H} follows once the batch is in the journal ({@link Durability}), so at every
 * instant the file holds either the old {@code H} and no record, or a record whose
 * {@code hAfter} says what was taken. Recovery takes the larger.
 *
 * <h2>Who may call what</h2>
 * {@link #add} and {@link #open} by any number of incrementing threads; {@link #handOver},
 * {@link #retireStripes} (through {@code killIfIdle} and {@code kill}) only under the hand-over
 * lock; {@link #sum} is a racy read.
 *
 * <h2>Races, and why no count is lost</h2>
 * <ul>
 *   <li><b>Add vs hand-over.</b> A writer reads the state (OPEN), CASes {@code A}, then reads the
 *   state again. A hand-over CASes the state to DORMANT, then reads {@code A}. Both are volatile
 *   accesses, so one sees the other: either the hand-over's read follows the add (the delta is
 *   taken), or the writer's second read follows the state change (it gets
 *   {@link #ADDED_UNOPENED} and opens a window, which the next hand-over takes). As in
 *   {@link Cell}'s stripes; an empty window is never handed over.
 *   <li><b>Add vs idle removal and close.</b> The remover kills the state word, then CASes the
 *   retired bit into {@code A} and takes what {@code A} holds beyond {@link #taken}. A writer's
 *   CAS expects a word without the bit: an add before the retirement is in the remainder (the
 *   writer reports {@link #ADDED}); an add after it fails, and the writer reports
 *   {@link #DEAD} and looks the key up again.
 *   <li><b>A slot bound again.</b> A freed slot is bound to another key with the next generation.
 *   A writer holding this (dead) cell compares the generation in {@code A} with {@link #gen}
 *   before its CAS, and the CAS compares the whole word: it never adds to another key's slot
 *   (short of 2^15 re-bindings of one slot between a writer's read and its CAS).
 * </ul>
 *
 * <p>Deltas are limited to {@link #LIMIT} in magnitude, and a slot's pending count
 * ({@code A - taken}) to {@code 2^46}: an add that would pass it reports {@link #FULL}, and the
 * caller hands the cell over first, as for a full stripe. The modulo-2^48 words then never wrap
 * into ambiguity.
 */
final class DurableCell<K> extends Cell<K> {
  /** The largest magnitude one durable increment may have. */
  static final long LIMIT = 1L << 40;
  private static final long FULL_AT = 1L << 46;

  /** The mapped segment holding the slot. */
  final ByteBuffer slots;
  /** The slot's offset in {@link #slots}. */
  final int offset;
  /** The slot's binding generation. */
  final int gen;
  /** The slot's reference: segment index and slot index ({@link KeySlots#ref}). */
  final long ref;
  /**
   * The handed-over total, modulo 2^48. Written under the hand-over lock; read racily by
   * {@link #add}'s bound check (a stale value only moves the bound a little) and {@link #sum}.
   */
  private volatile long taken;
  /** Set when the slot is retired: the hand-over frees it once its last count is recorded. */
  boolean slotRetired;

  DurableCell(K key, long dueTick, ByteBuffer slots, int offset, int gen, long ref) {
    super(key, 0, dueTick);
    this.slots = slots;
    this.offset = offset;
    this.gen = gen;
    this.ref = ref;
  }

  /** The handed-over total after the last take, for the journal's record; under the lock. */
  long taken() {
    return taken;
  }

  @Override
  int add(long delta) {
    if (delta > LIMIT || delta < -LIMIT) {
      throw new IllegalArgumentException("a durable buffer's increment must be within +-2^40: "
          + delta + " for key " + key);
    }
    long state = word();
    if (!isOpen(state)) {
      return isDead(state) ? DEAD : UNOPENED;
    }
    for (;;) {
      long a = (long) KeySlots.LONGS.getVolatile(slots, offset);
      if (a < 0 || KeySlots.gen(a) != gen) {
        return DEAD; // retired (by a remover that killed the state first), or bound again
      }
      long updated = (a + delta) & KeySlots.COUNT_MASK;
      long pendingAfter = KeySlots.signed(updated - taken);
      if (pendingAfter > FULL_AT || pendingAfter < -FULL_AT) {
        return FULL;
      }
      if (KeySlots.LONGS.compareAndSet(slots, offset, a, (a & ~KeySlots.COUNT_MASK) | updated)) {
        break;
      }
    }
    // After the CAS (see "Add vs hand-over").
    state = word();
    return (isOpen(state) || isDead(state)) ? ADDED : ADDED_UNOPENED;
  }

  /** Opens the window empty: the caller adds a non-zero delta with {@link #add} afterwards. */
  @Override
  int open(long delta, long dueTick) {
    int result = super.open(0, dueTick);
    return (result == ADDED && delta != 0) ? UNOPENED : result;
  }

  @Override
  long handOver(long idleStamp) {
    long none = super.handOver(idleStamp); // the state word; its count half is always zero
    if (none == NOT_OWNER) {
      return NOT_OWNER;
    }
    long a = (long) KeySlots.LONGS.getVolatile(slots, offset);
    return take(a & KeySlots.COUNT_MASK);
  }

  /** After the state word died: retires the slot and returns what it held beyond the taken. */
  @Override
  long retireStripes() {
    long a;
    do {
      a = (long) KeySlots.LONGS.getVolatile(slots, offset);
      if (a < 0) {
        return 0; // retired already
      }
    } while (!KeySlots.LONGS.compareAndSet(slots, offset, a, a | KeySlots.RETIRED));
    slotRetired = true;
    return take(a & KeySlots.COUNT_MASK);
  }

  private long take(long count) {
    long delta = KeySlots.signed(count - taken);
    taken = count;
    return delta;
  }

  /** Reads {@code taken} before {@code A}: a hand-over racing the read can only make it high. */
  @Override
  long sum() {
    long handedOver = taken;
    long a = (long) KeySlots.LONGS.getVolatile(slots, offset);
    return (a < 0) ? 0 : KeySlots.signed((a & KeySlots.COUNT_MASK) - handedOver);
  }
}
