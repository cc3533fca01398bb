"""What a cleanup round reports: one line per partner, and the table the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Rejections whose tenant is unknown (NULL) when no default tenant exists to own them.
UNOWNED = "(no tenant)"


@dataclass(frozen=True, slots=True)
class TenantCleanup:
    slug: str
    retention_days: int
    cutoff: datetime
    conversions: int
    rejections: int


@dataclass(frozen=True, slots=True)
class CleanupReport:
    now: datetime
    dry_run: bool
    tenants: tuple[TenantCleanup, ...]

    @property
    def conversions(self) -> int:
        return sum(t.conversions for t in self.tenants)

    @property
    def rejections(self) -> int:
        return sum(t.rejections for t in self.tenants)

    def as_table(self) -> str:
        verb = "would be removed (dry run: nothing deleted)" if self.dry_run else "removed"
        header = ("tenant", "retention", "cutoff", "conversions", "rejections")
        rows = [
            (
                t.slug,
                f"{t.retention_days} days",
                _iso(t.cutoff),
                str(t.conversions),
                str(t.rejections),
            )
            for t in self.tenants
        ]
        rows.append(("total", "", "", str(self.conversions), str(self.rejections)))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            left = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=False)]
            right = [cell.rjust(width) for cell, width in zip(row[3:], widths[3:], strict=True)]
            return "  ".join(left + right).rstrip()

        title = f"Cleanup at {_iso(self.now)}: rows older than each partner's retention {verb}"
        return "\n".join([title, line(header), *(line(row) for row in rows)])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
