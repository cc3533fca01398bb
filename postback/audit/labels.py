"""The audit page's labels in English and Chinese, on top of the admin pages' own (the
mechanism: postback/web/labels.py)."""

from __future__ import annotations

from postback.admin.labels import LABELS as ADMIN_LABELS

# What each action is called on the page; the API and the filters use the dotted names.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "action.tenant.create": ("Partner created", "创建合作伙伴"),
    "action.tenant.update": ("Partner changed", "修改合作伙伴"),
    "action.tenant.enable": ("Partner enabled", "启用合作伙伴"),
    "action.tenant.disable": ("Partner disabled", "停用合作伙伴"),
    "action.tenant.rotate_secret": ("Partner secret rotated", "轮换合作伙伴密钥"),
    "action.forward.create": ("Forward added", "添加转发"),
    "action.forward.update": ("Forward changed", "修改转发"),
    "action.forward.delete": ("Forward deleted", "删除转发"),
    "action.forward.rotate_secret": ("Signing secret rotated", "轮换签名密钥"),
    "action.forward.resend": ("Dead deliveries re-sent", "重发失败的投递"),
    "action.delivery.resend": ("Delivery re-sent", "重发投递"),
    "action.rejection.replay": ("Rejection replayed", "重放拒绝记录"),
    "action.rejection.replay_bulk": ("Rejections replayed (bulk)", "批量重放拒绝记录"),
    "action.alert.acknowledge": ("Alert acknowledged", "确认告警"),
    "action.alert.resolve": ("Alert resolved", "解决告警"),
    "action.alert_channel.create": ("Alert channel added", "添加告警渠道"),
    "action.alert_channel.update": ("Alert channel changed", "修改告警渠道"),
    "action.alert_channel.delete": ("Alert channel deleted", "删除告警渠道"),
    "action.user.create": ("User created", "创建用户"),
    "action.user.update": ("User changed", "修改用户"),
    "action.user.reset_password": ("User's password reset", "重置用户密码"),
    "action.user.revoke_sessions": ("User's sessions ended", "结束用户会话"),
    "action.user.change_password": ("Own password changed", "修改自己的密码"),
    "action.user.link_oidc": ("Google account linked", "关联 Google 账号"),
}

ACTOR_KIND_LABELS: dict[str, tuple[str, str]] = {
    "actor_kind.admin_token": ("admin token", "管理员令牌"),
    "actor_kind.api_key": ("partner API key", "合作伙伴 API 密钥"),
    "actor_kind.user": ("user", "用户"),
    "actor_kind.cli": ("command line", "命令行"),
}

# What each recorded field is called on the page (the field's own name shown beside it).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "field.name": ("Name", "名称"),
    "field.slug": ("Slug", "标识"),
    "field.enabled": ("Enabled", "已启用"),
    "field.timezone": ("Reporting timezone", "报表时区"),
    "field.day_first_dates": ("Day-first dates", "日期日在前"),
    "field.decimal_comma": ("Decimal comma", "小数逗号"),
    "field.dedup_enabled": ("Duplicate detection", "重复检测"),
    "field.rate_limit_per_minute": ("Rate limit per minute", "每分钟限额"),
    "field.retention_days": ("Detail kept (days)", "明细保留天数"),
    "field.id": ("ID", "ID"),
    "field.url": ("URL", "URL"),
    "field.method": ("Method", "请求方法"),
    "field.events": ("Events", "事件"),
    "field.statuses": ("Statuses", "状态"),
    "field.offers": ("Offers", "Offer"),
    "field.payout_percent": ("Payout share (%)", "佣金比例（%）"),
    "field.signing": ("Signing", "签名"),
    "field.forward_id": ("Forward", "转发"),
    "field.email": ("Email", "邮箱"),
    "field.display_name": ("Display name", "显示名称"),
    "field.role": ("Role", "角色"),
    "field.partner": ("Partner", "合作伙伴"),
    "field.tenant_id": ("Partner ID", "合作伙伴 ID"),
    "field.tenant": ("Partner", "合作伙伴"),
    "field.disabled": ("Disabled", "已停用"),
    "field.password": ("Password", "密码"),
    "field.password_hash": ("Password", "密码"),
    "field.sessions_revoked": ("Sessions ended", "结束的会话数"),
    "field.oidc_issuer": ("Sign-in provider", "登录服务提供方"),
    "field.replayed": ("Replayed", "已重放"),
    "field.conversion_pk": ("Stored as row", "存储的行 ID"),
    "field.corrected": ("Corrected fields", "更正的字段"),
    "field.filters": ("Filters", "筛选条件"),
    "field.rejection_ids": ("Rejections", "拒绝记录"),
    "field.requeued": ("Deliveries re-queued", "重新排队的投递"),
    "field.state": ("State", "状态"),
}

# key: (English, Chinese)
LABELS: dict[str, tuple[str, str]] = (
    ADMIN_LABELS
    | ACTION_LABELS
    | ACTOR_KIND_LABELS
    | FIELD_LABELS
    | {
        "audit_help": (
            "Every change, newest first: who made it, from where, and each field before and"
            " after. Secrets are never kept, only that they changed (***).",
            "所有变更，按时间倒序：操作人、来源，以及每个字段修改前后的值。密钥从不保存，"
            "只记录其已变更（***）。",
        ),
        "partner": ("Partner", "合作伙伴"),
        "any": ("Any", "全部"),
        "actor": ("Who", "操作人"),
        "actor_help": ("exactly as listed, e.g. admin token", "与列表中一致，例如 admin token"),
        "action": ("Action", "操作"),
        "action_help": ("a name or its start, e.g. forward.", "操作名称或其开头，例如 forward."),
        "target": ("Target", "对象"),
        "target_help": ("kind or kind:id, e.g. forward:12", "类型或 类型:ID，例如 forward:12"),
        "since": ("From", "起始"),
        "until": ("Until", "截止"),
        "filter": ("Filter", "筛选"),
        "when": ("When", "时间"),
        "from_where": ("From", "来源"),
        "changes": ("Changes", "变更内容"),
        "field": ("Field", "字段"),
        "before": ("Before", "修改前"),
        "after": ("After", "修改后"),
        "no_entries": ("No entries match.", "没有符合条件的记录。"),
        "older": ("Older entries", "更早的记录"),
        "newest": ("Newest entries", "最新记录"),
        "empty_value": ("(none)", "（无）"),
        "yes": ("yes", "是"),
        "no": ("no", "否"),
    }
)
