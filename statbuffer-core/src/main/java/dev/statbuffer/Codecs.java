package dev.statbuffer;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The built-in codecs. Stateless. */
final class Codecs {
  static final KeyCodec<String> UTF8 = new KeyCodec<>() {
    @Override
    public byte[] encode(String key) {
      try {
        ByteBuffer bytes = StandardCharsets.UTF_8.newEncoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .encode(CharBuffer.wrap(requireNonNull(key, "key")));
        byte[] out = new byte[bytes.remaining()];
        bytes.get(out);
        return out;
      } catch (CharacterCodingException e) {
        // A lone surrogate would come back as '?', another key: refuse it instead.
        throw new IllegalArgumentException("key is not valid UTF-16 text: " + key, e);
      }
    }

    @Override
    public String decode(byte[] bytes) {
      try {
        return StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes)).toString();
      } catch (CharacterCodingException e) {
        throw new IllegalArgumentException("not UTF-8: " + bytes.length + " bytes", e);
      }
    }

    @Override
    public String toString() {
      return "KeyCodec.utf8()";
    }
  };

  static final KeyCodec<Long> INT64 = new KeyCodec<>() {
    @Override
    public byte[] encode(Long key) {
      return ByteBuffer.allocate(Long.BYTES).putLong(requireNonNull(key, "key")).array();
    }

    @Override
    public Long decode(byte[] bytes) {
      if (bytes.length != Long.BYTES) {
        throw new IllegalArgumentException("an int64 key is 8 bytes, not " + bytes.length);
      }
      return ByteBuffer.wrap(bytes).getLong();
    }

    @Override
    public String toString() {
      return "KeyCodec.int64()";
    }
  };

  private Codecs() {}
}
