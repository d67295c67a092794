package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import org.junit.jupiter.api.Test;

class SlotTagsTest {

  @Test
  void tag_everySlot_hashesToThatSlot() {
    for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
      String tag = SlotTags.tag(slot);
      assertThat(tag).as("slot %d", slot).hasSizeBetween(1, 4).doesNotContain("{", "}");
      assertThat(SlotHash.getSlot(tag)).as("tag %s", tag).isEqualTo(slot);
    }
  }

  @Test
  void markerKey_withTag_hashesToTagSlot() {
    for (int slot : new int[] {0, 1, 5000, 12182, 16383}) {
      String marker = "statbuffer:batch:{" + SlotTags.tag(slot) + "}:0123-abcd";
      assertThat(SlotHash.getSlot(marker)).isEqualTo(slot);
    }
  }
}
