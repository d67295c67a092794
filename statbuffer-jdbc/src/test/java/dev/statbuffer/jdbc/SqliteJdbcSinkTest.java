package dev.statbuffer.jdbc;

import javax.sql.DataSource;

/** The contract against SQLite in a temporary file. */
class SqliteJdbcSinkTest extends JdbcSinkContractTest {
  private static final DataSource SQLITE = Databases.sqlite();

  @Override
  DataSource dataSource() {
    return SQLITE;
  }

  @Override
  JdbcDialect expectedDialect() {
    return JdbcDialect.SQLITE;
  }

  @Override
  long statementsPerSmallBatch() {
    return 3; // ledger insert, upsert (100 rows: under the 999 parameters), commit
  }

  @Override
  boolean checksLedgerWidths() {
    return false; // SQLite neither enforces nor truncates to declared lengths
  }
}
