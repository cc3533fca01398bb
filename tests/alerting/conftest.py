"""The alerting tests' SMTP server: started per test, and the app's channel sender pointed at
it for the test's length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.alerting.smtp import SmtpServer


@pytest.fixture
def smtp_server(app) -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    sender = app.state.channel_sender
    before = sender.smtp
    sender.smtp = replace(
        before,
        host="127.0.0.1",
        port=server.port,
        starttls=False,
        sender="alerts@postback.test",
        timeout=5,
    )
    try:
        yield server
    finally:
        sender.smtp = before
        server.stop()
