package dev.statbuffer.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The ledger statements of one sink: ids inserted with an insert that never fails on a duplicate,
 * claims (a piece split, a batch chunked) committed on their own, and look-ups. Every id is at most
 * {@link Sql#MAX_BATCH_ID} characters. Thread-safe.
 */
final class Ledger {
  private final Jdbc jdbc;

  Ledger(Jdbc jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Makes the writers of this counter table take turns where the dialect needs it (see
   * {@link Sql#writerLock()}): runs its lock statement in the current transaction. Does nothing
   * in the other dialects.
   */
  void lockWriters(Connection connection, Sql sql) throws SQLException {
    String lock = sql.writerLock();
    if (lock == null) {
      return;
    }
    try (Statement statement = jdbc.create(connection)) {
      jdbc.statements.increment();
      statement.executeUpdate(lock);
    }
  }

  /**
   * Inserts {@code id} unless it is in the ledger already, in the current transaction (where the
   * dialect's upsert does not insert it itself: see {@link Sql#upsertCarriesLedger()}). An insert
   * of the same id by another transaction that has not ended makes this one wait for it.
   *
   * @return whether the id was new
   */
  boolean insert(Connection connection, Sql sql, long now, String id) throws SQLException {
    try (PreparedStatement statement = jdbc.prepare(connection, sql.ledgerInsert())) {
      statement.setString(1, id);
      statement.setLong(2, now);
      jdbc.statements.increment();
      return statement.executeUpdate() > 0;
    }
  }

  /**
   * Decides piece {@code id}: inserts the id and, if it was new, {@code markId} with it (the
   * piece's split mark, or the batch's chunk mark), and commits, in a transaction of its own.
   *
   * @return true if this call decided it; false if the id was in the ledger already (nothing
   *     written): the piece was decided before (applied whole, split or chunked)
   */
  boolean claim(Connection connection, Sql sql, long now, String id, String markId)
      throws SQLException {
    return jdbc.transaction(connection, () -> {
      lockWriters(connection, sql);
      if (!insert(connection, sql, now, id)) {
        return false;
      }
      insert(connection, sql, now, markId);
      return true;
    });
  }

  /**
   * Which of {@code ids} the ledger holds, as committed when the query starts (one query, however
   * many ids). Call it outside a transaction that has read before (MariaDB's repeatable read
   * would answer from an older snapshot); it ends the transaction it reads in.
   *
   * @return the index of the first of {@code ids} the ledger holds, or -1 if it holds none
   */
  int find(Connection connection, Sql sql, List<String> ids) throws SQLException {
    List<String> held = new ArrayList<>();
    try (PreparedStatement statement = jdbc.prepare(connection, sql.ledgerFind(ids.size()))) {
      for (int i = 0; i < ids.size(); i++) {
        statement.setString(i + 1, ids.get(i));
      }
      jdbc.statements.increment();
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          held.add(rs.getString(1));
        }
      }
    }
    jdbc.commitUnlessAutoCommit(connection);
    for (int i = 0; i < ids.size(); i++) {
      for (String id : held) {
        // A case-insensitive collation (MariaDB's default) may return the id in another case.
        if (id.equalsIgnoreCase(ids.get(i))) {
          return i;
        }
      }
    }
    return -1;
  }
}
