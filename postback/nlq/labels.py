"""Every label of the /ask page in English and Chinese (the mechanism and the labels all
areas share: postback/web/labels.py), its example questions, and the labels its script uses."""

from __future__ import annotations

from postback.web.labels import COMMON, Language

# key: (English, Chinese)
LABELS: dict[str, tuple[str, str]] = COMMON | {
    "title": ("Ask", "提问"),
    "heading": ("Ask about your conversions", "用中文或英文查询转化数据"),
    "sign_in_title": ("Sign in to ask", "登录后提问"),
    "token": ("Admin token or partner API key", "管理员令牌或合作伙伴 API 密钥"),
    "token_help": (
        "A partner's API key shows only that partner's data; the admin token shows all.",
        "使用合作伙伴的 API 密钥只能看到该合作伙伴的数据；管理员令牌可查看全部。",
    ),
    "use_admin_session": (
        "Signed in to the admin? Continue as admin",
        "已登录管理后台？以管理员身份继续",
    ),
    "signed_in_as_admin": ("Admin: all partners", "管理员：全部合作伙伴"),
    "signed_in_as_analyst": ("Analyst {name}: all partners", "分析师 {name}：全部合作伙伴"),
    "signed_in_as_partner": ("Partner: {name}", "合作伙伴：{name}"),
    "question": ("Question", "问题"),
    "placeholder": (
        "e.g. top 5 offers by sales last week · 昨天每个offer的佣金是多少？",
        "例如：昨天每个offer的佣金是多少？ · top 5 offers by sales last week",
    ),
    "ask": ("Ask", "提问"),
    "asking": ("Asking…", "查询中…"),
    "examples": ("Examples", "示例问题"),
    "interpretation": ("How it was understood", "理解为"),
    "result": ("Result", "结果"),
    "chart": ("Chart", "图表"),
    "sql": ("SQL", "SQL"),
    "history": ("Recent questions", "最近的问题"),
    "no_history": ("No questions yet.", "还没有提问。"),
    "clear_history": ("Clear", "清空"),
    "no_rows": ("No rows.", "没有数据。"),
    "rows": ("{count} rows", "{count} 行"),
    "rows_one": ("1 row", "1 行"),
    "elapsed": ("{ms} ms", "{ms} 毫秒"),
    "source_engine": ("offline engine", "离线引擎"),
    "source_llm": ("LLM, checked by the SQL guard", "大模型生成（已通过 SQL 安全检查）"),
    "cannot_answer": ("Cannot answer this question", "无法回答这个问题"),
    "try_these": ("Try one of these:", "可以试试："),
    "error": ("Something went wrong", "出错了"),
    "session_expired": ("Your sign-in has expired. Sign in again.", "登录已过期，请重新登录。"),
    "admin_nav": ("Admin", "管理后台"),
    "thread": ("This conversation", "本次对话"),
    "new_question": ("New question", "新问题"),
    "follow_up_hint": (
        "Ask a follow-up: “by day?”, “only Shopee”, “and last week?”, “in USD instead”.",
        "可以继续追问：“按天呢？”“只看 Shopee”“那上周呢？”“换成美元”。",
    ),
    "other_readings": ("Also possible", "也可以这样理解"),
    "conversation_expired": (
        "The conversation has expired; ask the question again on its own.",
        "对话已过期，请重新提问。",
    ),
}

EXAMPLES: dict[Language, tuple[str, ...]] = {
    "zh": (
        "昨天每个offer的佣金是多少？",
        "上周销售额最高的5个商家",
        "最近30天每天的转化数",
        "本月各商家的审核通过率",
        "今天每小时的订单数",
        "本周和上周的销售额对比",
    ),
    "en": (
        "How many conversions yesterday?",
        "Top 5 offers by sales last week",
        "Payout by day in the last 30 days",
        "Approval rate by offer this month",
        "Conversions by status this week",
        "Sales this week vs last week",
    ),
}

# The labels the page's script needs, handed to it in a data attribute.
SCRIPT_LABELS = (
    "asking",
    "ask",
    "no_rows",
    "rows",
    "rows_one",
    "elapsed",
    "source_engine",
    "source_llm",
    "cannot_answer",
    "try_these",
    "error",
    "session_expired",
    "no_history",
    "conversation_expired",
)
