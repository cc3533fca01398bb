"""SQL safety for natural-language questions: what may run.

Every query, whether the offline engine built it or an LLM wrote it, goes through `guard()`
before `repository.run()` executes it. `guard()` parses the text with sqlglot and accepts
exactly one read-only SELECT over the reporting views, built only from an allow-list of node
types, functions and types; it restricts every view reference to the asking tenant, caps the
LIMIT, and returns SQL *regenerated from the checked tree* (so what PostgreSQL runs is what
was checked, never the text as given). It only reads text: nothing here touches the database.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import Token, TokenType

from postback.nlq.plan import SUB_COLUMNS

REPORTING_SCHEMA = "reporting"
MAX_SQL_CHARS = 20_000

CONVERSION_COLUMNS = frozenset(
    {
        "id",
        "tenant_id",
        "partner",
        "partner_name",
        "conversion_id",
        "order_id",
        "offer_id",
        "offer_name",
        "status",
        "status_raw",
        "currency",
        "sale_amount_local",
        "usd_sale_amount",
        "myr_sale_amount",
        "payout_local",
        "usd_payout",
        "myr_payout",
        "occurred_at",
        "received_at",
        "status_updated_at",
        "is_duplicate",
        *SUB_COLUMNS,
    }
)
REJECTION_COLUMNS = frozenset(
    {"id", "tenant_id", "partner", "received_at", "reason", "conversion_id"}
)
# Day cells: conversions, duplicates and sums per partner, offer, status, currency and local
# day of a timezone (`zone`).
DAY_COLUMNS = frozenset(
    {
        "zone",
        "tenant_id",
        "partner",
        "partner_name",
        "day",
        "offer_id",
        "offer_name",
        "status",
        "currency",
        "conversions",
        "duplicates",
        "sales_usd",
        "sales_myr",
        "sales_local",
        "payouts_usd",
        "payouts_myr",
        "payouts_local",
    }
)
# The views a query may read, and their columns.
REPORTING_VIEWS: dict[str, frozenset[str]] = {
    "conversions": CONVERSION_COLUMNS,
    "rejections": REJECTION_COLUMNS,
    "conversion_days": DAY_COLUMNS,
}
# Names a CTE may not take: it would shadow a view (escaping the tenant filter) or a table.
RESERVED_NAMES = frozenset(
    {"conversions", "rejections", "conversion_days", "conversion", "rejection", "tenant"}
)
# Bare words PostgreSQL reads as functions revealing the session (current_user, ...).
SESSION_WORDS = frozenset(
    {
        "user",
        "current_user",
        "session_user",
        "current_role",
        "current_schema",
        "current_catalog",
        "system_user",
    }
)

# Structure of a SELECT: clauses, references, operators, literals.
_STRUCTURE = (
    "Select Union Except Intersect With CTE TableAlias Subquery From Join Table Identifier "
    "Column Star Alias Where Group Having Order Ordered Limit Offset Distinct Literal Boolean "
    "RawString Null And Or Not EQ NEQ GT GTE LT LTE Is In Between Like ILike Paren Neg Add "
    "Sub Mul Div Mod Case If Exists Tuple Interval DataType DataTypeParam Filter Window WindowSpec "
    "WithinGroup AtTimeZone Var"
)
# Functions: aggregates, window functions, arithmetic, text, dates and times.
_FUNCTIONS = (
    "Count Sum Avg Min Max Stddev StddevPop StddevSamp Variance VariancePop PercentileCont "
    "PercentileDisc GroupConcat LogicalOr LogicalAnd RowNumber Rank DenseRank PercentRank "
    "CumeDist Ntile Lag Lead FirstValue LastValue Coalesce Nullif Round Abs Floor Ceil Sqrt "
    "Pow Greatest Least Lower Upper Trim Length Concat DPipe Substring Left Right Cast "
    "Extract TimestampTrunc DateTrunc TimeToStr StrToTime Date CurrentDate CurrentTimestamp"
)
ALLOWED_NODES: frozenset[type[exp.Expression]] = frozenset(
    node
    for name in (_STRUCTURE + " " + _FUNCTIONS).split()
    if isinstance(node := getattr(exp, name, None), type)
)
# Functions sqlglot has no class for in PostgreSQL, by name.
ALLOWED_ANONYMOUS = frozenset({"timezone", "date_part", "to_char", "make_interval"})
ALLOWED_TYPES = frozenset(
    {
        "TEXT",
        "VARCHAR",
        "CHAR",
        "DECIMAL",
        "INT",
        "BIGINT",
        "SMALLINT",
        "DOUBLE",
        "FLOAT",
        "DATE",
        "TIME",
        "TIMESTAMP",
        "TIMESTAMPTZ",
        "INTERVAL",
        "BOOLEAN",
    }
)
# A bare keyword (sqlglot Var) is only a date part or interval unit, e.g. EXTRACT(HOUR FROM ...)
# (or LIMIT ALL, which the cap replaces).
_VAR_PARENTS = ("Extract", "TimestampTrunc", "DateTrunc", "Interval", "Limit")
VAR_PARENTS: tuple[type[exp.Expression], ...] = tuple(
    node for name in _VAR_PARENTS if isinstance(node := getattr(exp, name, None), type)
)
_STRING_TOKENS = frozenset({TokenType.STRING, TokenType.HEREDOC_STRING})
_SOFT_WHITESPACE = frozenset("\t\n\r")


class UnsafeQuery(ValueError):
    """SQL refused; str(e) is a short reason in English, e.g. 'only SELECT is allowed'."""


def guard(sql: str, *, tenant_id: int | None, limit: int = 1000) -> str:
    """Check `sql` and return the SQL to run: one SELECT over the reporting views, scoped to
    `tenant_id` when given (None: the admin, every tenant), with a LIMIT of at most `limit`.
    Raises UnsafeQuery."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    tree = _parse(sql)
    _check_nodes(tree)
    ctes = _cte_names(tree)
    views = _view_references(tree, ctes)
    _check_columns(tree, ctes)
    if tenant_id is not None:
        for table in views:
            _restrict_to_tenant(table, tenant_id)
    _cap_limit(tree, limit)
    return tree.sql(dialect="postgres", comments=False)


def _parse(sql: str) -> exp.Expression:
    if not isinstance(sql, str) or not sql.strip():
        raise UnsafeQuery("the SQL is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise UnsafeQuery(f"the SQL is longer than {MAX_SQL_CHARS} characters")
    try:
        tokens = sqlglot.tokenize(sql, read="postgres")
    except SqlglotError as exc:
        raise UnsafeQuery(f"the SQL could not be read: {_first_line(exc)}") from exc
    _check_characters(sql, tokens)
    if any(token.comments for token in tokens):
        raise UnsafeQuery("comments are not allowed")
    while tokens and tokens[-1].token_type is TokenType.SEMICOLON:
        tokens = tokens[:-1]
    if any(token.token_type is TokenType.SEMICOLON for token in tokens):
        raise UnsafeQuery("exactly one statement is allowed")
    try:
        with _quiet_sqlglot():
            statements = sqlglot.parse(sql, read="postgres")
    except (SqlglotError, RecursionError) as exc:
        raise UnsafeQuery(f"the SQL could not be read: {_first_line(exc)}") from exc
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise UnsafeQuery("exactly one statement is allowed")
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.SetOperation):
        raise UnsafeQuery("only SELECT is allowed")
    return tree


def _check_characters(sql: str, tokens: list[Token]) -> None:
    """Outside string literals only printable ASCII; nowhere invisible or control characters
    (zero-width spaces, bidirectional overrides, NUL), which can make text read differently
    to a person, to sqlglot and to PostgreSQL."""
    in_string = bytearray(len(sql))
    for token in tokens:
        if token.token_type in _STRING_TOKENS:
            in_string[token.start : token.end + 1] = b"\x01" * (token.end + 1 - token.start)
    for index, char in enumerate(sql):
        category = unicodedata.category(char)
        if char not in _SOFT_WHITESPACE and category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            raise UnsafeQuery(f"invisible or control character U+{ord(char):04X} is not allowed")
        if not in_string[index] and not (
            char.isascii() and (char.isprintable() or char in "\t\n\r")
        ):
            raise UnsafeQuery(
                f"character {char!r} (U+{ord(char):04X}) is only allowed inside a quoted string"
            )


def _check_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        kind = type(node)
        if kind is exp.Anonymous:
            if node.name.lower() not in ALLOWED_ANONYMOUS:
                raise UnsafeQuery(f"function {node.name.lower()}() is not allowed")
            continue
        if kind not in ALLOWED_NODES:
            raise UnsafeQuery(_refusal(node))
        if kind is exp.Var and not isinstance(node.parent, VAR_PARENTS):
            raise UnsafeQuery(f"{node.name} is not allowed here")
        if kind is exp.DataType and _type_name(node) not in ALLOWED_TYPES:
            raise UnsafeQuery(f"type {_type_name(node).lower()} is not allowed")
        if kind is exp.Literal and node.args.get("is_string") is False and not _is_number(node):
            raise UnsafeQuery(f"literal {node.name!r} is not allowed")
        if kind is exp.With and node.args.get("recursive"):
            raise UnsafeQuery("WITH RECURSIVE is not allowed")
        if isinstance(node, exp.SetOperation) and not _joins_queries(node):
            raise UnsafeQuery(f"{node.key.upper()} must join whole SELECTs")


_QUERIES = (exp.Select, exp.SetOperation, exp.Subquery)


def _joins_queries(node: exp.SetOperation) -> bool:
    """Whether both sides of UNION/INTERSECT/EXCEPT are queries, not, say, `count(* UNION
    SELECT 1)`, which the parser reads as a union of `*` and a SELECT."""
    return isinstance(node.this, _QUERIES) and isinstance(node.expression, _QUERIES)


def _refusal(node: exp.Expr) -> str:
    """A short reason naming what was refused."""
    if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        return f"{node.key.upper()} is not allowed: only SELECT is allowed"
    if isinstance(node, exp.Into):
        return "SELECT ... INTO is not allowed"
    if isinstance(node, exp.Lock):
        return "FOR UPDATE/SHARE is not allowed"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}() is not allowed"
    if isinstance(node, exp.Dot):
        return "schema-qualified functions are not allowed"
    return f"{node.key.upper()} is not allowed"


def _type_name(node: exp.Expr) -> str:
    kind = node.this
    return str(getattr(kind, "name", kind)).upper()


def _is_number(node: exp.Expr) -> bool:
    try:
        float(node.name)
    except ValueError:
        return False
    return True


def _cte_names(tree: exp.Expression) -> set[str]:
    names: set[str] = set()
    for cte in tree.find_all(exp.CTE):
        name = cte.alias_or_name.lower()
        if not name:
            raise UnsafeQuery("a WITH query needs a name")
        if name in RESERVED_NAMES:
            raise UnsafeQuery(f"a WITH query may not be named {name!r}")
        if name in names:
            raise UnsafeQuery(f"WITH query {name!r} is defined twice")
        names.add(name)
    return names


def _view_references(tree: exp.Expression, ctes: set[str]) -> list[exp.Table]:
    """Every table reference must be a reporting view or a CTE; the views are returned,
    qualified with their schema."""
    views: list[exp.Table] = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise UnsafeQuery("only the reporting views can be queried")
        name = table.name.lower()
        schema = table.args.get("db")
        if table.args.get("catalog") is not None:
            raise UnsafeQuery(f"table {table.sql(dialect='postgres')} is not allowed")
        if schema is None and name in ctes:
            continue
        if name not in REPORTING_VIEWS or (
            schema is not None and schema.name.lower() != REPORTING_SCHEMA
        ):
            raise UnsafeQuery(
                f"table {table.sql(dialect='postgres')} is not allowed: "
                "only reporting.conversions, reporting.rejections and reporting.conversion_days"
            )
        table.set("this", exp.to_identifier(name))
        table.set("db", exp.to_identifier(REPORTING_SCHEMA))
        views.append(table)
    return views


def _check_columns(tree: exp.Expression, ctes: set[str]) -> None:
    """Columns must be the views' own, or names the query itself defines (aliases)."""
    defined: set[str] = set()
    qualifiers: set[str] = set(ctes)
    for alias in tree.find_all(exp.Alias):
        defined.add(alias.alias.lower())
    for table_alias in tree.find_all(exp.TableAlias):
        if table_alias.name:
            qualifiers.add(table_alias.name.lower())
        defined.update(column.name.lower() for column in table_alias.args.get("columns") or [])
    for table in tree.find_all(exp.Table):
        qualifiers.add(table.name.lower())
    known = set().union(*REPORTING_VIEWS.values()) | defined
    for name in defined & SESSION_WORDS:
        raise UnsafeQuery(f"the name {name!r} is not allowed")
    for column in tree.find_all(exp.Column):
        if column.args.get("db") is not None or column.args.get("catalog") is not None:
            raise UnsafeQuery(
                f"column {column.sql(dialect='postgres')}: qualify columns with a table "
                "name or alias only"
            )
        qualifier = column.table.lower()
        if qualifier and qualifier not in qualifiers:
            raise UnsafeQuery(f"column {column.sql(dialect='postgres')}: unknown table")
        if isinstance(column.this, exp.Star):
            continue
        name = column.name.lower()
        if name in SESSION_WORDS or name not in known:
            raise UnsafeQuery(f"column {column.name!r} is not allowed")


def _restrict_to_tenant(table: exp.Table, tenant_id: int) -> None:
    """Replace `reporting.x [AS a]` by `(SELECT * FROM reporting.x WHERE tenant_id = N) AS a`."""
    given = table.args.get("alias")
    alias = exp.TableAlias(this=exp.to_identifier(table.name)) if given is None else given.copy()
    source = exp.Table(this=exp.to_identifier(table.name), db=exp.to_identifier(REPORTING_SCHEMA))
    scoped = (
        exp.select(exp.Star())
        .from_(source)
        .where(
            exp.EQ(
                this=exp.column("tenant_id"),
                expression=exp.Literal.number(int(tenant_id)),
            )
        )
    )
    table.replace(exp.Subquery(this=scoped, alias=alias))


def _cap_limit(tree: exp.Expression, limit: int) -> None:
    current = tree.args.get("limit")
    value = current.args.get("expression") if isinstance(current, exp.Limit) else None
    if (
        isinstance(value, exp.Literal)
        and not value.is_string
        and value.name.isdigit()
        and int(value.name) <= limit
    ):
        return
    tree.set("limit", exp.Limit(expression=exp.Literal.number(limit)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class _quiet_sqlglot:
    """sqlglot logs a warning when it falls back to an opaque Command; the guard refuses
    those anyway, so the warning is only noise."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("sqlglot")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *_: Any) -> None:
        self._logger.setLevel(self._level)
