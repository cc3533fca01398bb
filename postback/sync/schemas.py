"""Where a copy goes, which rows it takes, and what a run did."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

# Rows per batch: what a run holds in memory at a time (as database records, then as Arrow).
# About 20 MB of records per 10,000 rows; larger batches gain little speed (docs/sync.md).
BATCH_SIZE = 10_000
# Rows a Parquet or DuckDB destination gathers (as Arrow) before it writes them: one staged
# file per day, or one DuckDB transaction, per this many rows.
WRITE_ROWS = 100_000


class DestinationError(Exception):
    """A destination that cannot take the copy: down, refusing credentials, unwritable."""

    def __init__(self, destination: str, problem: str) -> None:
        super().__init__(f"{destination}: {problem}")
        self.destination = destination
        self.problem = problem


Kind = Literal["parquet", "duckdb", "bigquery"]
_BIGQUERY = re.compile(r"bigquery://([a-z][a-z0-9-]{4,28}[a-z0-9])/([A-Za-z0-9_]{1,1024})")


@dataclass(frozen=True, slots=True)
class Destination:
    """A parsed `--to` / POSTBACK_SYNC_TO value; `name` is its canonical spelling, the key of
    its watermark (a relative path is made absolute, so every run agrees on it)."""

    kind: Kind
    target: str

    @property
    def name(self) -> str:
        if self.kind == "bigquery":
            return f"bigquery://{self.target}"
        return f"{self.kind}:{self.target}"

    @classmethod
    def parse(cls, text: str) -> Destination:
        text = text.strip()
        if text.startswith("bigquery:"):
            match = _BIGQUERY.fullmatch(text)
            if match is None:
                raise ValueError(
                    f"{text!r} is not bigquery://PROJECT/DATASET (a project id such as "
                    "my-project-123 and a dataset of letters, digits and underscores)"
                )
            return cls("bigquery", f"{match[1]}/{match[2]}")
        for kind in ("parquet", "duckdb"):
            prefix = f"{kind}:"
            if text.startswith(prefix):
                path = text[len(prefix) :]
                if not path:
                    raise ValueError(f"{text!r} names no path: use {prefix}PATH")
                return cls(kind, str(Path(path).expanduser().resolve()))
        raise ValueError(
            f"{text!r} is not a destination: use parquet:DIR, duckdb:FILE or "
            "bigquery://PROJECT/DATASET"
        )


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Which rows a run reads: those whose last writer `changed_since` (a snapshot, as text;
    None: read all) did not see, on conversion days `since`..`until` (inclusive), of one
    partner."""

    changed_since: str | None = None
    since: date | None = None
    until: date | None = None
    partner: str | None = None


@dataclass(frozen=True, slots=True)
class SyncReport:
    destination: str
    rows: int
    full: bool
    # The watermark before and after the run (snapshots; None: never synced).
    previous: str | None
    watermark: str

    def as_text(self) -> str:
        kind = "full copy" if self.full or self.previous is None else "changes"
        return f"{self.destination}: {self.rows} rows copied ({kind}); watermark {self.watermark}"
