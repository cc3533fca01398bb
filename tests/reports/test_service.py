"""When a report next runs: the next hour (on its weekday) in the reporting timezone, across
the clock changes of a zone that has them. The expected moments are worked out from the UK's
rule (clocks go forward at 01:00 UTC on the last Sunday of March, back at 01:00 UTC on the
last Sunday of October) and Kuala Lumpur's fixed UTC+8, not from zoneinfo."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from postback.reports.service import next_run, zone_name

LONDON = ZoneInfo("Europe/London")
KL = ZoneInfo("Asia/Kuala_Lumpur")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cadence", "weekday", "hour", "zone", "after", "expected"),
    [
        # Kuala Lumpur, UTC+8: 09:00 there is 01:00 UTC.
        ("daily", None, 9, KL, utc(2026, 12, 3, 0, 30), utc(2026, 12, 3, 1)),
        ("daily", None, 9, KL, utc(2026, 12, 3, 1), utc(2026, 12, 4, 1)),
        ("daily", None, 0, KL, utc(2026, 12, 3, 16), utc(2026, 12, 4, 16)),
        # Thursday 2026-12-03 → Monday 2026-12-07 00:00 there, 16:00 UTC the day before.
        ("weekly", 0, 0, KL, utc(2026, 12, 3, 9), utc(2026, 12, 6, 16)),
        # The same weekday, before and after its hour.
        ("weekly", 3, 10, KL, utc(2026, 12, 3, 1), utc(2026, 12, 3, 2)),
        ("weekly", 3, 10, KL, utc(2026, 12, 3, 2), utc(2026, 12, 10, 2)),
        # London in winter is UTC, in summer UTC+1. Saturday 2027-03-27 09:00 is 09:00 UTC;
        # Sunday 2027-03-28 (clocks forward) 09:00 is 08:00 UTC.
        ("daily", None, 9, LONDON, utc(2027, 3, 27, 8), utc(2027, 3, 27, 9)),
        ("daily", None, 9, LONDON, utc(2027, 3, 27, 10), utc(2027, 3, 28, 8)),
        ("daily", None, 9, LONDON, utc(2027, 3, 28, 8), utc(2027, 3, 29, 8)),
        ("weekly", 6, 9, LONDON, utc(2027, 3, 22, 12), utc(2027, 3, 28, 8)),
        # 01:00 does not exist on 2027-03-28 (01:00 GMT becomes 02:00 BST): sent at that
        # instant, 01:00 UTC.
        ("daily", None, 1, LONDON, utc(2027, 3, 27, 2), utc(2027, 3, 28, 1)),
        # Sunday 2026-10-25 (clocks back): 09:00 is 09:00 UTC again, the day before 08:00.
        ("daily", None, 9, LONDON, utc(2026, 10, 24, 7), utc(2026, 10, 24, 8)),
        ("daily", None, 9, LONDON, utc(2026, 10, 24, 9), utc(2026, 10, 25, 9)),
        ("weekly", 6, 9, LONDON, utc(2026, 10, 19, 0), utc(2026, 10, 25, 9)),
        # 01:00 happens twice on 2026-10-25 (00:00 UTC in BST, 01:00 UTC in GMT): the first.
        ("daily", None, 1, LONDON, utc(2026, 10, 24, 12), utc(2026, 10, 25, 0)),
        ("daily", None, 1, LONDON, utc(2026, 10, 25, 0), utc(2026, 10, 26, 1)),
    ],
)
def test_next_run(cadence, weekday, hour, zone, after, expected):
    assert next_run(cadence, weekday, hour, zone, after) == expected


def test_every_run_of_a_year_is_at_its_local_hour_a_week_apart():
    """52 weekly runs through both of London's clock changes: each on a Wednesday at 07:00
    on the wall clock, and 7 days apart except across a change (7 days ± 1 hour)."""
    moment = utc(2026, 6, 1)
    runs = []
    for _ in range(52):
        moment = next_run("weekly", 2, 7, LONDON, moment)
        runs.append(moment)
    for run in runs:
        local = run.astimezone(LONDON)
        assert (local.weekday(), local.hour, local.minute) == (2, 7, 0)
    gaps = sorted({(b - a).total_seconds() / 3600 for a, b in pairwise(runs)})
    assert gaps == [167.0, 168.0, 169.0]


def test_the_zone_is_the_partners_when_valid():
    assert zone_name("Europe/London", "Asia/Kuala_Lumpur") == "Europe/London"
    assert zone_name(None, "Asia/Kuala_Lumpur") == "Asia/Kuala_Lumpur"
    assert zone_name("Mars/Olympus", "Asia/Kuala_Lumpur") == "Asia/Kuala_Lumpur"
