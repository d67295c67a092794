package dev.statbuffer.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The Lua script that applies one part of a batch, and its reply. Immutable constants and static
 * methods only; thread-safe.
 *
 * <h2>Contract</h2>
 * <pre>
 * KEYS[1]    the part's guard: its marker key (a batch without a sender), or its slot's state
 *            hash (a numbered batch); KEYS[2..] the counter keys, sorted (see Part)
 * ARGV[1]    TTL in ms of the marker or of the state hash, '0' for none (exactly-once off)
 * ARGV[2]    counter TTL in ms, '0' for none
 *            (both decimal integer strings handed to Redis as they are, never through Lua
 *            numbers, which are doubles; at most RedisSink.MAX_TTL, so that Redis accepts them)
 * ARGV[3]    's': string counters, one delta per counter key follows;
 *            'h': hash counters, per counter key the number of fields n, then n field/delta pairs;
 *            'x': seal a dropped numbered batch (KEYS[2] is its marker key; no counters)
 * ARGV[4]    fingerprint of the part's counters (4 hex digits for a numbered batch)
 * ARGV[5]    the sender's field in the state hash, '' for a marker-guarded part
 * ARGV[6]    the batch's sequence number; ARGV[7] the sender's watermark (settledBelow)
 * ARGV[8..]  the deltas (and fields), in the order of KEYS[2..]; for 'x', the full fingerprint
 *
 * Reply     a string: STATUS or STATUS;REFUSED
 *   STATUS  '1' applied now; '0' applied before (marker or record found, or the number is below
 *           the watermark: nothing written but the record's or marker's renewal); '2' found
 *           with another fingerprint (another sink of the same name, or mappers that now map
 *           the batch differently)
 *   REFUSED the increments Redis refused for good, comma-separated INDEX:CODE, where INDEX is the
 *           0-based place of the increment in the part (counter keys in order, and for hashes
 *           their fields in order) and CODE is
 *           W&lt;type&gt;  WRONGTYPE: the counter key holds a &lt;type&gt; (TYPE's answer)
 *           N        NOTINTEGER: the value is not a 64-bit integer
 *           O        OVERFLOW: adding the delta would leave the 64-bit range
 *           E        another error reply to the increment after earlier ones were written
 * Marker    the string FINGERPRINT or FINGERPRINT;REFUSED, with the marker TTL
 * Record    field SENDER of the state hash: TIME:WATERMARK then, sorted, one entry per number at
 *           or above the watermark applied in this slot: ' N.FP' or ' N.FP/REFUSED' (applied),
 *           ' N!' (dropped and sealed); TIME (seconds), WATERMARK and N in base 36
 * </pre>
 *
 * <h2>Why a part is applied exactly once, refusals included</h2>
 * The script is atomic (no other command runs in between) but not transactional (a write before an
 * error stays). So it first reads every counter without writing (GET/HGET: the type and whether
 * the value is an integer within 64 bits); then it writes only the increments that passed, each
 * with {@code redis.pcall}, so that Redis' own overflow check refuses one increment without writing
 * it and without stopping the script; then it writes the guard, which records what was refused.
 * Any other error reply before the first write (OOM, READONLY, MISCONF, which come at a script's
 * first write) ends the script with nothing written; the sink reports it and the buffer retries.
 * One after a write (none is known) is recorded as a refusal (E), so that a retry does not apply
 * the written increments again. A retry finds the guard and returns the recorded refusals without
 * writing anything but the guard's renewal, so the good increments count once and the refused ones
 * stay refused even if their keys were fixed in between.
 *
 * <h2>Numbered batches: memory that does not grow with the update rate</h2>
 * A marker per batch and slot costs about 150 bytes for the whole horizon, one per counter update
 * when batches are small: more than the counters. A batch a buffer numbered carries its sender,
 * its number s and the sender's watermark F ({@code settledBelow}): every batch of the sender
 * below F is settled and never handed to a sink again, F never decreases and never passes a
 * pending batch. So each slot keeps, per sender, only F and the numbers at or above it that were
 * applied in the slot. A part of batch s with watermark F:
 * <ol>
 *   <li>raises the stored watermark W to max(W, F) and drops the numbers below it (a sorted
 *       prefix): they can never come again;
 *   <li>if s &lt; W, s is settled: delivered (so every part of it applied) or dropped (then
 *       {@code onDrop} sealed it, below): applies nothing;
 *   <li>if s is recorded, returns what it recorded (its refusals); else applies the part and
 *       records s, in the same atomic script.
 * </ol>
 * Exactly once: a call of s applies the part only if s is not recorded and s &gt;= W. Once
 * applied, s stays recorded until W passes it, and W passes it only after the buffer settled s,
 * after which no call of s applies anything. A retry, a concurrent duplicate (an abandoned call
 * and its retry, serialized by the atomic script) and an out-of-order delivery (5 applied before
 * 3's retry; W is held at 3 by batch 3 itself) all find s. A call carrying a stale F (a late
 * abandoned call) cannot lower W: W never decreases. The record lives as long as its
 * sender writes the slot, refreshed with the hash's TTL (the sink's horizon, which the buffer
 * enforces from hand-over); a sender silent for longer than the horizon can no longer retry, and
 * its field is removed by a later write (one random field is checked every fourth number).
 *
 * <p><strong>Dead letters.</strong> A dropped numbered batch is replayed from a dead-letter file
 * without its sender, under its id, through markers. {@code RedisSink.onDrop} therefore seals it
 * before the buffer settles it (mode {@code x}): a recorded part gets the marker a replay looks
 * for, with the recorded refusals; an unrecorded one is recorded as dropped ({@code !}), so that
 * a late call applies nothing and the replay applies it once.
 *
 * <p><strong>Memory.</strong> While batches are delivered promptly, each record holds one or two
 * numbers (about 25 bytes with the sender's 16-character field). A batch that keeps failing holds
 * the watermark back, and the numbers applied after it accumulate in the slots they touch (about
 * 8 bytes each) until it settles or the buffer drops it at the horizon.
 */
final class PartScript {
  private PartScript() {}

  static final String SOURCE = """
      local ttl = ARGV[1]
      local sender = ARGV[5]
      local marking = ttl ~= '0' and sender == ''
      local numbered = ttl ~= '0' and sender ~= ''
      -- The reply for a part found applied with this fingerprint and these refusals.
      local function before(fingerprint, refused)
        local status = '0'
        if fingerprint ~= ARGV[4] then status = '2' end
        if refused ~= '' then return status .. ';' .. refused end
        return status
      end
      if marking then
        local seen = redis.call('GET', KEYS[1])
        if seen then
          -- Applied before: keep the marker alive as long as retries keep coming.
          redis.call('PEXPIRE', KEYS[1], ttl)
          return before(string.match(seen, '^([^;]*);?(.*)$'))
        end
      end
      -- Numbered parts: the sender's record in the slot's state hash (see the class comment).
      local now, seq, w, body, s36, save, insert
      if numbered then
        if redis.replicate_commands then redis.replicate_commands() end
        local digits = '0123456789abcdefghijklmnopqrstuvwxyz'
        local function b36(n)
          if n == 0 then return '0' end
          local out = ''
          while n > 0 do
            local d = n % 36
            out = string.sub(digits, d + 1, d + 1) .. out
            n = (n - d) / 36
          end
          return out
        end
        now = tonumber(redis.call('TIME')[1])
        seq = tonumber(ARGV[6])
        w = tonumber(ARGV[7])
        s36 = b36(seq)
        body = ''
        local found
        local old = redis.call('HGET', KEYS[1], sender)
        if old then
          local w0, rest = string.match(old, '^%w+:(%w+)(.*)$')
          w0 = tonumber(w0, 36)
          if w0 > w then w = w0 end
          -- Entries are sorted: numbers below the watermark, settled for good, are a prefix.
          local cut = 1
          while cut <= #rest do
            local n, after = string.match(rest, '^ (%w+)[^ ]*()', cut)
            if tonumber(n, 36) >= w then break end
            cut = after
          end
          body = string.sub(rest, cut)
          local at = string.find(body, ' ' .. s36 .. '.', 1, true)
            or string.find(body, ' ' .. s36 .. '!', 1, true)
          if at then found = string.match(body, '^ %w+([^ ]*)', at) end
        end
        insert = function(entry)
          -- '.*' first: one backward scan for the last entry, no backtracking per entry.
          local last = string.match(body, '.* (%w+)')
          if not last or tonumber(last, 36) < seq then
            body = body .. ' ' .. s36 .. entry
            return
          end
          local at = 1
          while at <= #body do
            local n, after = string.match(body, '^ (%w+)[^ ]*()', at)
            if tonumber(n, 36) > seq then break end
            at = after
          end
          body = string.sub(body, 1, at - 1) .. ' ' .. s36 .. entry .. string.sub(body, at)
        end
        save = function()
          redis.call('HSET', KEYS[1], sender, b36(now) .. ':' .. b36(w) .. body)
          redis.call('PEXPIRE', KEYS[1], ttl)
          -- Every fourth number, forget a sender (one at random) that wrote nothing here for
          -- longer than the horizon.
          if seq % 4 ~= 0 then return end
          local stale = tonumber(ttl) / 1000 + 5
          local field = redis.call('HRANDFIELD', KEYS[1])
          if field and field ~= sender then
            local v = redis.call('HGET', KEYS[1], field)
            local t = v and tonumber(string.match(v, '^(%w+):') or '', 36)
            if t and now - t > stale then redis.call('HDEL', KEYS[1], field) end
          end
        end
        if ARGV[3] == 'x' then
          -- Sealing a dropped batch: an applied part gets a marker (KEYS[2]) for replays of the
          -- dead letter; an unapplied one is recorded as dropped, so no late call applies it.
          if seq < w then return '0' end
          if found then
            local fp, refused = string.match(found, '^%.(%x*)/?(.*)$')
            if fp then
              local value = ARGV[8]
              if refused ~= '' then value = value .. ';' .. refused end
              redis.call('SET', KEYS[2], value, 'PX', ttl)
            end
            save()
            return '0'
          end
          insert('!')
          save()
          return '1'
        end
        if seq < w or found then
          -- Applied before (or dropped): renew the record; a write, so that WAIT covers it.
          save()
          if not found or found == '!' then return '0' end
          return before(string.match(found, '^%.(%x*)/?(.*)$'))
        end
      end
      local counterTtl = ARGV[2]
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
      local a = 8
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
      if counterTtl ~= '0' then
        for i = 2, #KEYS do
          if touched[KEYS[i]] then redis.call('PEXPIRE', KEYS[i], counterTtl) end
        end
      end
      local list = {}
      for n = 1, #incs do
        if refused[n] then list[#list + 1] = (n - 1) .. ':' .. refused[n] end
      end
      local record = ''
      if #list > 0 then record = ';' .. table.concat(list, ',') end
      if marking then
        redis.call('SET', KEYS[1], ARGV[4] .. record, 'PX', ttl)
      elseif numbered then
        local entry = '.' .. ARGV[4]
        if #list > 0 then entry = entry .. '/' .. table.concat(list, ',') end
        insert(entry)
        save()
      end
      return '1' .. record
      """;

  static final String SHA = digestHex("SHA-1", SOURCE);

  /** The 0-based index in ARGV of the first delta (ARGV[8] in Lua). */
  static final int FIRST_DELTA = 7;

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
   * @param reply the reply; null for a nil reply, which the script never gives
   * @throws IllegalStateException if the reply is not one the script gives
   */
  static Reply parse(@Nullable String reply) {
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
    // Safe: the script writes no empty entries; split(",") kept so parse accepts what it did.
    @SuppressWarnings("StringSplitter")
    String[] entries = reply.substring(2).split(",");
    for (String entry : entries) {
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
