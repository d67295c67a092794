package dev.statbuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jspecify.annotations.Nullable;

/**
 * A durable buffer's cell: the state word of a {@link Cell} (open, dormant, dead, and the due
 * tick), with the key's counts in slots of a mapped file ({@link KeySlots}) instead of the heap
 * words. A store into a shared file mapping is in the kernel's page cache as soon as it retires,
 * and the page cache outlives the process: an increment that returned true survives SIGKILL.
 *
 * <h2>The slots' words</h2>
 * A cell counts into its home slot and, once writers contend for it, into stripe slots: more
 * slots bound to the same key bytes, one per stripe a writing thread hashes to, bound when first
 * used (two threads on a hot key usually make three slots; a CAS lost on a stripe moves that one
 * write to a random stripe, which may bind another, up to {@link Cell#STRIPES}). Stripes keep
 * concurrent writers off one cache line, as {@link Cell}'s heap stripes and
 * {@link java.util.concurrent.atomic.LongAdder}'s cells do; without them every add from the other
 * core pays a cache-line transfer. Each slot is self-contained, and recovery sums a key's slots:
 * <ul>
 *   <li>{@code A} is what the slot accepted and {@code H} what was handed over of it, both modulo
 *   2^48, for as long as the slot is bound. {@code A}'s high bits hold the slot's binding
 *   generation and a retired bit ({@link KeySlots}).
 *   <li>Each slot has a heap copy of its handed-over total ({@code taken}): a hand-over takes
 *   {@code A - taken} from every slot and moves {@code taken} up; the file's {@code H} follows
 *   once the batch is in the journal ({@link Durability}), so at every instant the file holds
 *   either the old {@code H} and no record, or a record whose {@code hAfter} says what was taken.
 * </ul>
 *
 * <h2>Who may call what</h2>
 * {@link #add} and {@link #open} by any number of incrementing threads; {@link #handOver},
 * {@link #retireStripes} (through {@code killIfIdle} and {@code kill}), {@link #lastTakes} and
 * {@link #forEachSlot} only under the hand-over lock; {@link #sum} is a racy read.
 *
 * <h2>Races, and why no count is lost</h2>
 * Every access below to the state word, the stripes array and reference, and the {@code A} words
 * is volatile, so they fall in one order that every thread sees.
 * <ul>
 *   <li><b>Add vs hand-over.</b> A writer reads the state (OPEN), finds its slot (the home slot,
 *   or a stripe, which it may install and bind first), CASes {@code A}, then reads the state
 *   again. A hand-over CASes the state to DORMANT, then reads the stripes and every slot's
 *   {@code A}. If the writer's second read sees OPEN, the hand-over's CAS follows it, so the
 *   hand-over's reads follow the writer's install and CAS: the delta is taken. Otherwise the
 *   writer gets {@link #ADDED_UNOPENED} and opens a window, which the next hand-over takes (an
 *   empty window is never handed over). As in {@link Cell}'s stripes.
 *   <li><b>Add vs idle removal and close.</b> The remover kills the state word, then CASes the
 *   retired bit into the home slot's {@code A}, swaps a null stripes reference for a retired
 *   marker, every empty stripe entry for a retired stripe, and CASes the retired bit into every
 *   stripe slot's {@code A}, taking what each held beyond its {@code taken}. A writer's CAS on
 *   {@code A} expects a word without the bit: an add before the retirement is in the remainder
 *   (the writer reports {@link #ADDED}); an add after it fails, and the writer reports
 *   {@link #DEAD} and looks the key up again. A writer that installs stripes or binds a stripe
 *   slot does so with a CAS from null, which fails once the remover's marker is in: it frees the
 *   slot it bound and reports {@link #DEAD}; a stripe installed before the marker is retired with
 *   the rest.
 *   <li><b>A slot bound again.</b> A slot is freed only after its cell died and its last take is
 *   recorded, and is then bound to another key with the next generation. A writer holding this
 *   (dead) cell compares the generation in {@code A} with the slot's before its CAS, and the CAS
 *   compares the whole word: it never adds to another key's slot (short of 2^15 re-bindings of
 *   one slot between a writer's read and its CAS).
 *   <li><b>No slot to be had.</b> When a stripe slot cannot be bound (a full disk), the writer
 *   adds to the home slot, which every hand-over takes as well.
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
  /** From {@link #addTo}: a CAS lost to another writer on a live slot. */
  private static final int CONTENDED = -1;

  private static final Stripe[] RETIRED_STRIPES = new Stripe[0];
  private static final Stripe RETIRED_STRIPE = new Stripe(ByteBuffer.allocate(0), 0, 0, -1);
  private static final VarHandle STRIPES_REF;
  private static final VarHandle STRIPE = MethodHandles.arrayElementVarHandle(Stripe[].class);

  static {
    try {
      STRIPES_REF = MethodHandles.lookup().findVarHandle(DurableCell.class, "stripes",
          Stripe[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** A stripe slot: another slot bound to the cell's key. */
  static final class Stripe {
    final ByteBuffer slots;
    final int offset;
    final int gen;
    final long ref;
    /** The handed-over total of this slot; written under the hand-over lock. */
    volatile long taken;
    /** What the last take took; under the hand-over lock. */
    long lastTake;

    Stripe(ByteBuffer slots, int offset, int gen, long ref) {
      this.slots = slots;
      this.offset = offset;
      this.gen = gen;
      this.ref = ref;
    }

    /** Takes what the slot holds beyond {@link #taken}; under the lock. */
    long take(long count) {
      long delta = KeySlots.signed(count - taken);
      taken = count;
      lastTake = delta;
      return delta;
    }
  }

  /** Binds stripe slots to the key; the buffer's {@link Durability}. */
  private final Durability<K> owner;
  /** The home slot: the mapped segment holding it, its offset, generation and reference. */
  final ByteBuffer slots;
  final int offset;
  final int gen;
  final long ref;
  /**
   * The home slot's handed-over total, modulo 2^48. Written under the hand-over lock; read racily
   * by {@link #add}'s bound check (a stale value only moves the bound a little) and {@link #sum}.
   */
  private volatile long taken;
  /** What the last take took of the home slot; under the lock. */
  private long lastTake;
  /** Null until writers contend; then one entry per stripe, bound when first used. */
  private volatile Stripe @Nullable [] stripes;
  /** Set when the slots are retired: the hand-over frees them once their last count is recorded. */
  boolean slotRetired;

  DurableCell(K key, long dueTick, Durability<K> owner, KeySlots.Binding home) {
    super(key, 0, dueTick);
    this.owner = owner;
    this.slots = home.slots();
    this.offset = home.offset();
    this.gen = home.gen();
    this.ref = home.ref();
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
    Stripe[] striped = stripes;
    int result;
    if (striped == null) {
      result = addTo(slots, offset, gen, taken, delta);
      if (result == CONTENDED) {
        result = addToStripe(installStripes(), delta); // as LongAdder does
      }
    } else {
      result = addToStripe(striped, delta);
    }
    if (result != ADDED) {
      return result;
    }
    // After the CAS (see "Add vs hand-over").
    state = word();
    return (isOpen(state) || isDead(state)) ? ADDED : ADDED_UNOPENED;
  }

  /**
   * One CAS of {@code delta} into a slot's {@code A}.
   *
   * @return {@link #ADDED}, {@link #DEAD} (retired, or bound again), {@link #FULL}, or
   *     {@link #CONTENDED} when another writer's CAS came first
   */
  private static int addTo(ByteBuffer slots, int offset, int gen, long taken, long delta) {
    long a = (long) KeySlots.LONGS.getVolatile(slots, offset);
    if (a < 0 || KeySlots.gen(a) != gen) {
      return DEAD; // retired (by a remover that killed the state first), or bound again
    }
    long updated = (a + delta) & KeySlots.COUNT_MASK;
    long pendingAfter = KeySlots.signed(updated - taken);
    if (pendingAfter > FULL_AT || pendingAfter < -FULL_AT) {
      return FULL;
    }
    return KeySlots.LONGS.compareAndSet(slots, offset, a, (a & ~KeySlots.COUNT_MASK) | updated)
        ? ADDED : CONTENDED;
  }

  private int addToHome(long delta) {
    int result;
    do {
      result = addTo(slots, offset, gen, taken, delta);
    } while (result == CONTENDED);
    return result;
  }

  private Stripe[] installStripes() {
    Stripe[] fresh = new Stripe[STRIPES];
    Stripe[] witness = (Stripe[]) STRIPES_REF.compareAndExchange(this, (Stripe[]) null, fresh);
    return (witness == null) ? fresh : witness;
  }

  private int addToStripe(Stripe[] striped, long delta) {
    if (striped == RETIRED_STRIPES) {
      return DEAD;
    }
    int index = probe();
    for (;;) {
      int i = index & (striped.length - 1);
      Stripe stripe = (Stripe) STRIPE.getVolatile(striped, i);
      if (stripe == null) {
        stripe = bindStripe(striped, i);
        if (stripe == null) {
          return addToHome(delta); // no slot to be had
        }
      }
      if (stripe == RETIRED_STRIPE) {
        return DEAD;
      }
      int result = addTo(stripe.slots, stripe.offset, stripe.gen, stripe.taken, delta);
      if (result != CONTENDED) {
        return result;
      }
      // Another thread shares this stripe: try a random one for this write.
      index = ThreadLocalRandom.current().nextInt();
    }
  }

  /** Binds a slot for stripe {@code i}; returns the stripe there, or null when none can be had. */
  private @Nullable Stripe bindStripe(Stripe[] striped, int i) {
    KeySlots.Binding binding = owner.bindStripe(KeySlots.keyOf(slots, offset));
    if (binding == null) {
      return null;
    }
    Stripe fresh = new Stripe(binding.slots(), binding.offset(), binding.gen(), binding.ref());
    Stripe witness = (Stripe) STRIPE.compareAndExchange(striped, i, (Stripe) null, fresh);
    if (witness == null) {
      return fresh;
    }
    owner.unbound(fresh.ref); // another writer, or the remover's marker, came first
    return witness;
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
    long sum = takeHome((long) KeySlots.LONGS.getVolatile(slots, offset));
    Stripe[] striped = stripes; // never the retired marker: only a remover installs it
    if (striped != null) {
      for (int i = 0; i < striped.length; i++) {
        Stripe stripe = (Stripe) STRIPE.getVolatile(striped, i);
        if (stripe != null) {
          sum += stripe.take(
              (long) KeySlots.LONGS.getVolatile(stripe.slots, stripe.offset)
                  & KeySlots.COUNT_MASK);
        }
      }
    }
    return sum;
  }

  /** After the state word died: retires every slot and returns what they held beyond the taken. */
  @Override
  long retireStripes() {
    long sum = takeHome(retire(slots, offset));
    Stripe[] striped =
        (Stripe[]) STRIPES_REF.compareAndExchange(this, (Stripe[]) null, RETIRED_STRIPES);
    if (striped != null && striped != RETIRED_STRIPES) {
      for (int i = 0; i < striped.length; i++) {
        Stripe stripe =
            (Stripe) STRIPE.compareAndExchange(striped, i, (Stripe) null, RETIRED_STRIPE);
        if (stripe != null && stripe != RETIRED_STRIPE) {
          sum += stripe.take(retire(stripe.slots, stripe.offset) & KeySlots.COUNT_MASK);
        }
      }
    }
    slotRetired = true;
    return sum;
  }

  /** Sets a slot's retired bit; returns its {@code A} before (retired only by this cell). */
  private static long retire(ByteBuffer slots, int offset) {
    long a;
    do {
      a = (long) KeySlots.LONGS.getVolatile(slots, offset);
    } while (!KeySlots.LONGS.compareAndSet(slots, offset, a, a | KeySlots.RETIRED));
    return a;
  }

  private long takeHome(long a) {
    long count = a & KeySlots.COUNT_MASK;
    long delta = KeySlots.signed(count - taken);
    taken = count;
    lastTake = delta;
    return delta;
  }

  /**
   * Reports, for the journal, each slot's part of the last hand-over or retirement: slots whose
   * take was zero are left out (their {@code H} needs no new value). Under the lock.
   */
  void lastTakes(Consumer<Durability.Mark<K>> marks) {
    if (lastTake != 0) {
      marks.accept(new Durability.Mark<>(key, slots, offset, ref, gen, taken, lastTake));
    }
    Stripe[] striped = stripes;
    if (striped != null) {
      for (Stripe stripe : striped) {
        if (stripe != null && stripe != RETIRED_STRIPE && stripe.lastTake != 0) {
          marks.accept(new Durability.Mark<>(key, stripe.slots, stripe.offset, stripe.ref,
              stripe.gen, stripe.taken, stripe.lastTake));
        }
      }
    }
  }

  /** The references of every slot the cell has bound (home first); under the lock. */
  void forEachSlot(LongConsumer refs) {
    refs.accept(ref);
    Stripe[] striped = stripes;
    if (striped != null) {
      for (Stripe stripe : striped) {
        if (stripe != null && stripe != RETIRED_STRIPE) {
          refs.accept(stripe.ref);
        }
      }
    }
  }

  /** Slots bound to the key beyond the home slot; for tests. */
  int stripeSlots() {
    int[] count = {-1};
    forEachSlot(r -> count[0]++);
    return count[0];
  }

  /** Reads each {@code taken} before its {@code A}: a racing hand-over can only make it high. */
  @Override
  long sum() {
    long sum = slotSum(slots, offset, taken);
    Stripe[] striped = stripes;
    if (striped != null) {
      for (Stripe stripe : striped) {
        if (stripe != null && stripe != RETIRED_STRIPE) {
          sum += slotSum(stripe.slots, stripe.offset, stripe.taken);
        }
      }
    }
    return sum;
  }

  private static long slotSum(ByteBuffer slots, int offset, long handedOver) {
    long a = (long) KeySlots.LONGS.getVolatile(slots, offset);
    return (a < 0) ? 0 : KeySlots.signed((a & KeySlots.COUNT_MASK) - handedOver);
  }
}
