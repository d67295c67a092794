package dev.statbuffer;

import java.time.Duration;

/**
 * Why a batch was dropped without another retry: its next retry would have come later than the
 * handler's {@linkplain BatchFlushHandler#idempotencyHorizon() idempotency horizon}, when the sink
 * may no longer recognize the batch id and could apply it twice. The last failure is its cause.
 * Replaying such a batch (from a dead-letter file) may count it twice if an earlier attempt
 * committed without its acknowledgement arriving.
 */
public final class RetryHorizonException extends Exception {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the reason.
   *
   * @param horizon the handler's horizon
   * @param age how long ago the batch was handed over
   * @param lastError the last failure
   */
  public RetryHorizonException(Duration horizon, Duration age, Exception lastError) {
    super("the batch has failed for " + age + " since its hand-over; its next retry would come"
        + " after the sink's idempotency horizon of " + horizon + ", when a retry could apply it"
        + " twice: dropped instead", lastError);
  }
}
