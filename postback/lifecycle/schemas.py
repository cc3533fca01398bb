"""What a cleanup round reports: one line per partner, by kind of row, and the table the CLI
prints."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

# Rejections whose tenant is unknown (NULL) when no default tenant exists to own them.
UNOWNED = "(no tenant)"

# Each kind the retention removes (or clears), its column in the table, and what it is.
KINDS = (
    ("duplicates", "duplicates", "duplicate rows deleted (retention days, received time)"),
    ("payloads", "payloads", "raw payloads cleared on first rows (retention days, received time)"),
    ("rejections", "rejections", "refused postbacks deleted (retention days, received time)"),
    (
        "deliveries",
        "deliveries",
        "finished forward deliveries and attempts deleted (retention days)",
    ),
    ("conversions", "conversions", "rows of conversions past history days (conversion time)"),
    ("rollups", "rollup cells", "hour and day cells deleted (history days, whole hours/days)"),
)


@dataclass(frozen=True, slots=True)
class Removed:
    """How many rows of each kind went (or with a dry run would go)."""

    duplicates: int = 0
    payloads: int = 0
    rejections: int = 0
    deliveries: int = 0
    conversions: int = 0
    rollups: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class TenantCleanup:
    slug: str
    retention_days: int
    history_days: int
    # Detail received before `cutoff` goes; conversions that occurred before `history_cutoff`.
    cutoff: datetime
    history_cutoff: datetime
    removed: Removed


@dataclass(frozen=True, slots=True)
class CleanupReport:
    now: datetime
    dry_run: bool
    tenants: tuple[TenantCleanup, ...]
    # Nothing received at or after this was touched: what the sync had not copied yet.
    synced_until: datetime | None = None

    @property
    def removed(self) -> Removed:
        total = Removed()
        for tenant in self.tenants:
            total += tenant.removed
        return total

    def as_table(self) -> str:
        verb = "would remove or clear (dry run: nothing changed)" if self.dry_run else "removed"
        header = ("tenant", "retention", "history", *(title for _, title, _ in KINDS))
        rows = [
            (
                t.slug,
                f"{t.retention_days} days",
                f"{t.history_days} days",
                *(str(getattr(t.removed, name)) for name, _, _ in KINDS),
            )
            for t in self.tenants
        ]
        total = self.removed
        rows.append(("total", "", "", *(str(getattr(total, name)) for name, _, _ in KINDS)))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            left = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=False)]
            right = [cell.rjust(width) for cell, width in zip(row[3:], widths[3:], strict=True)]
            return "  ".join(left + right).rstrip()

        title = f"Cleanup at {_iso(self.now)}: what each partner's retention and history {verb}"
        legend = [f"  {title:<12}  {meaning}" for _, title, meaning in KINDS]
        if self.synced_until is not None:
            legend.append(f"  only rows received before {_iso(self.synced_until)} (synced)")
        return "\n".join([title, line(header), *(line(row) for row in rows), "", *legend])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
