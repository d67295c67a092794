package dev.statbuffer;

/**
 * Turns keys into bytes and back, so that counts can outlive the process: a
 * {@link DeadLetters dead-letter file} keeps the keys of dropped counts with it. Thread-safe.
 *
 * @param <K> the key type
 */
public interface KeyCodec<K> {

  /**
   * Encodes a key. Deterministic: equal keys give equal bytes.
   *
   * @param key the key, never null
   * @return its bytes
   */
  byte[] encode(K key);

  /**
   * Decodes what {@link #encode} gave.
   *
   * @param bytes the bytes of one key
   * @return the key
   * @throws IllegalArgumentException if the bytes are not a key of this codec
   */
  K decode(byte[] bytes);

  /**
   * Strings as UTF-8. Decoding rejects malformed UTF-8 instead of replacing it.
   *
   * @return the codec
   */
  static KeyCodec<String> utf8() {
    return Codecs.UTF8;
  }

  /**
   * Longs as 8 bytes, big-endian.
   *
   * @return the codec
   */
  static KeyCodec<Long> int64() {
    return Codecs.INT64;
  }
}
