package dev.statbuffer.jdbc;

import javax.sql.DataSource;

/** The contract against H2 in memory. */
class H2JdbcSinkTest extends JdbcSinkContractTest {
  private static final DataSource H2 = Databases.h2();

  @Override
  DataSource dataSource() {
    return H2;
  }

  @Override
  JdbcDialect expectedDialect() {
    return JdbcDialect.H2;
  }

  @Override
  String dayColumn() {
    return "\"DAY\""; // a keyword in H2
  }

  @Override
  long statementsPerSmallBatch() {
    return 3; // ledger merge, upsert merge, commit
  }
}
