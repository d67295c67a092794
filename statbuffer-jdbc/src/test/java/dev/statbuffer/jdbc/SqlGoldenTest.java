package dev.statbuffer.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.sql.DatabaseMetaData;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Golden SQL: every statement each dialect produces for one fixed sink (table
 * {@code stats.page_views}, key columns {@code page, day}, count column {@code views}, ledger
 * {@code stats.page_views_ledger}), compared with its exact text, without a database. The texts
 * were taken from the statements the sink sent before its SQL was split into one class per
 * dialect, so they pin the behaviour through that move and any later one. The metadata is what the
 * drivers report (quote string, case folding, column types); a change here is a change of the SQL
 * the sink sends, to be made on purpose. The last tests pin the dialect differences that are not
 * statement text (rows per statement, which dialect locks writers or carries the ledger in its
 * upsert, H2's insert race), as the sink decided them before the move.
 */
class SqlGoldenTest {
  private static final String TABLE = "stats.page_views";
  private static final String LEDGER = "stats.page_views_ledger";
  private static final List<String> KEYS = List.of("page", "day");
  /** The key column types {@code createTables} is given. */
  private static final List<String> KEY_TYPES = List.of("VARCHAR(100)", "DATE");

  private static final DatabaseMetaData POSTGRES = metaData("\"", /* upper= */ false,
      /* lower= */ true);
  private static final DatabaseMetaData MARIADB = metaData("`", false, false);
  private static final DatabaseMetaData H2 = metaData("\"", true, false);
  private static final DatabaseMetaData SQLITE = metaData("\"", false, false);

  @Test
  void postgres_everyStatement_matchesGoldenText() throws SQLException {
    Sql sql = plan(JdbcDialect.POSTGRESQL, POSTGRES, null);
    Sql checked = plan(JdbcDialect.POSTGRESQL, POSTGRES, columns(
        column("varchar", Types.VARCHAR, 100, 0), column("date", Types.DATE, 13, 0),
        column("int8", Types.BIGINT, 19, 0)));
    assertThat(sql.probeCounterTable()).isEqualTo("""
        SELECT "page", "day", "views" FROM "stats"."page_views" WHERE 1 = 0""");
    assertThat(sql.probeLedgerTable()).isEqualTo("""
        SELECT "sink", "batch_id", "applied_at" FROM "stats"."page_views_ledger" WHERE 1 = 0""");
    assertThat(sql.probeColumn("views")).isEqualTo("""
        SELECT "views" FROM "stats"."page_views" WHERE 1 = 0""");
    assertThat(checked.ledgerInsert()).isEqualTo("""
        INSERT INTO "stats"."page_views_ledger" ("sink", "batch_id", "applied_at") VALUES \
        ('stats.page_views', ?, ?) ON CONFLICT ("sink", "batch_id") DO NOTHING""");
    assertThat(checked.ledgerFind(3)).isEqualTo("""
        SELECT "batch_id" FROM "stats"."page_views_ledger" WHERE "sink" = 'stats.page_views' \
        AND "batch_id" IN (?, ?, ?)""");
    assertThat(checked.pruneLedger()).isEqualTo("""
        DELETE FROM "stats"."page_views_ledger" WHERE "sink" = 'stats.page_views' AND \
        "applied_at" < ?""");
    assertThat(postgres(checked).arrayUpsert(true)).isEqualTo("""
        WITH ledger AS (INSERT INTO "stats"."page_views_ledger" ("sink", "batch_id", \
        "applied_at") VALUES ('stats.page_views', ?, ?) ON CONFLICT ("sink", "batch_id") DO \
        NOTHING RETURNING 1) INSERT INTO "stats"."page_views" AS t ("page", "day", "views") \
        SELECT g.c0, g.c1, g.n FROM (SELECT CAST(u.c0 AS varchar) AS c0, CAST(u.c1 AS date) \
        AS c1, CAST(sum(u.n) AS bigint) AS n FROM unnest(CAST(? AS text[]), CAST(? AS \
        text[]), CAST(? AS bigint[])) AS u(c0, c1, n) WHERE EXISTS (SELECT 1 FROM ledger) \
        GROUP BY 1, 2) AS g ORDER BY g.c0, g.c1 ON CONFLICT ("page", "day") DO UPDATE SET \
        "views" = t."views" + EXCLUDED."views\"""");
    assertThat(postgres(checked).arrayUpsert(false)).isEqualTo("""
        INSERT INTO "stats"."page_views" AS t ("page", "day", "views") SELECT g.c0, g.c1, \
        g.n FROM (SELECT CAST(u.c0 AS varchar) AS c0, CAST(u.c1 AS date) AS c1, \
        CAST(sum(u.n) AS bigint) AS n FROM unnest(CAST(? AS text[]), CAST(? AS text[]), \
        CAST(? AS bigint[])) AS u(c0, c1, n) GROUP BY 1, 2) AS g ORDER BY g.c0, g.c1 ON \
        CONFLICT ("page", "day") DO UPDATE SET "views" = t."views" + EXCLUDED."views\"""");
    assertThat(postgres(sql).arrayUpsert(true)).isEqualTo("""
        WITH ledger AS (INSERT INTO "stats"."page_views_ledger" ("sink", "batch_id", \
        "applied_at") VALUES ('stats.page_views', ?, ?) ON CONFLICT ("sink", "batch_id") DO \
        NOTHING RETURNING 1) INSERT INTO "stats"."page_views" AS t ("page", "day", "views") \
        SELECT g.c0, g.c1, g.n FROM (SELECT u.c0 AS c0, u.c1 AS c1, CAST(sum(u.n) AS bigint) \
        AS n FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[])) AS u(c0, \
        c1, n) WHERE EXISTS (SELECT 1 FROM ledger) GROUP BY 1, 2) AS g ORDER BY g.c0, g.c1 \
        ON CONFLICT ("page", "day") DO UPDATE SET "views" = t."views" + EXCLUDED."views\"""");
    assertThat(sql.singleRowUpsert()).isEqualTo("""
        INSERT INTO "stats"."page_views" AS t ("page", "day", "views") VALUES (?, ?, ?) ON \
        CONFLICT ("page", "day") DO UPDATE SET "views" = t."views" + EXCLUDED."views\"""");
    assertThat(sql.createTables(KEY_TYPES, true)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "stats"."page_views" ("page" VARCHAR(100) NOT NULL, "day" \
        DATE NOT NULL, "views" BIGINT NOT NULL, PRIMARY KEY ("page", "day"))""",
        """
        CREATE TABLE IF NOT EXISTS "stats"."page_views_ledger" ("sink" VARCHAR(128) NOT \
        NULL, "batch_id" VARCHAR(64) NOT NULL, "applied_at" BIGINT NOT NULL, PRIMARY KEY \
        ("sink", "batch_id"))""",
        """
        CREATE INDEX IF NOT EXISTS "page_views_ledger_applied_at" ON \
        "stats"."page_views_ledger" ("applied_at")""");
    assertThat(sql.createTables(KEY_TYPES, false)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "stats"."page_views" ("page" VARCHAR(100) NOT NULL, "day" \
        DATE NOT NULL, "views" BIGINT NOT NULL, PRIMARY KEY ("page", "day"))""");
    assertThat(sql.ledgerDdl()).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "stats"."page_views_ledger" ("sink" VARCHAR(128) NOT \
        NULL, "batch_id" VARCHAR(64) NOT NULL, "applied_at" BIGINT NOT NULL, PRIMARY KEY \
        ("sink", "batch_id"))""",
        """
        CREATE INDEX IF NOT EXISTS "page_views_ledger_applied_at" ON \
        "stats"."page_views_ledger" ("applied_at")""");
    assertThat(sql.counterTableDdl(List.of("VARCHAR(255)", "VARCHAR(255)"))).isEqualTo("""
        CREATE TABLE IF NOT EXISTS "stats"."page_views" ("page" VARCHAR(255) NOT NULL, "day" \
        VARCHAR(255) NOT NULL, "views" BIGINT NOT NULL, PRIMARY KEY ("page", "day"))""");
    assertThat(sql.alterCounterColumn("views", "BIGINT")).isEqualTo("""
        ALTER TABLE "stats"."page_views" ALTER COLUMN "views" TYPE BIGINT USING CAST("views" \
        AS BIGINT)""");
    assertThat(sql.widenLedgerColumn("batch_id", 64)).isEqualTo("""
        ALTER TABLE "stats"."page_views_ledger" ALTER COLUMN "batch_id" TYPE VARCHAR(64) \
        USING CAST("batch_id" AS VARCHAR(64))""");
  }

  @Test
  void mariaDb_everyStatement_matchesGoldenText() throws SQLException {
    Sql sql = plan(JdbcDialect.MARIADB, MARIADB, null);
    Sql checked = plan(JdbcDialect.MARIADB, MARIADB, mariaDbColumns());
    assertThat(sql.probeCounterTable()).isEqualTo("""
        SELECT `page`, `day`, `views` FROM `stats`.`page_views` WHERE 1 = 0""");
    assertThat(sql.probeLedgerTable()).isEqualTo("""
        SELECT `sink`, `batch_id`, `applied_at` FROM `stats`.`page_views_ledger` WHERE 1 = 0""");
    assertThat(sql.probeColumn("views")).isEqualTo("""
        SELECT `views` FROM `stats`.`page_views` WHERE 1 = 0""");
    assertThat(checked.ledgerInsert()).isEqualTo("""
        INSERT IGNORE INTO `stats`.`page_views_ledger` (`sink`, `batch_id`, `applied_at`) \
        VALUES ('stats.page_views', ?, ?)""");
    assertThat(checked.ledgerFind(3)).isEqualTo("""
        SELECT `batch_id` FROM `stats`.`page_views_ledger` WHERE `sink` = 'stats.page_views' \
        AND `batch_id` IN (?, ?, ?)""");
    assertThat(checked.pruneLedger()).isEqualTo("""
        DELETE FROM `stats`.`page_views_ledger` WHERE `sink` = 'stats.page_views' AND \
        `applied_at` < ?""");
    assertThat(checked.upsert(1)).isEqualTo("""
        INSERT INTO `stats`.`page_views` (`page`, `day`, `views`) VALUES (?, ?, ?) ON \
        DUPLICATE KEY UPDATE `views` = `views` + VALUES(`views`)""");
    assertThat(checked.upsert(2)).isEqualTo("""
        INSERT INTO `stats`.`page_views` (`page`, `day`, `views`) VALUES (?, ?, ?), (?, ?, \
        ?) ON DUPLICATE KEY UPDATE `views` = `views` + VALUES(`views`)""");
    assertThat(sql.singleRowUpsert()).isEqualTo("""
        INSERT INTO `stats`.`page_views` (`page`, `day`, `views`) VALUES (?, ?, ?) ON \
        DUPLICATE KEY UPDATE `views` = `views` + VALUES(`views`)""");
    assertThat(sql.createTables(KEY_TYPES, true)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views` (`page` VARCHAR(100) NOT NULL, `day` \
        DATE NOT NULL, `views` BIGINT NOT NULL, PRIMARY KEY (`page`, `day`))""",
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views_ledger` (`sink` VARCHAR(128) NOT \
        NULL, `batch_id` VARCHAR(64) NOT NULL, `applied_at` BIGINT NOT NULL, PRIMARY KEY \
        (`sink`, `batch_id`), INDEX `page_views_ledger_applied_at` (`applied_at`))""");
    assertThat(sql.createTables(KEY_TYPES, false)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views` (`page` VARCHAR(100) NOT NULL, `day` \
        DATE NOT NULL, `views` BIGINT NOT NULL, PRIMARY KEY (`page`, `day`))""");
    assertThat(sql.ledgerDdl()).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views_ledger` (`sink` VARCHAR(128) NOT \
        NULL, `batch_id` VARCHAR(64) NOT NULL, `applied_at` BIGINT NOT NULL, PRIMARY KEY \
        (`sink`, `batch_id`), INDEX `page_views_ledger_applied_at` (`applied_at`))""");
    assertThat(sql.counterTableDdl(List.of("VARCHAR(255)", "VARCHAR(255)"))).isEqualTo("""
        CREATE TABLE IF NOT EXISTS `stats`.`page_views` (`page` VARCHAR(255) NOT NULL, `day` \
        VARCHAR(255) NOT NULL, `views` BIGINT NOT NULL, PRIMARY KEY (`page`, `day`))""");
    assertThat(sql.alterCounterColumn("views", "BIGINT")).isEqualTo("""
        ALTER TABLE `stats`.`page_views` MODIFY `views` BIGINT NOT NULL""");
    assertThat(sql.widenLedgerColumn("batch_id", 64)).isEqualTo("""
        ALTER TABLE `stats`.`page_views_ledger` MODIFY `batch_id` VARCHAR(64) NOT NULL""");
  }

  @Test
  void mySql_everyStatement_sameAsMariaDb() throws SQLException {
    assertThat(statements(plan(JdbcDialect.MYSQL, MARIADB, null),
        plan(JdbcDialect.MYSQL, MARIADB, mariaDbColumns())))
        .isEqualTo(statements(plan(JdbcDialect.MARIADB, MARIADB, null),
            plan(JdbcDialect.MARIADB, MARIADB, mariaDbColumns())));
  }

  @Test
  void h2_everyStatement_matchesGoldenText() throws SQLException {
    Sql sql = plan(JdbcDialect.H2, H2, null);
    Sql checked = plan(JdbcDialect.H2, H2, columns(
        column("CHARACTER VARYING", Types.VARCHAR, 100, 0), column("DATE", Types.DATE, 10, 0),
        column("BIGINT", Types.BIGINT, 64, 0)));
    assertThat(sql.probeCounterTable()).isEqualTo("""
        SELECT "PAGE", "DAY", "VIEWS" FROM "STATS"."PAGE_VIEWS" WHERE 1 = 0""");
    assertThat(sql.probeLedgerTable()).isEqualTo("""
        SELECT "SINK", "BATCH_ID", "APPLIED_AT" FROM "STATS"."PAGE_VIEWS_LEDGER" WHERE 1 = 0""");
    assertThat(sql.probeColumn("views")).isEqualTo("""
        SELECT "VIEWS" FROM "STATS"."PAGE_VIEWS" WHERE 1 = 0""");
    assertThat(checked.ledgerInsert()).isEqualTo("""
        MERGE INTO "STATS"."PAGE_VIEWS_LEDGER" AS l USING (VALUES (CAST(? AS VARCHAR(64)), \
        CAST(? AS BIGINT))) AS s(i, a) ON l."SINK" = 'stats.page_views' AND l."BATCH_ID" = \
        s.i WHEN NOT MATCHED THEN INSERT ("SINK", "BATCH_ID", "APPLIED_AT") VALUES \
        ('stats.page_views', s.i, s.a)""");
    assertThat(checked.ledgerFind(3)).isEqualTo("""
        SELECT "BATCH_ID" FROM "STATS"."PAGE_VIEWS_LEDGER" WHERE "SINK" = 'stats.page_views' \
        AND "BATCH_ID" IN (?, ?, ?)""");
    assertThat(checked.pruneLedger()).isEqualTo("""
        DELETE FROM "STATS"."PAGE_VIEWS_LEDGER" WHERE "SINK" = 'stats.page_views' AND \
        "APPLIED_AT" < ?""");
    assertThat(checked.upsert(1)).isEqualTo("""
        MERGE INTO "STATS"."PAGE_VIEWS" AS t USING (SELECT v.c0, v.c1, CAST(SUM(v.n) AS \
        BIGINT) AS n FROM (VALUES (CAST(? AS CHARACTER VARYING), CAST(? AS DATE), CAST(? AS \
        BIGINT))) AS v(c0, c1, n) GROUP BY v.c0, v.c1 ORDER BY v.c0, v.c1) AS s(c0, c1, n) \
        ON t."PAGE" = s.c0 AND t."DAY" = s.c1 WHEN MATCHED THEN UPDATE SET "VIEWS" = \
        t."VIEWS" + s.n WHEN NOT MATCHED THEN INSERT ("PAGE", "DAY", "VIEWS") VALUES (s.c0, \
        s.c1, s.n)""");
    assertThat(checked.upsert(2)).isEqualTo("""
        MERGE INTO "STATS"."PAGE_VIEWS" AS t USING (SELECT v.c0, v.c1, CAST(SUM(v.n) AS \
        BIGINT) AS n FROM (VALUES (CAST(? AS CHARACTER VARYING), CAST(? AS DATE), CAST(? AS \
        BIGINT)), (CAST(? AS CHARACTER VARYING), CAST(? AS DATE), CAST(? AS BIGINT))) AS \
        v(c0, c1, n) GROUP BY v.c0, v.c1 ORDER BY v.c0, v.c1) AS s(c0, c1, n) ON t."PAGE" = \
        s.c0 AND t."DAY" = s.c1 WHEN MATCHED THEN UPDATE SET "VIEWS" = t."VIEWS" + s.n WHEN \
        NOT MATCHED THEN INSERT ("PAGE", "DAY", "VIEWS") VALUES (s.c0, s.c1, s.n)""");
    assertThat(checked.writerLock()).isEqualTo("""
        MERGE INTO "STATS"."PAGE_VIEWS_LEDGER" ("SINK", "BATCH_ID", "APPLIED_AT") KEY \
        ("SINK", "BATCH_ID") VALUES ('stats.page_views', '', 9223372036854775807)""");
    assertThat(sql.singleRowUpsert()).isEqualTo("""
        MERGE INTO "STATS"."PAGE_VIEWS" AS t USING (SELECT v.c0, v.c1, CAST(SUM(v.n) AS \
        BIGINT) AS n FROM (VALUES (?, ?, CAST(? AS BIGINT))) AS v(c0, c1, n) GROUP BY v.c0, \
        v.c1 ORDER BY v.c0, v.c1) AS s(c0, c1, n) ON t."PAGE" = s.c0 AND t."DAY" = s.c1 WHEN \
        MATCHED THEN UPDATE SET "VIEWS" = t."VIEWS" + s.n WHEN NOT MATCHED THEN INSERT \
        ("PAGE", "DAY", "VIEWS") VALUES (s.c0, s.c1, s.n)""");
    assertThat(sql.createTables(KEY_TYPES, true)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "STATS"."PAGE_VIEWS" ("PAGE" VARCHAR(100) NOT NULL, "DAY" \
        DATE NOT NULL, "VIEWS" BIGINT NOT NULL, PRIMARY KEY ("PAGE", "DAY"))""",
        """
        CREATE TABLE IF NOT EXISTS "STATS"."PAGE_VIEWS_LEDGER" ("SINK" VARCHAR(128) NOT \
        NULL, "BATCH_ID" VARCHAR(64) NOT NULL, "APPLIED_AT" BIGINT NOT NULL, PRIMARY KEY \
        ("SINK", "BATCH_ID"))""",
        """
        CREATE INDEX IF NOT EXISTS "STATS"."PAGE_VIEWS_LEDGER_APPLIED_AT" ON \
        "STATS"."PAGE_VIEWS_LEDGER" ("APPLIED_AT")""");
    assertThat(sql.createTables(KEY_TYPES, false)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "STATS"."PAGE_VIEWS" ("PAGE" VARCHAR(100) NOT NULL, "DAY" \
        DATE NOT NULL, "VIEWS" BIGINT NOT NULL, PRIMARY KEY ("PAGE", "DAY"))""");
    assertThat(sql.ledgerDdl()).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "STATS"."PAGE_VIEWS_LEDGER" ("SINK" VARCHAR(128) NOT \
        NULL, "BATCH_ID" VARCHAR(64) NOT NULL, "APPLIED_AT" BIGINT NOT NULL, PRIMARY KEY \
        ("SINK", "BATCH_ID"))""",
        """
        CREATE INDEX IF NOT EXISTS "STATS"."PAGE_VIEWS_LEDGER_APPLIED_AT" ON \
        "STATS"."PAGE_VIEWS_LEDGER" ("APPLIED_AT")""");
    assertThat(sql.counterTableDdl(List.of("VARCHAR(255)", "VARCHAR(255)"))).isEqualTo("""
        CREATE TABLE IF NOT EXISTS "STATS"."PAGE_VIEWS" ("PAGE" VARCHAR(255) NOT NULL, "DAY" \
        VARCHAR(255) NOT NULL, "VIEWS" BIGINT NOT NULL, PRIMARY KEY ("PAGE", "DAY"))""");
    assertThat(sql.alterCounterColumn("views", "BIGINT")).isEqualTo("""
        ALTER TABLE "STATS"."PAGE_VIEWS" ALTER COLUMN "VIEWS" SET DATA TYPE BIGINT""");
    assertThat(sql.widenLedgerColumn("batch_id", 64)).isEqualTo("""
        ALTER TABLE "STATS"."PAGE_VIEWS_LEDGER" ALTER COLUMN "BATCH_ID" SET DATA TYPE \
        VARCHAR(64)""");
  }

  @Test
  void sqlite_everyStatement_matchesGoldenText() throws SQLException {
    Sql sql = plan(JdbcDialect.SQLITE, SQLITE, null);
    Sql checked = plan(JdbcDialect.SQLITE, SQLITE, columns(
        column("VARCHAR(100)", Types.VARCHAR, 100, 0),
        column("DATE", Types.NUMERIC, 2_000_000_000, 10),
        column("BIGINT", Types.BIGINT, 2_000_000_000, 10)));
    assertThat(sql.probeCounterTable()).isEqualTo("""
        SELECT `page`, `day`, `views` FROM `stats`.`page_views` WHERE 1 = 0""");
    assertThat(sql.probeLedgerTable()).isEqualTo("""
        SELECT `sink`, `batch_id`, `applied_at` FROM `stats`.`page_views_ledger` WHERE 1 = 0""");
    assertThat(sql.probeColumn("views")).isEqualTo("""
        SELECT `views` FROM `stats`.`page_views` WHERE 1 = 0""");
    assertThat(checked.ledgerInsert()).isEqualTo("""
        INSERT INTO `stats`.`page_views_ledger` (`sink`, `batch_id`, `applied_at`) VALUES \
        ('stats.page_views', ?, ?) ON CONFLICT (`sink`, `batch_id`) DO NOTHING""");
    assertThat(checked.ledgerFind(3)).isEqualTo("""
        SELECT `batch_id` FROM `stats`.`page_views_ledger` WHERE `sink` = 'stats.page_views' \
        AND `batch_id` IN (?, ?, ?)""");
    assertThat(checked.pruneLedger()).isEqualTo("""
        DELETE FROM `stats`.`page_views_ledger` WHERE `sink` = 'stats.page_views' AND \
        `applied_at` < ?""");
    assertThat(checked.upsert(1)).isEqualTo("""
        INSERT INTO `stats`.`page_views` (`page`, `day`, `views`) VALUES (?, ?, ?) ON \
        CONFLICT (`page`, `day`) DO UPDATE SET `views` = `views` + excluded.`views`""");
    assertThat(checked.upsert(2)).isEqualTo("""
        INSERT INTO `stats`.`page_views` (`page`, `day`, `views`) VALUES (?, ?, ?), (?, ?, \
        ?) ON CONFLICT (`page`, `day`) DO UPDATE SET `views` = `views` + excluded.`views`""");
    assertThat(sql.singleRowUpsert()).isEqualTo("""
        INSERT INTO `stats`.`page_views` (`page`, `day`, `views`) VALUES (?, ?, ?) ON \
        CONFLICT (`page`, `day`) DO UPDATE SET `views` = `views` + excluded.`views`""");
    assertThat(sql.createTables(KEY_TYPES, true)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views` (`page` VARCHAR(100) NOT NULL, `day` \
        DATE NOT NULL, `views` BIGINT NOT NULL, PRIMARY KEY (`page`, `day`))""",
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views_ledger` (`sink` VARCHAR(128) NOT \
        NULL, `batch_id` VARCHAR(64) NOT NULL, `applied_at` BIGINT NOT NULL, PRIMARY KEY \
        (`sink`, `batch_id`))""",
        """
        CREATE INDEX IF NOT EXISTS `stats`.`page_views_ledger_applied_at` ON \
        `page_views_ledger` (`applied_at`)""");
    assertThat(sql.createTables(KEY_TYPES, false)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views` (`page` VARCHAR(100) NOT NULL, `day` \
        DATE NOT NULL, `views` BIGINT NOT NULL, PRIMARY KEY (`page`, `day`))""");
    assertThat(sql.ledgerDdl()).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `stats`.`page_views_ledger` (`sink` VARCHAR(128) NOT \
        NULL, `batch_id` VARCHAR(64) NOT NULL, `applied_at` BIGINT NOT NULL, PRIMARY KEY \
        (`sink`, `batch_id`))""",
        """
        CREATE INDEX IF NOT EXISTS `stats`.`page_views_ledger_applied_at` ON \
        `page_views_ledger` (`applied_at`)""");
    assertThat(sql.counterTableDdl(List.of("VARCHAR(255)", "VARCHAR(255)"))).isEqualTo("""
        CREATE TABLE IF NOT EXISTS `stats`.`page_views` (`page` VARCHAR(255) NOT NULL, `day` \
        VARCHAR(255) NOT NULL, `views` BIGINT NOT NULL, PRIMARY KEY (`page`, `day`))""");
    assertThat(sql.alterCounterColumn("views", "BIGINT")).isEqualTo("""
        SQLite cannot change a column's type: create a new table with views BIGINT NOT NULL, \
        copy the rows into it and rename it""");
  }

  @Test
  void createTables_unqualifiedLedger_indexNamedPerDialect() throws SQLException {
    assertThat(unqualified(JdbcDialect.POSTGRESQL, POSTGRES)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "page_views" ("page" VARCHAR(255) NOT NULL, "views" \
        BIGINT NOT NULL, PRIMARY KEY ("page"))""",
        """
        CREATE TABLE IF NOT EXISTS "page_views_ledger" ("sink" VARCHAR(128) NOT NULL, \
        "batch_id" VARCHAR(64) NOT NULL, "applied_at" BIGINT NOT NULL, PRIMARY KEY ("sink", \
        "batch_id"))""",
        """
        CREATE INDEX IF NOT EXISTS "page_views_ledger_applied_at" ON "page_views_ledger" \
        ("applied_at")""");
    assertThat(unqualified(JdbcDialect.MARIADB, MARIADB)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `page_views` (`page` VARCHAR(255) NOT NULL, `views` \
        BIGINT NOT NULL, PRIMARY KEY (`page`))""",
        """
        CREATE TABLE IF NOT EXISTS `page_views_ledger` (`sink` VARCHAR(128) NOT NULL, \
        `batch_id` VARCHAR(64) NOT NULL, `applied_at` BIGINT NOT NULL, PRIMARY KEY (`sink`, \
        `batch_id`), INDEX `page_views_ledger_applied_at` (`applied_at`))""");
    assertThat(unqualified(JdbcDialect.H2, H2)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS "PAGE_VIEWS" ("PAGE" VARCHAR(255) NOT NULL, "VIEWS" \
        BIGINT NOT NULL, PRIMARY KEY ("PAGE"))""",
        """
        CREATE TABLE IF NOT EXISTS "PAGE_VIEWS_LEDGER" ("SINK" VARCHAR(128) NOT NULL, \
        "BATCH_ID" VARCHAR(64) NOT NULL, "APPLIED_AT" BIGINT NOT NULL, PRIMARY KEY ("SINK", \
        "BATCH_ID"))""",
        """
        CREATE INDEX IF NOT EXISTS "PAGE_VIEWS_LEDGER_APPLIED_AT" ON "PAGE_VIEWS_LEDGER" \
        ("APPLIED_AT")""");
    assertThat(unqualified(JdbcDialect.SQLITE, SQLITE)).containsExactly(
        """
        CREATE TABLE IF NOT EXISTS `page_views` (`page` VARCHAR(255) NOT NULL, `views` \
        BIGINT NOT NULL, PRIMARY KEY (`page`))""",
        """
        CREATE TABLE IF NOT EXISTS `page_views_ledger` (`sink` VARCHAR(128) NOT NULL, \
        `batch_id` VARCHAR(64) NOT NULL, `applied_at` BIGINT NOT NULL, PRIMARY KEY (`sink`, \
        `batch_id`))""",
        """
        CREATE INDEX IF NOT EXISTS `page_views_ledger_applied_at` ON `page_views_ledger` \
        (`applied_at`)""");
  }

  @Test
  void driverWithoutQuoteString_dialectsDefaultQuote() throws SQLException {
    DatabaseMetaData blank = metaData(" ", false, false);
    assertThat(plan(JdbcDialect.POSTGRESQL, blank, null).probeColumn("views")).isEqualTo(
        """
        SELECT "views" FROM "stats"."page_views" WHERE 1 = 0""");
    assertThat(plan(JdbcDialect.MARIADB, blank, null).probeColumn("views")).isEqualTo(
        """
        SELECT `views` FROM `stats`.`page_views` WHERE 1 = 0""");
    assertThat(plan(JdbcDialect.MYSQL, blank, null).probeColumn("views")).isEqualTo(
        """
        SELECT `views` FROM `stats`.`page_views` WHERE 1 = 0""");
    assertThat(plan(JdbcDialect.H2, blank, null).probeColumn("views")).isEqualTo(
        """
        SELECT "views" FROM "stats"."page_views" WHERE 1 = 0""");
    // SQLite quotes with backquotes whatever the driver says: a double-quoted unknown name would
    // be read as a string literal.
    assertThat(plan(JdbcDialect.SQLITE, blank, null).probeColumn("views")).isEqualTo(
        """
        SELECT `views` FROM `stats`.`page_views` WHERE 1 = 0""");
  }

  @Test
  void postgres_serialKeyColumns_castToTheirIntegerTypes() throws SQLException {
    Sql serial = plan(JdbcDialect.POSTGRESQL, POSTGRES, columns(
        column("serial", Types.INTEGER, 10, 0), column("bigserial", Types.BIGINT, 19, 0),
        column("int8", Types.BIGINT, 19, 0)));
    assertThat(postgres(serial).arrayUpsert(false)).isEqualTo(
        """
        INSERT INTO "stats"."page_views" AS t ("page", "day", "views") SELECT g.c0, g.c1, \
        g.n FROM (SELECT CAST(u.c0 AS int4) AS c0, CAST(u.c1 AS int8) AS c1, CAST(sum(u.n) \
        AS bigint) AS n FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS \
        bigint[])) AS u(c0, c1, n) GROUP BY 1, 2) AS g ORDER BY g.c0, g.c1 ON CONFLICT \
        ("page", "day") DO UPDATE SET "views" = t."views" + EXCLUDED."views\"""");
    Sql unusual = plan(JdbcDialect.POSTGRESQL, POSTGRES, columns(
        column("smallserial", Types.SMALLINT, 5, 0), column("\"MyType\"", Types.OTHER, 0, 0),
        column("int8", Types.BIGINT, 19, 0)));
    // A type name that is not a plain name is not cast to: the database converts on assignment.
    assertThat(postgres(unusual).arrayUpsert(false)).isEqualTo(
        """
        INSERT INTO "stats"."page_views" AS t ("page", "day", "views") SELECT g.c0, g.c1, \
        g.n FROM (SELECT CAST(u.c0 AS int2) AS c0, u.c1 AS c1, CAST(sum(u.n) AS bigint) AS n \
        FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[])) AS u(c0, c1, \
        n) GROUP BY 1, 2) AS g ORDER BY g.c0, g.c1 ON CONFLICT ("page", "day") DO UPDATE SET \
        "views" = t."views" + EXCLUDED."views\"""");
  }

  @Test
  void h2_sizedKeyColumns_castWithTheirSizes() throws SQLException {
    Sql sized = plan(JdbcDialect.H2, H2, columns(
        column("CHARACTER", Types.CHAR, 3, 0), column("NUMERIC", Types.NUMERIC, 10, 0),
        column("BIGINT", Types.BIGINT, 64, 0)));
    assertThat(sized.upsert(1)).isEqualTo(
        """
        MERGE INTO "STATS"."PAGE_VIEWS" AS t USING (SELECT v.c0, v.c1, CAST(SUM(v.n) AS \
        BIGINT) AS n FROM (VALUES (CAST(? AS CHARACTER(3)), CAST(? AS NUMERIC(10, 0)), \
        CAST(? AS BIGINT))) AS v(c0, c1, n) GROUP BY v.c0, v.c1 ORDER BY v.c0, v.c1) AS \
        s(c0, c1, n) ON t."PAGE" = s.c0 AND t."DAY" = s.c1 WHEN MATCHED THEN UPDATE SET \
        "VIEWS" = t."VIEWS" + s.n WHEN NOT MATCHED THEN INSERT ("PAGE", "DAY", "VIEWS") \
        VALUES (s.c0, s.c1, s.n)""");
    Sql unusual = plan(JdbcDialect.H2, H2, columns(
        column("ENUM('a', 'b')", Types.OTHER, 0, 0), column("", Types.OTHER, 0, 0),
        column("BIGINT", Types.BIGINT, 64, 0)));
    assertThat(unusual.upsert(1)).isEqualTo(
        """
        MERGE INTO "STATS"."PAGE_VIEWS" AS t USING (SELECT v.c0, v.c1, CAST(SUM(v.n) AS \
        BIGINT) AS n FROM (VALUES (?, ?, CAST(? AS BIGINT))) AS v(c0, c1, n) GROUP BY v.c0, \
        v.c1 ORDER BY v.c0, v.c1) AS s(c0, c1, n) ON t."PAGE" = s.c0 AND t."DAY" = s.c1 WHEN \
        MATCHED THEN UPDATE SET "VIEWS" = t."VIEWS" + s.n WHEN NOT MATCHED THEN INSERT \
        ("PAGE", "DAY", "VIEWS") VALUES (s.c0, s.c1, s.n)""");
  }

  @Test
  void rowsPerStatement_configuredOrDefault_underTheParameterLimit() throws SQLException {
    Sql postgres = plan(JdbcDialect.POSTGRESQL, POSTGRES, null);
    Sql mariaDb = plan(JdbcDialect.MARIADB, MARIADB, null);
    Sql h2 = plan(JdbcDialect.H2, H2, null);
    Sql sqlite = plan(JdbcDialect.SQLITE, SQLITE, null);

    assertThat(postgres.rowsPerStatement(0)).isEqualTo(5_000);
    assertThat(postgres.rowsPerStatement(Integer.MAX_VALUE)).isEqualTo(Integer.MAX_VALUE);
    assertThat(mariaDb.rowsPerStatement(0)).isEqualTo(1_000);
    assertThat(mariaDb.rowsPerStatement(100_000)).isEqualTo(65_535 / 3);
    assertThat(h2.rowsPerStatement(0)).isEqualTo(1_000);
    assertThat(h2.rowsPerStatement(100_000)).isEqualTo(65_535 / 3);
    assertThat(sqlite.rowsPerStatement(0)).isEqualTo(999 / 3);
    assertThat(sqlite.rowsPerStatement(7)).isEqualTo(7);
  }

  @Test
  void dialectTraits_onlyWhereTheDialectNeedsThem() throws SQLException {
    Sql postgres = plan(JdbcDialect.POSTGRESQL, POSTGRES, null);
    Sql mariaDb = plan(JdbcDialect.MARIADB, MARIADB, null);
    Sql h2 = plan(JdbcDialect.H2, H2, null);
    Sql sqlite = plan(JdbcDialect.SQLITE, SQLITE, null);

    assertThat(List.of(postgres, mariaDb, h2, sqlite)).extracting(Sql::upsertCarriesLedger)
        .containsExactly(true, false, false, false);
    assertThat(List.of(postgres, mariaDb, h2, sqlite)).extracting(Sql::checksLedgerWidths)
        .containsExactly(true, true, true, false);
    assertThat(postgres.writerLock()).isNull();
    assertThat(mariaDb.writerLock()).isNull();
    assertThat(sqlite.writerLock()).isNull();
  }

  @Test
  void insertRace_onlyH2sPrimaryKeyOfTheSinksTables() throws SQLException {
    SQLException counterRace = new SQLException("Unique index or primary key violation:"
        + " \"STATS.PRIMARY_KEY_8 ON STATS.PAGE_VIEWS(PAGE, DAY) VALUES ( /* 1 */ 'a', 2 )\"",
        "23505");
    SQLException ledgerRace = new SQLException("Unique index or primary key violation:"
        + " \"STATS.PRIMARY_KEY_2 ON STATS.PAGE_VIEWS_LEDGER(SINK, BATCH_ID) VALUES ...\"",
        "23505");
    SQLException otherIndex = new SQLException("Unique index or primary key violation:"
        + " \"STATS.IDX_PAGE ON STATS.PAGE_VIEWS(PAGE) VALUES ...\"", "23505");
    SQLException otherTable = new SQLException("Unique index or primary key violation:"
        + " \"STATS.PRIMARY_KEY_4 ON STATS.OTHER(PAGE) VALUES ...\"", "23505");
    Sql h2 = plan(JdbcDialect.H2, H2, null);

    assertThat(h2.isInsertRace(counterRace)).isTrue();
    assertThat(h2.isInsertRace(ledgerRace)).isTrue();
    assertThat(h2.isInsertRace(otherIndex)).isFalse();
    assertThat(h2.isInsertRace(otherTable)).isFalse();
    // A race is applied again, not bisected; in the other dialects the same error is a data error.
    assertThat(h2.isDataError(counterRace)).isFalse();
    assertThat(h2.isDataError(otherIndex)).isTrue();
    for (Sql other : List.of(plan(JdbcDialect.POSTGRESQL, POSTGRES, null),
        plan(JdbcDialect.MARIADB, MARIADB, null), plan(JdbcDialect.SQLITE, SQLITE, null))) {
      assertThat(other.isInsertRace(counterRace)).isFalse();
      assertThat(other.isDataError(counterRace)).isTrue();
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** The fixed sink's statements, with the checked {@code columns}, or null before the check. */
  private static Sql plan(JdbcDialect dialect, DatabaseMetaData meta, Columns columns)
      throws SQLException {
    return plan(dialect, meta, TABLE, KEYS, LEDGER, columns);
  }

  private static Sql plan(JdbcDialect dialect, DatabaseMetaData meta, String table,
      List<String> keys, String ledger, Columns columns) throws SQLException {
    return Sql.of(dialect, new Sql.Names(table, keys, "views", ledger), meta, columns);
  }

  /** PostgreSQL's own statements. */
  private static SqlPostgres postgres(Sql sql) {
    return (SqlPostgres) sql;
  }

  /** The DDL for an unqualified table {@code page_views} with one key column. */
  private static List<String> unqualified(JdbcDialect dialect, DatabaseMetaData meta)
      throws SQLException {
    return plan(dialect, meta, "page_views", List.of("page"), "page_views_ledger", null)
        .createTables(List.of("VARCHAR(255)"), true);
  }

  /** Every statement of a dialect without PostgreSQL's array upsert. */
  private static List<Object> statements(Sql sql, Sql checked) {
    return List.of(sql.probeCounterTable(), sql.probeLedgerTable(), sql.probeColumn("views"),
        checked.ledgerInsert(), checked.ledgerFind(3), checked.pruneLedger(), checked.upsert(1),
        checked.upsert(2), sql.singleRowUpsert(), sql.createTables(KEY_TYPES, true),
        sql.createTables(KEY_TYPES, false), sql.ledgerDdl(),
        sql.counterTableDdl(List.of("VARCHAR(255)", "VARCHAR(255)")),
        sql.alterCounterColumn("views", "BIGINT"), sql.widenLedgerColumn("batch_id", 64));
  }

  private static Columns mariaDbColumns() throws SQLException {
    return columns(column("VARCHAR", Types.VARCHAR, 100, 0), column("DATE", Types.DATE, 10, 0),
        column("BIGINT", Types.BIGINT, 19, 0));
  }

  /** Database metadata that answers only what the sink asks of it for quoting names. */
  private static DatabaseMetaData metaData(String quote, boolean upper, boolean lower) {
    return (DatabaseMetaData) Proxy.newProxyInstance(SqlGoldenTest.class.getClassLoader(),
        new Class<?>[] {DatabaseMetaData.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getIdentifierQuoteString" -> quote;
          case "storesUpperCaseIdentifiers" -> upper;
          case "storesLowerCaseIdentifiers" -> lower;
          default -> throw new UnsupportedOperationException(method.getName());
        });
  }

  /** One column as a driver describes it: type name, JDBC type, precision, scale. */
  private static Object[] column(String typeName, int jdbcType, int precision, int scale) {
    return new Object[] {typeName, jdbcType, precision, scale};
  }

  /** The checked columns: the key columns, then the count column, as the probe reads them. */
  private static Columns columns(Object[]... columns) throws SQLException {
    ResultSetMetaData meta = (ResultSetMetaData) Proxy.newProxyInstance(
        SqlGoldenTest.class.getClassLoader(), new Class<?>[] {ResultSetMetaData.class},
        (proxy, method, args) -> {
          Object[] column = columns[(Integer) args[0] - 1];
          return switch (method.getName()) {
            case "getColumnTypeName" -> column[0];
            case "getColumnType" -> column[1];
            case "getPrecision" -> column[2];
            case "getScale" -> column[3];
            default -> throw new UnsupportedOperationException(method.getName());
          };
        });
    return Columns.read(meta, KEYS, "views");
  }
}
