"""Reading py-spy's collapsed stacks into the benchmark's profile tables."""

from __future__ import annotations

from postback_bench.profile import parse_collapsed

PROCESS = 'process 1:"python"'
MAIN = f"{PROCESS};thread (0x1);<module> (postback/__main__.py:3)"
STACKS = "\n".join(
    [
        f"{MAIN};Runner.run (/usr/lib/python3.11/asyncio/runners.py:118) 40",
        f"{MAIN};build_row (/srv/postback/ingest/service.py:200) 60",
        f"{PROCESS};thread (0x2);Thread.run (/usr/lib/python3.11/threading.py:982)"
        ";_worker (/usr/lib/python3.11/concurrent/futures/thread.py:81) 30",
    ]
)


def test_own_time_and_components_leave_out_an_idle_executor_thread():
    profile = parse_collapsed(STACKS, seconds=1.0)
    assert profile.samples == 100
    assert profile.own[("build_row", "postback/ingest/service.py")] == 60
    assert ("_worker", "concurrent/futures/thread.py") not in profile.own
    assert profile.inclusive[("<module>", "postback/__main__.py")] == 100
