package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.statbuffer.testing.TestBatch;
import io.lettuce.core.cluster.SlotHash;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The split of a batch into parts and the names of their guard keys, without a server. */
class SplitterTest {
  private static final String SENDER = "00ff00ff00ff00ff00ff00ff";

  private static Splitter<String> strings(boolean cluster, boolean exactlyOnce) {
    return new Splitter<>(k -> "c:" + k, null, null, exactlyOnce, "p:", "n", cluster,
        slot -> "node-" + slot);
  }

  private static Splitter<String> hashes(Function<String, String> field) {
    return new Splitter<>(null, k -> "h:" + k.charAt(0), field, true, "p:", "n",
        /* cluster= */ false, slot -> "redis");
  }

  @Test
  void split_standalone_onePartGuardedByMarker() {
    TestBatch<String> batch = TestBatch.of(Map.of("a", 1L, "b", 2L, "c", 3L));
    List<Part> parts = strings(false, true).split(batch, false, null);

    assertThat(parts).hasSize(1);
    Part part = parts.get(0);
    assertThat(part.slot).isEqualTo(-1);
    assertThat(part.node).isEqualTo("node--1");
    assertThat(part.guard).isEqualTo("p:n:" + batch.id());
    assertThat(part.sealMarker).isNull();
    assertThat(part.keys()).containsExactly("p:n:" + batch.id(), "c:a", "c:b", "c:c");
  }

  @Test
  void split_cluster_onePartPerSlotGuardedInThatSlot() {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < 50; i++) {
      counts.put("k" + i, (long) i + 1);
    }
    TestBatch<String> batch = TestBatch.of(counts);
    List<Part> parts = strings(true, true).split(batch, false, null);

    assertThat(parts).extracting(part -> part.slot).doesNotHaveDuplicates();
    assertThat(parts.stream().mapToInt(part -> part.increments().size()).sum()).isEqualTo(50);
    for (Part part : parts) {
      assertThat(part.node).isEqualTo("node-" + part.slot);
      assertThat(SlotHash.getSlot(part.guard)).isEqualTo(part.slot);
      for (String key : List.of(part.keys()).subList(1, part.keys().length)) {
        assertThat(SlotHash.getSlot(key)).isEqualTo(part.slot);
      }
    }
  }

  @Test
  void split_numberedForSeal_stateKeyGuardsAndSealMarkerNamed() {
    NumberedBatch<String> batch = NumberedBatch.of(SENDER, 7, 3, Map.of("a", 1L));
    Splitter<String> splitter = strings(true, true);
    Part.Numbered numbered = splitter.numbered(batch);
    List<Part> parts = splitter.split(batch, numbered != null, batch.id());

    int slot = SlotHash.getSlot("c:a");
    assertThat(numbered).isEqualTo(new Part.Numbered(Splitter.senderField(SENDER), 7, 3));
    assertThat(parts.get(0).guard).isEqualTo(splitter.stateKey(slot))
        .isEqualTo("p:n:{" + SlotTags.tag(slot) + "}:S");
    assertThat(parts.get(0).sealMarker).isEqualTo(splitter.markerKey(slot, batch.id()));
    assertThat(parts.get(0).sealKeys()).containsExactly(parts.get(0).guard,
        parts.get(0).sealMarker);
  }

  @Test
  void numbered_exactlyOnceOffOrNoSender_null() {
    NumberedBatch<String> batch = NumberedBatch.of(SENDER, 7, 3, Map.of("a", 1L));
    assertThat(strings(false, false).numbered(batch)).isNull();
    assertThat(strings(false, true).numbered(batch.unnumbered())).isNull();
  }

  @Test
  void numbered_watermarkAboveSequence_clampedToSequence() {
    NumberedBatch<String> batch = NumberedBatch.of(SENDER, 7, 9, Map.of("a", 1L));
    assertThat(strings(false, true).numbered(batch).settledBelow()).isEqualTo(7);
  }

  @Test
  void split_hashCounters_keysSummedIntoOneFieldInOrder() {
    // "ab" and "ac" share hash h:a and field x: one counter holding both counts.
    Splitter<String> splitter = hashes(k -> k.equals("b") ? "y" : "x");
    TestBatch<String> batch = TestBatch.of(Map.of("ab", 2L, "ac", 3L, "b", 4L));
    Part part = splitter.split(batch, false, null).get(0);

    assertThat(splitter.hash()).isTrue();
    assertThat(part.keys()).containsExactly("p:n:" + batch.id(), "h:a", "h:b");
    assertThat(part.increments()).extracting(counter -> counter.where() + "=" + counter.delta)
        .containsExactly("h:a field x=5", "h:b field y=4");
  }

  @Test
  void split_mapperReturnsNull_npeNamesMapperAndKey() {
    Splitter<String> splitter = hashes(k -> null);
    assertThatThrownBy(() -> splitter.split(TestBatch.of(Map.of("a", 1L)), false, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("hashMapper's field function returned null for key a");
  }

  @Test
  void senderField_hexOrNot_distinctForms() {
    assertThat(Splitter.senderField(SENDER)).hasSize(16).doesNotStartWith("~");
    assertThat(Splitter.senderField("abc")).isEqualTo("~abc");
    assertThat(Splitter.senderField("")).isEqualTo("~");
    assertThat(Splitter.senderField("AB")).isEqualTo("~AB");
  }
}
