"""The zh/en label mechanism of the browser pages, and which language a request gets.

`?lang=zh|en` switches (remembered in a cookie for the whole site); otherwise the browser's
Accept-Language decides: Chinese for any `zh*` it prefers over English, English for
everything else. Each area keeps its own labels as data (postback/admin/labels.py,
postback/dashboard/labels.py, postback/nlq/labels.py), built on the shared ones here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from starlette.requests import Request

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT: Language = "en"
LANG_COOKIE = "postback_lang"
LANG_PARAM = "lang"

# key: (English, Chinese)
Labels = Mapping[str, tuple[str, str]]

# The labels every sign-in page and every area's navigation shares.
COMMON: dict[str, tuple[str, str]] = {
    "admin": ("Admin", "管理后台"),
    "dashboard": ("Dashboard", "数据看板"),
    "language": ("Language", "语言"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "wrong_token": ("This token is not valid.", "令牌无效。"),
    "partner_disabled": ("This partner is disabled.", "该合作伙伴已停用。"),
    "email": ("Email", "邮箱"),
    "password": ("Password", "密码"),
    "sign_in_with_token": ("Or sign in with a token", "或使用令牌登录"),
    "wrong_password": ("This email and password do not match.", "邮箱或密码不正确。"),
    "not_an_admin": (
        "This account is not an admin's: use the dashboard or /ask.",
        "该账户不是管理员账户，请使用数据看板或问答页面。",
    ),
    "account_disabled": (
        "This account (or its partner) is disabled.",
        "该账户（或其所属合作伙伴）已停用。",
    ),
    "too_many_attempts": (
        "Too many failed sign-ins from your address. Try again in {seconds} seconds.",
        "登录失败次数过多，请在 {seconds} 秒后重试。",
    ),
    "csrf_failed": (
        "This form has expired or did not come from this site. Open the page again and retry.",
        "表单已过期或并非来自本站，请重新打开页面后重试。",
    ),
    "sign_in_with_google": ("Sign in with Google", "使用 Google 账号登录"),
    "or_with_email": ("Or with your email and password", "或使用邮箱和密码登录"),
    "oidc_unreachable": (
        "Google (the sign-in provider) could not be reached. Try again in a minute.",
        "无法连接 Google（登录服务提供方），请稍后重试。",
    ),
    "oidc_bad_state": (
        "This sign-in was not started here or has expired. Start it again.",
        "此次登录并非从本站发起或已过期，请重新登录。",
    ),
    "oidc_denied": ("Google did not confirm the sign-in.", "Google 未确认此次登录。"),
    "oidc_bad_token": (
        "Google's answer could not be verified. Start the sign-in again.",
        "无法验证 Google 的登录凭据，请重新登录。",
    ),
    "oidc_unverified": (
        "Google has not verified this account's email address.",
        "Google 尚未验证此账号的邮箱地址。",
    ),
    "oidc_domain_not_allowed": (
        "Accounts of this email domain may not sign in here.",
        "该邮箱域名的账号不允许登录本系统。",
    ),
    "oidc_no_such_user": (
        "There is no account for this email here. Ask an admin to create one.",
        "本系统中没有该邮箱的账户，请联系管理员创建。",
    ),
    "oidc_linked_elsewhere": (
        "The account with this email is linked to another Google account.",
        "使用该邮箱的账户已关联其他 Google 账号。",
    ),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
}


def choose(request: Request) -> tuple[Language, bool]:
    """The request's language, and whether it was chosen just now by ?lang= (to remember)."""
    asked = request.query_params.get(LANG_PARAM)
    if asked in LANGUAGES:
        return asked, True
    kept = request.cookies.get(LANG_COOKIE)
    if kept in LANGUAGES:
        return kept, False
    return from_accept_language(request.headers.get("accept-language", "")), False


def from_accept_language(header: str) -> Language:
    """Chinese when the browser prefers some zh* to English (by q-value, then order)."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        language: Language | None = (
            "zh" if tag.startswith("zh") else "en" if tag.startswith("en") or tag == "*" else None
        )
        if language is None:
            continue
        quality = _quality(params)
        if quality <= 0:
            continue
        candidate = (-quality, position, language)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else DEFAULT


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


class Translator:
    """`t("partners")`, `t("times_in", zone="Asia/Jakarta")` in one language, from one
    area's table of (English, Chinese) labels."""

    def __init__(self, language: Language, labels: Labels) -> None:
        self.language = language
        self._labels = labels
        self._index = LANGUAGES.index(language)

    def __call__(self, key: str, **values: object) -> str:
        text = self._labels[key][self._index]
        return text.format(**values) if values else text

    def some(self, keys: Iterable[str]) -> dict[str, str]:
        """These labels by key, for a page's script."""
        return {key: self._labels[key][self._index] for key in keys}

    def all(self) -> dict[str, str]:
        return self.some(self._labels)
