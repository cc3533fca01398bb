"""A real HTTP server on loopback that records what it is sent, for forwarding tests.

Each path answers from its own plan: a list of status codes used in order (then 200), and an
optional delay before answering."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Plan:
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    body: bytes = b"ok"
    location: str | None = None  # sent with 3xx answers


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.plans: dict[str, Plan] = defaultdict(Plan)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    plan = receiver.plans[parts.path]
                    status = plan.statuses.pop(0) if plan.statuses else 200
                    receiver.requests.append(
                        Received(
                            self.command,
                            parts.path,
                            dict(parse_qsl(parts.query, keep_blank_values=True)),
                            parts.query,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                if plan.delay:
                    time.sleep(plan.delay)
                self.send_response(status)
                if plan.location and 300 <= status < 400:
                    self.send_header("Location", plan.location)
                self.send_header("Content-Length", str(len(plan.body)))
                self.end_headers()
                self.wfile.write(plan.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.plans.clear()
