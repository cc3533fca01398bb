"""A stand-in for google.cloud.bigquery.Client: BigQuery cannot be reached from the test
machine and no BigQuery emulator installs here (the goccy bigquery-emulator is a Go binary;
no package of one is on the package index). This is the one mock of the sync's tests.

It answers the calls the sync makes, in the shapes the real client returns, and keeps every
table as an Arrow table so a test can read what was loaded: `load_table_from_file` reads the
Parquet file the sync wrote (so the file's types and rows are the real ones), and the
MERGE statement is applied with BigQuery's semantics for `ON T.id = S.id` (matched rows
replaced, the others inserted). It checks the statement's shape, not BigQuery's parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass
class Done:
    def result(self) -> Done:
        return self


@dataclass
class FakeClient:
    tables: dict[str, pa.Table] = field(default_factory=dict)
    definitions: dict[str, Any] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # An exception a method raises instead of answering: {"get_dataset": Forbidden(...)}.
    failures: dict[str, Exception] = field(default_factory=dict)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]

    def get_dataset(self, dataset: str, **_: Any) -> object:
        self._call("get_dataset")
        return object()

    def create_table(self, table: Any, exists_ok: bool = False) -> Any:
        self._call("create_table")
        name = f"{table.project}.{table.dataset_id}.{table.table_id}"
        if name in self.definitions and not exists_ok:
            raise AssertionError(f"{name} exists")
        self.definitions.setdefault(name, table)
        return table

    def load_table_from_file(self, source: Any, destination: Any, job_config: Any) -> Done:
        self._call("load_table_from_file")
        assert job_config.source_format == "PARQUET"
        assert job_config.write_disposition == "WRITE_TRUNCATE"
        name = f"{destination.project}.{destination.dataset_id}.{destination.table_id}"
        assert name in self.definitions, "load into a table that was not created"
        self.tables[name] = pq.read_table(source)
        return Done()

    def query(self, sql: str) -> Done:
        self._call("query")
        if view := re.match(r"CREATE OR REPLACE VIEW `([^`]+)` AS (.*)", sql, re.S):
            self.views[view[1]] = view[2]
            return Done()
        merge = re.fullmatch(
            r"MERGE `([^`]+)` AS T USING `([^`]+)` AS S ON T\.id = S\.id "
            r"WHEN MATCHED THEN UPDATE SET (.+) WHEN NOT MATCHED THEN INSERT ROW",
            sql,
        )
        assert merge, f"unexpected statement: {sql}"
        target, staging, assignments = merge[1], merge[2], merge[3]
        new = self.tables[staging]
        assigned = {part.split(" = ")[0] for part in assignments.split(", ")}
        assert assigned == set(new.column_names) - {"id"}
        old = self.tables.get(target)
        if old is not None:
            old = old.filter(pc.invert(pc.is_in(old.column("id"), value_set=new.column("id"))))
        self.tables[target] = new if old is None else pa.concat_tables([old, new])
        return Done()

    def delete_table(self, table: Any, not_found_ok: bool = False) -> None:
        self._call("delete_table")
        name = f"{table.project}.{table.dataset_id}.{table.table_id}"
        self.tables.pop(name, None)
        self.definitions.pop(name, None)
