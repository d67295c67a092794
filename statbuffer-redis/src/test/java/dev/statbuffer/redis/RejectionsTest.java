package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Rejection ids and the script's reply format; no server needed. */
class RejectionsTest {
  private static final String VALID = "[0-9a-z-]{1,64}";

  @Test
  void id_batchIdPartAndIndex() {
    String batchId = "0a1b2c3d4e5f60718293a4b5c6d7e8f9-1a2b3c";
    assertThat(Rejections.id(batchId, 5, 7)).isEqualTo(batchId + "-5-d7");
    assertThat(Rejections.id(batchId, -1, 0)).isEqualTo(batchId + "-s-d0");
    assertThat(Rejections.id(batchId, 16383, 99_999)).matches(VALID);
  }

  /** A rejection id replayed and rejected again, over and over: ids stay valid and distinct. */
  @Test
  void id_ofARejectionRejectedAgain_staysValidDistinctAndNeverABatchId() {
    Set<String> seen = new HashSet<>();
    String id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9-1a2b3c";
    seen.add(id);
    for (int i = 0; i < 10; i++) {
      id = Rejections.id(id, 16383, 999);
      assertThat(id).matches(VALID);
      assertThat(id.chars().filter(c -> c == '-').count()).isGreaterThanOrEqualTo(2);
      assertThat(seen.add(id)).as("new id %s", id).isTrue();
    }
  }

  @Test
  void id_longOrUnusualBatchId_digestDeterministic() {
    String longId = "x".repeat(60);
    assertThat(Rejections.id(longId, 1, 2)).matches("h[0-9a-f]{32}-1-d2")
        .isEqualTo(Rejections.id(longId, 1, 2))
        .isNotEqualTo(Rejections.id("y".repeat(60), 1, 2));
    assertThat(Rejections.id("Batch_1", -1, 0)).matches("h[0-9a-f]{32}-s-d0");
  }

  @Test
  void parse_statusAndRefusals() {
    assertThat(PartScript.parse("1"))
        .isEqualTo(new PartScript.Reply(PartScript.Status.APPLIED, List.of()));
    assertThat(PartScript.parse("0;3:Wlist,5:N")).isEqualTo(new PartScript.Reply(
        PartScript.Status.SKIPPED,
        List.of(new PartScript.Refusal(3, "Wlist"), new PartScript.Refusal(5, "N"))));
    assertThat(PartScript.parse("2;0:O").status()).isEqualTo(PartScript.Status.FOREIGN);
  }

  @Test
  void parse_unexpectedReply_illegalState() {
    for (String reply : new String[] {null, "", "7", "1x", "1;", "1;3", "1;:N", "1;3:", "1;a:N"}) {
      assertThatThrownBy(() -> PartScript.parse(reply)).as(reply)
          .isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void refusal_reasonAndFixPerCode() {
    assertThat(new PartScript.Refusal(0, "Wzset").reason(false))
        .isEqualTo("WRONGTYPE the key holds a zset, not a string counter");
    assertThat(new PartScript.Refusal(0, "Wstring").reason(true))
        .isEqualTo("WRONGTYPE the key holds a string, not a hash of counters");
    assertThat(new PartScript.Refusal(0, "N").reason(false)).startsWith("NOTINTEGER");
    assertThat(new PartScript.Refusal(0, "O").reason(false)).startsWith("OVERFLOW");
    assertThat(new PartScript.Refusal(0, "E").reason(false)).startsWith("ERR");
    assertThat(new PartScript.Refusal(0, "O").fix()).contains("reset");
  }
}
