"""Users at /api/users: an admin manages them; every signed-in user reads itself (/me) and
changes its own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from postback.accounts import service
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
from postback.audit.routes import Audited
from postback.auth import AdminAuth, Auth
from postback.deps import Session

router = APIRouter(prefix="/api/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/me", response_model=Me)
async def me(session: Session, actor: Auth) -> Me:
    """Who this request's credential stands for, and what it may do."""
    return await service.me(session, actor)


@router.post("/me/password", response_model=SessionsRevoked)
async def change_password(data: PasswordChange, session: Audited, actor: Auth) -> SessionsRevoked:
    """Change your own password (a personal account); your sessions end."""
    return await service.change_own_password(session, actor, data)


@router.get("", response_model=list[UserOut])
async def list_users(session: Session, _: AdminAuth) -> list[UserOut]:
    """Every user."""
    return await service.list_users(session)


@router.post("", response_model=UserCreated, status_code=status.HTTP_201_CREATED)
async def create_user(data: UserCreate, session: Audited, actor: AdminAuth) -> UserCreated:
    """Create a user; a generated password is shown this once."""
    return await service.create_user(session, actor, data)


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: UserId, session: Session, _: AdminAuth) -> UserOut:
    """One user."""
    return await service.get_user(session, user_id)


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(
    user_id: UserId, data: UserUpdate, session: Audited, actor: AdminAuth
) -> UserOut:
    """Change a user's name, role, partner, or disable it (its sessions end)."""
    return await service.update_user(session, actor, user_id, data)


@router.post("/{user_id}/reset-password", response_model=PasswordReset)
async def reset_password(user_id: UserId, session: Audited, actor: AdminAuth) -> PasswordReset:
    """A new generated password, shown this once; the user's sessions end."""
    return await service.reset_password(session, actor, user_id)


@router.post("/{user_id}/revoke-sessions", response_model=SessionsRevoked)
async def revoke_sessions(user_id: UserId, session: Audited, actor: AdminAuth) -> SessionsRevoked:
    """End every browser session of the user."""
    return await service.revoke_sessions(session, actor, user_id)
