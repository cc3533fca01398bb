"""The `postback` root commands (`migrate`, `--help`), run for real in their own process against
the test database; each domain's commands are tested beside it (tests/<domain>/test_cli.py)."""

from __future__ import annotations


class TestMigrate:
    async def test_succeeds_on_an_up_to_date_database(self, cli, db):
        result = await cli("migrate")
        assert result.code == 0, result.stderr
        assert "up to date" in result.stdout
        assert await db.fetchval("SELECT count(*) FROM alembic_version") == 1
        # The schema is still there and usable.
        assert await db.fetchval("SELECT count(*) FROM tenant WHERE is_default") == 1

    async def test_help(self, cli):
        result = await cli("--help")
        assert result.code == 0
        for command in ("serve", "migrate", "tenants", "users"):
            assert command in result.stdout
