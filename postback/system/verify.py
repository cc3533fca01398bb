"""`postback db verify SOURCE TARGET`: after moving the data to another server (pg_dump and
pg_restore into Cloud SQL, or Database Migration Service), compare the two databases: the
schema revision, every table's row count, each partner's conversions, first rows, duplicates,
statuses, amounts and rejections, and that the target can go on (its sequences are past the
highest ids, the question engine's read-only role can read the reporting views)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from postback.db import asyncpg_url
from postback.system import repository


@dataclass(frozen=True, slots=True)
class Check:
    """One figure on both sides; `target_only` checks have no source figure to compare."""

    name: str
    source: str
    target: str
    ok: bool


def _compare(name: str, source: object, target: object) -> Check:
    return Check(name, str(source), str(target), source == target)


async def _figures(conn: asyncpg.Connection) -> dict[str, object]:
    figures: dict[str, object] = {"schema revision": await repository.revision(conn)}
    for table, count in (await repository.table_counts(conn)).items():
        figures[f"rows in {table}"] = count
    for slug, partner in (await repository.partner_figures(conn)).items():
        for field, value in partner.items():
            figures[f"partner {slug}: {field}"] = value
    return figures


async def verify(source_url: str, target_url: str) -> list[Check]:
    """Every comparison, in a stable order: source figures first, then what the target
    alone must satisfy."""
    source = await asyncpg.connect(asyncpg_url(source_url))
    try:
        target = await asyncpg.connect(asyncpg_url(target_url))
        try:
            before = await _figures(source)
            after = await _figures(target)
            checks = [
                _compare(name, before.get(name, "missing"), after.get(name, "missing"))
                for name in [*before, *(n for n in after if n not in before)]
            ]
            for gap in await repository.sequence_gaps(target):
                checks.append(
                    Check(
                        f"sequence {gap.sequence} is past {gap.table}.{gap.column}",
                        "",
                        f"next {gap.next_value}, highest {gap.highest}",
                        gap.next_value > gap.highest,
                    )
                )
            readable = await repository.reporting_role_reads(target)
            checks.append(
                Check(
                    "the question engine's role reads the reporting views",
                    "",
                    "yes" if readable else "no: CREATE ROLE postback_reporting first",
                    readable,
                )
            )
            return checks
        finally:
            await target.close()
    finally:
        await source.close()
