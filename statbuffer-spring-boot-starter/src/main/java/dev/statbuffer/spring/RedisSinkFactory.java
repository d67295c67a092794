package dev.statbuffer.spring;

import static dev.statbuffer.spring.Checks.option;
import static dev.statbuffer.spring.Checks.value;

import dev.statbuffer.BatchFlushHandler;
import dev.statbuffer.redis.RedisSink;
import dev.statbuffer.spring.StatBufferProperties.Sink;
import dev.statbuffer.spring.StatBufferProperties.SinkType;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Makes {@link RedisSink}s on the Lettuce client of the application's
 * {@link LettuceConnectionFactory} (a {@link RedisClient}, or a {@link RedisClusterClient} for a
 * cluster). Each sink opens its own connection with that client at start-up; the registry closes
 * it after the buffer, and the connection factory shuts the client down later. Thread-safe.
 */
final class RedisSinkFactory implements SinkFactory {
  private final ObjectProvider<RedisConnectionFactory> connectionFactories;

  RedisSinkFactory(ObjectProvider<RedisConnectionFactory> connectionFactories) {
    this.connectionFactories = connectionFactories;
  }

  @Override
  public SinkType type() {
    return SinkType.REDIS;
  }

  @Override
  public BatchFlushHandler<String> create(String buffer, String prefix, Sink sink) {
    String keyPrefix = sink.getKeyPrefix();
    String hash = sink.getHash();
    if ((keyPrefix == null) == (hash == null)) {
      throw new StatBufferConfigurationException(prefix + ".key-prefix",
          (keyPrefix == null) ? "is not set, and neither is " + prefix + ".hash."
              : "is set together with " + prefix + ".hash.",
          "set key-prefix (string counters, INCRBY key-prefix + key) or hash (one hash whose"
              + " fields are the keys, HINCRBY), not both.");
    }
    if (hash != null && hash.isBlank()) {
      throw new StatBufferConfigurationException(prefix + ".hash", "is blank.",
          "set it to the Redis key of the hash, such as views.");
    }
    AbstractRedisClient client = client(prefix);
    RedisSink.Builder<String> builder = (client instanceof RedisClusterClient cluster)
        ? RedisSink.builder(cluster) : RedisSink.builder((RedisClient) client);
    if (keyPrefix != null) {
      builder.keyMapper(key -> keyPrefix + key);
    } else {
      builder.hashMapper(key -> hash, key -> key);
    }
    Duration expireAfter = sink.getExpireAfter();
    if (expireAfter != null) {
      option(prefix + ".expire-after", "use a duration from 1ms to 36500d, such as 30d.",
          () -> builder.expireAfter(expireAfter));
    }
    // Markers carry the buffer's name: statbuffer:batch:<name>:<batch id>.
    option("statbuffer.buffers." + buffer, "rename the buffer: the Redis sink uses its name in"
        + " its marker keys, which allow no braces or whitespace.", () -> builder.name(buffer));
    try {
      return builder.build();
    } catch (RuntimeException e) {
      throw new StatBufferConfigurationException(prefix + ".type",
          "is redis, but the sink could not connect to Redis through the application's"
              + " LettuceConnectionFactory: " + e,
          "check spring.data.redis.* (host, port or url, password) and that Redis is up.", e);
    }
  }

  /** The application's Lettuce client, started if the factory was not started yet. */
  private AbstractRedisClient client(String prefix) {
    RedisConnectionFactory factory = connectionFactories.getIfUnique();
    if (factory == null) {
      long count = connectionFactories.stream().count();
      if (count == 0) {
        throw new StatBufferConfigurationException(prefix + ".type",
            "is redis, but the application has no RedisConnectionFactory bean.",
            "add spring-boot-starter-data-redis and set spring.data.redis.host and port (or"
                + " url), or define a LettuceConnectionFactory bean.");
      }
      throw new StatBufferConfigurationException(prefix + ".type",
          "is redis, but the application has " + count + " RedisConnectionFactory beans and"
              + " none is @Primary.",
          "mark the connection factory the buffers should write through @Primary.");
    }
    if (!(factory instanceof LettuceConnectionFactory lettuce)) {
      throw new StatBufferConfigurationException(prefix + ".type",
          "is redis, but the RedisConnectionFactory is a " + factory.getClass().getName()
              + ", and the Redis sink needs Lettuce.",
          "use Lettuce (spring.data.redis.client-type=lettuce, the default, with lettuce-core on"
              + " the class path).");
    }
    if (!lettuce.isRunning()) {
      lettuce.start(); // early start-up switched off: the sink needs the client now
    }
    AbstractRedisClient client = value(prefix + ".type", "use a standalone, sentinel or cluster"
        + " Redis configuration.", lettuce::getRequiredNativeClient);
    if (!(client instanceof RedisClient) && !(client instanceof RedisClusterClient)) {
      throw new StatBufferConfigurationException(prefix + ".type",
          "is redis, but the Lettuce client is a " + client.getClass().getName() + ".",
          "use a standalone, sentinel or cluster Redis configuration.");
    }
    return client;
  }
}
