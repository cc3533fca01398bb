"""Users: creating, changing, disabling, passwords and their sessions.

Every change takes `actor`, the principal making it (so it can be audited); the routes and
the CLI check who may call, the functions here check what the change itself allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from postback.accounts import passwords, repository
from postback.accounts.models import Role
from postback.accounts.oidc import VerifiedIdentity
from postback.accounts.repository import UserRow
from postback.accounts.schemas import (
    Me,
    PasswordChange,
    PasswordReset,
    SessionsRevoked,
    UserCreate,
    UserCreated,
    UserOut,
    UserUpdate,
)
from postback.audit import service as audit
from postback.audit.schemas import Target
from postback.auth import Principal
from postback.errors import Conflict, Forbidden, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class Placement:
    """A role and the partner it needs (exactly for the partner role)."""

    role: Role
    tenant_id: int | None


def _out(row: UserRow, live: dict[int, int]) -> UserOut:
    return UserOut(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=Role(row.role),
        partner=row.partner,
        disabled=row.disabled_at is not None,
        created_at=row.created_at,
        last_sign_in_at=row.last_sign_in_at,
        live_sessions=live.get(row.id, 0),
    )


async def list_users(session: AsyncSession) -> list[UserOut]:
    live = await repository.live_session_counts(session)
    return [_out(row, live) for row in await repository.users(session)]


async def get_user(session: AsyncSession, user_id: int) -> UserOut:
    return _out(await _user(session, user_id), await repository.live_session_counts(session))


async def _user(session: AsyncSession, user_id: int) -> UserRow:
    found = await repository.user_by_id(session, user_id)
    if found is None:
        raise NotFound(f"no user {user_id}", "user_id")
    return found


async def _placement(session: AsyncSession, role: Role, partner: str | None) -> Placement:
    if role is not Role.PARTNER:
        if partner is not None:
            raise InvalidInput(f"only a partner user has a partner (role is {role})", "partner")
        return Placement(role, None)
    if partner is None:
        raise InvalidInput("a partner user needs its partner's slug", "partner")
    tenant_id = await repository.tenant_id_of(session, partner)
    if tenant_id is None:
        raise InvalidInput(f"no partner {partner!r}", "partner")
    return Placement(role, tenant_id)


def _target(user: UserOut) -> Target:
    return Target("user", user.id, user.email)


def _snapshot(user: UserOut) -> dict[str, Any]:
    """What the audit log keeps of a user: never a password or its hash."""
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "partner": user.partner,
        "disabled": user.disabled,
    }


async def create_user(session: AsyncSession, actor: Principal, data: UserCreate) -> UserCreated:
    """A new user; with no password given, a generated one (returned this once)."""
    placement = await _placement(session, data.role, data.partner)
    generated = passwords.generate() if data.password is None else None
    password = data.password or generated
    assert password is not None
    values = {
        "email": data.email,
        "display_name": data.display_name or data.email.split("@")[0],
        "role": placement.role.value,
        "tenant_id": placement.tenant_id,
        "password_hash": passwords.hash_password(password),
    }
    user_id = await repository.insert_user(session, values)
    if user_id is None:
        raise Conflict(f"a user with the email {data.email!r} exists", "email")
    out = await get_user(session, user_id)
    after = _snapshot(out) | {"password": audit.REPLACED}
    await audit.record(session, "user.create", _target(out), after=after)
    return UserCreated(**out.model_dump(), password=generated)


async def update_user(
    session: AsyncSession, actor: Principal, user_id: int, data: UserUpdate
) -> UserOut:
    """Changes the fields given; disabling a user ends its sessions."""
    user = await _user(session, user_id)
    before = _snapshot(await get_user(session, user_id))
    given = data.model_fields_set
    values: dict[str, Any] = {}
    if data.display_name is not None:
        values["display_name"] = data.display_name
    if "role" in given or "partner" in given:
        role = data.role or Role(user.role)
        partner = data.partner if "partner" in given else user.partner
        if role is not Role.PARTNER and "partner" not in given:
            partner = None
        placement = await _placement(session, role, partner)
        values |= {"role": placement.role.value, "tenant_id": placement.tenant_id}
    if data.disabled is not None:
        if data.disabled and actor.user_id == user_id:
            raise InvalidInput("you cannot disable your own account", "disabled")
        if data.disabled != (user.disabled_at is not None):
            values["disabled_at"] = func.now() if data.disabled else None
        if data.disabled:
            await repository.revoke_user_sessions(session, user_id)
    if values:
        await repository.update_user(session, user_id, values)
    out = await get_user(session, user_id)
    old, new = audit.changed(before, _snapshot(out))
    if new:
        await audit.record(session, "user.update", _target(out), before=old, after=new)
    return out


async def reset_password(session: AsyncSession, actor: Principal, user_id: int) -> PasswordReset:
    """A generated password (returned this once); the user's sessions end."""
    await _user(session, user_id)
    password = passwords.generate()
    await repository.update_user(
        session, user_id, {"password_hash": passwords.hash_password(password)}
    )
    revoked = await repository.revoke_user_sessions(session, user_id)
    await audit.record(
        session,
        "user.reset_password",
        _target(await get_user(session, user_id)),
        after={"password": audit.REPLACED, "sessions_revoked": revoked},
    )
    return PasswordReset(password=password, sessions_revoked=revoked)


async def revoke_sessions(session: AsyncSession, actor: Principal, user_id: int) -> SessionsRevoked:
    await _user(session, user_id)
    revoked = await repository.revoke_user_sessions(session, user_id)
    await audit.record(
        session,
        "user.revoke_sessions",
        _target(await get_user(session, user_id)),
        after={"sessions_revoked": revoked},
    )
    return SessionsRevoked(sessions_revoked=revoked)


async def me(session: AsyncSession, actor: Principal) -> Me:
    user = await get_user(session, actor.user_id) if actor.user_id is not None else None
    kind = "user" if user else "admin_token" if actor.role is Role.ADMIN else "partner_key"
    return Me(
        kind=kind,
        role=actor.role,
        may_change=actor.may_change,
        sees_every_partner=actor.sees_every_partner,
        tenant_id=actor.tenant_id,
        user=user,
    )


async def change_own_password(
    session: AsyncSession, actor: Principal, data: PasswordChange
) -> SessionsRevoked:
    """The signed-in user's new password; every session of the user ends (sign in again)."""
    if actor.user_id is None:
        raise Forbidden("only a personal account has a password", "authorization")
    user = await _user(session, actor.user_id)
    if passwords.verify(user.password_hash, data.current_password) is None:
        raise InvalidInput("is not your current password", "current_password")
    values = {"password_hash": passwords.hash_password(data.new_password)}
    await repository.update_user(session, actor.user_id, values)
    revoked = await repository.revoke_user_sessions(session, actor.user_id)
    await audit.record(
        session,
        "user.change_password",
        _target(await get_user(session, actor.user_id)),
        after={"password": audit.REPLACED, "sessions_revoked": revoked},
    )
    return SessionsRevoked(sessions_revoked=revoked)


async def id_by_email(session: AsyncSession, email: str) -> int:
    found = await repository.user_by_email(session, email)
    if found is None:
        raise NotFound(f"no user with the email {email!r}", "email")
    return found.id


# --- Sign-in with an OIDC provider -----------------------------------------------------


class OidcRefusal(Enum):
    """Why a person the provider vouches for has no account here (a label key)."""

    NO_SUCH_USER = "oidc_no_such_user"  # no account, and first sign-ins create none
    LINKED_ELSEWHERE = "oidc_linked_elsewhere"  # the email's account is another person's
    DISABLED = "account_disabled"


async def user_for_oidc(
    session: AsyncSession, who: VerifiedIdentity, *, create: bool
) -> int | OidcRefusal:
    """The account of the provider's person: the one linked to its (issuer, subject); else
    the one with its verified email, linked now; else, with `create`, a new analyst (no
    password: it signs in through the provider). Linking and creating are audited as the
    actor on `session`."""
    found = await repository.user_id_by_oidc(session, who.issuer, who.subject)
    if found is not None:
        return found
    user = await repository.user_by_email(session, who.email)
    if user is not None:
        if user.disabled_at is not None:
            return OidcRefusal.DISABLED
        if (await repository.oidc_link(session, user.id)).subject is not None:
            return OidcRefusal.LINKED_ELSEWHERE
        link = {"oidc_issuer": who.issuer, "oidc_subject": who.subject}
        await repository.update_user(session, user.id, link)
        target = _target(await get_user(session, user.id))
        await audit.record(session, "user.link_oidc", target, after={"oidc_issuer": who.issuer})
        return user.id
    if not create:
        return OidcRefusal.NO_SUCH_USER
    values: dict[str, Any] = {
        "email": who.email,
        "display_name": who.name or who.email.split("@")[0],
        "role": Role.ANALYST.value,
        "tenant_id": None,
        "password_hash": None,
        "oidc_issuer": who.issuer,
        "oidc_subject": who.subject,
    }
    user_id = await repository.insert_user(session, values)
    if user_id is None:  # the email was taken in the meantime: that account decides
        return OidcRefusal.LINKED_ELSEWHERE
    out = await get_user(session, user_id)
    after = _snapshot(out) | {"oidc_issuer": who.issuer}
    await audit.record(session, "user.create", _target(out), after=after)
    return user_id
