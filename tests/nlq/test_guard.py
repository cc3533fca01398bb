"""The SQL guard: what it refuses, how it scopes what it accepts to one partner, and that
`run()` stays read-only and confined to the reporting views even for SQL the guard never
saw. Checked against the real database, as the real reporting role."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from postback.nlq.guard import UnsafeQuery, guard
from postback.nlq.repository import run
from tests.nlq.safety import fingerprint, scoped_selects, seed_two_partners

REFUSED = {
    # Writes and DDL, alone or hidden.
    "insert": "INSERT INTO conversion (conversion_id) VALUES ('x')",
    "insert view": "INSERT INTO reporting.conversions (conversion_id) VALUES ('x')",
    "update": "UPDATE conversion SET status = 'approved'",
    "delete": "DELETE FROM reporting.conversions",
    "merge": "MERGE INTO conversion c USING tenant t ON t.id = c.tenant_id "
    "WHEN MATCHED THEN DELETE",
    "copy to": "COPY conversion TO '/tmp/leak.csv'",
    "copy from program": "COPY conversion FROM PROGRAM 'id'",
    "create": "CREATE TABLE x AS SELECT * FROM reporting.conversions",
    "create function": "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
    "drop": "DROP TABLE conversion",
    "alter": "ALTER TABLE conversion ADD COLUMN x int",
    "truncate": "TRUNCATE conversion",
    "grant": "GRANT ALL ON conversion TO PUBLIC",
    "revoke": "REVOKE SELECT ON reporting.conversions FROM postback_reporting",
    "set role": "SET ROLE postgres",
    "set local": "SET LOCAL statement_timeout = 0",
    "reset": "RESET ROLE",
    "do": "DO $$ BEGIN DELETE FROM conversion; END $$",
    "call": "CALL cleanup()",
    "explain": "EXPLAIN ANALYZE SELECT * FROM reporting.conversions",
    "vacuum": "VACUUM conversion",
    "begin": "BEGIN",
    "commit": "COMMIT",
    "prepare": "PREPARE p AS DELETE FROM conversion",
    "listen": "LISTEN x",
    "writable cte delete": "WITH gone AS (DELETE FROM conversion RETURNING *) "
    "SELECT count(*) FROM gone",
    "writable cte update": "WITH x AS (UPDATE conversion SET status = 'approved' RETURNING id) "
    "SELECT * FROM x",
    "writable cte insert": "WITH x AS (INSERT INTO tenant (slug, name) VALUES ('a', 'b') "
    "RETURNING id) SELECT * FROM x",
    "select into": "SELECT * INTO stolen FROM reporting.conversions",
    "for update": "SELECT * FROM reporting.conversions FOR UPDATE",
    "for share": "SELECT id FROM reporting.conversions FOR SHARE",
    # More than one statement, however it is dressed.
    "two statements": "SELECT 1; DROP TABLE conversion",
    "two selects": "SELECT 1; SELECT 2",
    "statement after comment": "SELECT 1 /* harmless */; DELETE FROM conversion",
    "statement in line comment": "SELECT count(*) FROM reporting.conversions -- ;\n"
    "; DELETE FROM conversion",
    "comment only hiding": "SELECT 1 -- DROP TABLE conversion",
    "block comment": "SELECT /* DELETE FROM conversion */ 1",
    "nested comment": "SELECT 1 /* a /* b */ ; DELETE FROM conversion; */",
    # Functions that sleep, read files, reach other servers, change settings or run SQL.
    "pg_sleep": "SELECT pg_sleep(10)",
    "pg_sleep in where": "SELECT count(*) FROM reporting.conversions WHERE pg_sleep(1) IS NULL",
    "pg_sleep qualified": "SELECT pg_catalog.pg_sleep(1)",
    "pg_sleep_for": "SELECT pg_sleep_for('5 minutes')",
    "pg_read_file": "SELECT pg_read_file('/etc/passwd')",
    "pg_ls_dir": "SELECT pg_ls_dir('.')",
    "dblink": "SELECT * FROM dblink('host=example.com', 'select 1') AS t(a int)",
    "dblink_exec": "SELECT dblink_exec('host=x', 'DROP TABLE conversion')",
    "lo_import": "SELECT lo_import('/etc/passwd')",
    "lo_export": "SELECT lo_export(1, '/tmp/x')",
    "set_config": "SELECT set_config('role', 'postgres', false)",
    "current_setting": "SELECT current_setting('data_directory')",
    "query_to_xml": "SELECT query_to_xml('DELETE FROM conversion RETURNING 1', true, true, '')",
    "version": "SELECT version()",
    "nextval": "SELECT nextval('conversion_id_seq')",
    "pg_terminate_backend": "SELECT pg_terminate_backend(1)",
    "generate_series": "SELECT * FROM generate_series(1, 100000000)",
    "txid": "SELECT txid_current()",
    "unknown function": "SELECT evil(status) FROM reporting.conversions",
    "current_user": "SELECT current_user",
    "session_user": "SELECT session_user",
    "user": "SELECT user",
    "regclass cast": "SELECT 'pg_authid'::regclass",
    # Places other than the reporting views.
    "raw table": "SELECT * FROM conversion",
    "raw table qualified": "SELECT * FROM public.conversion",
    "tenant table": "SELECT api_key_hash FROM tenant",
    "rejection table": "SELECT * FROM rejection",
    "pg_catalog": "SELECT * FROM pg_catalog.pg_authid",
    "pg_class": "SELECT relname FROM pg_class",
    "pg_roles": "SELECT rolname FROM pg_roles",
    "information_schema": "SELECT * FROM information_schema.tables",
    "pg_stat_activity": "SELECT query FROM pg_stat_activity",
    "other schema view": "SELECT * FROM public.conversions",
    "catalog qualified": "SELECT * FROM postgres.reporting.conversions",
    "join raw table": "SELECT c.id FROM reporting.conversions c JOIN tenant t "
    "ON t.id = c.tenant_id",
    "subquery raw table": "SELECT * FROM reporting.conversions WHERE tenant_id IN "
    "(SELECT id FROM tenant)",
    "union raw table": "SELECT conversion_id FROM reporting.conversions "
    "UNION SELECT api_key_hash FROM tenant",
    "cte raw table": "WITH t AS (SELECT * FROM tenant) SELECT * FROM t",
    "cte shadowing a view": "WITH conversions AS (SELECT * FROM reporting.rejections) "
    "SELECT * FROM conversions",
    "cte shadowing a table": "WITH tenant AS (SELECT 1) SELECT * FROM tenant",
    "recursive cte": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT * FROM r",
    "values": "SELECT * FROM (VALUES (1)) AS v(a)",
    "lateral": "SELECT * FROM reporting.conversions c, LATERAL (SELECT 1) AS x",
    "table function": "SELECT * FROM lower('x')",
    "hidden columns": "SELECT raw FROM reporting.conversions",
    "source ip": "SELECT source_ip FROM reporting.conversions",
    "system column": "SELECT ctid, xmin FROM reporting.conversions",
    "column of another schema": "SELECT pg_catalog.pg_class.relname FROM reporting.conversions",
    "parameter": "SELECT * FROM reporting.conversions WHERE id = $1",
    "table sample": "SELECT * FROM reporting.conversions TABLESAMPLE SYSTEM (10)",
    # Characters that read one way to a person and another to a parser.
    "fullwidth keyword": "ＳＥＬＥＣＴ * FROM reporting.conversions",
    "fullwidth semicolon": "SELECT 1；DROP TABLE conversion",
    "zero width space": "SELECT\u200b* FROM reporting.conversions",
    "zero width in name": "SELECT * FROM reporting.conver\u200bsions",
    "bidi override in string": "SELECT * FROM reporting.conversions "
    "WHERE status = 'approved\u202e'",
    "ideographic space": "SELECT *\u3000FROM reporting.conversions",
    "no-break space": "SELECT *\u00a0FROM reporting.conversions",
    "cyrillic letter": "SELECT * FROM reporting.cоnversions",
    "nul": "SELECT 1\x00; DROP TABLE conversion",
    "unicode escape string": "SELECT U&'\\0041' FROM reporting.conversions",
    "quoted non-ascii name": 'SELECT 1 AS "名字"',
    # Nothing to run.
    "empty": "",
    "blank": "  \n ",
    "garbage": "this is not sql",
    "unbalanced": "SELECT (1",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
@pytest.mark.parametrize("tenant_id", [None, 7])
def test_refused(sql: str, tenant_id: int | None) -> None:
    with pytest.raises(UnsafeQuery) as refused:
        guard(sql, tenant_id=tenant_id)
    assert str(refused.value)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM conversion", "only SELECT is allowed"),
        ("SELECT 1; SELECT 2", "exactly one statement is allowed"),
        ("SELECT pg_sleep(1)", "function pg_sleep() is not allowed"),
        ("SELECT * FROM tenant", "table tenant is not allowed"),
        ("SELECT 1 -- hi", "comments are not allowed"),
        ("SELECT * FROM reporting.conversions FOR UPDATE", "FOR UPDATE/SHARE is not allowed"),
        ("SELECT raw FROM reporting.conversions", "column 'raw' is not allowed"),
    ],
)
def test_reasons_name_the_problem(sql: str, reason: str) -> None:
    with pytest.raises(UnsafeQuery, match=reason.replace("(", r"\(").replace(")", r"\)")):
        guard(sql, tenant_id=None)


ACCEPTED = {
    "totals": "SELECT count(*) AS conversions, sum(myr_payout) AS payout "
    "FROM reporting.conversions WHERE NOT is_duplicate",
    "by offer": "SELECT offer_name, sum(myr_sale_amount) AS sales FROM reporting.conversions "
    "WHERE NOT is_duplicate GROUP BY offer_name ORDER BY sales DESC LIMIT 5",
    "by day in a timezone": "SELECT date_trunc('day', occurred_at AT TIME ZONE "
    "'Asia/Kuala_Lumpur') AS day, count(*) FROM reporting.conversions GROUP BY 1 ORDER BY 1",
    "approval rate": "SELECT round(100.0 * count(*) FILTER (WHERE status = 'approved') / "
    "nullif(count(*), 0), 2) AS rate FROM reporting.conversions",
    "functions": "SELECT extract(hour FROM occurred_at) AS h, to_char(occurred_at, 'YYYY-MM') "
    "AS m, coalesce(offer_name, '?') AS o, timezone('UTC', occurred_at) AS t, "
    "CASE WHEN status = 'approved' THEN 1 ELSE 0 END AS a, occurred_at::date AS d "
    "FROM reporting.conversions WHERE occurred_at >= now() - interval '7 days' "
    "AND offer_name ILIKE '%shopee%' AND status IN ('approved', 'pending')",
    "partner columns": "SELECT partner, partner_name, count(*) FROM reporting.conversions "
    "GROUP BY 1, 2",
    "unqualified view": "SELECT count(*) FROM conversions",
    "rejections": "SELECT reason, count(*) FROM reporting.rejections GROUP BY reason",
    "trailing semicolon": "SELECT count(*) FROM reporting.conversions;",
    "chinese in a string": "SELECT count(*) FROM reporting.conversions "
    "WHERE offer_name = '虾皮 商城'",
    "window": "SELECT offer_name, rank() OVER (ORDER BY sum(myr_payout) DESC) AS r "
    "FROM reporting.conversions GROUP BY offer_name",
    "limit all": "SELECT id FROM reporting.conversions LIMIT ALL",
}


@pytest.mark.parametrize("sql", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_and_regenerated(sql: str) -> None:
    guarded = guard(sql, tenant_id=None)
    tree = sqlglot.parse_one(guarded, read="postgres")
    assert isinstance(tree, exp.Select)
    assert "--" not in guarded
    assert "/*" not in guarded
    for table in tree.find_all(exp.Table):
        assert (table.db, table.name) in {("reporting", "conversions"), ("reporting", "rejections")}
    # Guarding what the guard returned changes nothing more.
    assert guard(guarded, tenant_id=None) == guarded


SCOPING = {
    "plain": "SELECT count(*) FROM reporting.conversions",
    "day cells": "SELECT partner, sum(conversions) AS n FROM reporting.conversion_days "
    "WHERE zone = 'Asia/Kuala_Lumpur' GROUP BY 1",
    "alias": "SELECT c.offer_name FROM reporting.conversions AS c WHERE c.status = 'approved'",
    "join": "SELECT c.conversion_id, r.reason FROM reporting.conversions c "
    "JOIN reporting.rejections r ON r.conversion_id = c.conversion_id",
    "self join": "SELECT a.id FROM reporting.conversions a, reporting.conversions b "
    "WHERE a.conversion_id = b.conversion_id",
    "subquery in where": "SELECT count(*) FROM reporting.conversions WHERE offer_name IN "
    "(SELECT offer_name FROM reporting.conversions WHERE status = 'rejected')",
    "subquery in from": "SELECT s.o FROM (SELECT offer_name AS o FROM reporting.conversions) s",
    "scalar subquery": "SELECT (SELECT count(*) FROM reporting.rejections) AS r, count(*) "
    "FROM reporting.conversions",
    "exists": "SELECT count(*) FROM reporting.conversions c WHERE EXISTS "
    "(SELECT 1 FROM reporting.rejections r WHERE r.conversion_id = c.conversion_id)",
    "cte": "WITH x AS (SELECT * FROM reporting.conversions), y AS (SELECT * FROM x) "
    "SELECT count(*) FROM y",
    "union": "SELECT conversion_id FROM reporting.conversions UNION ALL "
    "SELECT conversion_id FROM reporting.rejections",
    "where says another tenant": "SELECT count(*) FROM reporting.conversions "
    "WHERE tenant_id = 1 OR partner = 'other' OR true",
}
EXPECTED_REFERENCES = {
    "plain": 1,
    "day cells": 1,
    "alias": 1,
    "join": 2,
    "self join": 2,
    "subquery in where": 2,
    "subquery in from": 1,
    "scalar subquery": 2,
    "exists": 2,
    "cte": 1,
    "union": 2,
    "where says another tenant": 1,
}


@pytest.mark.parametrize("name", SCOPING.keys())
def test_every_view_reference_is_scoped(name: str) -> None:
    guarded = guard(SCOPING[name], tenant_id=42)
    assert scoped_selects(guarded, 42) == EXPECTED_REFERENCES[name]


def test_admin_queries_are_not_scoped() -> None:
    guarded = guard("SELECT count(*) FROM reporting.conversions", tenant_id=None)
    assert "tenant_id" not in guarded


def limit_of(sql: str) -> str | None:
    limit = sqlglot.parse_one(sql, read="postgres").args.get("limit")
    return None if limit is None else limit.expression.sql()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT id FROM reporting.conversions", "100"),
        ("SELECT id FROM reporting.conversions LIMIT 5", "5"),
        ("SELECT id FROM reporting.conversions LIMIT 100", "100"),
        ("SELECT id FROM reporting.conversions LIMIT 1000000", "100"),
        ("SELECT id FROM reporting.conversions LIMIT ALL", "100"),
        ("SELECT id FROM reporting.conversions LIMIT NULL", "100"),
        ("SELECT id FROM reporting.conversions LIMIT 50 + 100", "100"),
        ("SELECT id FROM reporting.conversions LIMIT (SELECT count(*) FROM conversions)", "100"),
        ("SELECT id FROM reporting.conversions UNION SELECT id FROM reporting.rejections", "100"),
        ("SELECT id FROM reporting.conversions LIMIT 3 OFFSET 10", "3"),
    ],
)
def test_limit_enforced(sql: str, expected: str) -> None:
    assert limit_of(guard(sql, tenant_id=None, limit=100)) == expected


def test_fetch_first_is_refused_not_ignored() -> None:
    with pytest.raises(UnsafeQuery):
        guard("SELECT id FROM reporting.conversions FETCH FIRST 5000 ROWS ONLY", tenant_id=None)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_is_refused_cleanly_or_one_select(text: str) -> None:
    """Whatever arrives, the guard answers with SQL or UnsafeQuery, never another error."""
    try:
        guarded = guard(text, tenant_id=3)
    except UnsafeQuery:
        return
    tree = sqlglot.parse_one(guarded, read="postgres")
    assert isinstance(tree, exp.Select | exp.SetOperation)


@given(
    st.sampled_from(list(SCOPING.values()) + list(ACCEPTED.values())),
    st.sampled_from([";", "--", "/*", "'", '"', "\\", "$$", ")", " UNION SELECT 1", "\u200b"]),
    st.integers(min_value=0, max_value=400),
)
@settings(max_examples=300, deadline=None)
def test_tampered_queries_stay_scoped(sql: str, insert: str, position: int) -> None:
    """Any accepted variant of a tampered query still has every view reference scoped."""
    position = min(position, len(sql))
    try:
        guarded = guard(sql[:position] + insert + sql[position:], tenant_id=5)
    except UnsafeQuery:
        return
    tree = sqlglot.parse_one(guarded, read="postgres")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in ctes and not table.db:
            continue
        select = table.find_ancestor(exp.Select)
        assert select is not None
        assert select.args["where"].sql(dialect="postgres") == "WHERE tenant_id = 5"


# --- against PostgreSQL, as the reporting role --------------------------------------------


async def test_scoped_queries_return_only_the_partners_rows(db: asyncpg.Connection) -> None:
    partners = await seed_two_partners(db)
    for sql in SCOPING.values():
        await run(db, guard(sql, tenant_id=partners.mine))

    _, rows = await run(
        db, guard("SELECT DISTINCT tenant_id, partner FROM conversions", tenant_id=partners.mine)
    )
    assert rows == [(partners.mine, "mine")]
    await db.execute(
        "INSERT INTO conversion_daily_zone (zone) VALUES ('Asia/Kuala_Lumpur')"
        " ON CONFLICT DO NOTHING"
    )
    _, rows = await run(
        db,
        guard("SELECT DISTINCT tenant_id, partner FROM conversion_days", tenant_id=partners.mine),
    )
    assert rows == [(partners.mine, "mine")]
    _, rows = await run(
        db,
        guard(
            "SELECT conversion_id FROM reporting.conversions WHERE partner = 'other' OR true "
            "UNION SELECT conversion_id FROM reporting.rejections ORDER BY 1",
            tenant_id=partners.mine,
        ),
    )
    # The partner's own rejection has no conversion id; nothing of the other partner.
    assert rows == [("M-1",), ("M-2",), (None,)]
    _, rows = await run(
        db,
        guard(
            "SELECT count(*) FROM reporting.conversions a JOIN reporting.conversions b "
            "ON a.offer_name = b.offer_name",
            tenant_id=partners.mine,
        ),
    )
    # Mine: Shopee MY x1, Lazada SG x2 (a duplicate): 1 + 4 pairs; never the other's Shopee.
    assert rows == [(5,)]


async def test_admin_sees_every_partner(db: asyncpg.Connection) -> None:
    await seed_two_partners(db)
    columns, rows = await run(
        db,
        guard(
            "SELECT partner, count(*) AS n, sum(myr_payout) AS payout FROM reporting.conversions "
            "WHERE NOT is_duplicate GROUP BY partner ORDER BY partner",
            tenant_id=None,
        ),
    )
    assert columns == ["partner", "n", "payout"]
    assert rows == [("mine", 2, Decimal("7.50")), ("other", 2, Decimal("160.00"))]


async def test_quoting_survives_regeneration(db: asyncpg.Connection) -> None:
    sql = "SELECT 'it''s', 'back\\slash', $$dollar 'quoted'$$, '虾皮', 'a\nb'"
    _, rows = await run(db, guard(sql, tenant_id=None))
    assert rows == [("it's", "back\\slash", "dollar 'quoted'", "虾皮", "a\nb")]


# Tables named with their schema: run() leaves no schema of the application on the search
# path, so these reach the tables and PostgreSQL itself must refuse.
WRITES_PAST_THE_GUARD = [
    "DELETE FROM public.conversion",
    "UPDATE public.conversion SET status = 'approved'",
    "INSERT INTO public.tenant (slug, name) VALUES ('evil', 'Evil')",
    "DELETE FROM reporting.conversions",
    "UPDATE reporting.conversions SET status = 'approved'",
    "WITH gone AS (DELETE FROM public.conversion RETURNING 1) SELECT count(*) FROM gone",
    "SELECT * INTO public.stolen FROM reporting.conversions",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE TABLE public.t (a int)",
    "DROP VIEW reporting.conversions",
    "ALTER TABLE public.conversion DROP COLUMN raw",
    "TRUNCATE public.conversion",
    "SELECT nextval('public.conversion_id_seq')",
    "SELECT * FROM reporting.conversions FOR UPDATE",
    "GRANT SELECT ON public.tenant TO postback_reporting",
]


@pytest.mark.parametrize("sql", WRITES_PAST_THE_GUARD)
async def test_run_refuses_writes_the_guard_never_saw(db: asyncpg.Connection, sql: str) -> None:
    await seed_two_partners(db)
    before = await fingerprint(db)
    with pytest.raises(asyncpg.PostgresError) as refused:
        await run(db, sql)
    assert isinstance(
        refused.value,
        asyncpg.ReadOnlySQLTransactionError
        | asyncpg.InsufficientPrivilegeError
        # The views join the partner's name in, so PostgreSQL cannot write through them.
        | asyncpg.ObjectNotInPrerequisiteStateError,
    ), refused.value
    assert await fingerprint(db) == before
    # The role and the read-only mode ended with the transaction.
    assert await db.fetchval("SELECT current_user") != "postback_reporting"
    assert await db.fetchval("SHOW transaction_read_only") == "off"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM public.conversion",
        "SELECT api_key_hash FROM public.tenant",
        "SELECT * FROM public.rejection",
        "SELECT * FROM public.alembic_version",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT pg_ls_dir('.')",
        "SELECT lo_import('/etc/passwd')",
    ],
)
async def test_run_reads_only_the_reporting_views(db: asyncpg.Connection, sql: str) -> None:
    await seed_two_partners(db)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await run(db, sql)


async def test_run_leaves_the_application_schema_off_the_search_path(
    db: asyncpg.Connection,
) -> None:
    with pytest.raises(asyncpg.UndefinedTableError):
        await run(db, "SELECT api_key_hash FROM tenant")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT set_config('search_path', 'public', false)",
        "SELECT set_config('statement_timeout', '0', false)",
        "SET SESSION AUTHORIZATION DEFAULT",
        "SET search_path = public",
    ],
)
async def test_run_undoes_session_settings(db: asyncpg.Connection, sql: str) -> None:
    before = await db.fetch(
        "SELECT name, setting FROM pg_settings WHERE name IN "
        "('search_path', 'statement_timeout', 'role') ORDER BY name"
    )
    user = await db.fetchval("SELECT current_user")
    await run(db, sql)
    assert (
        await db.fetch(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('search_path', 'statement_timeout', 'role') ORDER BY name"
        )
        == before
    )
    assert await db.fetchval("SELECT current_user") == user


async def test_run_allows_one_statement_only(db: asyncpg.Connection) -> None:
    before = await fingerprint(db)
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await run(db, "SELECT 1; DELETE FROM conversion")
    assert await fingerprint(db) == before


async def test_run_stops_slow_queries(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.QueryCanceledError):
        await run(db, "SELECT pg_sleep(5)", timeout_ms=200)
    assert await db.fetchval("SHOW statement_timeout") == "0"


async def test_run_returns_columns_and_rows(db: asyncpg.Connection) -> None:
    partners = await seed_two_partners(db)
    columns, rows = await run(
        db,
        guard(
            "SELECT offer_name, count(*) AS n FROM conversions GROUP BY 1 ORDER BY 1",
            tenant_id=partners.other,
        ),
    )
    assert columns == ["offer_name", "n"]
    assert rows == [("Shopee MY", 1), ("TikTok Shop MY", 1)]


async def test_role_can_read_the_views_and_nothing_else(db: asyncpg.Connection) -> None:
    rights = await db.fetch(
        "SELECT table_schema, table_name, privilege_type FROM information_schema."
        "role_table_grants WHERE grantee = 'postback_reporting' ORDER BY 1, 2, 3"
    )
    assert [tuple(r) for r in rights] == [
        ("reporting", "conversion_days", "SELECT"),
        ("reporting", "conversions", "SELECT"),
        ("reporting", "rejections", "SELECT"),
    ]
    role = await db.fetchrow(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
        "FROM pg_roles WHERE rolname = 'postback_reporting'"
    )
    assert tuple(role) == (False, False, False, False, False)


# What a chat model typically writes for these views: accepted, and the regenerated SQL runs.
MODEL_STYLE = [
    "SELECT offer_name, SUM(myr_payout) AS payout FROM reporting.conversions "
    "WHERE NOT is_duplicate AND occurred_at >= date_trunc('day', now() AT TIME ZONE "
    "'Asia/Kuala_Lumpur') AT TIME ZONE 'Asia/Kuala_Lumpur' - INTERVAL '1 day' "
    "GROUP BY offer_name ORDER BY payout DESC NULLS LAST LIMIT 10;",
    "SELECT (occurred_at AT TIME ZONE 'Asia/Kuala_Lumpur')::date AS day, COUNT(*) AS conversions "
    "FROM reporting.conversions WHERE NOT is_duplicate AND occurred_at >= CURRENT_DATE - 30 "
    "GROUP BY 1 ORDER BY 1",
    "SELECT EXTRACT(HOUR FROM occurred_at AT TIME ZONE 'Asia/Kuala_Lumpur') AS hour, "
    "COUNT(*) FROM reporting.conversions GROUP BY 1 ORDER BY 1",
    "SELECT status, COUNT(*)::float / NULLIF(SUM(COUNT(*)) OVER (), 0) AS share "
    "FROM reporting.conversions WHERE NOT is_duplicate GROUP BY status",
    "SELECT ROUND(100.0 * COUNT(*) FILTER (WHERE status = 'approved') / NULLIF(COUNT(*), 0), 2) "
    "AS approval_rate FROM reporting.conversions WHERE NOT is_duplicate",
    "SELECT offer_name, AVG(myr_sale_amount)::numeric(12,2) AS aov FROM reporting.conversions "
    "WHERE NOT is_duplicate AND LOWER(offer_name) LIKE '%shopee%' GROUP BY offer_name "
    "HAVING COUNT(*) > 0",
    "WITH daily AS (SELECT date_trunc('day', occurred_at) AS d, SUM(myr_sale_amount) AS s "
    "FROM reporting.conversions WHERE NOT is_duplicate GROUP BY 1) "
    "SELECT d, s, s - LAG(s) OVER (ORDER BY d) AS change FROM daily ORDER BY d",
    "SELECT currency, COUNT(DISTINCT conversion_id) AS n, MIN(occurred_at), MAX(occurred_at) "
    "FROM reporting.conversions GROUP BY currency",
    "SELECT CASE WHEN myr_sale_amount >= 100 THEN 'big' ELSE 'small' END AS size, COUNT(*) "
    "FROM reporting.conversions WHERE myr_sale_amount IS NOT NULL GROUP BY 1",
    "SELECT to_char(occurred_at AT TIME ZONE 'Asia/Kuala_Lumpur', 'YYYY-MM') AS month, "
    "COALESCE(SUM(usd_payout), 0) AS payout_usd FROM reporting.conversions "
    "WHERE occurred_at BETWEEN '2026-01-01' AND now() GROUP BY 1",
    "SELECT reason, COUNT(*) FROM reporting.rejections WHERE received_at > now() - "
    "INTERVAL '7 days' GROUP BY reason ORDER BY 2 DESC",
    "SELECT DISTINCT ON (offer_name) offer_name, conversion_id, myr_sale_amount "
    "FROM reporting.conversions ORDER BY offer_name, myr_sale_amount DESC",
]


@pytest.mark.parametrize("sql", MODEL_STYLE)
async def test_model_style_sql_is_accepted_and_runs(db: asyncpg.Connection, sql: str) -> None:
    partners = await seed_two_partners(db)
    guarded = guard(sql, tenant_id=partners.mine)
    scoped_selects(guarded, partners.mine)
    columns, _ = await run(db, guarded)
    assert columns


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT round(100.0 * count(* UNION SELECT 1) FILTER (WHERE status = 'approved')"
        " / nullif(count(*), 0), 2) AS rate FROM reporting.conversions",
        "SELECT round(100.0 * count(*) FILTER (WHERE status = 'approved')"
        " / nullif(count(*), 0 UNION SELECT 1), 2) AS rate FROM reporting.conversions",
    ],
)
def test_a_union_inside_an_expression_is_refused(sql: str) -> None:
    with pytest.raises(UnsafeQuery, match="UNION must join whole SELECTs"):
        guard(sql, tenant_id=5)


def test_a_union_of_selects_is_still_accepted() -> None:
    one = "SELECT offer_id FROM reporting.conversions"
    sql = f"{one} UNION {one}"
    tree = sqlglot.parse_one(guard(sql, tenant_id=5), read="postgres")
    assert isinstance(tree, exp.Union)
