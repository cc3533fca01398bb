"""`postback sync`, `postback export parquet` and `postback reporting-user create`, run for
real in their own processes against the test database; one sync is killed with SIGKILL in
the middle of its batches."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from postback.db import asyncpg_url
from tests.fixtures import COMMAND_TIMEOUT, Run
from tests.sync.helpers import (
    Copy,
    insert_rows,
    receive_postbacks,
    source_figures,
    source_ids,
    source_statuses,
)


def environment(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "POSTBACK_HOME": str(tmp_path / "home"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def postback_command(env: dict[str, str], *args: str) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "postback",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


class TestSyncCommand:
    async def test_sync_then_again(self, app, client, db, cli, database_url, tmp_path):
        await receive_postbacks(app, client)
        target = tmp_path / "copy.duckdb"

        first = await cli("sync", "--to", f"duckdb:{target}", "--batch-size", "7")
        # The configured destination is the default.
        again = await postback_command(
            environment(database_url, tmp_path, POSTBACK_SYNC_TO=f"duckdb:{target}"), "sync"
        )

        assert first.code == 0, first.stderr
        assert f"duckdb:{target}: 50 rows copied (full copy)" in first.stdout
        assert again.code == 0, again.stderr
        assert f"duckdb:{target}: 0 rows copied (changes)" in again.stdout
        assert Copy.duckdb(target).figures() == await source_figures(db)

    async def test_killed_in_the_middle_then_run_again(self, app, db, database_url, cli, tmp_path):
        await insert_rows(db, 20_000)
        target = tmp_path / "copy.duckdb"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "postback",
            "sync",
            "--to",
            f"duckdb:{target}",
            "--batch-size",
            "200",
            "--write-rows",
            "400",
            cwd=tmp_path,
            env=environment(database_url, tmp_path, LOG_LEVEL="INFO"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        batches = 0
        while batches < 3:
            line = await asyncio.wait_for(process.stderr.readline(), COMMAND_TIMEOUT)
            assert line, "the sync ended before its third batch"
            batches += b"sync_batch" in line
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        assert await db.fetchval("SELECT count(*) FROM sync_watermark") == 0
        copied_before = len(Copy.duckdb(target).ids())
        assert 400 <= copied_before < 20_000  # merged 400 rows at a time

        rerun = await cli("sync", "--to", f"duckdb:{target}", "--batch-size", "5000")

        assert rerun.code == 0, rerun.stderr
        assert Copy.duckdb(target).ids() == await source_ids(db)
        assert Copy.duckdb(target).figures() == await source_figures(db)

    async def test_a_bad_destination_is_named_and_the_watermark_stays(self, db, cli, tmp_path):
        await insert_rows(db, 3)
        blocker = tmp_path / "a-file"
        blocker.write_text("")

        unwritable = await cli("sync", "--to", f"parquet:{blocker}/lake")
        unknown = await cli("sync", "--to", "ftp://example.com")

        assert unwritable.code == 1
        assert f"error: parquet:{blocker}/lake: cannot write there" in unwritable.stderr
        assert "Traceback" not in unwritable.stderr
        assert unknown.code == 2
        assert "'ftp://example.com' is not a destination" in unknown.stderr
        nowhere = await cli("sync")
        assert nowhere.code == 2
        assert "give --to, or set POSTBACK_SYNC_TO" in nowhere.stderr
        assert await db.fetchval("SELECT count(*) FROM sync_watermark") == 0


class TestExportCommand:
    async def test_export_one_partner_and_days(self, app, client, db, cli, tmp_path):
        await receive_postbacks(app, client)
        out = tmp_path / "export"

        result = await cli(
            "export",
            "parquet",
            "--out",
            str(out),
            "--since",
            "2026-11-11",
            "--until",
            "2026-11-12",
            "--partner",
            "acme",
        )

        assert result.code == 0, result.stderr
        expected = {
            f
            for f in await source_figures(db)
            if f.partner == "acme" and "2026-11-11" <= f.day <= "2026-11-12"
        }
        assert f"{sum(f.rows for f in expected)} rows written under {out}" in result.stdout
        assert Copy.parquet(out).figures() == expected
        statuses = await source_statuses(db)
        assert Copy.parquet(out).statuses().items() <= statuses.items()

    async def test_bad_options_are_named(self, cli, tmp_path):
        reversed_days = await cli(
            "export",
            "parquet",
            "--out",
            str(tmp_path),
            "--since",
            "2026-11-12",
            "--until",
            "2026-11-11",
        )
        bad_day = await cli("export", "parquet", "--out", str(tmp_path), "--since", "12/11/2026")
        bad_partner = await cli("export", "parquet", "--out", str(tmp_path), "--partner", "A B")

        assert reversed_days.code == 2
        assert "--since is after --until" in reversed_days.stderr
        assert bad_day.code == 2
        assert "--since" in bad_day.stderr
        assert bad_partner.code == 2
        assert "'A B'" in bad_partner.stderr


@pytest.fixture
async def login(server_url: str):
    """A unique login name; the role (cluster-wide) is dropped after the test."""
    name = f"bi_{uuid.uuid4().hex[:8]}"
    yield name
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        await conn.close()


class TestReportingUser:
    async def run(self, database_url: str, tmp_path: Path, stdin: str, *args: str):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "postback",
            "reporting-user",
            "create",
            *args,
            cwd=tmp_path,
            env=environment(database_url, tmp_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), COMMAND_TIMEOUT)
        return process.returncode, out.decode(), err.decode()

    async def test_reads_the_views_and_nothing_else(
        self, app, client, db, database_url, tmp_path, login
    ):
        await receive_postbacks(app, client)
        password = "a-long-password-for-bi"

        code, out, err = await self.run(
            database_url, tmp_path, password + "\n", login, "--password-stdin"
        )

        assert code == 0, err
        assert f"created login {login}" in out
        assert "password" not in out.replace("--password", "")
        url = asyncpg_url(database_url).replace("postgres@", f"{login}:{password}@", 1)
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM reporting.conversions") == 50
            assert await conn.fetchval("SELECT count(*) FROM conversion_days") >= 0
            for forbidden in (
                "SELECT count(*) FROM public.conversion",
                "SELECT count(*) FROM public.tenant",
                "SELECT * FROM public.sync_watermark",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.fetchval(forbidden)
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await conn.execute("CREATE TABLE public.mine (a int)")
            for write in (
                "DELETE FROM public.conversion",
                "UPDATE public.tenant SET name = 'x'",
                "CREATE TABLE public.mine (a int)",
                "CREATE TABLE reporting.mine (a int)",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(f"BEGIN READ WRITE; {write}")
                await conn.execute("ROLLBACK")
        finally:
            await conn.close()

    async def test_a_generated_password_is_shown_once(self, database_url, tmp_path, login):
        code, out, err = await self.run(database_url, tmp_path, "", login)

        assert code == 0, err
        [line] = [line for line in out.splitlines() if line.startswith("password")]
        password = line.split(": ", 1)[1]
        url = asyncpg_url(database_url).replace("postgres@", f"{login}:{password}@", 1)
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT current_user") == login
        finally:
            await conn.close()

    async def test_bad_names_passwords_and_existing_roles(self, database_url, tmp_path, login):
        bad_name = await self.run(database_url, tmp_path, "", "Robert'); DROP")
        short = await self.run(database_url, tmp_path, "short\n", login, "--password-stdin")
        await self.run(database_url, tmp_path, "", login)
        again = await self.run(database_url, tmp_path, "", login)

        assert bad_name[0] == 1
        assert "error: name: " in bad_name[2]
        assert short[0] == 1
        assert "error: password: use at least 12 characters" in short[2]
        assert again[0] == 1
        assert f"error: name: a role named '{login}' already exists" in again[2]
