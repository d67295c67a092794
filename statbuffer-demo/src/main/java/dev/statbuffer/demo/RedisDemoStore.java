package dev.statbuffer.demo;

import static java.util.Objects.requireNonNull;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.redis.RedisSink;
import dev.statbuffer.redis.RedisSinkStats;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The Redis store: a Lettuce client and a {@link RedisSink} of string counters named
 * {@code statbuffer-demo:<run id>:<page>}, which expire a day after their last write so that demo
 * runs do not accumulate in the server.
 *
 * <p>Not thread-safe except as {@link DemoStore} says.
 */
final class RedisDemoStore implements DemoStore {
  /** How long a counter lives after its last write. */
  static final Duration EXPIRE_AFTER = Duration.ofDays(1);
  private static final int READ_CHUNK = 1000;

  private final String url;
  private final String prefix;
  private final RedisClient client;
  /** Null until {@link #prepare()} has built it. */
  private volatile @Nullable RedisSink<String> sink;
  private volatile RedisSinkStats baseline = new RedisSinkStats(0, 0, 0, 0, 0, 0, 0, 0);

  /**
   * Creates the client (it connects in {@link #prepare()}).
   *
   * @param url the server, {@code redis://host:port}
   * @param runId this run's id, part of every counter's name
   */
  RedisDemoStore(String url, String runId) {
    this.url = url;
    this.prefix = "statbuffer-demo:" + runId + ":";
    RedisURI uri = RedisURI.create(url);
    uri.setTimeout(Duration.ofSeconds(10));
    this.client = RedisClient.create(uri);
  }

  @Override
  public String describe() {
    return "Redis " + url + ", keys " + prefix + "<page>";
  }

  @Override
  public void prepare() {
    RedisSink<String> built = RedisSink.<String>builder(client)
        .keyMapper(page -> prefix + page)
        .expireAfter(EXPIRE_AFTER)
        .build();
    baseline = built.stats();
    sink = built;
  }

  @Override
  public BatchFlushHandler<String> sink() {
    return requireNonNull(sink, "prepare() builds the sink before the buffer asks for it");
  }

  @Override
  public Counters counters() {
    RedisSink<String> s = sink;
    if (s == null) {
      return new Counters(0, 0, 0);
    }
    RedisSinkStats now = s.stats();
    RedisSinkStats base = baseline;
    return new Counters(now.roundTrips() - base.roundTrips(),
        (now.batches() - now.failedBatches()) - (base.batches() - base.failedBatches()),
        now.increments() - base.increments());
  }

  @Override
  public String writeUnit() {
    return "round trips";
  }

  @Override
  public Map<String, Long> readTotals(List<String> keys) {
    Map<String, Long> totals = new HashMap<>();
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      for (int from = 0; from < keys.size(); from += READ_CHUNK) {
        List<String> chunk = keys.subList(from, Math.min(keys.size(), from + READ_CHUNK));
        String[] names = chunk.stream().map(k -> prefix + k).toArray(String[]::new);
        List<KeyValue<String, String>> values = connection.sync().mget(names);
        for (int i = 0; i < values.size(); i++) {
          KeyValue<String, String> value = values.get(i);
          if (value.hasValue()) {
            totals.put(chunk.get(i), Long.parseLong(value.getValue()));
          }
        }
      }
    }
    return totals;
  }

  @Override
  public void close() {
    RedisSink<String> s = sink;
    if (s != null) {
      s.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
