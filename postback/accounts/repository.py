"""All SQL of accounts: users and browser sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.accounts.models import AppUser, SignInSession
from postback.tenants.models import Tenant

Db = AsyncConnection | AsyncSession


class UserRow(NamedTuple):
    id: int
    email: str
    display_name: str
    role: str
    tenant_id: int | None
    partner: str | None  # the partner's slug
    password_hash: str | None
    disabled_at: datetime | None
    created_at: datetime
    last_sign_in_at: datetime | None


class SessionRow(NamedTuple):
    """A live session (not revoked, not expired, not idle too long) and who it stands for."""

    kind: str
    user_id: int | None
    tenant_id: int | None
    credential: str | None
    stale: bool  # last seen over a minute ago: worth writing the new time
    role: str | None
    user_tenant_id: int | None
    display_name: str | None
    email: str | None
    disabled_at: datetime | None


_USER = select(
    AppUser.id,
    AppUser.email,
    AppUser.display_name,
    AppUser.role,
    AppUser.tenant_id,
    Tenant.slug.label("partner"),
    AppUser.password_hash,
    AppUser.disabled_at,
    AppUser.created_at,
    AppUser.last_sign_in_at,
).outerjoin(Tenant, Tenant.id == AppUser.tenant_id)


async def users(db: Db) -> Sequence[UserRow]:
    rows = (await db.execute(_USER.order_by(func.lower(AppUser.email)))).all()
    return [UserRow._make(row) for row in rows]


async def user_by_id(db: Db, user_id: int) -> UserRow | None:
    row = (await db.execute(_USER.where(AppUser.id == user_id))).first()
    return UserRow._make(row) if row else None


async def user_by_email(db: Db, email: str) -> UserRow | None:
    query = _USER.where(func.lower(AppUser.email) == email.strip().lower())
    row = (await db.execute(query)).first()
    return UserRow._make(row) if row else None


async def insert_user(db: Db, values: dict[str, Any]) -> int | None:
    """The new user's id, or None when the email is taken (in any case)."""
    query = (
        pg_insert(AppUser)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[text("lower(email)")])
        .returning(AppUser.id)
    )
    found: int | None = (await db.execute(query)).scalar()
    return found


async def update_user(db: Db, user_id: int, values: dict[str, Any]) -> None:
    await db.execute(update(AppUser).where(AppUser.id == user_id).values(**values))


async def signed_in(db: Db, user_id: int, new_hash: str | None) -> None:
    """Note the sign-in time (and the password's new hash after a parameter change)."""
    values: dict[str, Any] = {"last_sign_in_at": func.now()}
    if new_hash is not None:
        values["password_hash"] = new_hash
    await update_user(db, user_id, values)


async def tenant_id_of(db: Db, slug: str) -> int | None:
    found: int | None = (await db.execute(select(Tenant.id).where(Tenant.slug == slug))).scalar()
    return found


async def partner_slugs(db: Db) -> Sequence[str]:
    return (await db.execute(select(Tenant.slug).order_by(Tenant.slug))).scalars().all()


async def count_admins(db: Db) -> int:
    query = select(func.count()).where(AppUser.role == "admin", AppUser.disabled_at.is_(None))
    return int((await db.execute(query)).scalar_one())


# --- Sessions -------------------------------------------------------------------------


async def insert_session(db: Db, values: dict[str, Any], hours: float) -> None:
    expires = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, hours * 3600)
    await db.execute(insert(SignInSession).values(**values, expires_at=expires))


async def live_session(db: Db, id_hash: str, idle_minutes: float) -> SessionRow | None:
    idle = func.make_interval(0, 0, 0, 0, 0, 0, idle_minutes * 60)
    query = (
        select(
            SignInSession.kind,
            SignInSession.user_id,
            SignInSession.tenant_id,
            SignInSession.credential,
            (SignInSession.last_seen_at < func.now() - literal_column("interval '60 seconds'")),
            AppUser.role,
            AppUser.tenant_id,
            AppUser.display_name,
            AppUser.email,
            AppUser.disabled_at,
        )
        .outerjoin(AppUser, AppUser.id == SignInSession.user_id)
        .where(
            SignInSession.id_hash == id_hash,
            SignInSession.revoked_at.is_(None),
            SignInSession.expires_at > func.now(),
            SignInSession.last_seen_at > func.now() - idle,
        )
    )
    row = (await db.execute(query)).first()
    return SessionRow._make(row) if row else None


async def touch_session(db: Db, id_hash: str) -> None:
    query = update(SignInSession).where(SignInSession.id_hash == id_hash)
    await db.execute(query.values(last_seen_at=func.now()))


async def revoke_session(db: Db, id_hash: str) -> None:
    query = update(SignInSession).where(
        SignInSession.id_hash == id_hash, SignInSession.revoked_at.is_(None)
    )
    await db.execute(query.values(revoked_at=func.now()))


async def revoke_user_sessions(db: Db, user_id: int) -> int:
    """Revokes every live session of the user; how many there were."""
    query = (
        update(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(SignInSession.id_hash)
    )
    return len((await db.execute(query)).all())


async def live_session_counts(db: Db) -> dict[int, int]:
    query = (
        select(SignInSession.user_id, func.count())
        .where(
            SignInSession.user_id.is_not(None),
            SignInSession.revoked_at.is_(None),
            SignInSession.expires_at > func.now(),
        )
        .group_by(SignInSession.user_id)
    )
    rows = (await db.execute(query)).all()
    return {int(user_id or 0): int(count) for user_id, count in rows}


# --- Sign-in with an OIDC provider -----------------------------------------------------


class OidcLink(NamedTuple):
    """The provider account a user is linked to (both None: not linked)."""

    issuer: str | None
    subject: str | None


async def user_id_by_oidc(db: Db, issuer: str, subject: str) -> int | None:
    query = select(AppUser.id).where(AppUser.oidc_issuer == issuer, AppUser.oidc_subject == subject)
    found: int | None = (await db.execute(query)).scalar()
    return found


async def oidc_link(db: Db, user_id: int) -> OidcLink:
    query = select(AppUser.oidc_issuer, AppUser.oidc_subject).where(AppUser.id == user_id)
    row = (await db.execute(query)).first()
    return OidcLink._make(row) if row else OidcLink(None, None)


async def delete_ended_sessions(db: Db, ended_before: datetime, idle: timedelta) -> int:
    """Removes the sessions that ended (expired, revoked, or unused for `idle`) before
    `ended_before`; how many went."""
    query = (
        delete(SignInSession)
        .where(
            (SignInSession.expires_at < ended_before)
            | (SignInSession.revoked_at < ended_before)
            | (SignInSession.last_seen_at < ended_before - idle)
        )
        .returning(SignInSession.id_hash)
    )
    return len((await db.execute(query)).all())
