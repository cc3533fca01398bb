"""Every accounts test starts with a fresh sign-in throttle."""

from __future__ import annotations

import pytest

from postback.app import PostbackApp


@pytest.fixture(autouse=True)
async def fresh_throttle(app: PostbackApp) -> None:
    await app.state.sign_in_throttle.reset()
