"""`/api/alert-channels`: where alerts are sent (admin only: the admin token or an admin user).

A channel's test sends a test message at once and answers with what the receiver said."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from postback.alerting import service
from postback.alerting.channels import ChannelSender, Smtp
from postback.alerting.schemas import (
    ChannelIn,
    ChannelList,
    ChannelOut,
    ChannelTested,
    ChannelUpdate,
    NotificationPage,
)
from postback.audit.routes import Audited
from postback.auth import AdminAuth
from postback.deps import AppSettings, Session
from postback.forwarding.sender import Sender
from postback.settings import Settings

router = APIRouter(prefix="/api/alert-channels", tags=["alerts"])

ChannelId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def smtp_of(settings: Settings) -> Smtp:
    password = settings.smtp_password
    return Smtp(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=password.get_secret_value() if password else None,
        starttls=settings.smtp_starttls,
        sender=settings.smtp_from,
        timeout=settings.smtp_timeout,
    )


def channel_sender(sender: Sender, settings: Settings) -> ChannelSender:
    return ChannelSender(sender, smtp_of(settings), settings.public_url)


@router.get("", response_model=ChannelList)
async def list_channels(session: Session, _: AdminAuth) -> ChannelList:
    """Every alert channel, with its notifications by state."""
    return ChannelList(items=await service.list_channels(session))


@router.post("", response_model=ChannelOut, status_code=status.HTTP_201_CREATED)
async def create_channel(
    data: ChannelIn, session: Audited, _: AdminAuth, settings: AppSettings
) -> ChannelOut:
    """A new channel; a webhook URL must reach a public address (unless
    POSTBACK_FORWARD_ALLOW_PRIVATE)."""
    return await service.create_channel(session, data, allow_private=settings.forward_allow_private)


@router.get("/{channel_id}", response_model=ChannelOut)
async def get_channel(channel_id: ChannelId, session: Session, _: AdminAuth) -> ChannelOut:
    return await service.get_channel(session, channel_id)


@router.patch("/{channel_id}", response_model=ChannelOut)
async def update_channel(
    channel_id: ChannelId,
    data: ChannelUpdate,
    session: Audited,
    _: AdminAuth,
    settings: AppSettings,
) -> ChannelOut:
    """Change the fields sent (the URL as shown, with ***, leaves it as it was)."""
    return await service.update_channel(
        session, channel_id, data, allow_private=settings.forward_allow_private
    )


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_channel(channel_id: ChannelId, session: Audited, _: AdminAuth) -> Response:
    await service.delete_channel(session, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{channel_id}/test", response_model=ChannelTested)
async def send_test_message(
    channel_id: ChannelId, request: Request, session: Session, _: AdminAuth, settings: AppSettings
) -> ChannelTested:
    """Send a test message now; the receiver's answer (nothing is queued or kept)."""
    sender: ChannelSender = request.app.state.channel_sender
    return await service.send_test(session, channel_id, sender, settings.timezone)


@router.get("/{channel_id}/notifications", response_model=NotificationPage)
async def list_notifications(
    channel_id: ChannelId,
    session: Session,
    _: AdminAuth,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NotificationPage:
    """The channel's latest notifications: state, attempts, the last answer or error."""
    return NotificationPage(items=await service.list_notifications(session, channel_id, limit))
