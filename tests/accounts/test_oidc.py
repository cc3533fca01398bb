"""Signing in with Google (any OpenID Connect provider): the whole flow against a real provider
on loopback (tests/accounts/oidc_provider.py), from the button to the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from postback.app import PostbackApp
from postback.dashboard.labels import LABELS as DASHBOARD_LABELS
from postback.settings import Settings
from postback.web.labels import Translator
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Mischief, Provider
from tests.factories import create_tenant, create_user
from tests.fixtures import _free_port

DOMAIN = "example.com"


@pytest.fixture(scope="session")
async def provider_server() -> AsyncIterator[Provider]:
    provider = await Provider().start(_free_port())
    yield provider
    await provider.stop()


@pytest.fixture
def provider(provider_server: Provider) -> Provider:
    provider_server.reset()
    return provider_server


def oidc_settings(settings: Settings, issuer: str, **more: object) -> Settings:
    changes: dict[str, object] = {
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": SecretStr(CLIENT_SECRET),
        "oidc_allowed_domains": DOMAIN,
        "oidc_create_users": False,
    }
    changes.update(more)
    # model_copy does not validate: the values are given as validated settings hold them.
    return settings.model_copy(update=changes)


@pytest.fixture
def configure(app: PostbackApp, provider: Provider) -> Iterator[Callable[..., None]]:
    """Turn Google sign-in on for this test (the app's settings, and a fresh client); the
    app's own settings come back after it."""
    before: Settings = app.state.settings

    def apply(issuer: str | None = None, **more: object) -> None:
        app.state.settings = oidc_settings(before, issuer or provider.issuer, **more)
        app.state.oidc_client = None

    apply()
    yield apply
    app.state.settings = before
    app.state.oidc_client = None


async def google_sign_in(
    client: httpx.AsyncClient, area: str = "dashboard", state: str | None = None
) -> httpx.Response:
    """Press the button, let the provider send the browser back: the callback's answer."""
    started = await client.get(f"/auth/oidc/start?next={area}")
    if started.status_code != 303:
        return started
    async with httpx.AsyncClient() as browser_at_provider:
        authorized = await browser_at_provider.get(started.headers["location"])
    assert authorized.status_code == 302, authorized.text
    back = urlsplit(authorized.headers["location"])
    assert back.path == "/auth/oidc/callback"
    query = parse_qs(back.query)
    if state is not None:
        query["state"] = [state]
    return await client.get("/auth/oidc/callback", params={k: v[0] for k, v in query.items()})


def another(app: PostbackApp) -> httpx.AsyncClient:
    """A second browser."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def me(client: httpx.AsyncClient) -> dict[str, object]:
    answer = await client.get("/api/users/me")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def user_row(db, email: str):
    return await db.fetchrow(
        "SELECT id, role, oidc_issuer, oidc_subject, password_hash FROM app_user "
        "WHERE lower(email) = lower($1)",
        email,
    )


class TestSigningIn:
    async def test_an_analyst_signs_in_and_lands_on_the_dashboard(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "ana@example.com", "analyst")
        answer = await google_sign_in(client)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/dashboard"
        who = await me(client)
        assert (who["kind"], who["role"]) == ("user", "analyst")
        page = await client.get("/dashboard")
        assert 'action="/dashboard/login"' not in page.text
        assert (await client.get("/admin", follow_redirects=False)).status_code == 303

    async def test_an_admin_lands_on_the_admin_pages(self, app, client, db, provider, configure):
        await create_user(app, "boss@example.com", "admin")
        provider.sign_in_as(subject="boss-1", email="boss@example.com")
        answer = await google_sign_in(client, "admin")
        assert (answer.status_code, answer.headers["location"]) == (303, "/admin")
        assert (await client.get("/admin")).status_code == 200
        assert (await me(client))["may_change"] is True

    async def test_the_first_sign_in_links_the_account_by_its_email(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "Ana@Example.com", "analyst")
        assert (await google_sign_in(client)).status_code == 303
        row = await user_row(db, "ana@example.com")
        assert (row["oidc_issuer"], row["oidc_subject"]) == (
            provider.issuer,
            provider.identity.subject,
        )
        linked = await db.fetchrow("SELECT * FROM audit_entry WHERE action = 'user.link_oidc'")
        assert (linked["actor_kind"], linked["actor_label"]) == ("user", "ana@example.com")
        assert linked["target_id"] == str(row["id"])

    async def test_a_linked_account_is_found_by_its_subject_when_the_email_changes(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "ana@example.com", "analyst")
        assert (await google_sign_in(client)).status_code == 303
        provider.sign_in_as(email="ana.lim@example.com")  # renamed in Workspace
        fresh = another(app)
        async with fresh:
            assert (await google_sign_in(fresh)).status_code == 303
            assert (await me(fresh))["user"]["email"] == "ana@example.com"

    async def test_a_partner_user_signs_in_to_its_partner(
        self, app, client, db, provider, configure
    ):
        await create_tenant(app, "acme")
        await create_user(app, "pat@example.com", "partner", partner="acme")
        provider.sign_in_as(email="pat@example.com", subject="pat")
        assert (await google_sign_in(client)).headers["location"] == "/dashboard"
        who = await me(client)
        assert who["role"] == "partner"
        assert who["tenant_id"] is not None

    async def test_a_rotated_signing_key_is_fetched_again(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "ana@example.com", "analyst")
        assert (await google_sign_in(client)).status_code == 303
        fetched = provider.jwks_requests
        provider.rotate_key("k2")
        async with another(app) as other:
            assert (await google_sign_in(other)).status_code == 303
        assert provider.jwks_requests == fetched + 1


class TestCreatingUsers:
    async def test_an_unknown_person_is_refused_by_default(self, client, db, provider, configure):
        answer = await google_sign_in(client)
        assert answer.status_code == 403
        assert "There is no account for this email here" in answer.text
        assert await user_row(db, "ana@example.com") is None
        assert (await client.get("/api/users/me")).status_code == 401

    async def test_with_create_users_an_analyst_is_made_and_audited(
        self, client, db, provider, configure
    ):
        configure(oidc_create_users=True)
        answer = await google_sign_in(client)
        assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard")
        row = await user_row(db, "ana@example.com")
        assert (row["role"], row["oidc_subject"], row["password_hash"]) == (
            "analyst",
            provider.identity.subject,
            None,
        )
        entry = await db.fetchrow("SELECT * FROM audit_entry WHERE action = 'user.create'")
        assert (entry["actor_kind"], entry["actor_label"]) == ("user", "ana@example.com")
        assert entry["after"] is not None
        assert '"analyst"' in entry["after"]
        assert (await me(client))["role"] == "analyst"

    async def test_a_password_sign_in_is_refused_for_a_created_account(
        self, app, client, db, provider, configure
    ):
        from tests.accounts.helpers import sign_in

        configure(oidc_create_users=True)
        assert (await google_sign_in(client)).status_code == 303
        async with another(app) as other:
            assert (await sign_in(other, "ana@example.com", "")).status_code == 401


class TestRefusals:
    async def test_a_domain_not_allowed(self, app, client, db, provider, configure):
        configure(oidc_create_users=True)
        provider.sign_in_as(email="eve@elsewhere.org")
        answer = await google_sign_in(client)
        assert answer.status_code == 403
        assert "Accounts of this email domain may not sign in here" in answer.text
        assert await user_row(db, "eve@elsewhere.org") is None

    async def test_the_workspace_domain_claim_allows_an_alias_domain(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "ana@example.net", "analyst")
        provider.sign_in_as(email="ana@example.net", hd=DOMAIN)
        assert (await google_sign_in(client)).status_code == 303

    async def test_an_unverified_email(self, app, client, db, provider, configure):
        await create_user(app, "ana@example.com", "analyst")
        provider.sign_in_as(email_verified=False)
        answer = await google_sign_in(client)
        assert answer.status_code == 403
        assert "has not verified" in answer.text
        assert (await user_row(db, "ana@example.com"))["oidc_subject"] is None

    async def test_a_disabled_user(self, app, client, db, provider, configure, admin_headers):
        user_id = await create_user(app, "ana@example.com", "analyst")
        assert (await google_sign_in(client)).status_code == 303  # linked
        changed = await client.patch(
            f"/api/users/{user_id}", json={"disabled": True}, headers=admin_headers
        )
        assert changed.status_code == 200
        async with another(app) as other:
            answer = await google_sign_in(other)
            assert answer.status_code == 403
            assert "This account (or its partner) is disabled." in answer.text
            assert (await other.get("/api/users/me")).status_code == 401

    async def test_a_disabled_user_is_not_linked(
        self, app, client, db, provider, configure, admin_headers
    ):
        user_id = await create_user(app, "ana@example.com", "analyst")
        await client.patch(f"/api/users/{user_id}", json={"disabled": True}, headers=admin_headers)
        assert (await google_sign_in(client)).status_code == 403
        assert (await user_row(db, "ana@example.com"))["oidc_subject"] is None

    async def test_an_email_linked_to_another_google_account(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "ana@example.com", "analyst")
        assert (await google_sign_in(client)).status_code == 303
        provider.sign_in_as(subject="someone-else")
        async with another(app) as other:
            answer = await google_sign_in(other)
        assert answer.status_code == 403
        assert "linked to another Google account" in answer.text

    async def test_a_wrong_state(self, app, client, db, provider, configure):
        await create_user(app, "ana@example.com", "analyst")
        exchanged = provider.token_requests
        answer = await google_sign_in(client, state="not-the-state-we-sent")
        assert answer.status_code == 400
        assert "was not started here or has expired" in answer.text
        assert provider.token_requests == exchanged  # the code was never redeemed
        assert (await client.get("/api/users/me")).status_code == 401

    async def test_a_callback_without_the_browser_cookie(
        self, app, client, db, provider, configure
    ):
        answer = await client.get("/auth/oidc/callback", params={"code": "x", "state": "y"})
        assert answer.status_code == 400
        assert "was not started here" in answer.text

    @pytest.mark.parametrize(
        "mischief",
        [
            Mischief(tamper=True),
            Mischief(foreign_key=True),
            Mischief(nonce="a-nonce-of-another-sign-in"),
            Mischief(audience="another-client.apps.example"),
            Mischief(also_for="another-client.apps.example"),
            Mischief(azp="another-client.apps.example"),
        ],
        ids=[
            "tampered signature",
            "unknown key",
            "nonce mismatch",
            "wrong audience",
            "several audiences, no authorized party",
            "authorized for another party",
        ],
    )
    async def test_an_id_token_that_does_not_hold(
        self, app, client, db, provider, configure, mischief
    ):
        await create_user(app, "ana@example.com", "analyst")
        provider.mischief = mischief
        answer = await google_sign_in(client)
        assert answer.status_code == 400
        assert "could not be verified" in answer.text
        assert (await client.get("/api/users/me")).status_code == 401
        assert (await user_row(db, "ana@example.com"))["oidc_subject"] is None

    async def test_several_audiences_with_the_client_as_authorized_party(
        self, app, client, db, provider, configure
    ):
        await create_user(app, "ana@example.com", "analyst")
        provider.mischief = Mischief(also_for="another-client.apps.example", azp=CLIENT_ID)
        answer = await google_sign_in(client)
        assert answer.status_code == 303, answer.text
        assert (await client.get("/api/users/me")).status_code == 200

    async def test_the_provider_down(self, app, client, db, configure):
        configure(issuer=f"http://127.0.0.1:{_free_port()}")  # nothing listens there
        answer = await google_sign_in(client, "admin")
        assert answer.status_code == 502
        assert "could not be reached" in answer.text
        assert 'action="/admin/login"' in answer.text

    async def test_the_provider_down_in_chinese(self, app, client, db, configure):
        configure(issuer=f"http://127.0.0.1:{_free_port()}")
        answer = await client.get("/auth/oidc/start?next=dashboard&lang=zh")
        assert answer.status_code == 502
        assert "无法连接 Google" in answer.text


class TestSetUp:
    async def test_the_button_shows_on_both_sign_in_forms_when_configured(
        self, client, db, configure
    ):
        admin = await client.get("/admin/login")
        dashboard = await client.get("/dashboard")
        assert 'href="/auth/oidc/start?next=admin"' in admin.text
        assert 'href="/auth/oidc/start?next=dashboard"' in dashboard.text
        assert "Sign in with Google" in dashboard.text
        assert "使用 Google 账号登录" in (await client.get("/dashboard?lang=zh")).text

    async def test_no_button_and_no_routes_when_not_configured(self, client, db):
        assert "/auth/oidc/start" not in (await client.get("/admin/login")).text
        assert "/auth/oidc/start" not in (await client.get("/dashboard")).text
        assert (await client.get("/auth/oidc/start")).status_code == 404

    async def test_an_unknown_area_is_refused(self, client, db, configure):
        answer = await client.get("/auth/oidc/start?next=elsewhere")
        assert answer.status_code == 422
        assert "next" in answer.text

    async def test_the_start_sends_pkce_state_and_nonce(self, client, db, provider, configure):
        started = await client.get("/auth/oidc/start?next=dashboard")
        query = parse_qs(urlsplit(started.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["state"][0]) >= 32
        assert len(query["nonce"][0]) >= 32
        assert query["redirect_uri"] == ["http://testserver/auth/oidc/callback"]
        assert query["hd"] == [DOMAIN]
        assert "postback_oidc" in started.headers["set-cookie"]

    def test_the_issuer_needs_the_allowed_domains(self):
        with pytest.raises(ValidationError, match="POSTBACK_OIDC_ALLOWED_DOMAINS"):
            Settings(
                POSTBACK_OIDC_ISSUER="https://accounts.google.com",
                POSTBACK_OIDC_CLIENT_ID=CLIENT_ID,
                POSTBACK_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            )  # type: ignore[call-arg]

    def test_a_domain_must_look_like_one(self):
        with pytest.raises(ValidationError, match="not an email domain"):
            Settings(POSTBACK_OIDC_ALLOWED_DOMAINS="example.com, not a domain")  # type: ignore[call-arg]


class TestInABrowser:
    async def test_the_button_signs_an_analyst_in_through_the_provider(
        self, app, browser, live_server, db, provider, configure
    ):
        """Headless Chromium, in Chinese: the button on the dashboard's sign-in form, the
        provider's redirect back, and the dashboard signed in."""
        await create_user(app, "ana@example.com", "analyst")
        t = Translator("zh", DASHBOARD_LABELS)
        context = await browser.new_context(locale="zh-CN")
        try:
            page = await context.new_page()
            await page.goto(live_server + "/dashboard")
            await page.click(f"a:has-text('{t('sign_in_with_google')}')")
            await page.wait_for_url(live_server + "/dashboard")
            assert await page.locator("#email").count() == 0  # no sign-in form: signed in
            cookies = {c["name"] for c in await context.cookies()}
            assert "postback_session" in cookies
            assert "postback_oidc" not in cookies  # the flow's cookie is gone
        finally:
            await context.close()
