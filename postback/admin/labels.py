"""Every label of the admin pages in English and Chinese (the mechanism and the labels all
areas share: postback/web/labels.py)."""

from __future__ import annotations

from postback.conversions.labels import LABELS as CONVERSION_LABELS
from postback.web.labels import COMMON

# key: (English, Chinese)
LABELS: dict[str, tuple[str, str]] = COMMON | {
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
    "dedup_enabled": ("Flag duplicates", "标记重复转化"),
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
    "no_postbacks": ("No postbacks yet.", "暂无回传。"),
    "no_rejections": ("No rejections.", "暂无拒绝记录。"),
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
}
# With the parts of the conversion search and conversion pages (postback/conversions).
LABELS = CONVERSION_LABELS | LABELS
