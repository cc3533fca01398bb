"""The bench report's CPU bound: the most answers a phase's CPU costs allow with no core idle."""

from __future__ import annotations

import pytest

from postback_bench import report
from postback_bench.monitor import CpuShare
from postback_bench.runner import Phase
from postback_bench.traffic import LoadResult


def _phase(per_second: int, server: float, database: float | None, wrk: float, rest: float):
    load = LoadResult(sent=per_second * 10, answered=per_second * 10, ok=per_second * 10)
    load.first_sent, load.last_answer = 0.0, 10.0
    return Phase(load, CpuShare(server, database, wrk, 0.05, rest), peak_rss=0, end_rss=0)


def test_the_bound_shares_the_free_cores_among_everything_an_answer_costs():
    # 2,000/s: server 300 µs, database 200 µs, wrk 50 µs each; 0.25 of 2 cores taken elsewhere.
    bound = report.cpu_bound(_phase(2_000, 0.6, 0.4, 0.1, 0.2), cores=2, workers=1)
    assert bound.server_us == pytest.approx(300)
    assert bound.database_us == pytest.approx(200)
    assert bound.load_generator_us == pytest.approx(50)
    assert bound.free_cores == pytest.approx(1.75)
    assert bound.rate == pytest.approx(1.75 / 550e-6)


def test_one_worker_never_gets_more_than_one_core():
    # Server 500 µs an answer: one worker tops out at 2,000/s although the cores allow more.
    phase = _phase(1_000, 0.5, 0.05, 0.0, 0.0)
    assert report.cpu_bound(phase, cores=2, workers=1).rate == pytest.approx(2_000)
    assert report.cpu_bound(phase, cores=2, workers=2).rate == pytest.approx(1.95 / 550e-6)


def test_a_database_elsewhere_costs_this_machine_nothing():
    bound = report.cpu_bound(_phase(1_000, 0.2, None, 0.05, 0.0), cores=4, workers=1)
    assert bound.database_us == 0
    assert bound.rate == pytest.approx(1 / 200e-6)
