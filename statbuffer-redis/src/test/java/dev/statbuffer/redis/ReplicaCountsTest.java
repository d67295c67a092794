package dev.statbuffer.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What {@link ReplicaCounts} reads from {@code INFO replication}, and which answer it uses. */
class ReplicaCountsTest {
  private static final String MASTER = "# Replication\r\n"
      + "role:master\r\n"
      + "connected_slaves:4\r\n"
      + "slave0:ip=127.0.0.1,port=7001,state=online,offset=120,lag=0\r\n"
      + "slave1:ip=127.0.0.1,port=7002,state=online,offset=120,lag=3\r\n"
      + "slave2:ip=127.0.0.1,port=7003,state=online,offset=100,lag=4\r\n"
      + "slave3:ip=127.0.0.1,port=7004,state=wait_bgsave,offset=0,lag=0\r\n"
      + "master_failover_state:no-failover\r\n"
      + "master_repl_offset:120\r\n";

  @Test
  void count_onlineReplicasAcknowledgingWithinTheLagLimit() {
    assertThat(ReplicaCounts.count(MASTER)).isEqualTo(2);
    assertThat(ReplicaCounts.count("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"))
        .isZero();
    assertThat(ReplicaCounts.count("slave0:ip=::1,port=7001,state=online,offset=1\n"))
        .as("no lag field").isEqualTo(1);
  }

  @Test
  void count_aReplicasOwnFieldsAreNotReplicas() {
    assertThat(ReplicaCounts.count("# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"
        + "master_link_status:up\r\nslave_read_repl_offset:120\r\nslave_repl_offset:120\r\n"
        + "slave_priority:100\r\nslave_read_only:1\r\nconnected_slaves:0\r\n")).isZero();
  }

  @Test
  void answerPreferredWhileRecent_thenTheView_thenTheLastAnswer() {
    AtomicLong now = new AtomicLong(1_000_000_000L);
    ReplicaCounts withView = new ReplicaCounts(node -> 1, now::get);
    assertThat(withView.known("a:1")).as("not asked: the view").isEqualTo(1);
    withView.seed("a:1", 0);
    assertThat(withView.known("a:1")).as("the node's answer").isZero();
    now.addAndGet(ReplicaCounts.TRUST_NANOS);
    assertThat(withView.known("a:1")).isZero();
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
    assertThat(withView.known("a:1")).as("an old answer: the view").isEqualTo(1);

    ReplicaCounts withoutView = new ReplicaCounts(null, now::get);
    assertThat(withoutView.known("b:1")).isZero();
    withoutView.seed("b:1", 2);
    now.addAndGet(TimeUnit.HOURS.toNanos(1));
    assertThat(withoutView.known("b:1")).as("no view: the last answer").isEqualTo(2);
  }
}
