"""Every label of the admin pages in English and Chinese (the mechanism and the labels all
areas share: postback/web/labels.py)."""

from __future__ import annotations

from postback.accounts.labels import USER_LABELS
from postback.conversions.labels import LABELS as CONVERSION_LABELS
from postback.web.labels import COMMON

# The forwarding pages (postback/forwarding/pages.py), key: (English, Chinese).
FORWARDING_LABELS: dict[str, tuple[str, str]] = {
    "forwards": ("Forwards", "转发"),
    "forwards_help": (
        "A forward sends this partner's conversions on to a URL of its own tracker (an outgoing"
        " postback), retried until its receiver answers 2xx; every attempt is in the delivery"
        " log.",
        "转发会把该合作伙伴的转化推送到其追踪系统的地址（向外回传），失败会自动重试直到接收端"
        "返回 2xx；每次尝试都记录在投递日志中。",
    ),
    "no_forwards": ("No forwards yet.", "暂无转发。"),
    "add_forward": ("Add a forward", "添加转发"),
    "edit_forward": ("Edit forward #{id}", "编辑转发 #{id}"),
    "forward_n": ("Forward #{id}", "转发 #{id}"),
    "forward_url": ("URL", "地址"),
    "forward_url_help": (
        "Where to send. The {macros} macros in it are filled with the conversion's values,"
        " URL-encoded.",
        "推送的目标地址，其中的 {macros} 宏会填入转化的数据（URL 编码）。",
    ),
    "forward_url_masked": (
        "Values of secret-looking parameters are shown as ***. Leave the URL as it is to keep"
        " it; to change it, type it in full.",
        "疑似密钥的参数值显示为 ***。保持不变即沿用原地址；如需修改，请完整填写新地址。",
    ),
    "forward_method_help": (
        "GET fills the macros into the URL; POST also sends the values as JSON.",
        "GET 仅将宏填入地址；POST 还会以 JSON 发送这些值。",
    ),
    "events": ("Events", "触发事件"),
    "event_created": ("Created", "新建"),
    "event_status_changed": ("Status changed", "状态变更"),
    "event_created_help": ("when a new conversion arrives", "收到新转化时"),
    "event_status_changed_help": ("when a conversion's status changes", "转化状态变化时"),
    "only_statuses": ("Only these statuses", "仅限这些状态"),
    "only_statuses_help": (
        "Comma-separated, such as approved, rejected; empty: every status.",
        "以逗号分隔，例如 approved, rejected；留空表示全部状态。",
    ),
    "only_offers": ("Only these offers", "仅限这些推广活动"),
    "only_offers_help": (
        "Offer IDs, comma-separated; empty: every offer.",
        "推广活动 ID，以逗号分隔；留空表示全部推广活动。",
    ),
    "every_status": ("every status", "全部状态"),
    "every_offer": ("every offer", "全部推广活动"),
    "payout_percent": ("Payout share (%)", "佣金分成（%）"),
    "payout_percent_help": (
        "The partner's share, 0 to 100, applied to the payout macros; empty: all of it.",
        "合作伙伴的分成比例（0 到 100），用于佣金类宏；留空表示全额。",
    ),
    "full_payout": ("all of it", "全额"),
    "signing": ("Signing", "签名"),
    "signing_label": (
        "Sign the POST body (Standard Webhooks)",
        "对 POST 请求体签名（Standard Webhooks）",
    ),
    "signing_help": (
        "Needs method POST. The secret is shown once, right after it is made.",
        "需使用 POST 方式。签名密钥只在生成后显示一次。",
    ),
    "signing_secret": ("Signing secret", "签名密钥"),
    "signed": ("Signed", "已签名"),
    "forward_enabled": ("Send", "启用"),
    "forward_enabled_label": ("Enabled (unchecked: paused)", "启用（不勾选即暂停）"),
    "active": ("Active", "运行中"),
    "paused": ("Paused", "已暂停"),
    "failing": (
        "Failing: the last {count} deliveries died",
        "投递连续失败：最近 {count} 次投递均已失败",
    ),
    "failing_help": (
        "It is not disabled and keeps sending. Look at the delivery log, fix the receiver, then"
        " re-send the dead ones.",
        "该转发没有被停用，仍在继续发送。请查看投递日志、修复接收端，然后重发失败的投递。",
    ),
    "deliveries": ("Deliveries", "投递"),
    "state_pending": ("Pending", "等待中"),
    "state_delivered": ("Delivered", "已送达"),
    "state_dead": ("Dead", "已失败"),
    "edit": ("Edit", "编辑"),
    "pause": ("Pause", "暂停"),
    "resume": ("Resume", "恢复"),
    "pause_confirm": (
        "Pause this forward? Conversions that arrive while it is paused are not forwarded;"
        " deliveries already waiting are sent when it resumes.",
        "确定暂停该转发？暂停期间收到的转化不会被转发；已在等待的投递会在恢复后发送。",
    ),
    "delete": ("Delete", "删除"),
    "delete_confirm": (
        "Delete this forward, with its delivery log and anything still waiting?",
        "确定删除该转发及其投递日志和所有等待中的投递？",
    ),
    "rotate_signing": ("Rotate signing secret", "轮换签名密钥"),
    "rotate_signing_confirm": (
        "Replace the signing secret? The old one stops working at once.",
        "确定轮换签名密钥？旧密钥将立即失效。",
    ),
    "send_test": ("Send test", "发送测试"),
    "test_help": (
        "Sends a sample conversion (TEST-0001) now; nothing is kept.",
        "立即发送一条示例转化（TEST-0001），不会保存任何记录。",
    ),
    "test_ok": ("Test sent: the receiver accepted it.", "测试已发送：接收端已接受。"),
    "test_failed": ("Test sent: the receiver did not accept it.", "测试已发送：接收端未接受。"),
    "resend_dead": ("Re-send all dead ({count})", "重发全部失败投递（{count}）"),
    "resend": ("Re-send", "重发"),
    "delivery_log": ("Delivery log", "投递日志"),
    "status_code": ("Status code", "状态码"),
    "latency": ("Latency", "耗时"),
    "latency_ms": ("{ms} ms", "{ms} 毫秒"),
    "error": ("Error", "错误"),
    "answer": ("Answer (first bytes)", "响应内容（开头部分）"),
    "answer_cut": ("(cut)", "（已截断）"),
    "notice_forward_added": ("Forward added.", "转发已添加。"),
    "notice_forward_saved": ("Forward saved.", "转发已保存。"),
    "notice_forward_paused": ("Forward paused.", "转发已暂停。"),
    "notice_forward_resumed": ("Forward resumed.", "转发已恢复。"),
    "notice_forward_deleted": ("Forward deleted.", "转发已删除。"),
    "notice_secret_rotated": ("Signing secret rotated.", "签名密钥已轮换。"),
    "notice_requeued": ("{count} dead deliveries queued again.", "已重新排队 {count} 条失败投递。"),
    "macros": ("Macros", "可用宏"),
    "macros_help": (
        "Click a macro to select it, then copy it (Ctrl+C) into the URL. The payout macros are"
        " after the partner's share.",
        "点击宏即可选中，复制（Ctrl+C）后粘贴到地址中。佣金类宏按分成比例计算。",
    ),
    "macros_conversion": ("Conversion", "转化"),
    "macros_money": ("Money", "金额"),
    "macros_times": ("Times", "时间"),
    "macros_subs": ("Sub IDs", "子 ID"),
    "macros_delivery": ("Delivery", "投递"),
    "error_unknown_macro": (
        "Unknown macro {names}: choose from the macros listed below.",
        "未知的宏 {names}：请从下方列出的宏中选择。",
    ),
    "error_target_private": (
        "Host {host} resolves to {addresses}, a loopback, private, link-local or reserved"
        " address: forwards may not send there (POSTBACK_FORWARD_ALLOW_PRIVATE=true allows it).",
        "主机 {host} 解析为 {addresses}，属于回环、私有、链路本地或保留地址，转发不能发送到这里"
        "（设置 POSTBACK_FORWARD_ALLOW_PRIVATE=true 可允许）。",
    ),
    "error_target_scheme": (
        "The URL must start with http:// or https://.",
        "地址必须以 http:// 或 https:// 开头。",
    ),
    "error_target_no_host": ("The URL has no host.", "地址中缺少主机名。"),
    "error_target_invalid": ("This is not a valid URL ({problem}).", "地址无效（{problem}）。"),
    "error_target_unresolved": ("Host {host} does not resolve.", "无法解析主机 {host}。"),
    "error_signing_needs_post": (
        "Signing needs method POST: a GET has no body to sign.",
        "签名需要使用 POST 方式：GET 请求没有可签名的请求体。",
    ),
    "error_not_dead": (
        "Only a dead delivery is re-sent; this one is not dead.",
        "只有失败的投递可以重发，该投递并未失败。",
    ),
    "fix_fields_below": (
        "Please correct the fields marked below.",
        "请更正下方标出的字段。",
    ),
    "error_url_masked": (
        "Type the hidden values (***) again, or leave the URL as it was.",
        "请重新填写被隐藏的值（***），或保持地址不变。",
    ),
    "error_events_required": ("Choose at least one event.", "请至少选择一个触发事件。"),
    "error_percent_range": ("A share from 0 to 100.", "请输入 0 到 100 之间的比例。"),
    "error_percent_number": ("A number, such as 50 or 37.5.", "请输入数字，例如 50 或 37.5。"),
    "error_percent_places": ("At most two decimals.", "最多两位小数。"),
    "error_required": ("Required.", "必填。"),
    "error_too_long": ("At most {max_length} characters.", "最多 {max_length} 个字符。"),
    "every_forward": ("every forward", "全部转发"),
    "every_state": ("every state", "全部状态"),
    "forward": ("Forward", "转发"),
    "event": ("Event", "事件"),
    "delivery_state": ("State", "投递状态"),
    "event_status": ("Status sent", "发送的状态"),
    "attempts": ("Attempts", "尝试次数"),
    "last_status_code": ("Last status code", "最近状态码"),
    "last_error": ("Last error", "最近错误"),
    "queued_at": ("Queued", "排队时间"),
    "last_attempt_at": ("Last attempt", "最近尝试"),
    "next_attempt_at": ("Next attempt", "下次尝试"),
    "delivered_at": ("Delivered at", "送达时间"),
    "filter": ("Filter", "筛选"),
    "clear_filters": ("Clear", "清除"),
    "older": ("Older", "更早"),
    "newest": ("Newest", "最新"),
    "no_deliveries": ("No deliveries.", "暂无投递记录。"),
    "delivery_n": ("Delivery #{id}", "投递 #{id}"),
    "attempt_log": ("Every attempt", "全部尝试记录"),
    "attempt": ("Attempt", "次序"),
    "started_at": ("Time", "时间"),
    "no_attempts": ("No attempt yet.", "尚未尝试。"),
    "show_attempts": ("Attempts ({count})", "尝试记录（{count}）"),
    "details": ("Details", "详情"),
    "newest_first": ("Newest first, {count} a page.", "最新的在前，每页 {count} 条。"),
}

# The labels every admin page starts from: the shared ones and the forwarding pages'.
BASE = COMMON | FORWARDING_LABELS | USER_LABELS

# key: (English, Chinese)
LABELS: dict[str, tuple[str, str]] = BASE | {
    "ask": ("Ask", "提问"),
    "sign_in_title": ("Sign in to the admin", "登录管理后台"),
    "admin_token": ("Admin token", "管理员令牌"),
    "admin_token_help": (
        "The POSTBACK_ADMIN_TOKEN, or the token in data/admin_token.",
        "即 POSTBACK_ADMIN_TOKEN，或 data/admin_token 文件中的令牌。",
    ),
    "not_found": ("Not found.", "未找到。"),
    "back_to_partners": ("Back to partners", "返回合作伙伴列表"),
    "partners": ("Partners", "合作伙伴"),
    "new_partner": ("New partner", "新建合作伙伴"),
    "create_partner": ("Create partner", "创建合作伙伴"),
    "no_partners": ("No partners yet.", "暂无合作伙伴。"),
    "name": ("Name", "名称"),
    "slug": ("Slug", "标识"),
    "slug_help": (
        "1 to 63 lowercase letters, digits and dashes.",
        "1 到 63 个小写字母、数字或短横线。",
    ),
    "state": ("State", "状态"),
    "enabled": ("Enabled", "已启用"),
    "disabled": ("Disabled", "已停用"),
    "default_partner": ("Default", "默认"),
    "enable": ("Enable", "启用"),
    "disable": ("Disable", "停用"),
    "disable_confirm": (
        "Disable this partner? Its postbacks will be refused (and kept as rejections).",
        "确定停用该合作伙伴？其回传将被拒绝（并保存在拒绝记录中）。",
    ),
    "conversions_today": ("Today's conversions", "今日转化"),
    "last_postback": ("Last postback", "最近回传"),
    "never": ("never", "从未"),
    "timezone": ("Timezone", "时区"),
    "timezone_help": (
        "IANA name such as Asia/Jakarta; empty: the reporting timezone ({zone}).",
        "IANA 时区名，如 Asia/Jakarta；留空则使用报表时区（{zone}）。",
    ),
    "retention_days": ("Retention (days)", "保留天数"),
    "retention_help": (
        "Default 7. After these days the detail goes: duplicate postbacks, rejections, finished"
        " forward deliveries, and the raw payload of each conversion. The conversion itself"
        " (its fields and current status) and the dashboard's totals stay for {history} days"
        " (POSTBACK_HISTORY_DAYS), so a late status update still finds it.",
        "默认 7 天。超过该天数后删除明细：重复回传、拒绝记录、已完成的转发投递，"
        "以及每条转化的原始数据。"
        "转化本身（字段和当前状态）及看板汇总保留 {history} 天（POSTBACK_HISTORY_DAYS），"
        "因此迟到的状态更新仍能找到原转化。",
    ),
    "dedup_enabled": ("Flag duplicates", "标记重复转化"),
    "parsing": ("Parsing", "解析选项"),
    "day_first_dates": ("Day-first dates (31/12/2026 23:59)", "日在前的日期（31/12/2026 23:59）"),
    "decimal_comma": ("Decimal comma (1.234,56)", "小数逗号（1.234,56）"),
    "parsing_help": (
        "Only for a sender that cannot change how it writes dates or amounts.",
        "仅用于无法更改日期或金额写法的发送方。",
    ),
    "rate_limit": ("Rate limit (postbacks per minute)", "速率限制（每分钟回传数）"),
    "rate_limit_help": ("Empty: no limit.", "留空表示不限制。"),
    "tokens": ("Tokens", "令牌"),
    "tokens_help": (
        "Tokens tell partners apart. Leave all three empty to get a generated ts_token.",
        "令牌用于区分合作伙伴。三个都留空时将自动生成 ts_token。",
    ),
    "settings": ("Settings", "设置"),
    "save": ("Save", "保存"),
    "saved": ("Saved.", "已保存。"),
    "secrets": ("Secrets", "密钥"),
    "secrets_help": (
        "Stored hashed: a new one is shown once, right after it is made.",
        "密钥以哈希形式保存：新密钥只在生成后显示一次。",
    ),
    "secret_kind": ("Kind", "类型"),
    "is_set": ("Set", "已设置"),
    "not_set": ("Not set", "未设置"),
    "rotate": ("Rotate secret", "轮换密钥"),
    "generate": ("Generate", "生成"),
    "rotate_confirm": (
        "Replace this secret? The old one stops working at once.",
        "确定轮换该密钥？旧密钥将立即失效。",
    ),
    "shown_once": (
        "Copy these now: they are shown only this once.",
        "请立即复制：以下内容只显示这一次。",
    ),
    "created": ("Partner created.", "合作伙伴已创建。"),
    "rotated": ("Secret rotated.", "密钥已轮换。"),
    "postback_url": ("Postback URL", "回传地址"),
    "postback_url_help": (
        "Paste it into Involve Asia, which fills in the {macros} macros.",
        "粘贴到 Involve Asia，由其填入 {macros} 宏。",
    ),
    "postback_url_placeholder": (
        "Replace {placeholder} with the partner's {field}.",
        "请将 {placeholder} 替换为该合作伙伴的 {field}。",
    ),
    "public_url_unset": (
        "POSTBACK_PUBLIC_URL is not set, so this URL uses the address your browser reached"
        " the admin at ({base}). Involve Asia's servers must reach the service: set"
        " POSTBACK_PUBLIC_URL to its public address (e.g. https://postback.example.com) and"
        " restart before giving this URL out.",
        "未设置 POSTBACK_PUBLIC_URL，因此该地址使用的是您访问管理后台的地址（{base}）。"
        "Involve Asia 的服务器必须能访问本服务：请先将 POSTBACK_PUBLIC_URL 设为其公网地址"
        "（如 https://postback.example.com）并重启，再提供此地址。",
    ),
    "copy": ("Copy", "复制"),
    "copy_url": ("Copy postback URL", "复制回传地址"),
    "copied": ("Copied", "已复制"),
    "copy_failed": ("Selected: press Ctrl+C", "已选中，请按 Ctrl+C 复制"),
    "recent_postbacks": ("Recent postbacks", "最近回传记录"),
    "rejections": ("Rejections", "拒绝记录"),
    "audit_log": ("Audit log", "审计日志"),
    "no_postbacks": ("No postbacks yet.", "暂无回传。"),
    "no_rejections": ("No rejections.", "暂无拒绝记录。"),
    "all_rejections": ("All, with replay", "查看全部并重放"),
    "received_at": ("Received", "接收时间"),
    "conversion_id": ("Conversion ID", "转化 ID"),
    "offer": ("Offer", "推广活动"),
    "status": ("Status", "状态"),
    "sale_usd": ("Sale (USD)", "销售额（美元）"),
    "payout_usd": ("Payout (USD)", "佣金（美元）"),
    "duplicate": ("Duplicate", "重复"),
    "duplicate_of": ("duplicate of #{id}", "与 #{id} 重复"),
    "reason": ("Reason", "原因"),
    "errors": ("Problems", "问题"),
    "method": ("Method", "方式"),
    "source_ip": ("Source IP", "来源 IP"),
    "fix_errors": ("Please correct the following:", "请更正以下问题："),
    "times_in": ("Times in {zone}.", "时间按 {zone} 显示。"),
    "showing_latest": ("The latest {count}.", "最近 {count} 条。"),
    "alerts_nav": ("Alerts", "告警"),
    "alert_channels": ("Alert channels", "告警渠道"),
}
# With the parts of the conversion search and conversion pages (postback/conversions).
LABELS = CONVERSION_LABELS | LABELS
