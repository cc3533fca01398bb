"""`postback ask "…"` in a subprocess against the test database: the interpretation, a table
and the SQL; --partner limits to one partner; --json prints the API's answer; a question it
cannot answer exits 2 with suggestions."""

from __future__ import annotations

import json

import asyncpg
import httpx

from postback.nlq.terminal import table, width
from tests.fixtures import ADMIN_TOKEN
from tests.nlq.safety import seed_two_partners

BY_PARTNER = "conversions by partner in the last 7 days"


def table_rows(stdout: str) -> list[list[str]]:
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


async def test_admin_answer_as_a_table(cli, db: asyncpg.Connection) -> None:
    await seed_two_partners(db)
    run = await cli("ask", BY_PARTNER)
    assert run.code == 0, run.stderr
    header, *rows = table_rows(run.stdout)
    assert header[0] == "partner"
    assert sorted(row[0] for row in rows) == ["mine", "other"]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Measure:") or "partner" in lines[0]
    assert "SQL:" in run.stdout
    assert "SELECT" in run.stdout.split("SQL:", 1)[1]
    assert "(2 rows," in run.stdout


async def test_partner_option_limits_the_answer(cli, db: asyncpg.Connection) -> None:
    await seed_two_partners(db)
    run = await cli("ask", BY_PARTNER, "--partner", "mine")
    assert run.code == 0, run.stderr
    _, *rows = table_rows(run.stdout)
    assert [row[0] for row in rows] == ["mine"]
    assert "other" not in run.stdout.split("SQL:", 1)[0]


async def test_json_is_the_apis_answer(
    cli, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed_two_partners(db)
    run = await cli("ask", "最近7天每个渠道的转化数", "--json")
    assert run.code == 0, run.stderr
    printed = json.loads(run.stdout)
    api = await client.post(
        "/api/nlq",
        json={"question": "最近7天每个渠道的转化数"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert api.status_code == 200
    expected = api.json()
    for answer in (printed, expected):
        answer.pop("elapsed_ms")
    # The API keeps the question for a follow-up; one question asked in a terminal is not.
    assert expected.pop("conversation")
    assert printed.pop("conversation") is None
    assert printed == expected
    assert printed["language"] == "zh"


async def test_cannot_answer_exits_2_with_suggestions(cli, db: asyncpg.Connection) -> None:
    run = await cli("ask", "火星上的天气怎么样")
    assert run.code == 2
    assert run.stdout == ""
    assert "可以试试：" in run.stderr
    assert "  - " in run.stderr
    as_json = await cli("ask", "what is the weather on mars", "--json")
    assert as_json.code == 2
    body = json.loads(as_json.stdout)
    assert body["errors"][0]["field"] == "question"
    assert body["suggestions"]


async def test_unknown_partner(cli, db: asyncpg.Connection) -> None:
    run = await cli("ask", BY_PARTNER, "--partner", "nobody")
    assert run.code == 1
    assert "no partner 'nobody'" in run.stderr
    bad = await cli("ask", BY_PARTNER, "--partner", "Not A Slug")
    assert bad.code == 2
    assert "lowercase" in bad.stderr


def test_table_aligns_wide_characters() -> None:
    text = table(["offer_name", "sales_myr"], [["虾皮 Shopee", "12.50"], ["Lazada", "1200.00"]])
    lines = text.splitlines()
    assert {width(line) for line in lines} == {width(lines[0])}
    assert lines[2].endswith("|     12.50 |")
    assert lines[3].startswith("| Lazada      |")
