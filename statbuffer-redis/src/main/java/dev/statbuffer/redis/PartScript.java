package dev.statbuffer.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The Lua script that applies one part of a batch, and its reply. Immutable constants and static
 * methods only; thread-safe.
 *
 * <h2>Contract</h2>
 * <pre>
 * KEYS[1]    the part's marker key; KEYS[2..] the counter keys, sorted (see Part)
 * ARGV[1]    marker TTL in ms, '0' for no marker (exactly-once off)
 * ARGV[2]    counter TTL in ms, '0' for none
 *            (both decimal integer strings handed to Redis as they are, never through Lua
 *            numbers, which are doubles; at most RedisSink.MAX_TTL, so that Redis accepts them)
 * ARGV[3]    's': string counters, one delta per counter key follows;
 *            'h': hash counters, per counter key the number of fields n, then n field/delta pairs
 * ARGV[4]    fingerprint of the part's counters
 * ARGV[5..]  the deltas (and fields), in the order of KEYS[2..]
 *
 * Reply     a string: STATUS or STATUS;REFUSED
 *   STATUS  '1' applied now; '0' the marker existed (applied before: nothing written, the
 *           marker's TTL renewed); '2' the marker existed with another fingerprint (another sink
 *           of the same name, or mappers that now map the batch differently)
 *   REFUSED the increments Redis refused for good, comma-separated INDEX:CODE, where INDEX is the
 *           0-based place of the increment in the part (counter keys in order, and for hashes
 *           their fields in order) and CODE is
 *           W&lt;type&gt;  WRONGTYPE: the counter key holds a &lt;type&gt; (TYPE's answer)
 *           N        NOTINTEGER: the value is not a 64-bit integer
 *           O        OVERFLOW: adding the delta would leave the 64-bit range
 *           E        another error reply to the increment after earlier ones were written
 * Marker    the string FINGERPRINT or FINGERPRINT;REFUSED, with the marker TTL
 * </pre>
 *
 * <h2>Why a part is applied exactly once, refusals included</h2>
 * The script is atomic (no other command runs in between) but not transactional (a write before an
 * error stays). So it first reads every counter without writing (GET/HGET: the type and whether
 * the value is an integer within 64 bits); then it writes only the increments that passed, each
 * with {@code redis.pcall}, so that Redis' own overflow check refuses one increment without writing
 * it and without stopping the script; then it sets the marker, whose value records what was
 * refused. Any other error reply before the first write (OOM, READONLY, MISCONF, which come at a
 * script's first write) ends the script with nothing written; the sink reports it and the buffer
 * retries. One after a write (none is known) is recorded as a refusal (E), so that a retry does
 * not apply the written increments again. A retry of the batch finds the marker and returns the
 * recorded refusals without writing anything, so the good increments count once and the refused
 * ones stay refused even if their keys were fixed in between. The record costs a few bytes per
 * refused increment, in the marker's own value and so under its TTL.
 */
final class PartScript {
  private PartScript() {}

  static final String SOURCE = """
      local markerTtl = ARGV[1]
      local marking = markerTtl ~= '0'
      if marking then
        local seen = redis.call('GET', KEYS[1])
        if seen then
          -- Applied before: keep the marker alive as long as retries keep coming.
          redis.call('PEXPIRE', KEYS[1], markerTtl)
          local fingerprint, refused = string.match(seen, '^([^;]*);?(.*)$')
          local status = '0'
          if fingerprint ~= ARGV[4] then status = '2' end
          if refused ~= '' then return status .. ';' .. refused end
          return status
        end
      end
      local ttl = ARGV[2]
      local hash = ARGV[3] == 'h'
      -- Whether Redis reads v as a 64-bit integer (no sign +, no leading zeros, no -0).
      local function integer(v)
        if v == '0' then return true end
        local digits = string.match(v, '^%-?([1-9]%d*)$')
        if not digits or #digits > 19 then return false end
        if #digits < 19 then return true end
        -- 19 digits: compare with 2^63 in two halves that doubles hold exactly.
        local high = tonumber(string.sub(digits, 1, 10))
        local low = tonumber(string.sub(digits, 11))
        local limit = 854775807
        if string.sub(v, 1, 1) == '-' then limit = 854775808 end
        return high < 9223372036 or (high == 9223372036 and low <= limit)
      end
      local function wrongType(key)
        return 'W' .. redis.call('TYPE', key).ok
      end
      -- The increments in order: {counter key, field (false for a string counter), delta}.
      local incs = {}
      local a = 5
      for i = 2, #KEYS do
        if hash then
          local fields = tonumber(ARGV[a])
          a = a + 1
          for j = 1, fields do
            incs[#incs + 1] = {KEYS[i], ARGV[a], ARGV[a + 1]}
            a = a + 2
          end
        else
          incs[#incs + 1] = {KEYS[i], false, ARGV[a]}
          a = a + 1
        end
      end
      -- Pass 1, no writes: refused[n] is the code of increment n that cannot be applied.
      local refused = {}
      for n, inc in ipairs(incs) do
        local v
        if inc[2] then v = redis.pcall('HGET', inc[1], inc[2]) else v = redis.pcall('GET', inc[1]) end
        if type(v) == 'table' then
          if string.sub(v.err, 1, 9) ~= 'WRONGTYPE' then return v end
          refused[n] = wrongType(inc[1])
        elseif v and not integer(v) then
          refused[n] = 'N'
        end
      end
      -- Pass 2: apply the rest. A refused INCRBY/HINCRBY writes nothing.
      local wrote = false
      local touched = {}
      for n, inc in ipairs(incs) do
        if not refused[n] then
          local r
          if inc[2] then
            r = redis.pcall('HINCRBY', inc[1], inc[2], inc[3])
          else
            r = redis.pcall('INCRBY', inc[1], inc[3])
          end
          if type(r) ~= 'table' then
            wrote = true
            touched[inc[1]] = true
          elseif string.find(r.err, 'overflow', 1, true) then
            refused[n] = 'O'
          elseif string.find(r.err, 'not an integer', 1, true) then
            refused[n] = 'N'
          elseif string.sub(r.err, 1, 9) == 'WRONGTYPE' then
            refused[n] = wrongType(inc[1])
          elseif not wrote then
            return r
          else
            refused[n] = 'E'
          end
        end
      end
      if ttl ~= '0' then
        for i = 2, #KEYS do
          if touched[KEYS[i]] then redis.call('PEXPIRE', KEYS[i], ttl) end
        end
      end
      local list = {}
      for n = 1, #incs do
        if refused[n] then list[#list + 1] = (n - 1) .. ':' .. refused[n] end
      end
      local record = ''
      if #list > 0 then record = ';' .. table.concat(list, ',') end
      if marking then
        redis.call('SET', KEYS[1], ARGV[4] .. record, 'PX', markerTtl)
      end
      return '1' .. record
      """;

  static final String SHA = digestHex("SHA-1", SOURCE);

  /** The script's reply: {@link Status} and the increments it refused. */
  record Reply(Status status, List<Refusal> refusals) {}

  /** What the script did with the part. */
  enum Status {
    /** Applied now (except the refusals). */
    APPLIED,
    /** Applied before: the marker existed. */
    SKIPPED,
    /** The marker existed with another fingerprint. */
    FOREIGN
  }

  /**
   * One increment Redis refused for good.
   *
   * @param index its 0-based place in the part
   * @param code the script's code: {@code W<type>}, {@code N}, {@code O} or {@code E}
   */
  record Refusal(int index, String code) {
    /** Redis' reason, as an error code word followed by what it means. */
    String reason(boolean hash) {
      return switch (code.charAt(0)) {
        case 'W' -> "WRONGTYPE the key holds a " + code.substring(1) + ", not "
            + (hash ? "a hash of counters" : "a string counter");
        case 'N' -> "NOTINTEGER the value is not a 64-bit integer";
        case 'O' -> "OVERFLOW the sum would leave the 64-bit integer range";
        default -> "ERR Redis refused the increment after others of the same script were written";
      };
    }

    /** What to do about it, before replaying the dropped count. */
    String fix() {
      return switch (code.charAt(0)) {
        case 'W' -> "delete or rename that Redis key, or map the buffer key to another counter";
        case 'N' -> "set the value to an integer or delete it";
        case 'O' -> "reset or split the counter";
        default -> "check the Redis key and the server's log";
      };
    }
  }

  /**
   * Reads the script's reply.
   *
   * @throws IllegalStateException if the reply is not one the script gives
   */
  static Reply parse(String reply) {
    if (reply == null || reply.isEmpty()) {
      throw new IllegalStateException("unexpected reply from the sink script: " + reply);
    }
    Status status = switch (reply.charAt(0)) {
      case '1' -> Status.APPLIED;
      case '0' -> Status.SKIPPED;
      case '2' -> Status.FOREIGN;
      default -> throw new IllegalStateException("unexpected reply from the sink script: "
          + reply);
    };
    if (reply.length() == 1) {
      return new Reply(status, List.of());
    }
    if (reply.charAt(1) != ';') {
      throw new IllegalStateException("unexpected reply from the sink script: " + reply);
    }
    List<Refusal> refusals = new ArrayList<>();
    for (String entry : reply.substring(2).split(",")) {
      int colon = entry.indexOf(':');
      if (colon <= 0 || colon == entry.length() - 1) {
        throw new IllegalStateException("unexpected reply from the sink script: " + reply);
      }
      try {
        refusals.add(new Refusal(Integer.parseInt(entry.substring(0, colon)),
            entry.substring(colon + 1)));
      } catch (RuntimeException e) {
        throw new IllegalStateException("unexpected reply from the sink script: " + reply, e);
      }
    }
    return new Reply(status, refusals);
  }

  /** The hex digest of {@code text}'s UTF-8 bytes. */
  static String digestHex(String algorithm, String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm)
          .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(algorithm + " is missing from this JVM", e);
    }
  }
}
