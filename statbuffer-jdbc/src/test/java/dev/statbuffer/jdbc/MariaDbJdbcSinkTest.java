package dev.statbuffer.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The contract against the MariaDB server, through a HikariCP pool. */
class MariaDbJdbcSinkTest extends JdbcSinkContractTest {
  private static HikariDataSource pool;

  @BeforeAll
  static void openPool() {
    pool = Databases.pool(Databases.MARIADB_URL, 8);
  }

  @AfterAll
  static void closePool() {
    pool.close();
  }

  @Override
  DataSource dataSource() {
    return pool;
  }

  @Override
  JdbcDialect expectedDialect() {
    return JdbcDialect.MARIADB;
  }

  @Override
  long statementsPerSmallBatch() {
    return 3; // ledger insert, upsert, commit
  }
}
