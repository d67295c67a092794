package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.statbuffer.testing.ReadmeBlocks;
import dev.statbuffer.testing.TestBatch;
import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/**
 * {@code docs/schema.md} cannot drift from the code. Every {@code ```sql} block of that file
 * follows a marker comment {@code <!-- schema-doc: KIND DIALECT MAPPING -->}, and this test
 * checks each one:
 *
 * <ul>
 *   <li>{@code ddl} blocks are, statement for statement, what {@link JdbcSink#createTables()}
 *   runs on that database for the mapping (the builder's defaults included), and their ledger
 *   statements are the DDL the sink's error messages name. The statements are recorded from a
 *   real connection's metadata, without being executed; only whitespace is normalized.
 *   <li>{@code counter} blocks are the counter table's statement alone.
 *   <li>Then the {@code ddl} block itself, renamed to a fresh table set, is run on the database
 *   and a sink is built for those tables without {@code createTables()}: it writes a batch,
 *   recognizes its retry, reads back the counts, and prunes its ledger row. Where the dialect
 *   has a {@code grants} block, the sink runs as a new user holding only those privileges, and
 *   {@code createTables()} fails for that user, as the document says.
 * </ul>
 *
 * <p>PostgreSQL and MariaDB are the real servers of {@link Databases} (the test fails, never
 * skips, when they are not running); H2 runs in memory and SQLite in a temporary file.
 */
class SchemaDocTest {
  private static final String DOC = "docs/schema.md";
  private static final Pattern MARKED = Pattern.compile(
      "<!-- schema-doc: (\\w+) (\\w+) (\\w+) -->\\n```sql\\n(.*?)```", Pattern.DOTALL);
  private static final Pattern SQL_FENCE = Pattern.compile("^```sql$", Pattern.MULTILINE);
  /** The user the {@code grants} blocks name. */
  private static final String DOC_USER = "statbuffer_app";

  /** The document's simple mapping, with the builder's defaults. */
  private static JdbcSink.Builder<String> pageViews(DataSource dataSource, String table) {
    return JdbcSink.<String>builder(dataSource).table(table).keyColumns("page")
        .countColumn("views");
  }

  /** The document's composite mapping, with key column types. */
  private static JdbcSink.Builder<Object[]> dailyViews(DataSource dataSource) {
    return JdbcSink.<Object[]>builder(dataSource).table("daily_views")
        .keyColumns("page_id", "day").countColumn("views").keyMapper(k -> k)
        .keyColumnTypes("BIGINT", "DATE");
  }

  @Test
  void everySqlBlock_isMarked_andEachExpectedBlockIsThere() throws IOException {
    String text = doc();
    Map<String, String> blocks = blocks();
    assertThat(blocks.keySet()).as("the marked ```sql blocks of " + DOC).containsExactlyInAnyOrder(
        "ddl postgresql page_views", "ddl mariadb page_views", "ddl h2 page_views",
        "ddl sqlite page_views", "counter postgresql daily_views",
        "grants postgresql page_views", "grants mariadb page_views", "grants h2 page_views");
    assertThat(SQL_FENCE.matcher(text).results().count())
        .as("every ```sql block of " + DOC + " follows a schema-doc marker, so none goes unchecked")
        .isEqualTo(blocks.size());
  }

  @Test
  void postgres_docDdl_isWhatCreateTablesRuns_andASinkWorksOnIt() throws Exception {
    try (HikariDataSource admin = Databases.pool(Databases.POSTGRES_URL, 2)) {
      assertDocDdlIsCreateTables("postgresql", admin, JdbcDialect.POSTGRESQL);
      List<String> daily = recordCreateTables(SchemaDocTest::dailyViews, admin);
      assertThat(normalize(statements(block("counter postgresql daily_views"))))
          .as("the daily_views counter table in " + DOC)
          .containsExactly(normalize(List.of(daily.get(0))).get(0));
      List<String> pageViewsLedger = statements(block("ddl postgresql page_views"));
      assertThat(normalize(daily.subList(1, daily.size())))
          .as("daily_views_ledger is shaped like the ledger of page_views, as the text says")
          .containsExactlyElementsOf(normalize(statements(String.join(";",
              pageViewsLedger.subList(1, pageViewsLedger.size())).replace("page_views",
              "daily_views"))));
      runDocDdl("postgresql", admin, new Users(
          user -> "CREATE ROLE " + user + " LOGIN",
          user -> "DROP ROLE IF EXISTS " + user,
          user -> Databases.pool("jdbc:postgresql://127.0.0.1:5432/test?user=" + user, 2)));
    }
  }

  @Test
  void mariaDb_docDdl_isWhatCreateTablesRuns_andASinkWorksOnIt() throws Exception {
    try (HikariDataSource admin = Databases.pool(Databases.MARIADB_URL, 2)) {
      assertDocDdlIsCreateTables("mariadb", admin, JdbcDialect.MARIADB);
      runDocDdl("mariadb", admin, new Users(
          user -> "CREATE USER '" + user + "'@'%'",
          user -> "DROP USER IF EXISTS '" + user + "'@'%'",
          user -> Databases.pool(
              "jdbc:mariadb://127.0.0.1:3306/test?user=" + user + "&password=", 2)));
    }
  }

  @Test
  void h2_docDdl_isWhatCreateTablesRuns_andASinkWorksOnIt() throws Exception {
    String url = "jdbc:h2:mem:schemadoc" + digits();
    DataSource admin = h2(url, "sa", "");
    // The in-memory database lives while a connection to it is open.
    try (Connection open = admin.getConnection()) {
      assertThat(open.isValid(5)).isTrue();
      assertDocDdlIsCreateTables("h2", admin, JdbcDialect.H2);
      runDocDdl("h2", admin, new Users(
          user -> "CREATE USER " + user + " PASSWORD 'secret'",
          user -> "DROP USER IF EXISTS " + user,
          user -> h2(url, user, "secret")));
    }
  }

  @Test
  void sqlite_docDdl_isWhatCreateTablesRuns_andASinkWorksOnIt() throws Exception {
    DataSource sqlite = Databases.sqlite();
    assertDocDdlIsCreateTables("sqlite", sqlite, JdbcDialect.SQLITE);
    runDocDdl("sqlite", sqlite, null);
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * The dialect's {@code ddl} block is what {@code createTables()} runs for the simple mapping,
   * and its ledger statements are the DDL the sink names in its error messages.
   */
  private static void assertDocDdlIsCreateTables(String dialect, DataSource dataSource,
      JdbcDialect expected) throws Exception {
    JdbcSink<String> sink = pageViews(dataSource, "page_views").build();
    assertThat(sink.dialect()).isEqualTo(expected);
    List<String> doc = normalize(statements(block("ddl " + dialect + " page_views")));
    List<String> created = recordCreateTables(ds -> pageViews(ds, "page_views"), dataSource);
    assertThat(doc).as("the " + dialect + " DDL in " + DOC + " is what createTables() runs")
        .containsExactlyElementsOf(normalize(created));
    try (Connection connection = dataSource.getConnection()) {
      Sql sql = Sql.of(expected, new Sql.Names("page_views", List.of("page"), "views",
          "page_views_ledger"), connection.getMetaData(), null);
      assertThat(doc.subList(1, doc.size())).as("the ledger DDL the sink's messages name")
          .containsExactlyElementsOf(normalize(sql.ledgerDdl()));
    }
  }

  /**
   * The statements {@code createTables()} runs for the sink {@code builder} makes on
   * {@code dataSource}, recorded instead of executed: the connection is real (its metadata decides
   * the dialect, the quoting and the case of names), its statements are not.
   */
  private static List<String> recordCreateTables(
      Function<DataSource, JdbcSink.Builder<?>> builder, DataSource dataSource) throws Exception {
    List<String> executed = new CopyOnWriteArrayList<>();
    builder.apply(recording(dataSource, executed)).build().createTables();
    assertThat(executed).as("createTables() ran statements").isNotEmpty();
    return List.copyOf(executed);
  }

  /** Where a dialect has users: how to create and drop one, and connect as it. */
  private record Users(Function<String, String> create, Function<String, String> drop,
      Function<String, DataSource> connect) {}

  /**
   * Runs the dialect's {@code ddl} block, renamed to a fresh table set, and its {@code grants}
   * block for a fresh user when {@code users} is given; then a sink for those tables, as that
   * user, writes a batch and recognizes its retry, and prunes its ledger row, all without
   * {@code createTables()}.
   */
  private static void runDocDdl(String dialect, DataSource admin, Users users)
      throws Exception {
    String suffix = "_" + digits();
    String table = "page_views" + suffix;
    String ledger = table + "_ledger";
    String user = "sbdoc" + suffix;
    DataSource app = admin;
    try {
      for (String statement : statements(renamed(block("ddl " + dialect + " page_views"),
          suffix))) {
        Databases.execute(admin, statement);
      }
      if (users != null) {
        Databases.execute(admin, users.create().apply(user));
        for (String grant : statements(renamed(block("grants " + dialect + " page_views"), suffix)
            .replace(DOC_USER, user))) {
          Databases.execute(admin, grant);
        }
        app = users.connect().apply(user);
        JdbcSink<String> creator = pageViews(app, table).build();
        assertThatThrownBy(creator::createTables).as("createTables() needs CREATE, which the"
            + " documented grants leave out, even when the tables exist")
            .isInstanceOf(SQLException.class);
      }

      JdbcSink<String> sink = pageViews(app, table).build();
      Map<String, Long> counts = new LinkedHashMap<>();
      counts.put("/home", 2L);
      counts.put("/about", 1L);
      TestBatch<String> batch = TestBatch.of(counts);
      sink.flush(batch);
      sink.flush(batch.retry());
      assertThat(sink.stats().applied()).isEqualTo(1);
      assertThat(sink.stats().duplicates()).as("the retry found the batch in the ledger")
          .isEqualTo(1);
      assertThat(Databases.query(admin, "SELECT views FROM " + table + " WHERE page = ?", "/home"))
          .isEqualTo(2);
      assertThat(Databases.query(admin, "SELECT views FROM " + table + " WHERE page = ?",
          "/about")).isEqualTo(1);
      assertThat(Databases.query(admin, "SELECT COUNT(*) FROM " + ledger
          + " WHERE sink = ? AND batch_id = ?", table, batch.id())).isEqualTo(1);

      JdbcSink<String> pruning = pageViews(app, table).ledgerRetention(Duration.ofMillis(1))
          .build();
      Thread.sleep(20);
      assertThat(pruning.pruneLedger()).as("the batch's ledger row, older than the retention")
          .isEqualTo(1);
      long kept = "h2".equals(dialect) ? 1 : 0; // H2's writer lock row is never pruned
      assertThat(Databases.query(admin, "SELECT COUNT(*) FROM " + ledger + " WHERE sink = ?",
          table)).isEqualTo(kept);
      if (kept > 0) {
        assertThat(Databases.query(admin, "SELECT applied_at FROM " + ledger
            + " WHERE sink = ? AND batch_id = ''", table)).isEqualTo(Long.MAX_VALUE);
      }
    } finally {
      if (app instanceof HikariDataSource pool && app != admin) {
        pool.close();
      }
      Databases.drop(admin, ledger, table);
      if (users != null) {
        Databases.execute(admin, users.drop().apply(user));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private static String doc() throws IOException {
    return Files.readString(ReadmeBlocks.root().resolve(DOC), StandardCharsets.UTF_8);
  }

  /** The marked blocks by {@code "KIND DIALECT MAPPING"}; a marker used twice fails. */
  private static Map<String, String> blocks() throws IOException {
    Map<String, String> blocks = new LinkedHashMap<>();
    Matcher matcher = MARKED.matcher(doc());
    while (matcher.find()) {
      String key = matcher.group(1) + " " + matcher.group(2) + " " + matcher.group(3);
      assertThat(blocks.put(key, matcher.group(4))).as("marker used twice: " + key).isNull();
    }
    return blocks;
  }

  private static String block(String key) throws IOException {
    String block = blocks().get(key);
    assertThat(block).as(DOC + " has a ```sql block marked <!-- schema-doc: " + key + " -->")
        .isNotNull();
    return block;
  }

  /** The statements of a block: split at semicolons, none empty. */
  private static List<String> statements(String block) {
    List<String> statements = new ArrayList<>();
    for (String part : block.split(";")) {
      if (!part.isBlank()) {
        statements.add(part.strip());
      }
    }
    return statements;
  }

  /**
   * Whitespace only: runs of whitespace become one space, and none is kept just inside
   * parentheses, so that a statement may be laid out over several lines.
   */
  private static List<String> normalize(List<String> statements) {
    List<String> normalized = new ArrayList<>();
    for (String statement : statements) {
      normalized.add(statement.strip().replaceAll("\\s+", " ").replace("( ", "(")
          .replace(" )", ")"));
    }
    return normalized;
  }

  /** The block with its tables (and index) renamed: {@code page_views} gets {@code suffix}. */
  private static String renamed(String block, String suffix) {
    return block.replace("page_views", "page_views" + suffix)
        .replace("PAGE_VIEWS", "PAGE_VIEWS" + suffix);
  }

  private static String digits() {
    return Long.toString(ThreadLocalRandom.current().nextLong(100_000_000L, 1_000_000_000L));
  }

  private static DataSource h2(String url, String user, String password) {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL(url);
    ds.setUser(user);
    ds.setPassword(password);
    return ds;
  }

  /**
   * A data source whose connections are real but whose plain statements only record what they
   * are asked to execute.
   */
  private static DataSource recording(DataSource real, List<String> executed) {
    return proxy(DataSource.class, (p, method, args) -> {
      if (!method.getName().equals("getConnection")) {
        return forward(real, method, args);
      }
      Connection connection = (Connection) forward(real, method, args);
      return proxy(Connection.class, (pc, m, a) -> {
        if (!m.getName().equals("createStatement")) {
          return forward(connection, m, a);
        }
        return proxy(Statement.class, (ps, sm, sa) -> switch (sm.getName()) {
          case "execute" -> {
            executed.add((String) sa[0]);
            yield false;
          }
          case "setQueryTimeout", "close" -> null;
          default -> throw new UnsupportedOperationException(sm.getName());
        });
      });
    });
  }

  private static Object forward(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, InvocationHandler handler) {
    return (T) Proxy.newProxyInstance(SchemaDocTest.class.getClassLoader(),
        new Class<?>[] {type}, handler);
  }

}
