"""One attempt against a real receiver: redirects, the address guard at send time, pinning
the checked address, bounded answers.

The tests that need a *public* target cannot have one here (no internet): they declare the
loopback receiver public by replacing `targets.is_public`/`targets.resolve`, our own
functions, and check what the sender then does with an address that stays refused."""

from __future__ import annotations

import ipaddress

import pytest

from postback.forwarding import targets
from postback.forwarding.sender import EXCERPT_BYTES, Outgoing, Sender


def outgoing(url: str, method: str = "GET", body: bytes | None = None) -> Outgoing:
    return Outgoing(url=url, method=method, delivery_id="42", body=body)


@pytest.fixture
async def sender():
    found = Sender(timeout=2, allow_private=True)
    yield found
    await found.close()


@pytest.fixture
async def guarded():
    found = Sender(timeout=2, allow_private=False)
    yield found
    await found.close()


@pytest.fixture
def loopback_is_public(monkeypatch):
    """127.0.0.1 (the receiver) counts as public; every other address keeps its class."""
    real = targets.is_public
    monkeypatch.setattr(targets, "is_public", lambda a: str(a) == "127.0.0.1" or real(a))


async def test_a_2xx_is_ok(sender, receiver):
    result = await sender.send(outgoing(receiver.base + "/a?token=s3cret"))
    assert result.ok
    assert result.status_code == 200
    assert result.excerpt == "ok"
    assert result.url == receiver.base + "/a?token=***"
    (hit,) = receiver.to("/a")
    assert hit.headers["x-postback-delivery-id"] == "42"


async def test_a_non_2xx_is_not(sender, receiver):
    receiver.plans["/a"].statuses = [404]
    result = await sender.send(outgoing(receiver.base + "/a"))
    assert (result.ok, result.status_code) == (False, 404)


async def test_only_the_first_bytes_are_read(sender, receiver):
    receiver.plans["/big"].body = b"x" * 200_000
    result = await sender.send(outgoing(receiver.base + "/big"))
    assert result.excerpt == "x" * EXCERPT_BYTES


async def test_timeout(receiver):
    receiver.plans["/slow"].delay = 1.5
    slow = Sender(timeout=0.5, allow_private=True)
    try:
        result = await slow.send(outgoing(receiver.base + "/slow"))
    finally:
        await slow.close()
    assert not result.ok
    assert result.error == "no answer within 0.5 s"


async def test_refused_connection(sender):
    result = await sender.send(outgoing("http://127.0.0.1:9/none"))
    assert not result.ok
    assert result.status_code is None
    assert "Connect" in (result.error or "")


async def test_redirect_followed(sender, receiver):
    receiver.plans["/old"].statuses = [302]
    receiver.plans["/old"].location = "/new?x=1"
    result = await sender.send(outgoing(receiver.base + "/old", "POST", b"{}"))
    assert (result.ok, result.status_code) == (True, 200)
    (moved,) = receiver.to("/new")
    assert moved.method == "GET"  # a 302 after POST continues as GET, as browsers do


async def test_a_private_target_refused_at_send_time(guarded, receiver):
    result = await guarded.send(outgoing(receiver.base + "/a"))
    assert not result.ok
    assert result.error.startswith("refused: host 127.0.0.1 resolves to 127.0.0.1")
    assert receiver.to("/a") == []


async def test_no_redirect_to_a_private_address(guarded, receiver, loopback_is_public):
    receiver.plans["/hop"].statuses = [307]
    receiver.plans["/hop"].location = "http://169.254.169.254/latest/meta-data/"
    result = await guarded.send(outgoing(receiver.base + "/hop"))
    assert len(receiver.to("/hop")) == 1
    assert not result.ok
    assert "169.254.169.254" in result.error
    assert result.error.startswith("refused:")


async def test_the_checked_address_is_the_one_connected_to(
    guarded, receiver, loopback_is_public, monkeypatch
):
    """A name is resolved once, checked, and the request goes to that address with the name
    kept in Host: a second lookup (DNS rebinding) never happens."""
    lookups = []

    async def resolve(host, port):
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(targets, "resolve", resolve)
    result = await guarded.send(outgoing(f"http://tracker.invalid:{receiver.port}/pinned"))
    assert result.ok, result.error
    (hit,) = receiver.to("/pinned")
    assert hit.headers["host"] == f"tracker.invalid:{receiver.port}"
    assert lookups == ["tracker.invalid"]
