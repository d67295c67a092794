/**
 * A {@link dev.statbuffer.BatchFlushHandler} for relational databases: {@link
 * dev.statbuffer.jdbc.JdbcSink} adds each batch's counts to a counter table with the database's
 * native upsert, in one transaction, exactly once (through a ledger of batch ids), in a fixed key
 * order so that concurrent writers rarely deadlock (a deadlock is retried by the buffer, and the
 * ledger keeps the retry exact). Dialects: PostgreSQL, MariaDB, MySQL, H2 and
 * SQLite ({@link dev.statbuffer.jdbc.JdbcDialect}). The module needs only {@code java.sql} at run
 * time; the JDBC driver and the pool are the application's choice.
 */
package dev.statbuffer.jdbc;
