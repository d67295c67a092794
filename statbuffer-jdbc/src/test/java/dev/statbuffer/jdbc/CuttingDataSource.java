package dev.statbuffer.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * Wraps a data source so that its {@code cut}th statement execution or commit (counted over all
 * its connections) fails as a broken connection would (SQLState 08006): before it reaches the
 * database, or after the database ran it (a lost reply). Every other call passes.
 */
final class CuttingDataSource {
  private static final Set<String> COUNTED = Set.of("execute", "executeQuery", "executeUpdate",
      "executeLargeUpdate", "commit");

  private final AtomicInteger calls = new AtomicInteger();
  private final int cut;
  private final boolean afterRunning;
  private volatile boolean fired;

  CuttingDataSource(int cut, boolean afterRunning) {
    this.cut = cut;
    this.afterRunning = afterRunning;
  }

  /** Whether the cut happened. */
  boolean fired() {
    return fired;
  }

  /** {@code ds}, cut as configured. */
  DataSource wrap(DataSource ds) {
    return (DataSource) wrap(ds, DataSource.class);
  }

  private Object wrap(Object target, Class<?> type) {
    return Proxy.newProxyInstance(CuttingDataSource.class.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> {
          boolean cutHere = COUNTED.contains(method.getName())
              && calls.incrementAndGet() == cut;
          if (cutHere && !afterRunning) {
            throw cutNow();
          }
          Object result = invoke(target, method, args);
          if (cutHere) {
            throw cutNow();
          }
          if (result instanceof Connection) {
            return wrap(result, Connection.class);
          }
          if (result instanceof Statement) {
            return wrap(result, method.getReturnType());
          }
          return result;
        });
  }

  private SQLException cutNow() {
    fired = true;
    return new SQLException("connection cut by the test at call " + cut, "08006");
  }

  private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
