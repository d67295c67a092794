package dev.statbuffer.jdbc;

/**
 * A snapshot of a {@link JdbcSink}'s counters since it was built. Immutable.
 *
 * @param batches batches acknowledged, applied or not ({@code applied + duplicates})
 * @param applied batches whose counts were written
 * @param duplicates batches acknowledged without writing because the ledger already held their id
 *     (retries of a batch whose commit had succeeded)
 * @param failures calls of {@link JdbcSink#flush} that threw
 * @param rows counter rows written (one per distinct key in an applied batch)
 * @param statements SQL statements the sink sent, {@code COMMIT} and {@code ROLLBACK} included:
 *     upserts, ledger inserts, ledger pruning and the one-time checks of the tables. Each is one
 *     round trip to the database; drivers may add a round trip to switch auto-commit off and on
 *     around a multi-statement transaction (PostgreSQL's does not; a batch there is usually one
 *     statement in all)
 * @param prunedLedgerRows ledger rows deleted because they were older than the retention
 */
public record JdbcSinkStats(long batches, long applied, long duplicates, long failures,
    long rows, long statements, long prunedLedgerRows) {}
