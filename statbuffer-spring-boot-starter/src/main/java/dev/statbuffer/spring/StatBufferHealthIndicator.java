package dev.statbuffer.spring;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.BufferLag;
import dev.statbuffer.BufferStats;
import dev.statbuffer.StatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Reports the declared buffers' health as contributor {@code statbuffer}: DOWN while any buffer
 * is losing counts or is stuck behind its sink, UP otherwise, with each buffer's figures as
 * details.
 *
 * <p>A buffer is DOWN when
 * <ul>
 *   <li>its dropped sum ({@link BufferStats#droppedSum()}) changed since the previous check:
 *       counts were given up on (after {@code max-attempts} failed calls, or at shutdown), or
 *   <li>its oldest handed-over count ({@link BufferLag#oldestHandedOver()}) has waited longer
 *       than {@code statbuffer.health.max-lag}: the sink keeps failing and the count waits for
 *       retries (or the sink is that slow).
 * </ul>
 * A drop therefore shows as DOWN in one check (the first after it); a sink that keeps failing
 * shows as DOWN for as long as it fails. The details of each buffer: {@code status},
 * {@code problems} (when DOWN), {@code pendingKeys}, {@code deliveredSum}, {@code droppedSum},
 * {@code droppedSinceLastCheck}, {@code failures}, {@code rejected}, {@code oldestWindow} and
 * {@code oldestHandedOver} (ISO-8601 durations), {@code closed}.
 *
 * <p>Thread-safe: checks are serialized, since each compares with the one before.
 */
public final class StatBufferHealthIndicator implements HealthIndicator {
  private final StatBufferRegistry registry;
  private final Duration maxLag;
  private final Map<String, Long> droppedAtLastCheck = new HashMap<>();

  /**
   * Creates the indicator.
   *
   * @param registry the buffers
   * @param maxLag how long a handed-over count may wait before the health is DOWN; positive
   * @throws StatBufferConfigurationException if {@code maxLag} is not positive
   */
  public StatBufferHealthIndicator(StatBufferRegistry registry, Duration maxLag) {
    this.registry = requireNonNull(registry, "registry");
    if (maxLag == null || maxLag.isZero() || maxLag.isNegative()) {
      throw new StatBufferConfigurationException("statbuffer.health.max-lag",
          "must be positive: " + maxLag + ".", "set a positive duration, such as 1m.");
    }
    this.maxLag = maxLag;
  }

  /**
   * Checks every buffer.
   *
   * @return UP, or DOWN when a buffer dropped counts since the last check or lags too far
   */
  @Override
  public synchronized Health health() {
    boolean down = false;
    Map<String, Object> details = new LinkedHashMap<>();
    for (Map.Entry<String, StatBuffer<String>> entry : registry.buffers().entrySet()) {
      String name = entry.getKey();
      StatBuffer<String> buffer = entry.getValue();
      BufferStats stats = buffer.stats();
      BufferLag lag = buffer.lag();
      long dropped = stats.droppedSum() - droppedAtLastCheck.getOrDefault(name, 0L);
      droppedAtLastCheck.put(name, stats.droppedSum());

      List<String> problems = new ArrayList<>();
      if (dropped != 0) {
        problems.add("dropped a sum of " + dropped + " since the last check");
      }
      if (lag.oldestHandedOver().compareTo(maxLag) > 0) {
        problems.add("a count handed to the sink has waited " + lag.oldestHandedOver()
            + ", longer than statbuffer.health.max-lag " + maxLag + " (the sink keeps failing)");
      }
      Map<String, Object> figures = new LinkedHashMap<>();
      figures.put("status", problems.isEmpty() ? "UP" : "DOWN");
      if (!problems.isEmpty()) {
        figures.put("problems", problems);
        down = true;
      }
      figures.put("pendingKeys", stats.pendingKeys());
      figures.put("deliveredSum", stats.deliveredSum());
      figures.put("droppedSum", stats.droppedSum());
      figures.put("droppedSinceLastCheck", dropped);
      figures.put("failures", stats.failures());
      figures.put("rejected", stats.rejected());
      figures.put("oldestWindow", lag.oldestWindow().toString());
      figures.put("oldestHandedOver", lag.oldestHandedOver().toString());
      figures.put("closed", buffer.isClosed());
      details.put(name, figures);
    }
    return (down ? Health.down() : Health.up()).withDetails(details).build();
  }
}
