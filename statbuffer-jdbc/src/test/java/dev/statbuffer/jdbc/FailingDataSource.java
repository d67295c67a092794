package dev.statbuffer.jdbc;

import java.io.PrintWriter;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.util.logging.Logger;
import javax.sql.DataSource;

/** A DataSource that refuses every connection: proves that building a sink does not connect. */
final class FailingDataSource implements DataSource {
  @Override
  public Connection getConnection() throws SQLException {
    throw new SQLException("no connection in this test", "08001");
  }

  @Override
  public Connection getConnection(String user, String password) throws SQLException {
    return getConnection();
  }

  /** A connection stub whose metadata names {@code product}; every other call fails. */
  static Connection connectionTo(String product) {
    DatabaseMetaData meta = (DatabaseMetaData) Proxy.newProxyInstance(
        FailingDataSource.class.getClassLoader(), new Class<?>[] {DatabaseMetaData.class},
        (proxy, method, args) -> {
          if (method.getName().equals("getDatabaseProductName")) {
            return product;
          }
          throw new UnsupportedOperationException(method.getName());
        });
    return (Connection) Proxy.newProxyInstance(FailingDataSource.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
          if (method.getName().equals("getMetaData")) {
            return meta;
          }
          throw new UnsupportedOperationException(method.getName());
        });
  }

  @Override
  public PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {}

  @Override
  public void setLoginTimeout(int seconds) {}

  @Override
  public int getLoginTimeout() {
    return 0;
  }

  @Override
  public Logger getParentLogger() {
    return Logger.getGlobal();
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    throw new SQLException("not a wrapper");
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) {
    return false;
  }
}
