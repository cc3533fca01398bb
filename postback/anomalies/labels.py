"""The admin alerts page's and the alert channels page's labels in English and Chinese, on
top of the admin pages' own (the mechanism: postback/web/labels.py)."""

from __future__ import annotations

from postback.admin.labels import LABELS as ADMIN_LABELS

KIND_LABELS: dict[str, tuple[str, str]] = {
    "kind.silence": ("Postbacks stopped", "回传中断"),
    "kind.volume_spike": ("Volume spike", "转化激增"),
    "kind.volume_drop": ("Volume drop", "转化骤降"),
    "kind.rejection_surge": ("Rejection surge", "拒收率激增"),
    "kind.duplicate_surge": ("Duplicate surge", "重复率激增"),
    "kind.payout_ratio": ("Payout ratio off", "佣金比例异常"),
    "kind.order_repeat": ("Repeated order id", "订单号重复"),
    "kind.future_time": ("Times in the future", "转化时间在未来"),
    "kind.stale_time": ("Times far in the past", "转化时间过旧"),
}

ALERT_LABELS: dict[str, tuple[str, str]] = {
    "alerts_help": (
        "What the anomaly scans found, newest first, unresolved before resolved. Acknowledge"
        " an alert when someone is looking at it; resolve it when it is over (the scan also"
        " resolves it by itself when its finding stops).",
        '异常扫描发现的问题，最新的在前，未解决的排在已解决之前。有人处理时请点"确认"，'
        '问题结束后点"解决"（发现的问题消失后，扫描也会自动将其解决）。',
    ),
    "alerts_times": (
        "Times are in each partner's reporting timezone.",
        "时间按各合作伙伴的报表时区显示。",
    ),
    "state": ("State", "状态"),
    "kind": ("Kind", "类型"),
    "severity": ("Severity", "级别"),
    "any": ("Any", "全部"),
    "filter": ("Filter", "筛选"),
    "partner": ("Partner", "合作伙伴"),
    "offer": ("Offer", "推广活动"),
    "started": ("Started", "开始时间"),
    "last_seen": ("Last found", "最近发现"),
    "message": ("What was found", "发现的问题"),
    "observed_expected": ("Observed / usual", "实际 / 平时"),
    "actions": ("Actions", "操作"),
    "acknowledge": ("Acknowledge", "确认"),
    "resolve": ("Resolve", "解决"),
    "no_alerts_found": ("No alerts match.", "没有符合条件的告警。"),
    "state.open": ("Open", "未处理"),
    "state.acknowledged": ("Acknowledged", "已确认"),
    "state.resolved": ("Resolved", "已解决"),
    "severity.warning": ("Warning", "警告"),
    "severity.critical": ("Critical", "严重"),
    "notice_acknowledged": ("Alert #{id} acknowledged.", "告警 #{id} 已确认。"),
    "notice_resolved": ("Alert #{id} resolved.", "告警 #{id} 已解决。"),
    "notice_already": ("Alert #{id} is {state} already.", "告警 #{id} 已是{state}状态。"),
    "resolved_by": ("resolved by {who}", "由 {who} 解决"),
    "alert_channels_link": ("Where alerts are sent", "告警发送渠道"),
    # The channels page.
    "alert_channels_help": (
        "A new alert, and one that turns critical, is sent to every enabled channel that takes"
        " it, retried until its receiver accepts it. Webhook URLs are shown with their token"
        " hidden.",
        "新告警以及升级为严重的告警会发送到所有符合条件的已启用渠道，失败会自动重试直到接收方"
        "接受。Webhook 地址中的令牌会被隐藏。",
    ),
    "no_channels": ("No alert channels yet.", "暂无告警渠道。"),
    "add_channel": ("Add a channel", "添加渠道"),
    "channel_name": ("Name", "名称"),
    "channel_kind": ("Kind", "类型"),
    "channel_url": ("Webhook URL", "Webhook 地址"),
    "channel_url_help": (
        "The incoming webhook's URL from Slack, Lark, DingTalk or WeCom, or your own JSON"
        " receiver's (not for email).",
        "Slack、飞书、钉钉或企业微信机器人的 Webhook 地址，"
        "或你自己的 JSON 接收地址（邮件渠道不填）。",
    ),
    "channel_secret": ("Signing secret", "加签密钥"),
    "channel_secret_help": (
        "DingTalk only: the robot's signing secret (SEC…), if it has one.",
        "仅钉钉：机器人的加签密钥（SEC 开头），如已开启加签。",
    ),
    "channel_recipients": ("Recipients", "收件人"),
    "channel_recipients_help": (
        "Email only: addresses, comma-separated.",
        "仅邮件：邮箱地址，以逗号分隔。",
    ),
    "channel_partner": ("Partner", "合作伙伴"),
    "every_partner": ("Every partner", "全部合作伙伴"),
    "min_severity": ("Least severity", "最低级别"),
    "language": ("Language", "语言"),
    "lang.en": ("English", "英文"),
    "lang.zh": ("Chinese", "中文"),
    "enabled": ("Enabled", "启用"),
    "channel_kind.slack": ("Slack", "Slack"),
    "channel_kind.lark": ("Lark / Feishu", "飞书"),
    "channel_kind.dingtalk": ("DingTalk", "钉钉"),
    "channel_kind.wecom": ("WeCom", "企业微信"),
    "channel_kind.webhook": ("JSON webhook", "通用 JSON Webhook"),
    "channel_kind.email": ("Email (SMTP)", "邮件（SMTP）"),
    "target": ("Sends to", "发送到"),
    "secret_set": ("signed", "已加签"),
    "notifications": ("Notifications", "通知"),
    "state_pending": ("pending", "待发送"),
    "state_delivered": ("delivered", "已送达"),
    "state_dead": ("failed", "失败"),
    "last_error": ("Last error", "最近错误"),
    "send_test": ("Send test", "发送测试"),
    "test_ok": ("The test message was accepted.", "测试消息已被接收。"),
    "test_failed": ("The test message was not accepted.", "测试消息未被接收。"),
    "status_code": ("Answer code", "响应码"),
    "latency": ("Time", "耗时"),
    "latency_ms": ("{ms} ms", "{ms} 毫秒"),
    "error": ("Error", "错误"),
    "answer": ("Receiver's answer", "接收方响应"),
    "pause": ("Pause", "暂停"),
    "resume": ("Resume", "恢复"),
    "delete": ("Delete", "删除"),
    "delete_confirm": ("Delete this channel?", "确定删除该渠道？"),
    "active": ("active", "启用中"),
    "paused": ("paused", "已暂停"),
    "notice_channel_added": ("Channel added.", "渠道已添加。"),
    "notice_channel_paused": ("Channel paused.", "渠道已暂停。"),
    "notice_channel_resumed": ("Channel resumed.", "渠道已恢复。"),
    "notice_channel_deleted": ("Channel deleted.", "渠道已删除。"),
    "fix_fields_below": ("Please correct the fields below.", "请更正下面的字段。"),
    "error_url_needed": (
        "This kind of channel needs its webhook URL.",
        "该类型的渠道需要填写 Webhook 地址。",
    ),
    "error_url_not_taken": ("An email channel takes no URL.", "邮件渠道不需要填写地址。"),
    "error_recipients_needed": ("An email channel needs recipients.", "邮件渠道需要填写收件人。"),
    "error_recipients_not_taken": (
        "Only an email channel takes recipients.",
        "只有邮件渠道需要填写收件人。",
    ),
    "error_secret_not_taken": (
        "Only a DingTalk channel takes a signing secret.",
        "只有钉钉渠道可以填写加签密钥。",
    ),
    "error_target_private": (
        "{host} resolves to {addresses}, an address of this network: refused"
        " (POSTBACK_FORWARD_ALLOW_PRIVATE allows it).",
        "{host} 解析到 {addresses}，属于内部网络地址，已拒绝（可通过"
        " POSTBACK_FORWARD_ALLOW_PRIVATE 允许）。",
    ),
}

LABELS = ADMIN_LABELS | KIND_LABELS | ALERT_LABELS
