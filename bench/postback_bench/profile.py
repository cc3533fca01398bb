"""Sample the service with py-spy under load and sum the stacks into readable top lists.

py-spy sees Python frames: time spent in C code (uvloop, httptools, asyncpg's protocol,
orjson) is charged to the Python function that called it, and the event loop's own C code
between callbacks shows up only where a Python frame is on the stack.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

RATE = 200  # samples per second
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# Where a file's time belongs, first match wins.
COMPONENTS = (
    ("postback/ingest/routes.py", "postback: HTTP parsing (ingest/routes.py)"),
    ("postback/ingest/fields.py", "postback: field validation (ingest/fields.py)"),
    ("postback/ingest/service.py", "postback: ingest service (row building)"),
    ("postback/ingest/batcher.py", "postback: batcher (group commit)"),
    ("postback/ingest/repository.py", "postback: SQL (ingest/repository.py)"),
    ("postback/tenants/", "postback: tenant resolution"),
    ("postback/metrics.py", "postback: metrics"),
    ("postback/", "postback: other"),
    ("asyncpg/", "asyncpg (PostgreSQL driver)"),
    ("uvicorn/", "uvicorn (HTTP protocol, httptools)"),
    ("starlette/", "starlette/fastapi"),
    ("fastapi/", "starlette/fastapi"),
    ("prometheus_client/", "prometheus_client"),
    ("structlog/", "structlog"),
    ("asyncio/", "asyncio (Python parts: futures, tasks, events)"),
    ("uvloop/", "uvloop (Python parts)"),
    ("urllib/parse.py", "stdlib: urllib.parse (query/form decoding)"),
    ("uuid.py", "stdlib: uuid"),
    ("json/", "stdlib: json"),
)


def py_spy_path() -> str | None:
    return shutil.which("py-spy") or _beside_python("py-spy")


def _beside_python(name: str) -> str | None:
    import sys

    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else None


def short_path(path: str) -> str:
    """A file as a reader knows it: `postback/ingest/routes.py`, `asyncio/events.py`."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if "/postback/" in path:
        return "postback/" + path.rsplit("/postback/", 1)[1]
    stdlib = re.search(r"/lib/python3\.\d+/(.*)$", path)
    return stdlib[1] if stdlib else path


def _frame_key(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["function"], short_path(match["file"])


# Leaf frames that are a thread waiting, which the sampler does not always recognise as idle:
# an executor thread blocked on its work queue (uvloop's, kept from start-up name lookups).
IDLE_LEAVES = frozenset({("_worker", "concurrent/futures/thread.py")})


def component_of(function: str, path: str) -> str:
    if function == "Runner.run":  # no Python frame above the loop: uvloop or a Cython callback
        return "event loop, C and Cython (uvloop; asyncpg's protocol reading replies)"
    for needle, name in COMPONENTS:
        if needle in path:
            return name
    return "other: " + path.rsplit("/", 1)[-1]


@dataclass(slots=True)
class Profile:
    samples: int = 0
    seconds: float = 0.0
    own: Counter[tuple[str, str]] = field(default_factory=Counter)
    inclusive: Counter[tuple[str, str]] = field(default_factory=Counter)
    components: Counter[str] = field(default_factory=Counter)

    @property
    def busy(self) -> float:
        """Share of samples in which the threads were not idle (waiting for I/O)."""
        return self.samples / max(self.seconds * RATE, 1)


def parse_collapsed(text: str, seconds: float) -> Profile:
    profile = Profile(seconds=seconds)
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            _frame_key(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))
        ]
        if not frames or frames[-1] in IDLE_LEAVES:
            continue
        profile.samples += count
        profile.own[frames[-1]] += count
        profile.components[component_of(*frames[-1])] += count
        for key in set(frames):
            profile.inclusive[key] += count
    return profile


def start_recording(
    pid: int, seconds: float, output: Path, subprocesses: bool
) -> subprocess.Popen[str]:
    path = py_spy_path()
    if path is None:
        raise RuntimeError("py-spy is not installed: pip install py-spy (it is in the dev extra)")
    command = [
        path,
        "record",
        f"--pid={pid}",
        f"--duration={max(int(seconds), 1)}",
        f"--rate={RATE}",
        "--format=raw",
        f"--output={output}",
    ]
    if subprocesses:
        command.append("--subprocesses")
    return subprocess.Popen(  # noqa: S603 (our own arguments)
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish_recording(process: subprocess.Popen[str], output: Path, seconds: float) -> Profile:
    _, stderr = process.communicate(timeout=seconds + 60)
    if process.returncode != 0 or not output.exists():
        raise RuntimeError(f"py-spy failed ({process.returncode}): {stderr.strip()[-500:]}")
    return parse_collapsed(output.read_text(), seconds)
