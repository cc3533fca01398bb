"""Every sync test starts with no watermark (the shared fixtures empty the data tables)."""

from __future__ import annotations

import asyncpg
import pytest


@pytest.fixture(autouse=True)
async def no_watermarks(db: asyncpg.Connection) -> None:
    await db.execute("DELETE FROM sync_watermark")
