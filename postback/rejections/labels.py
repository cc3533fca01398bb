"""The rejections page's labels in English and Chinese, on top of the admin pages' own (the
mechanism: postback/web/labels.py)."""

from __future__ import annotations

from postback.admin.labels import LABELS as ADMIN_LABELS

# key: (English, Chinese)
LABELS: dict[str, tuple[str, str]] = ADMIN_LABELS | {
    "rejections_help": (
        "Every refused postback, whole requests too, newest first. Replay stores one as a "
        "conversion through the normal path, once.",
        "所有被拒绝的回传（包括整个请求被拒绝的），按时间倒序。重放会通过正常流程将其保存为转化，且只保存一次。",
    ),
    "partner": ("Partner", "合作伙伴"),
    "any": ("Any", "全部"),
    "no_partner": ("unknown", "未知"),
    "since": ("From", "起始"),
    "until": ("Until", "截止"),
    "replayed": ("Replayed", "已重放"),
    "not_replayed": ("Not replayed", "未重放"),
    "filter": ("Filter", "筛选"),
    "matching": ("{count} matching.", "共 {count} 条符合条件。"),
    "payload": ("Payload", "原始数据"),
    "truncated": ("truncated: only the start was kept", "已截断：仅保留开头部分"),
    "replay": ("Replay", "重放"),
    "replay_all": ("Replay all matching", "重放全部符合条件的记录"),
    "replay_all_confirm": (
        "Replay every rejection that matches these filters?",
        "确定重放所有符合筛选条件的拒绝记录？",
    ),
    "corrections": (
        "Corrected values (empty: leave the field out)",
        "更正后的值（留空则去掉该字段）",
    ),
    "replayed_as": (
        "Replayed {when} by {by} as conversion #{id}",
        "已于 {when} 由 {by} 重放为转化 #{id}",
    ),
    "replayed_spooled": (
        "Replayed {when} by {by} (waiting in the spool)",
        "已于 {when} 由 {by} 重放（在缓冲中等待写入）",
    ),
    "notice_replayed": ("Replayed as conversion #{id}.", "已重放为转化 #{id}。"),
    "notice_bulk": (
        "Replayed {replayed}; still refused {still_invalid}; already replayed "
        "{already_replayed}; not stored now {unavailable}.",
        "已重放 {replayed} 条；仍被拒绝 {still_invalid} 条；之前已重放 {already_replayed} 条；"
        "暂未保存 {unavailable} 条。",
    ),
    "notice_more": (
        "More match: replay again for the next ones.",
        "还有更多符合条件的记录：请再次重放。",
    ),
    "unavailable": (
        "Storage is busy or away: try again shortly.",
        "存储繁忙或不可用：请稍后重试。",
    ),
    "previous": ("Previous", "上一页"),
    "next": ("Next", "下一页"),
    "page_of": ("Page {page}", "第 {page} 页"),
}
