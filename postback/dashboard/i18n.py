"""Every label of the dashboard in English and Chinese (the language is picked as in the
admin pages: ?lang=, then the remembered choice, then the browser's Accept-Language)."""

from __future__ import annotations

from postback.admin import i18n
from postback.admin.i18n import Language

# key: (English, Chinese)
LABELS: dict[str, tuple[str, str]] = {
    "dashboard": ("Dashboard", "数据看板"),
    "language": ("Language", "语言"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "sign_in_title": ("Sign in to the dashboard", "登录数据看板"),
    "api_key": ("Partner API key", "合作伙伴 API 密钥"),
    "api_key_help": (
        "Partners sign in with their API key and see only their own data.",
        "合作伙伴使用自己的 API 密钥登录，只能看到自己的数据。",
    ),
    "admin_hint": (
        "Agency staff: sign in to the admin first, then open the dashboard.",
        "代理商员工：请先登录管理后台，再打开数据看板。",
    ),
    "admin_sign_in": ("Admin sign-in", "管理后台登录"),
    "wrong_key": ("This API key is not valid.", "API 密钥无效。"),
    "partner_disabled": ("This partner is disabled.", "该合作伙伴已停用。"),
    "too_many_attempts": (
        "Too many failed sign-ins from your address. Try again in {seconds} seconds.",
        "登录失败次数过多，请在 {seconds} 秒后重试。",
    ),
    "csrf_failed": (
        "This form has expired or did not come from this site. Open the page again and retry.",
        "表单已过期或并非来自本站，请重新打开页面后重试。",
    ),
    "admin": ("Admin", "管理后台"),
    "range": ("Range", "时间范围"),
    "today": ("Today", "今天"),
    "yesterday": ("Yesterday", "昨天"),
    "last_7_days": ("Last 7 days", "最近 7 天"),
    "last_30_days": ("Last 30 days", "最近 30 天"),
    "custom": ("Custom", "自定义"),
    "from": ("From", "开始日期"),
    "to": ("To", "结束日期"),
    "apply": ("Apply", "应用"),
    "partner": ("Partner", "合作伙伴"),
    "all_partners": ("All partners", "全部合作伙伴"),
    "times_in": ("Times in {zone}.", "时间按 {zone} 显示。"),
    "vs_previous": ("vs previous period", "较上一周期"),
    "conversions": ("Conversions", "转化数"),
    "sales_usd": ("Sales (USD)", "销售额（美元）"),
    "sales_myr": ("Sales (MYR)", "销售额（马币）"),
    "sales_local": ("Sales (local currency)", "销售额（当地货币）"),
    "payouts_usd": ("Payouts (USD)", "佣金（美元）"),
    "payouts_myr": ("Payouts (MYR)", "佣金（马币）"),
    "average_order_usd": ("Average order (USD)", "平均订单金额（美元）"),
    "approval_rate": ("Approval rate", "批准率"),
    "duplicate_rate": ("Duplicate rate", "重复率"),
    "rejections": ("Rejections", "拒绝数"),
    "duplicates": ("Duplicates", "重复数"),
    "over_time": ("Conversions and payouts over time", "转化与佣金趋势"),
    "by_status": ("By status", "按状态"),
    "by_currency": ("By currency", "按币种"),
    "top_offers": ("Top offers", "热门推广活动"),
    "partners": ("Partners", "合作伙伴"),
    "live_feed": ("Live feed", "实时回传"),
    "live": ("live", "实时"),
    "offline": ("reconnecting…", "重新连接中…"),
    "status": ("Status", "状态"),
    "currency": ("Currency", "币种"),
    "offer_id": ("Offer ID", "推广活动 ID"),
    "offer": ("Offer", "推广活动"),
    "slug": ("Slug", "标识"),
    "name": ("Name", "名称"),
    "bucket": ("Time", "时间"),
    "hour": ("Hour", "小时"),
    "day": ("Day", "日期"),
    "received_at": ("Received", "接收时间"),
    "occurred_at": ("Conversion time", "转化时间"),
    "conversion_id": ("Conversion ID", "转化 ID"),
    "sale_usd": ("Sale (USD)", "销售额（美元）"),
    "payout_usd": ("Payout (USD)", "佣金（美元）"),
    "duplicate": ("Duplicate", "重复"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "metric": ("Metric", "指标"),
    "value": ("Value", "数值"),
    "previous": ("Previous period", "上一周期"),
    "change": ("Change", "变化"),
    "none": ("(none)", "（无）"),
    "no_data": ("No conversions in this range.", "该时间范围内没有转化。"),
    "waiting": ("Waiting for postbacks…", "等待回传…"),
    "download": ("Download", "下载"),
    "csv": ("CSV", "CSV"),
    "excel": ("Excel", "Excel"),
    "kpis": ("Key figures", "关键指标"),
    "series": ("Over time", "趋势"),
    "loading": ("Loading…", "加载中…"),
    "load_failed": ("Could not load the data: {message}", "数据加载失败：{message}"),
    "pending": ("pending", "待定"),
    "approved": ("approved", "已批准"),
    "rejected": ("rejected", "已拒绝"),
    "paid": ("paid", "已支付"),
    "other": ("other", "其他"),
    "unknown": ("unknown", "未知"),
}


class Translator(i18n.Translator):
    """`t("conversions")` in one language."""

    def __init__(self, language: Language) -> None:
        super().__init__(language, LABELS)

    def all(self) -> dict[str, str]:
        return self.some(LABELS)
