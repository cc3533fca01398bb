"""Where alerts go: each channel kind's message format, and sending one message.

Webhook kinds post JSON as each service documents its incoming webhooks:

- Slack: `{"text": …}`
- Lark / Feishu (飞书) custom bot: `{"msg_type": "text", "content": {"text": …}}`
- DingTalk (钉钉) custom robot: `{"msgtype": "text", "text": {"content": …}}`; with a signing
  secret, `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}"))
  are added to the URL's query
- WeCom (企业微信) group robot: `{"msgtype": "text", "text": {"content": …}}`
- generic JSON: the alert object itself (as `GET /api/alerts` shows it), with `event`,
  `channel` and `text` beside it (a scheduled report: its own fields, postback/reports)

They are sent by the forwarding domain's `Sender` (the target checked before every request,
private addresses refused unless POSTBACK_FORWARD_ALLOW_PRIVATE, bounded time and answer).
Lark, DingTalk and WeCom answer HTTP 200 even when they refuse a message, with a non-zero
`code` / `errcode` in the body: that counts as a failure too. Email goes through the SMTP
server of the settings (stdlib `smtplib`, in a thread).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal
from urllib.parse import quote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from postback.forwarding.sender import AttemptResult, Outgoing, Sender

ChannelKind = Literal["slack", "lark", "dingtalk", "wecom", "webhook", "email"]
KINDS: tuple[ChannelKind, ...] = ("slack", "lark", "dingtalk", "wecom", "webhook", "email")
WEBHOOK_KINDS = frozenset(KINDS) - {"email"}
# Kinds whose receiver answers 200 with an error code in the body when it refuses.
CODED_ANSWERS = frozenset({"lark", "dingtalk", "wecom"})

KIND_NAMES = {
    "silence": ("postbacks stopped", "回传中断"),
    "volume_spike": ("volume spike", "转化激增"),
    "volume_drop": ("volume drop", "转化骤降"),
    "rejection_surge": ("rejection surge", "拒收率激增"),
    "duplicate_surge": ("duplicate surge", "重复率激增"),
    "payout_ratio": ("payout ratio off", "佣金比例异常"),
    "order_repeat": ("repeated order id", "订单号重复"),
    "future_time": ("conversion times in the future", "转化时间在未来"),
    "stale_time": ("conversion times far in the past", "转化时间过旧"),
    "test": ("test", "测试"),
}
SEVERITY_NAMES = {"warning": ("warning", "警告"), "critical": ("critical", "严重")}


@dataclass(frozen=True, slots=True)
class Channel:
    """What sending needs of a channel."""

    id: int
    name: str
    kind: str
    url: str | None
    secret: str | None
    recipients: list[str] | None
    language: str


@dataclass(frozen=True, slots=True)
class Notice:
    """One alert as a message tells it (the API's alert object, and the partner's zone)."""

    alert: dict[str, Any]
    event: str  # opened | escalated | test
    tenant_name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Smtp:
    """The SMTP server email channels send through (POSTBACK_SMTP_*)."""

    host: str | None
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str | None
    timeout: float

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(moment: datetime, zone: str) -> str:
    """`moment` as the partner reads it: 2026-12-03 21:00 (Asia/Kuala_Lumpur)."""
    return f"{moment.astimezone(_zone(zone)):%Y-%m-%d %H:%M} ({zone})"


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if language == "zh" else pair[0]


def subject(notice: Notice, language: str) -> str:
    a = notice.alert
    severity = _pick(SEVERITY_NAMES.get(a["severity"], (a["severity"],) * 2), language)
    kind = _pick(KIND_NAMES.get(a["kind"], (a["kind"],) * 2), language)
    if notice.event == "test":
        return (
            "【Postback】测试消息：告警渠道工作正常"
            if language == "zh"
            else "[Postback] Test message: this alert channel works"
        )
    if language == "zh":
        escalated = "升级为" if notice.event == "escalated" else ""
        return f"【Postback】{escalated}{severity}告警：{notice.tenant_name} {kind}"
    escalated = "now " if notice.event == "escalated" else ""
    return f"[Postback] {escalated}{severity}: {notice.tenant_name}, {kind}"


def text(notice: Notice, language: str, link: str | None = None) -> str:
    """The message in the channel's language: a subject line, what was found, when."""
    a = notice.alert
    message = a["message_zh"] if language == "zh" else a["message_en"]
    since = local(a["started_at"], notice.timezone)
    if language == "zh":
        lines = [subject(notice, language), message, f"合作伙伴：{notice.tenant_name}"]
        if a.get("offer_id"):
            lines.append(f"推广活动：{a['offer_id']}")
        lines.append(f"开始时间：{since}")
        if link:
            lines.append(f"查看：{link}")
    else:
        lines = [subject(notice, language), message, f"Partner: {notice.tenant_name}"]
        if a.get("offer_id"):
            lines.append(f"Offer: {a['offer_id']}")
        lines.append(f"Since: {since}")
        if link:
            lines.append(f"See: {link}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Message:
    """What a channel is sent, whatever it tells: a subject (an email's Subject), the text
    (a chat message's body, an email's content), and the JSON object a generic webhook
    receives with `channel` and `text` beside it."""

    subject: str
    text: str
    fields: dict[str, Any]


def alert_message(notice: Notice, language: str, link: str | None = None) -> Message:
    """An alert as a message in `language`."""
    return Message(
        subject(notice, language),
        text(notice, language, link),
        {**notice.alert, "event": notice.event},
    )


def body_of(channel: Channel, message: Message) -> dict[str, Any]:
    """The JSON body a webhook channel posts."""
    if channel.kind == "slack":
        return {"text": message.text}
    if channel.kind == "lark":
        return {"msg_type": "text", "content": {"text": message.text}}
    if channel.kind in ("dingtalk", "wecom"):
        return {"msgtype": "text", "text": {"content": message.text}}
    return {**message.fields, "channel": channel.name, "text": message.text}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64 of HMAC-SHA256 over "timestamp\\nsecret", keyed by the
    secret (URL-encoded when added to the query)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def signed_url(channel: Channel, now_ms: int | None = None) -> str:
    assert channel.url is not None
    if channel.kind != "dingtalk" or not channel.secret:
        return channel.url
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    sign = quote_plus(dingtalk_sign(channel.secret, timestamp))
    separator = "&" if urlsplit(channel.url).query else "?"
    return f"{channel.url}{separator}timestamp={timestamp}&sign={sign}"


def masked_url(url: str | None) -> str | None:
    """A webhook URL as pages and answers show it: its token hidden. Incoming-webhook URLs
    carry their secret in the last path segment (Slack, Lark) or the query (DingTalk's
    access_token, WeCom's key): the query's values are masked, or without a query the last
    segment of the path."""
    if url is None:
        return None
    parts = urlsplit(url)
    path = parts.path
    head, _, last = path.rpartition("/")
    if last and not parts.query:
        path = f"{head}/***"
    query = "&".join(
        f"{pair.partition('=')[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def _refused_in_body(kind: str, excerpt: str | None) -> str | None:
    """The error a Lark, DingTalk or WeCom receiver put in its 200 answer, if any."""
    if kind not in CODED_ANSWERS or not excerpt:
        return None
    try:
        answer = orjson.loads(excerpt)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(answer, dict):
        return None
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode")))
    if code in (None, 0, "0"):
        return None
    said = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return f"the receiver refused the message: code {code} {said}".strip()


class ChannelSender:
    """Sends one message to a channel: webhooks through the forwarding `Sender`, email
    through the SMTP server of the settings. Never raises: the outcome is an AttemptResult
    (an SMTP answer's code stands in the status code: 250 is a success)."""

    def __init__(self, sender: Sender, smtp: Smtp, public_url: str | None = None) -> None:
        self.sender = sender
        self.smtp = smtp
        self.public_url = public_url.rstrip("/") if public_url else None

    @property
    def timeout(self) -> float:
        return max(self.sender.timeout, self.smtp.timeout)

    def link(self, notice: Notice) -> str | None:
        if not self.public_url or notice.event == "test":
            return None
        return f"{self.public_url}/admin/alerts?state=open"

    async def send(self, channel: Channel, notice: Notice, delivery_id: str) -> AttemptResult:
        """An alert to the channel, in the channel's language."""
        message = alert_message(notice, channel.language, self.link(notice))
        return await self.deliver(channel, message, delivery_id)

    async def deliver(self, channel: Channel, message: Message, delivery_id: str) -> AttemptResult:
        """Any message to the channel: posted to its webhook, or mailed to its recipients."""
        if channel.kind == "email":
            return await self._mail(channel, message)
        body = orjson.dumps(body_of(channel, message))
        result = await self.sender.send(
            Outgoing(url=signed_url(channel), method="POST", delivery_id=delivery_id, body=body)
        )
        shown = masked_url(channel.url) or result.url
        refused = _refused_in_body(channel.kind, result.excerpt) if result.ok else None
        return AttemptResult(
            shown,
            result.started_at,
            result.latency_ms,
            result.status_code,
            refused or result.error,
            result.excerpt,
        )

    def message(self, channel: Channel, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.smtp.sender or ""
        mail["To"] = ", ".join(channel.recipients or ())
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain="postback")
        mail.set_content(message.text)
        return mail

    async def _mail(self, channel: Channel, message: Message) -> AttemptResult:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        shown = f"smtp://{self.smtp.host or '-'}:{self.smtp.port}"
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        if not self.smtp.configured:
            error = "no SMTP server is configured (POSTBACK_SMTP_HOST, POSTBACK_SMTP_FROM)"
        else:
            try:
                code, excerpt = await asyncio.to_thread(
                    _smtp_send, self.smtp, self.message(channel, message), channel.recipients or []
                )
                status = code
                if not 200 <= code < 300:
                    error = f"the SMTP server answered {code} {excerpt}"
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = (time.perf_counter() - started) * 1000
        return AttemptResult(shown, started_at, latency, status, error, excerpt)


def _smtp_send(smtp: Smtp, mail: EmailMessage, recipients: list[str]) -> tuple[int, str]:
    """One message through the SMTP server; the server's answer to DATA (code, text)."""
    assert smtp.host is not None
    assert smtp.sender is not None
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
        server.ehlo()
        if smtp.starttls:
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if smtp.user:
            server.login(smtp.user, smtp.password or "")
        code, answer = server.mail(smtp.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, smtp.sender)
        accepted = [r for r in recipients if server.rcpt(r)[0] in (250, 251)]
        if not accepted:
            raise smtplib.SMTPRecipientsRefused({r: (550, b"refused") for r in recipients})
        code, answer = server.data(mail.as_bytes())
        return code, answer.decode("utf-8", "replace")
