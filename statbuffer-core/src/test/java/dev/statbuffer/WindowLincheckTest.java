package dev.statbuffer;

import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Conservation in a {@link Window} under every interleaving the model checker explores: adds
 * (which install stripes when a CAS fails or the base word's 32-bit count would overflow; one run
 * starts just below that limit), and racing retirements. After each scenario the
 * validation retires the window once more and requires that the owners' sums add up to exactly the
 * deltas whose {@code add} returned {@code ADDED}: no delta lost, none counted twice.
 *
 * <p>The window is deliberately not linearizable as an object, and the test does not ask it to
 * be: once {@code retire()} has swapped the base, one writer may see {@code RETIRED} and move on to
 * a new window while another still lands in a stripe the owner has not swapped yet. Both outcomes
 * are counted correctly (the first in its new window, the second in the owner's sum), which is
 * what this test checks. (Lincheck's linearizability check found exactly that history.)
 */
@Param(name = "delta", gen = IntGen.class, conf = "-3:3")
public class WindowLincheckTest {
  /** The window's first delta, set by each test before Lincheck creates its instances. */
  private static volatile long initial;

  private final Window<String> window = new Window<>("k", initial, 0);
  private final AtomicLong added = new AtomicLong(initial);
  private final AtomicLong taken = new AtomicLong();

  @Operation
  public void add(@Param(name = "delta") int delta) {
    if (window.add(delta) == Window.ADDED) {
      added.addAndGet(delta);
    }
  }

  @Operation
  public void retire() {
    long sum = window.retire();
    if (sum != Window.NOT_OWNER) {
      taken.addAndGet(sum);
    }
  }

  @Validate
  public void conserved() {
    retire();
    if (added.get() != taken.get()) {
      throw new IllegalStateException("added " + added + " but retired " + taken);
    }
  }

  @Test
  void modelChecking_fromZero() {
    initial = 0;
    check();
  }

  /** Just below the base word's 32-bit count limit, so adds cross it into the stripes. */
  @Test
  void modelChecking_nearBaseLimit() {
    initial = Integer.MAX_VALUE - 3L;
    check();
  }

  /** 100 iterations: fewer missed a seeded bug (a stripe read instead of swapped) now and then. */
  private static void check() {
    new ModelCheckingOptions().iterations(100).invocationsPerIteration(1_000)
        .threads(3).actorsPerThread(3).check(WindowLincheckTest.class);
  }
}
