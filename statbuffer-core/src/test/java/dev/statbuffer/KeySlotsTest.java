package dev.statbuffer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KeySlots}: a freed slot is bound again, and freeing never waits for a bind in progress
 * (a bind holds the monitor while it writes a new segment full of zeros; freeing runs under the
 * buffer's hand-over lock, which the drain must not hold for that long).
 */
class KeySlotsTest {
  @TempDir
  Path dir;

  @Test
  void free_whileABindHoldsTheMonitor_returnsAtOnce_andTheSlotIsBoundAgain() throws Exception {
    try (KeySlots slots = new KeySlots(dir, KeySlots.slotSize(32), 7L)) {
      KeySlots.Binding first = slots.bind("a".getBytes(StandardCharsets.UTF_8), 1);
      assertThat(slots.boundSlots()).isEqualTo(1);

      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      Thread binder = new Thread(() -> {
        synchronized (slots) { // as a bind writing a new segment does
          held.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      binder.start();
      held.await();
      try {
        CompletableFuture.runAsync(() -> slots.free(first.ref())).get(10, TimeUnit.SECONDS);
      } finally {
        release.countDown();
        binder.join();
      }

      assertThat(slots.boundSlots()).isZero();
      KeySlots.Binding again = slots.bind("b".getBytes(StandardCharsets.UTF_8), 2);
      assertThat(again.ref()).as("the freed slot is reused").isEqualTo(first.ref());
      assertThat(again.gen()).as("with the next generation").isEqualTo(first.gen() + 1);
      assertThat(new String(KeySlots.keyOf(again.slots(), again.offset()),
          StandardCharsets.UTF_8)).isEqualTo("b");
    }
  }
}
