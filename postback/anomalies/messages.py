"""An alert's message in plain words, in English and Chinese, from its kind and figures."""

from __future__ import annotations

from postback.anomalies.detectors import FUTURE_HOURS, STALE_DAYS, Kind


def _n(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}".rstrip("0").rstrip(".")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _who(partner: str, offer: str | None) -> tuple[str, str]:
    if offer is None:
        return partner, partner
    return f"{partner} offer {offer}", f"{partner} 的 offer {offer}"


def silence(partner: str, offer: str | None, hours: float, usual: float) -> tuple[str, str]:
    en, zh = _who(partner, offer)
    return (
        f"{en} has sent no postbacks for {_n(hours)} hours"
        f" (usually about {_n(usual)} an hour at this time)",
        f"{zh} 已 {_n(hours)} 小时没有回传（平时这个时段每小时约 {_n(usual)} 条）",
    )


def volume(
    kind: Kind, partner: str, offer: str | None, observed: float, expected: float, hours: int
) -> tuple[str, str]:
    en, zh = _who(partner, offer)
    if kind is Kind.VOLUME_SPIKE:
        return (
            f"{en} had {_n(observed)} conversions in {hours} hours"
            f" (usually about {_n(expected)} at this time): a spike",
            f"{zh} {hours} 小时内有 {_n(observed)} 笔转化"
            f"（平时这个时段约 {_n(expected)} 笔），数量激增",
        )
    return (
        f"{en} had only {_n(observed)} conversions in {hours} hours"
        f" (usually about {_n(expected)} at this time): a drop",
        f"{zh} {hours} 小时内只有 {_n(observed)} 笔转化"
        f"（平时这个时段约 {_n(expected)} 笔），数量骤降",
    )


def rate(kind: Kind, partner: str, observed: float, expected: float) -> tuple[str, str]:
    if kind is Kind.REJECTION_SURGE:
        return (
            f"{_pct(observed)} of {partner}'s postbacks were rejected (usually {_pct(expected)})",
            f"{partner} 的回传有 {_pct(observed)} 被拒收（平时 {_pct(expected)}）",
        )
    return (
        f"{_pct(observed)} of {partner}'s conversions were duplicates (usually {_pct(expected)})",
        f"{partner} 的转化有 {_pct(observed)} 是重复的（平时 {_pct(expected)}）",
    )


def payout_ratio(
    partner: str, offer: str | None, observed: float, expected: float
) -> tuple[str, str]:
    en, zh = _who(partner, offer)
    return (
        f"{en} paid out {_pct(observed)} of sales (usually {_pct(expected)})",
        f"{zh} 的佣金占销售额 {_pct(observed)}（平时 {_pct(expected)}）",
    )


def order_repeat(partner: str, order_id: str, conversions: int) -> tuple[str, str]:
    return (
        f"{partner}: order {order_id} is on {conversions} conversions within a day",
        f"{partner}：订单 {order_id} 在一天内出现在 {conversions} 笔转化中",
    )


def odd_times(kind: Kind, partner: str, rows: int) -> tuple[str, str]:
    if kind is Kind.FUTURE_TIME:
        return (
            f"{partner} sent {rows} conversions dated more than {FUTURE_HOURS} hour"
            " in the future in the last hour",
            f"{partner} 最近一小时有 {rows} 笔转化的时间"
            f"比收到时晚 {FUTURE_HOURS} 小时以上（未来时间）",
        )
    return (
        f"{partner} sent {rows} conversions dated more than {STALE_DAYS} days"
        " before they arrived in the last hour",
        f"{partner} 最近一小时有 {rows} 笔转化的时间比收到时早 {STALE_DAYS} 天以上",
    )
